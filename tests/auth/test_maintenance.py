"""Pruning: what ended long ago goes, what still matters stays."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.maintenance import prune


async def test_prune_removes_old_rows_and_keeps_live_ones(engine: AsyncEngine) -> None:
    old, fresh = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO auth.login_challenge (id, code_hash, expires_at) VALUES "
            "(:old, 'x', now() - interval '40 days'), (:fresh, 'y', now() + interval '5 min')"),
            {"old": old, "fresh": fresh})
        await conn.execute(text(
            "INSERT INTO auth.throttle (bucket, window_start, hits) VALUES "
            "(:old, now() - interval '40 days', 3), (:fresh, now(), 1)"),
            {"old": f"test:{old}", "fresh": f"test:{fresh}"})
    counts = await prune(engine)
    assert counts is not None and counts["login challenges"] >= 1
    async with engine.connect() as conn:
        left = set((await conn.execute(text(
            "SELECT id FROM auth.login_challenge WHERE id IN (:old, :fresh)"),
            {"old": old, "fresh": fresh})).scalars())
        buckets = set((await conn.execute(text(
            "SELECT bucket FROM auth.throttle WHERE bucket IN (:old, :fresh)"),
            {"old": f"test:{old}", "fresh": f"test:{fresh}"})).scalars())
    assert left == {fresh}
    assert buckets == {f"test:{fresh}"}


async def test_only_one_process_prunes_at_a_time(engine: AsyncEngine) -> None:
    async with engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": 0x6D68692D7072756E})
        try:
            assert await prune(engine) is None
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:k)"),
                                 {"k": 0x6D68692D7072756E})
