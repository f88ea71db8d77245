"""Replicas that start together all migrate (``mhi serve`` and ``mhi worker`` migrate at start,
the deployment's migration step too): on a fresh database they must all succeed, one doing the
work and the others finding it done, instead of racing to create the same tables."""

from __future__ import annotations

import asyncio

from backend.db import migrate
from backend.db.admin import drop_database, ensure_database
from backend.db.engine import create_engine
from backend.settings import AppSettings
from tests.conftest import throwaway_url

STARTING_TOGETHER = 3


async def _start_one(url: str) -> bool:
    """What a starting process does (``backend.runtime.prepare_database``)."""
    created = await ensure_database(url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return created


async def test_processes_starting_together_on_a_fresh_database_all_migrate_it(
        settings: AppSettings) -> None:
    url = throwaway_url(settings, "at_once")
    try:
        created = await asyncio.gather(*(_start_one(url) for _ in range(STARTING_TOGETHER)))
        assert created.count(True) == 1  # one made the database; the others found it
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            assert await migrate.current_revision(engine) == migrate.head_revision()
        finally:
            await engine.dispose()
    finally:
        await drop_database(url)
