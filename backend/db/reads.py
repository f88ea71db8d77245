"""The API's read path: hand-written SQL through the asyncpg driver, on pooled connections.

Every citizen screen is a handful of small indexed reads, and the ORM's per-query work (a
session, an identity map, entity loading: about 1.2 ms of CPU a query) cost more than the
queries themselves.  Reads here take a connection from the engine's own pool for one
statement (or a few, with ``connection()``), run SQL that the repositories write out, and
return asyncpg records that the repositories turn into small frozen dataclasses.

``Fetcher`` is what a repository needs; ``Reads`` lends one per call from the pool,
``RequestReads`` (``Reads.for_request``) lets one request's statements share one connection,
and ``fetcher_of`` wraps the connection of a caller's session or connection, so a writer that
recomputes a status inside its own transaction runs the same SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
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

    def for_request(self) -> Reads:
        """The reads of one request: its statements share one connection (``RequestReads``)."""
        return RequestReads(self)

    @property
    def shared(self) -> Reads:
        """The process's reads that these are a view of (what a process-wide cache keys on
        and reads through): these, or the primary's for one request's reads."""
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


IDLE_TURNS = 3
"""Turns of the event loop a request's connection stays with it after its last statement.

A resolver's next statement usually comes a turn or two after the previous one's answer
(a DataLoader's dispatch, a sibling field's start), so the connection is still there; a
request doing anything else (awaiting another pool, a slow call) gives it back at once."""


class Held:
    """One connection lent by ``lend`` and shared by the statements of one request, one at a
    time (statements of sibling resolvers wait their turn on it).

    Lending a pooled connection costs about as much CPU as running a small statement on it
    (SQLAlchemy's checkout in a greenlet, the reset on return: ~60 µs against ~50 µs), and a
    citizen's screen is a few small statements, several issued at once by sibling fields:
    one connection for them all saves a checkout each.  The connection is taken at the
    first statement and given back ``IDLE_TURNS`` turns of the event loop after the last one,
    so it is held only while the request is reading: never while the request waits for
    something else (another pool's connection, a session's), which could otherwise leave
    every pooled connection held by requests waiting for one.

    A statement that fails gives the connection back through ``lend``'s own exit (where a
    dead connection becomes ``ConnectionLost`` and the pool is replaced); a read is then tried
    once more on a fresh connection, as ``Reads.fetch`` does.
    """

    def __init__(self, lend: Callable[[], AbstractAsyncContextManager[Fetcher]]) -> None:
        self._lend = lend
        self._lock = asyncio.Lock()
        self._stack: AsyncExitStack | None = None
        self._fetcher: Fetcher | None = None
        self._statements = 0
        self.taken = 0
        """Connections taken so far (tests)."""

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        """The rows of ``sql``, on the shared connection."""
        async with self._lock:
            try:
                return await self._run(sql, args)
            except ConnectionLost:
                return await self._run(sql, args)
            finally:
                self._statements += 1
                if self._stack is not None:
                    asyncio.get_running_loop().call_soon(self._idle, self._statements,
                                                         IDLE_TURNS)

    async def _run(self, sql: str, args: tuple[object, ...]) -> list[Record]:
        fetcher = self._fetcher
        if fetcher is None:
            stack = AsyncExitStack()
            fetcher = await stack.enter_async_context(self._lend())
            self._stack, self._fetcher = stack, fetcher
            self.taken += 1
        try:
            return await fetcher.fetch(sql, *args)
        except BaseException as error:
            held, self._stack, self._fetcher = self._stack, None, None
            if held is not None:  # ``lend``'s exit: a dead connection -> ConnectionLost
                await held.__aexit__(type(error), error, error.__traceback__)
            raise

    def _idle(self, statements: int, turns: int) -> None:
        if statements != self._statements or self._lock.locked() or self._stack is None:
            return  # a later statement keeps it (and schedules its own check)
        if turns > 1:
            asyncio.get_running_loop().call_soon(self._idle, statements, turns - 1)
            return
        stack, self._stack, self._fetcher = self._stack, None, None
        closing = asyncio.get_running_loop().create_task(stack.aclose())
        _CLOSING.add(closing)  # a task nobody references may be collected before it ends
        closing.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Task[None]] = set()


class OneConnection(Reads):
    """Reads whose statements, also inside ``connection()``, share one connection lent by
    ``_lend`` (``Held``): one request's.  ``RequestReads`` lends the primary's;
    ``backend.db.replica.RoutedReads`` the replica's or the primary's."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.held = Held(self._lend)

    def _lend(self) -> AbstractAsyncContextManager[Fetcher]:
        raise NotImplementedError

    def for_request(self) -> Reads:
        return self

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        """The rows of ``sql``, on the request's connection."""
        return await self.held.fetch(sql, *args)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Fetcher]:
        """The request's connection for a few statements in a row (still one at a time:
        a sibling's statement may run between two of them, which autocommit reads allow)."""
        yield self.held


class RequestReads(OneConnection):
    """The reads of one request on ``base`` (the process's)."""

    def __init__(self, base: Reads) -> None:
        self._base = base
        super().__init__(base._engine)
        self.listeners = base.listeners

    def _lend(self) -> AbstractAsyncContextManager[Fetcher]:
        return self._base.connection()

    @property
    def primary(self) -> Reads:
        return self._base.primary

    @property
    def shared(self) -> Reads:
        return self._base.shared


class ConnectionLost(Exception):
    """A statement's connection closed under it; nothing was read."""


async def fetcher_of(db: AsyncSession | AsyncConnection) -> Fetcher:
    """A ``Fetcher`` inside the transaction of a caller's session or connection."""
    connection = await db.connection() if isinstance(db, AsyncSession) else db
    raw = await connection.get_raw_connection()
    return DriverFetcher(raw.driver_connection, [])
