"""The rate book, read once per process and refreshed after a while (rates change yearly)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book


class RateCache:
    """A shared ``RateBook`` that is reloaded when older than ``ttl_seconds``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: float = 300):
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._book: RateBook | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> RateBook:
        """The current rate book (a database read at most once per ``ttl_seconds``)."""
        if self._book is not None and time.monotonic() - self._loaded_at < self._ttl:
            return self._book
        async with self._lock:
            if self._book is None or time.monotonic() - self._loaded_at >= self._ttl:
                async with self._sessions() as session:
                    self._book = await load_rate_book(session)
                self._loaded_at = time.monotonic()
            return self._book
