"""The rate book, read once per process and refreshed after a while (rates change yearly)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.caching import Refreshing
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book

RateCache = Refreshing[RateBook]
"""The rate book of the process (see ``rate_cache``)."""


def rate_cache(sessions: async_sessionmaker[AsyncSession], ttl_seconds: float = 300
               ) -> RateCache:
    """The rate book, read on first use and again every ``ttl_seconds``."""

    async def load() -> RateBook:
        async with sessions() as session:
            return await load_rate_book(session)

    return Refreshing(load, ttl_seconds)
