"""SQL for a person's covered services and for providers (the read path: ``backend.db.reads``).

Lists are keyset pages on ``(person_id, care_date DESC, id DESC)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backend.db.keyset import DatedPage
from backend.db.reads import Fetcher, Record
from backend.i18n import NamedInThree
from backend.models.enums import Package

# A covered service comes with its provider (one key lookup per row, in the same statement).
COLUMNS = ("s.id, s.provider_id, s.service_code, s.care_date, s.package, s.amount_tiyn,"
           " s.paid_on, p.bin, p.region_code, p.quality_zone, p.name_kk, p.name_ru, p.name_en,"
           " s.flags, s.withdrawal_of")
FROM = "core.service_payment s JOIN core.provider p ON p.id = s.provider_id"


@dataclass(frozen=True, slots=True)
class ProviderRow(NamedInThree):
    """A medical organisation under contract with the Fund."""

    id: uuid.UUID
    bin: str
    region_code: str
    quality_zone: str
    name_kk: str
    name_ru: str
    name_en: str


@dataclass(frozen=True, slots=True)
class ServicePaymentRow:
    """What the Fund paid a provider for a service given to the person, with the provider."""

    id: int
    provider_id: uuid.UUID
    service_code: str
    care_date: date
    package: str
    amount_tiyn: int
    paid_on: date
    provider: ProviderRow
    flags: tuple[str, ...] = ()
    withdrawal_of: int | None = None


def _covered(row: Record) -> ServicePaymentRow:
    provider = ProviderRow(row[1], *row[7:13])
    return ServicePaymentRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], provider,
                             tuple(row[13] or ()), row[14])


def page_query(
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    package: Package | None = None,
) -> tuple[str, list[object]]:
    """The keyset page: SQL and arguments."""
    page = DatedPage(FROM, COLUMNS, "s.care_date", person_id, alias="s.")
    page.within_year(year)
    if package is not None:
        page.where("s.package = {}", package.value)
    page.after(after)
    return page.sql(limit), page.args


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None = None, year: int | None = None,
               package: Package | None = None) -> list[ServicePaymentRow]:
    """Up to ``limit`` service payments, newest care first, after the cursor's key."""
    sql, args = page_query(person_id, limit=limit, after=after, year=year, package=package)
    return [_covered(row) for row in await db.fetch(sql, *args)]


BY_IDS = f"SELECT {COLUMNS} FROM {FROM} WHERE s.id = ANY($1::bigint[]) AND s.person_id = $2"


async def by_ids(db: Fetcher, person_id: uuid.UUID, ids: Sequence[int]
                 ) -> dict[int, ServicePaymentRow]:
    """The person's service payments among ``ids`` (someone else's are simply not there)."""
    rows = await db.fetch(BY_IDS, list(ids), person_id)
    return {row[0]: _covered(row) for row in rows}


PAYMENTS_BY_IDS = f"SELECT {COLUMNS} FROM {FROM} WHERE s.id = ANY($1::bigint[])"


async def payments_by_ids(db: Fetcher, ids: Sequence[int]) -> dict[int, ServicePaymentRow]:
    """Service payments by id, whoever they are for: for rows already reached through their
    person (a case's service), never for an id a client sent."""
    rows = await db.fetch(PAYMENTS_BY_IDS, list(ids))
    return {row[0]: _covered(row) for row in rows}


OWNER = "SELECT person_id FROM core.service_payment WHERE id = $1"


async def owner_of(db: Fetcher, payment_id: int) -> uuid.UUID | None:
    """Whose care the payment ``payment_id`` is (None: no such payment)."""
    rows = await db.fetch(OWNER, payment_id)
    return rows[0][0] if rows else None


YEAR_TOTALS = (
    "SELECT package, provider_id, sum(amount_tiyn), count(*) FROM core.service_payment"
    " WHERE person_id = $1 AND care_date >= $2 AND care_date < $3"
    " GROUP BY package, provider_id"
)


async def year_totals(
    db: Fetcher, person_id: uuid.UUID, year: int
) -> list[tuple[Package, uuid.UUID, int, int]]:
    """Sums and counts of care given in ``year`` by package and provider."""
    rows = await db.fetch(YEAR_TOTALS, person_id, date(year, 1, 1), date(year + 1, 1, 1))
    return [(Package(package), provider_id, int(total), int(count))
            for package, provider_id, total, count in rows]


PROVIDERS_BY_IDS = (
    "SELECT id, bin, region_code, quality_zone, name_kk, name_ru, name_en FROM core.provider"
    " WHERE id = ANY($1::uuid[])"
)


async def providers_by_ids(db: Fetcher, ids: Sequence[uuid.UUID]
                           ) -> dict[uuid.UUID, ProviderRow]:
    """Providers by id."""
    return {row["id"]: ProviderRow(*row) for row in await db.fetch(PROVIDERS_BY_IDS, list(ids))}
