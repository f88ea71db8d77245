"""SQL for a person's contributions and their payers (the read path: ``backend.db.reads``).

Lists are keyset pages on ``(person_id, period DESC, id DESC)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backend.db.keyset import DatedPage
from backend.db.reads import Fetcher, Record
from backend.i18n import NamedInThree
from backend.models.enums import ContributionKind, PayerKind

# A receipt comes with its payer (one key lookup per row, in the same statement).
COLUMNS = ("c.id, c.payer_id, c.kind, c.period, c.amount_tiyn, c.paid_on, c.payment_code,"
           " y.kind, y.bin, y.name_kk, y.name_ru, y.name_en")
FROM = "core.contribution c LEFT JOIN core.payer y ON y.id = c.payer_id"


@dataclass(frozen=True, slots=True)
class PayerRow(NamedInThree):
    """An employer, the republican budget, or a local budget."""

    id: uuid.UUID
    kind: str
    bin: str | None
    name_kk: str
    name_ru: str
    name_en: str


@dataclass(frozen=True, slots=True)
class ContributionRow:
    """A contribution as a receipt shows it, with its payer (None: the person themself)."""

    id: int
    payer_id: uuid.UUID | None
    kind: str
    period: date
    amount_tiyn: int
    paid_on: date
    payment_code: int | None
    payer: PayerRow | None = None


def _receipt(row: Record) -> ContributionRow:
    payer = None if row[1] is None else PayerRow(row[1], *row[7:12])
    return ContributionRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], payer)


def page_query(
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    kind: ContributionKind | None = None,
) -> tuple[str, list[object]]:
    """The keyset page: SQL and arguments."""
    page = DatedPage(FROM, COLUMNS, "c.period", person_id, alias="c.")
    page.within_year(year)
    if kind is not None:
        page.where("c.kind = {}", kind.value)
    page.after(after)
    return page.sql(limit), page.args


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None = None, year: int | None = None,
               kind: ContributionKind | None = None) -> list[ContributionRow]:
    """Up to ``limit`` contributions, newest period first, after the cursor's key."""
    sql, args = page_query(person_id, limit=limit, after=after, year=year, kind=kind)
    return [_receipt(row) for row in await db.fetch(sql, *args)]


IN_PERIODS = (f"SELECT {COLUMNS} FROM {FROM} WHERE c.person_id = $1"
              " AND c.period >= $2 AND c.period <= $3 ORDER BY c.period DESC, c.id DESC")


async def in_periods(db: Fetcher, person_id: uuid.UUID, *, first: date, last: date
                     ) -> list[ContributionRow]:
    """Every contribution for the months ``first`` to ``last`` (inclusive), newest first."""
    return [_receipt(row) for row in await db.fetch(IN_PERIODS, person_id, first, last)]


BY_IDS = f"SELECT {COLUMNS} FROM {FROM} WHERE c.id = ANY($1::bigint[]) AND c.person_id = $2"


async def by_ids(db: Fetcher, person_id: uuid.UUID, ids: Sequence[int]
                 ) -> dict[int, ContributionRow]:
    """The person's contributions among ``ids`` (someone else's are simply not there)."""
    rows = await db.fetch(BY_IDS, list(ids), person_id)
    return {row[0]: _receipt(row) for row in rows}


YEAR_TOTALS = (
    "SELECT kind, payer_id, payer_kind, sum(amount_tiyn) FROM core.contribution"
    " WHERE person_id = $1 AND period >= $2 AND period < $3 GROUP BY kind, payer_id, payer_kind"
)


async def year_totals(
    db: Fetcher, person_id: uuid.UUID, year: int
) -> list[tuple[ContributionKind, uuid.UUID | None, PayerKind | None, int]]:
    """Sums for the months of ``year`` by kind and payer (a payer of None: the person)."""
    rows = await db.fetch(YEAR_TOTALS, person_id, date(year, 1, 1), date(year + 1, 1, 1))
    return [(ContributionKind(kind), payer_id, None if payer_kind is None else
             PayerKind(payer_kind), int(total)) for kind, payer_id, payer_kind, total in rows]


PAYERS_BY_IDS = ("SELECT id, kind, bin, name_kk, name_ru, name_en FROM core.payer"
                 " WHERE id = ANY($1::uuid[])")


async def payers_by_ids(db: Fetcher, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PayerRow]:
    """Payers by id."""
    return {row["id"]: PayerRow(*row) for row in await db.fetch(PAYERS_BY_IDS, list(ids))}
