"""Fixed-window throttles kept in PostgreSQL, so every API process counts the same attempts.

A bucket is a string such as ``otp-send:iin:<digest>``; identifiers inside it are HMAC
digests (``Secrets.digest``), never the IIN or phone itself.  One statement counts a hit and
says whether it is over the limit; an over-limit hit answers ``RateLimited`` with the seconds
until the window ends.

Failures (a wrong password, secret or code) are counted with ``reserve`` before the attempt,
atomically and all buckets or none, and given back with ``release`` when it succeeds, so that
parallel attempts cannot slip past the limit and successes never fill a bucket.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.errors import RateLimited

_HIT = text("""
INSERT INTO auth.throttle AS t (bucket, window_start, hits) VALUES (:bucket, now(), 1)
ON CONFLICT (bucket) DO UPDATE SET
    hits = CASE WHEN t.window_start + make_interval(secs => :window) > now()
                THEN t.hits + 1 ELSE 1 END,
    window_start = CASE WHEN t.window_start + make_interval(secs => :window) > now()
                        THEN t.window_start ELSE now() END
RETURNING hits,
    extract(epoch FROM window_start + make_interval(secs => :window) - now())::float8
""")
_PEEK = text("""
SELECT hits, extract(epoch FROM window_start + make_interval(secs => :window) - now())::float8
FROM auth.throttle WHERE bucket = :bucket AND window_start + make_interval(secs => :window) > now()
""")


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` per ``window_seconds``."""

    hits: int
    window_seconds: int


async def hit(conn: AsyncConnection | AsyncEngine, bucket: str, limit: Limit) -> None:
    """Count one attempt in ``bucket``; ``RateLimited`` when it goes over ``limit``.

    With an engine the hit commits on its own (it must count even when the attempt fails).
    """
    if isinstance(conn, AsyncEngine):
        async with conn.begin() as own:
            return await hit(own, bucket, limit)
    hits, remaining = (await conn.execute(
        _HIT, {"bucket": bucket, "window": limit.window_seconds})).one()
    if hits > limit.hits:
        raise RateLimited(max(1, math.ceil(remaining)))


async def check(conn: AsyncConnection | AsyncEngine, bucket: str, limit: Limit) -> None:
    """``RateLimited`` if ``bucket`` is already at ``limit`` (counts nothing)."""
    if isinstance(conn, AsyncEngine):
        async with conn.connect() as own:
            return await check(own, bucket, limit)
    row = (await conn.execute(_PEEK, {"bucket": bucket,
                                      "window": limit.window_seconds})).first()
    if row is not None and row[0] >= limit.hits:
        raise RateLimited(max(1, math.ceil(row[1])))



Bucket = tuple[str, Limit]


async def reserve(conn: AsyncConnection | AsyncEngine, buckets: Iterable[Bucket]) -> None:
    """Count one attempt in every bucket, all or nothing: when any would go over its limit,
    ``RateLimited`` (the longest wait) and the caller's transaction must roll back, so that
    nothing is counted.  The bucket rows stay locked until that transaction ends, so attempts
    made in parallel are counted one after another: ten at once cannot all pass a check that
    none of them has counted yet.  An attempt that succeeds gives its count back
    (``release``), so that successes never fill a bucket.

    With an engine the reservation commits on its own.  Buckets are taken in one order, so
    two reservations never wait for each other crosswise.
    """
    if isinstance(conn, AsyncEngine):
        async with conn.begin() as own:
            return await reserve(own, buckets)
    waits = []
    for bucket, limit in sorted(buckets, key=lambda pair: pair[0]):
        hits, remaining = (await conn.execute(
            _HIT, {"bucket": bucket, "window": limit.window_seconds})).one()
        if hits > limit.hits:
            waits.append(max(1, math.ceil(remaining)))
    if waits:
        raise RateLimited(max(waits))


_RELEASE = text("UPDATE auth.throttle SET hits = hits - 1 WHERE bucket = ANY(:buckets) "
                "AND hits > 0")


async def release(engine: AsyncEngine, buckets: Iterable[Bucket]) -> None:
    """Give back what ``reserve`` counted, for an attempt that succeeded."""
    async with engine.begin() as conn:
        await conn.execute(_RELEASE, {"buckets": [bucket for bucket, _ in buckets]})
