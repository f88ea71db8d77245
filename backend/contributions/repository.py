"""SQL for a person's contributions and their payers (the read path: ``backend.db.reads``).

Lists are keyset pages on ``(person_id, period DESC, id DESC)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backend.db.keyset import DatedPage
from backend.db.reads import Fetcher
from backend.i18n import NamedInThree
from backend.models.enums import ContributionKind, PayerKind

COLUMNS = "id, payer_id, kind, period, amount_tiyn, paid_on, payment_code"


@dataclass(frozen=True, slots=True)
class ContributionRow:
    """A contribution as a receipt shows it."""

    id: int
    payer_id: uuid.UUID | None
    kind: str
    period: date
    amount_tiyn: int
    paid_on: date
    payment_code: int | None


@dataclass(frozen=True, slots=True)
class PayerRow(NamedInThree):
    """An employer, the republican budget, or a local budget."""

    id: uuid.UUID
    kind: str
    bin: str | None
    name_kk: str
    name_ru: str
    name_en: str


def page_query(
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    kind: ContributionKind | None = None,
) -> tuple[str, list[object]]:
    """The keyset page: SQL and arguments."""
    page = DatedPage("core.contribution", COLUMNS, "period", person_id)
    page.within_year(year)
    if kind is not None:
        page.where("kind = {}", kind.value)
    page.after(after)
    return page.sql(limit), page.args


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None = None, year: int | None = None,
               kind: ContributionKind | None = None) -> list[ContributionRow]:
    """Up to ``limit`` contributions, newest period first, after the cursor's key."""
    sql, args = page_query(person_id, limit=limit, after=after, year=year, kind=kind)
    return [ContributionRow(*row) for row in await db.fetch(sql, *args)]


IN_PERIODS = (f"SELECT {COLUMNS} FROM core.contribution WHERE person_id = $1"
              " AND period >= $2 AND period <= $3 ORDER BY period DESC, id DESC")


async def in_periods(db: Fetcher, person_id: uuid.UUID, *, first: date, last: date
                     ) -> list[ContributionRow]:
    """Every contribution for the months ``first`` to ``last`` (inclusive), newest first."""
    return [ContributionRow(*row) for row in await db.fetch(IN_PERIODS, person_id, first, last)]


BY_IDS = (f"SELECT {COLUMNS} FROM core.contribution"
          " WHERE id = ANY($1::bigint[]) AND person_id = $2")


async def by_ids(db: Fetcher, person_id: uuid.UUID, ids: Sequence[int]
                 ) -> dict[int, ContributionRow]:
    """The person's contributions among ``ids`` (someone else's are simply not there)."""
    rows = await db.fetch(BY_IDS, list(ids), person_id)
    return {row["id"]: ContributionRow(*row) for row in rows}


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
