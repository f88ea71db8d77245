"""SQL for a person's covered services and for providers (the read path: ``backend.db.reads``).

Lists are keyset pages on ``(person_id, care_date DESC, id DESC)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backend.db.keyset import DatedPage
from backend.db.reads import Fetcher
from backend.i18n import NamedInThree
from backend.models.enums import Package

COLUMNS = "id, provider_id, service_code, care_date, package, amount_tiyn, paid_on"


@dataclass(frozen=True, slots=True)
class ServicePaymentRow:
    """What the Fund paid a provider for a service given to the person."""

    id: int
    provider_id: uuid.UUID
    service_code: str
    care_date: date
    package: str
    amount_tiyn: int
    paid_on: date


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


def page_query(
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    package: Package | None = None,
) -> tuple[str, list[object]]:
    """The keyset page: SQL and arguments."""
    page = DatedPage("core.service_payment", COLUMNS, "care_date", person_id)
    page.within_year(year)
    if package is not None:
        page.where("package = {}", package.value)
    page.after(after)
    return page.sql(limit), page.args


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None = None, year: int | None = None,
               package: Package | None = None) -> list[ServicePaymentRow]:
    """Up to ``limit`` service payments, newest care first, after the cursor's key."""
    sql, args = page_query(person_id, limit=limit, after=after, year=year, package=package)
    return [ServicePaymentRow(*row) for row in await db.fetch(sql, *args)]


BY_IDS = (f"SELECT {COLUMNS} FROM core.service_payment"
          " WHERE id = ANY($1::bigint[]) AND person_id = $2")


async def by_ids(db: Fetcher, person_id: uuid.UUID, ids: Sequence[int]
                 ) -> dict[int, ServicePaymentRow]:
    """The person's service payments among ``ids`` (someone else's are simply not there)."""
    rows = await db.fetch(BY_IDS, list(ids), person_id)
    return {row["id"]: ServicePaymentRow(*row) for row in rows}


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
