"""The read path survives the database dropping its connections: the next read works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_engine
from backend.db.reads import ConnectionLost, Reads


@asynccontextmanager
async def reads_named(engine: AsyncEngine, name: str) -> AsyncIterator[Reads]:
    """Reads on a pool of their own (``application_name`` ``name``), as the API makes them."""
    own = create_engine(engine.url.render_as_string(hide_password=False), pool_size=3,
                        max_overflow=0, pre_ping=False, application_name=name)
    try:
        yield Reads(own)
    finally:
        await own.dispose()


async def drop_connections(engine: AsyncEngine, application_name: str) -> None:
    """What a server restart does to a pool: every connection of ``application_name`` ends."""
    async with engine.connect() as conn:
        await conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = :name AND pid <> pg_backend_pid()"),
            {"name": application_name})


async def test_a_read_after_the_server_dropped_every_connection_succeeds(
    engine: AsyncEngine,
) -> None:
    async with reads_named(engine, "mhi-reads-test") as reads:
        async with reads.connection() as a, reads.connection() as b:  # two pooled connections
            await a.fetch("SELECT 1")
            await b.fetch("SELECT 1")
        await drop_connections(engine, "mhi-reads-test")
        assert (await reads.fetch("SELECT 2 AS two"))[0]["two"] == 2
        assert (await reads.fetch("SELECT 3 AS three"))[0]["three"] == 3


async def test_a_lost_connection_inside_a_multi_statement_read_says_so(
    engine: AsyncEngine,
) -> None:
    async with reads_named(engine, "mhi-reads-test-2") as reads:
        async with reads.connection() as warm:
            await warm.fetch("SELECT 1")
        await drop_connections(engine, "mhi-reads-test-2")
        with pytest.raises(ConnectionLost):
            async with reads.connection() as connection:
                await connection.fetch("SELECT 1")
        assert (await reads.fetch("SELECT 4 AS four"))[0]["four"] == 4
