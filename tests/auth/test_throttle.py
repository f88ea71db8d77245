"""Fixed-window throttles in PostgreSQL (``auth.throttle``)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import throttle
from auth.errors import RateLimited
from auth.throttle import Limit


def _bucket() -> str:
    return f"test:{uuid.uuid4().hex}"


async def _hits(engine: AsyncEngine, bucket: str) -> int | None:
    async with engine.connect() as conn:
        value: int | None = (await conn.execute(text(
            "SELECT hits FROM auth.throttle WHERE bucket = :b"), {"b": bucket})).scalar()
    return value


async def _age(engine: AsyncEngine, bucket: str, seconds: int) -> None:
    """Move the bucket's window start ``seconds`` into the past."""
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE auth.throttle SET window_start = window_start - make_interval(secs => :s) "
            "WHERE bucket = :b"), {"b": bucket, "s": seconds})


class TestHit:
    async def test_hits_up_to_the_limit_pass_and_the_next_is_refused(
            self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(3, 600)
        for _ in range(3):
            await throttle.hit(engine, bucket, limit)
        with pytest.raises(RateLimited) as refused:
            await throttle.hit(engine, bucket, limit)
        assert 0 < refused.value.retry_after <= 600
        assert refused.value.reason == "RATE_LIMITED"
        assert refused.value.code == "RATE_LIMITED"

    async def test_retry_after_is_the_rest_of_the_window(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(1, 600)
        await throttle.hit(engine, bucket, limit)
        await _age(engine, bucket, 200)
        with pytest.raises(RateLimited) as refused:
            await throttle.hit(engine, bucket, limit)
        assert 395 <= refused.value.retry_after <= 400

    async def test_retry_after_is_at_least_one_second(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(1, 60)
        await throttle.hit(engine, bucket, limit)
        await _age(engine, bucket, 59)
        with pytest.raises(RateLimited) as refused:
            await throttle.hit(engine, bucket, limit)
        assert refused.value.retry_after == 1

    async def test_a_hit_with_an_engine_commits_on_its_own(self, engine: AsyncEngine) -> None:
        bucket = _bucket()
        await throttle.hit(engine, bucket, Limit(5, 600))
        await throttle.hit(engine, bucket, Limit(5, 600))
        assert await _hits(engine, bucket) == 2

    async def test_a_hit_inside_a_transaction_goes_with_it(self, engine: AsyncEngine) -> None:
        bucket = _bucket()
        async with engine.connect() as conn:
            await conn.begin()
            await throttle.hit(conn, bucket, Limit(5, 600))
            await conn.rollback()
        assert await _hits(engine, bucket) is None

    async def test_a_new_window_starts_from_one(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(2, 60)
        await throttle.hit(engine, bucket, limit)
        await throttle.hit(engine, bucket, limit)
        await _age(engine, bucket, 61)
        await throttle.hit(engine, bucket, limit)
        assert await _hits(engine, bucket) == 1
        await throttle.hit(engine, bucket, limit)
        with pytest.raises(RateLimited):
            await throttle.hit(engine, bucket, limit)

    async def test_buckets_are_counted_apart(self, engine: AsyncEngine) -> None:
        first, second, limit = _bucket(), _bucket(), Limit(1, 600)
        await throttle.hit(engine, first, limit)
        await throttle.hit(engine, second, limit)
        with pytest.raises(RateLimited):
            await throttle.hit(engine, first, limit)


class TestCheck:
    async def test_an_unknown_bucket_passes(self, engine: AsyncEngine) -> None:
        await throttle.check(engine, _bucket(), Limit(1, 600))

    async def test_check_counts_nothing(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(2, 600)
        await throttle.hit(engine, bucket, limit)
        for _ in range(5):
            await throttle.check(engine, bucket, limit)
        assert await _hits(engine, bucket) == 1

    async def test_check_refuses_once_the_bucket_is_full(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(2, 600)
        await throttle.hit(engine, bucket, limit)
        await throttle.check(engine, bucket, limit)
        await throttle.hit(engine, bucket, limit)
        with pytest.raises(RateLimited) as refused:
            await throttle.check(engine, bucket, limit)
        assert 0 < refused.value.retry_after <= 600

    async def test_check_ignores_a_window_that_ended(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(1, 60)
        await throttle.hit(engine, bucket, limit)
        await _age(engine, bucket, 61)
        await throttle.check(engine, bucket, limit)

    async def test_check_on_a_connection(self, engine: AsyncEngine) -> None:
        bucket, limit = _bucket(), Limit(1, 600)
        await throttle.hit(engine, bucket, limit)
        async with engine.connect() as conn:
            with pytest.raises(RateLimited):
                await throttle.check(conn, bucket, limit)



class TestFailures:
    async def test_reserve_counts_every_bucket_or_none(self, engine: AsyncEngine) -> None:
        short, long, roomy = _bucket(), _bucket(), _bucket()
        buckets = [(short, Limit(1, 60)), (long, Limit(1, 600)), (roomy, Limit(5, 900))]
        await throttle.reserve(engine, buckets)
        with pytest.raises(RateLimited) as refused:  # the two small ones are full
            await throttle.reserve(engine, buckets)
        assert 590 <= refused.value.retry_after <= 600  # the longest wait
        assert [await _hits(engine, b) for b in (short, long, roomy)] == [1, 1, 1]

    async def test_release_gives_a_success_back(self, engine: AsyncEngine) -> None:
        bucket = _bucket()
        buckets = [(bucket, Limit(2, 600))]
        for _ in range(5):  # five successes in a row never fill it
            await throttle.reserve(engine, buckets)
            await throttle.release(engine, buckets)
        assert await _hits(engine, bucket) == 0
        await throttle.reserve(engine, buckets)
        await throttle.reserve(engine, buckets)  # two failures fill it
        with pytest.raises(RateLimited):
            await throttle.reserve(engine, buckets)

    async def test_parallel_attempts_cannot_pass_a_limit_together(
            self, engine: AsyncEngine) -> None:
        """Ten attempts at once against room for three: exactly three pass (a check made
        before counting let all ten through)."""
        bucket = _bucket()
        buckets = [(bucket, Limit(3, 600)), (_bucket(), Limit(100, 600))]

        async def attempt() -> bool:
            try:
                await throttle.reserve(engine, buckets)
            except RateLimited:
                return False
            await asyncio.sleep(0.05)  # the attempt's own work (a password hash, say)
            return True

        passed = await asyncio.gather(*(attempt() for _ in range(10)))
        assert sum(passed) == 3
        assert await _hits(engine, bucket) == 3
