"""SQL for people."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Person, Region


async def get_person(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    """The person with this id, or None."""
    return await session.get(Person, person_id)


async def get_region(session: AsyncSession, code: str) -> Region | None:
    """The region with this ISO code, or None."""
    return await session.get(Region, code)
