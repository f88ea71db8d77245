"""SQL for the status engine's inputs: one person's memberships and contributions."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.models import CategoryMembership, Contribution, Payer
from backend.rates.kinds import ContributionKind
from backend.status.models import ContributionFact, Membership


async def memberships_of(db: AsyncSession | AsyncConnection,
                         person_id: uuid.UUID) -> list[Membership]:
    """Every preferential-category period of a person."""
    rows = await db.execute(
        select(CategoryMembership.category_code, CategoryMembership.valid_from,
               CategoryMembership.valid_to)
        .where(CategoryMembership.person_id == person_id)
        .order_by(CategoryMembership.valid_from)
    )
    return [Membership(code, since, until) for code, since, until in rows.all()]


async def contributions_of(db: AsyncSession | AsyncConnection, person_id: uuid.UUID,
                           language: str) -> list[ContributionFact]:
    """Every contribution for a person, with the payer's name in ``language``."""
    payer_name = getattr(Payer, f"name_{language}")
    rows = await db.execute(
        select(Contribution.period, Contribution.kind, Contribution.amount_tiyn,
               Contribution.paid_on, payer_name)
        .outerjoin(Payer, Payer.id == Contribution.payer_id)
        .where(Contribution.person_id == person_id)
        .order_by(Contribution.period, Contribution.id)
    )
    return [
        ContributionFact(period, ContributionKind(kind), amount, paid_on, name)
        for period, kind, amount, paid_on, name in rows.all()
    ]
