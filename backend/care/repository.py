"""SQL for a person's covered services: keyset pages on ``(person_id, care_date DESC, id DESC)``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.keyset import keyset_query, within_year
from backend.models import ServicePayment
from backend.models.enums import Package


async def page(
    session: AsyncSession,
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    package: Package | None = None,
) -> Sequence[ServicePayment]:
    """Up to ``limit`` service payments, newest care first, after the cursor's key."""
    query = page_query(person_id, limit=limit, after=after, year=year, package=package)
    return (await session.scalars(query)).all()


def page_query(
    person_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[date, int] | None = None,
    year: int | None = None,
    package: Package | None = None,
) -> Select[ServicePayment]:
    """The keyset query of ``page`` (an index range scan on ``(person_id, care_date, id)``)."""
    where = within_year(ServicePayment.care_date, year)
    if package is not None:
        where.append(ServicePayment.package == package)
    return keyset_query(ServicePayment, owner=ServicePayment.person_id == person_id,
                        sort=ServicePayment.care_date, row_id=ServicePayment.id, limit=limit,
                        after=after, where=where)


async def by_ids(
    session: AsyncSession, person_id: uuid.UUID, ids: Sequence[int]
) -> dict[int, ServicePayment]:
    """The person's service payments among ``ids`` (someone else's are simply not there)."""
    rows = await session.scalars(
        select(ServicePayment)
        .where(ServicePayment.id.in_(ids), ServicePayment.person_id == person_id)
    )
    return {row.id: row for row in rows}


async def year_totals(
    session: AsyncSession, person_id: uuid.UUID, year: int
) -> list[tuple[Package, uuid.UUID, int, int]]:
    """Sums and counts of care given in ``year`` by package and provider."""
    rows = await session.execute(
        select(ServicePayment.package, ServicePayment.provider_id,
               func.sum(ServicePayment.amount_tiyn), func.count())
        .where(ServicePayment.person_id == person_id,
               *within_year(ServicePayment.care_date, year))
        .group_by(ServicePayment.package, ServicePayment.provider_id)
    )
    return [(package, provider_id, int(total), int(count))
            for package, provider_id, total, count in rows.all()]
