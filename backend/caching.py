"""A value read from the database once per process and read again when it grows old
(reference tables, the rate book): one mechanism for every such cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Refreshing(Generic[T]):
    """``load()``'s result, shared by every request, reloaded after ``ttl_seconds``.

    ``get(refresh=True)`` reloads now (unless the value is under a second old): for a code
    that the cached copy does not know yet.
    """

    def __init__(self, load: Callable[[], Awaitable[T]], ttl_seconds: float = 300) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._value: T | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, refresh: bool = False) -> T:
        """The current value (a database read at most once per ``ttl_seconds``)."""
        if self._value is not None and not refresh and self._age() < self._ttl:
            return self._value
        async with self._lock:
            age = self._age()
            if self._value is None or age >= self._ttl or (refresh and age > 1):
                self._value = await self._load()
                self._loaded_at = time.monotonic()
            return self._value

    def _age(self) -> float:
        return time.monotonic() - self._loaded_at
