"""The API's read path: hand-written SQL through the asyncpg driver, on pooled connections.

Every citizen screen is a handful of small indexed reads, and the ORM's per-query work (a
session, an identity map, entity loading: about 1.2 ms of CPU a query) cost more than the
queries themselves.  Reads here take a connection from the engine's own pool for one
statement (or a few, with ``connection()``), run SQL that the repositories write out, and
return asyncpg records that the repositories turn into small frozen dataclasses.

``Fetcher`` is what a repository needs; ``Reads`` lends one per call from the pool, and
``fetcher_of`` wraps the connection of a caller's session or connection, so a writer that
recomputes a status inside its own transaction runs the same SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

Record = Any
"""An asyncpg record (``row["column"]``); asyncpg ships no type information."""

StatementListener = Callable[[str], None]


class Fetcher(Protocol):
    """Something that runs one SQL statement with ``$n`` parameters and returns its rows."""

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        """The rows of ``sql``."""


class DriverFetcher:
    """A ``Fetcher`` over one asyncpg connection, telling listeners of each statement."""

    def __init__(self, driver: Any, listeners: list[StatementListener]) -> None:
        self._driver = driver
        self._listeners = listeners

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        """The rows of ``sql`` (asyncpg prepares and caches each statement per connection)."""
        for listener in self._listeners:
            listener(sql)
        rows: list[Record] = await self._driver.fetch(sql, *args)
        return rows


class Reads:
    """Reads on connections lent by ``engine``'s pool, one checkout per call.

    The pool does not ping a connection before lending it.  When a statement finds its
    connection gone (the server restarted, a proxy dropped it), every pooled connection is
    suspect: the pool is replaced, and a single-statement ``fetch`` (a read, so safe to
    repeat) is tried once more on a fresh connection.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.listeners: list[StatementListener] = []

    @property
    def primary(self) -> Reads:
        """Reads that never go to a replica: these (``backend.db.replica.RoutedReads`` gives
        the primary's).  What writes through a ``Reads`` (the access audit) uses this."""
        return self

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        """The rows of ``sql`` on a connection held just for it."""
        try:
            async with self.connection() as connection:
                return await connection.fetch(sql, *args)
        except ConnectionLost:
            async with self.connection() as connection:
                return await connection.fetch(sql, *args)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Fetcher]:
        """One pooled connection for a few statements in a row (autocommit: no BEGIN).

        Raises ``ConnectionLost`` (and replaces the pool) when the connection died under it.
        """
        raw = await self._engine.raw_connection()
        try:
            yield DriverFetcher(raw.driver_connection, self.listeners)
        except Exception as error:
            driver = raw.driver_connection
            if driver is None or driver.is_closed():
                raw.invalidate()
                await self._engine.dispose(close=False)
                raise ConnectionLost("the database connection was lost") from error
            raise
        finally:
            raw.close()


class ConnectionLost(Exception):
    """A statement's connection closed under it; nothing was read."""


async def fetcher_of(db: AsyncSession | AsyncConnection) -> Fetcher:
    """A ``Fetcher`` inside the transaction of a caller's session or connection."""
    connection = await db.connection() if isinstance(db, AsyncSession) else db
    raw = await connection.get_raw_connection()
    return DriverFetcher(raw.driver_connection, [])
