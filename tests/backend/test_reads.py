"""The read path survives the database dropping its connections: the next read works; one
request's statements share one connection, given back as soon as the request stops reading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_engine
from backend.db.reads import ConnectionLost, Reads, RequestReads


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


async def test_one_requests_concurrent_statements_share_one_connection(
    engine: AsyncEngine,
) -> None:
    async with reads_named(engine, "mhi-reads-held") as reads:
        request = reads.for_request()
        assert isinstance(request, RequestReads)
        answers = await asyncio.gather(*(
            request.fetch("SELECT $1::int AS n, pg_backend_pid() AS pid", n) for n in range(6)))
        assert [rows[0]["n"] for rows in answers] == list(range(6))
        assert len({rows[0]["pid"] for rows in answers}) == 1  # one server connection
        assert request.held.taken == 1
        async with request.connection() as db:  # a block of statements: the same one
            assert (await db.fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"] \
                == answers[0][0]["pid"]
        assert request.held.taken == 1


async def test_an_idle_request_gives_its_connection_back(engine: AsyncEngine) -> None:
    """A request doing something else than reading (here: waiting for the only other
    connection of the pool) holds none: two requests can never wait for each other's."""
    own = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1,
                        max_overflow=0, pre_ping=False, application_name="mhi-reads-idle")
    try:
        reads = Reads(own)
        first, second = reads.for_request(), reads.for_request()
        await first.fetch("SELECT 1")
        # The pool has one connection: the second request gets it only once the first has
        # given it back, a few turns of the event loop after its last statement.
        rows = await asyncio.wait_for(second.fetch("SELECT 2 AS two"), 5)
        assert rows[0]["two"] == 2
        for _ in range(10):
            await asyncio.sleep(0)
        assert own.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await own.dispose()


async def test_a_failing_statement_gives_the_connection_back_and_the_next_one_works(
    engine: AsyncEngine,
) -> None:
    async with reads_named(engine, "mhi-reads-error") as reads:
        request = reads.for_request()
        with pytest.raises(asyncpg.DivisionByZeroError):
            await request.fetch("SELECT 1 / $1::int", 0)
        assert (await request.fetch("SELECT 5 AS five"))[0]["five"] == 5


async def test_a_requests_connection_dropped_under_it_is_replaced(engine: AsyncEngine) -> None:
    async with reads_named(engine, "mhi-reads-held-lost") as reads:
        request = reads.for_request()
        first = (await request.fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"]
        await drop_connections(engine, "mhi-reads-held-lost")
        rows = await request.fetch("SELECT pg_backend_pid() AS pid")  # retried once
        assert rows[0]["pid"] != first
