"""SQL for a person's covered services: keyset pages on ``(person_id, care_date DESC, id DESC)``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

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
    query = select(ServicePayment).where(ServicePayment.person_id == person_id)
    if year is not None:
        query = query.where(ServicePayment.care_date >= date(year, 1, 1),
                            ServicePayment.care_date < date(year + 1, 1, 1))
    if package is not None:
        query = query.where(ServicePayment.package == package)
    if after is not None:
        query = query.where(tuple_(ServicePayment.care_date, ServicePayment.id) < tuple_(*after))
    query = query.order_by(ServicePayment.care_date.desc(), ServicePayment.id.desc())
    return query.limit(limit)


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
               ServicePayment.care_date >= date(year, 1, 1),
               ServicePayment.care_date < date(year + 1, 1, 1))
        .group_by(ServicePayment.package, ServicePayment.provider_id)
    )
    return [(package, provider_id, int(total), int(count))
            for package, provider_id, total, count in rows.all()]
