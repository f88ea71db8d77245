"""Fixtures of the ``backend`` tests on the suite's real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book


@pytest.fixture
async def rates(engine: AsyncEngine) -> RateBook:
    """The rate book of the suite's database."""
    async with engine.connect() as conn:
        return await load_rate_book(conn)


@pytest.fixture
async def clean(engine: AsyncEngine, committed: AsyncSession) -> AsyncIterator[AsyncSession]:
    """``committed``, and afterwards the outbox rows of this test's people deleted (the status
    job, warnings and reminders write events for them)."""
    try:
        yield committed
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM notify.outbox WHERE person_id IN"
                                    " (SELECT id FROM core.person)"))
