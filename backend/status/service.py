"""A person's insurance status from the database, through the pure engine."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db.reads import Fetcher, Record, fetcher_of
from backend.rates.book import RateBook
from backend.status import stored
from backend.status.engine import compute_status
from backend.status.models import StatusResult
from backend.status.repository import STORED, contributions_of, memberships_of


async def status_of(db: AsyncSession | AsyncConnection, person_id: uuid.UUID, *,
                    as_of: date, rates: RateBook, language: str = "kk") -> StatusResult:
    """The status of one person on ``as_of`` (payer names in ``language``), read inside the
    caller's transaction."""
    fetcher = await fetcher_of(db)
    return compute_status(
        as_of=as_of,
        memberships=await memberships_of(fetcher, person_id),
        contributions=await contributions_of(fetcher, person_id, language),
        rates=rates,
    )


async def stored_status(db: Fetcher, person_id: uuid.UUID, *, today: date,
                        language: str) -> StatusResult | None:
    """The stored status of one person while it is fresh on ``today`` (exactly what the
    engine would compute; payer names in ``language``), else None: compute it then."""
    rows = await db.fetch(STORED[language], person_id)
    return fresh_status(rows[0] if rows else None, today)


def fresh_status(row: Record | None, today: date) -> StatusResult | None:
    """The status a row of ``STORED`` holds while it is fresh on ``today``, else None (no row,
    or a stale one: compute it then)."""
    if row is None or not stored.is_fresh(row, today):
        return None
    return stored.decode(row, stored.detail_of(row), row["payer"])
