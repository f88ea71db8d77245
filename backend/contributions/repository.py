"""SQL for a person's contributions: keyset pages on ``(person_id, period DESC, id DESC)``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.keyset import keyset_query, within_year
from backend.models import Contribution
from backend.models.enums import ContributionKind, PayerKind


async def page(
    session: AsyncSession,
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    kind: ContributionKind | None = None,
) -> Sequence[Contribution]:
    """Up to ``limit`` contributions, newest period first, after the cursor's key."""
    query = page_query(person_id, limit=limit, after=after, year=year, kind=kind)
    return (await session.scalars(query)).all()


def page_query(
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    kind: ContributionKind | None = None,
) -> Select[Contribution]:
    """The keyset query of ``page`` (an index range scan on ``(person_id, period, id)``)."""
    where = within_year(Contribution.period, year)
    if kind is not None:
        where.append(Contribution.kind == kind)
    return keyset_query(Contribution, owner=Contribution.person_id == person_id,
                        sort=Contribution.period, row_id=Contribution.id, limit=limit,
                        after=after, where=where)


async def in_periods(
    session: AsyncSession, person_id: uuid.UUID, *, first: date, last: date
) -> Sequence[Contribution]:
    """Every contribution for the months ``first`` to ``last`` (inclusive), newest first."""
    query = (
        select(Contribution)
        .where(Contribution.person_id == person_id, Contribution.period >= first,
               Contribution.period <= last)
        .order_by(Contribution.period.desc(), Contribution.id.desc())
    )
    return (await session.scalars(query)).all()


async def by_ids(
    session: AsyncSession, person_id: uuid.UUID, ids: Sequence[int]
) -> dict[int, Contribution]:
    """The person's contributions among ``ids`` (someone else's are simply not there)."""
    rows = await session.scalars(
        select(Contribution).where(Contribution.id.in_(ids), Contribution.person_id == person_id)
    )
    return {row.id: row for row in rows}


async def year_totals(
    session: AsyncSession, person_id: uuid.UUID, year: int
) -> list[tuple[ContributionKind, uuid.UUID | None, PayerKind | None, int]]:
    """Sums for the months of ``year`` by kind and payer (a payer of None: the person)."""
    rows = await session.execute(
        select(Contribution.kind, Contribution.payer_id, Contribution.payer_kind,
               func.sum(Contribution.amount_tiyn))
        .where(Contribution.person_id == person_id, *within_year(Contribution.period, year))
        .group_by(Contribution.kind, Contribution.payer_id, Contribution.payer_kind)
    )
    return [(kind, payer_id, payer_kind, int(total)) for kind, payer_id, payer_kind, total
            in rows.all()]
