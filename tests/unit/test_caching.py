"""A process-wide cached value: read once, shared, read again when old or asked to."""

from __future__ import annotations

import asyncio

from backend.caching import Refreshing


class Counter:
    def __init__(self) -> None:
        self.loads = 0

    async def load(self) -> int:
        self.loads += 1
        await asyncio.sleep(0)
        return self.loads


async def test_concurrent_readers_share_one_load() -> None:
    counter = Counter()
    cache = Refreshing(counter.load, ttl_seconds=60)
    assert await asyncio.gather(*(cache.get() for _ in range(10))) == [1] * 10
    assert counter.loads == 1


async def test_an_old_value_is_read_again() -> None:
    counter = Counter()
    cache = Refreshing(counter.load, ttl_seconds=0)
    assert [await cache.get(), await cache.get()] == [1, 2]


async def test_refresh_does_not_reload_a_value_just_loaded() -> None:
    counter = Counter()
    cache = Refreshing(counter.load, ttl_seconds=60)
    await cache.get()
    assert await cache.get(refresh=True) == 1  # under a second old: no stampede on misses
