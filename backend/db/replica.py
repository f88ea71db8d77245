"""Reads from a streaming replica (``APP_DATABASE_REPLICA_URL``), with read-your-writes.

**What may read the replica.**  Only a signed-in citizen's GraphQL *queries*, through the
request's ``Reads`` (``RoutedReads``, made by ``ReplicaRouter.reads_for`` in
``backend.api.app``).  Everything else stays on the primary, each for a reason
(``docs/scaling.md#reads-from-a-replica`` has the table):

- a mutation, its checks and its read-back (the payload): ``pin_primary`` before it runs;
- sign-in, sessions, token revocation, throttles and cost budgets (``auth``, on the engine):
  a security check must never see a revoked session as alive;
- the access audit's rows (``backend.access.audit.record`` writes through ``Reads.primary``);
- staff, integrators and anonymous callers (their reads record looks, check eligibility,
  spend budgets: the primary, as before);
- the worker, the verifiable log's appender and monitor, the rollups, ingestion: the primary.

**Read-your-writes.**  After a citizen's mutation, ``note_write`` asks the primary for a WAL
position at or after its commit (``pg_logical_emit_message(..., flush => true)``: a tiny
non-transactional record, flushed, so that the walsender ships it now instead of when the
WAL writer next wakes, which ``synchronous_commit = off`` leaves up to 600 ms away), keeps it
as the person's mark in this process (an LRU of ``MARKS`` people, forgotten after
``MARK_SECONDS`` or once replayed), and returns it as an opaque consistency token that the
API sends in the ``X-Consistency-Token`` header.  A request carrying a token (or whose
reader has a mark) reads the replica only once the replica has replayed that position: it
waits up to ``APP_REPLICA_WAIT_SECONDS`` (polling the standby's ``pg_last_wal_replay_lsn()``),
then goes to the primary.  A token is a WAL position and nothing else: a forged one can only
send its sender's own reads to the primary.

**Health.**  A monitor task polls both servers every ``APP_REPLICA_POLL_SECONDS``: the
primary's flushed position, and the standby's receive and replay positions and last replay
time.  The lag is how long ago the primary had already flushed what the standby has not yet
replayed (0 when caught up, so a quiet primary never looks lagging).  Past
``APP_REPLICA_MAX_LAG_SECONDS``, or when the standby refuses, times out, is not in recovery
(promoted) or fails a read, reads go to the primary, without an error, and the standby is
tried again after ``APP_REPLICA_RETRY_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.reads import (
    DriverFetcher,
    Fetcher,
    OneConnection,
    Reads,
    Record,
    StatementListener,
)
from backend.observability import metrics
from backend.observability.probes import POOLS

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-consistency-token"  # noqa: S105 - a header name
MARKS = 100_000
MARK_SECONDS = 60.0
_TOKEN = re.compile(r"1\.([0-9a-f]{1,16})")
_FAILURES = (DBAPIError, OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_RETRY_ON_PRIMARY = frozenset({"40001", "25006"})
"""A recovery conflict cancelled the read; a write reached the standby (a bug: logged)."""
_DOWN_STATES = frozenset({"57P01", "57P02", "57P03", "57P04", "53300"})

_MARK = "SELECT pg_logical_emit_message(false, 'mhi', '', true)::text"
_INSERT_POSITION = "SELECT pg_current_wal_insert_lsn()::text"
_FLUSHED = "SELECT pg_current_wal_flush_lsn()::text"
_STANDBY = ("SELECT pg_is_in_recovery() AS recovering, pg_last_wal_receive_lsn()::text AS "
            "received, pg_last_wal_replay_lsn()::text AS replayed, extract(epoch FROM now() - "
            "pg_last_xact_replay_timestamp())::float8 AS replay_age")
_REPLAYED = "SELECT pg_last_wal_replay_lsn()::text"


def lsn(text: str | None) -> int:
    """A ``pg_lsn`` (``'16/B374D848'``) as a number (0 for none)."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def token_of(position: int) -> str:
    """The consistency token of a WAL position (opaque to clients)."""
    return f"1.{position:x}"


def position_of(token: str | None) -> int | None:
    """The WAL position a consistency token names; None for none or a malformed one."""
    if not token or len(token) > 20:
        return None
    found = _TOKEN.fullmatch(token.strip())
    return int(found.group(1), 16) if found else None


class WriteMarks:
    """The WAL position of each recent writer's last commit, in this process: a bounded LRU
    whose entries end after ``seconds`` (a token carries them across processes)."""

    def __init__(self, size: int = MARKS, seconds: float = MARK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._size, self._seconds, self._clock = size, seconds, clock
        self._marks: OrderedDict[uuid.UUID, tuple[int, float]] = OrderedDict()

    def note(self, person_id: uuid.UUID, position: int) -> None:
        """``person_id`` wrote, committed at or before ``position``."""
        self._marks[person_id] = (position, self._clock() + self._seconds)
        self._marks.move_to_end(person_id)
        while len(self._marks) > self._size:
            self._marks.popitem(last=False)

    def need(self, person_id: uuid.UUID, replayed: int) -> int | None:
        """The position ``person_id``'s reads need, or None (none, ended, or ``replayed``)."""
        mark = self._marks.get(person_id)
        if mark is None:
            return None
        position, until = mark
        if position <= replayed or self._clock() > until:
            del self._marks[person_id]
            return None
        return position


@dataclass(frozen=True)
class ReplicaState:
    """What the monitor last found."""

    state: str
    """``fresh``, ``lagging``, ``down`` or ``starting`` (not measured yet)."""
    replayed: int
    lag_seconds: float
    lag_bytes: int


class ReplicaRouter:
    """Decides where a citizen's reads go; one per API process (``Runtime.router``)."""

    def __init__(self, primary: Reads, replica_engine: AsyncEngine, *, max_lag: float,
                 wait: float, poll: float, retry: float, timeout: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.primary = primary
        self.replica_engine = replica_engine
        self._replica = Reads(replica_engine)
        self._replica.listeners = primary.listeners
        self._monitor = Reads(replica_engine)
        self._watch = Reads(primary._engine)  # the monitor's own: no statement listeners
        self._max_lag, self._wait, self._poll = max_lag, wait, poll
        self._retry, self._timeout, self._clock = retry, timeout, clock
        self.marks = WriteMarks(clock=clock)
        self._samples: deque[tuple[float, int]] = deque()
        self._replayed = 0
        self._lag_seconds = 0.0
        self._lag_bytes = 0
        self._measured = False
        self._down_until = 0.0
        self._precise_marks = True
        self._task: asyncio.Task[None] | None = None

    # --- health --------------------------------------------------------------------------

    @property
    def state(self) -> ReplicaState:
        """Fresh, lagging, down or starting, with the last figures."""
        if self._clock() < self._down_until:
            name = "down"
        elif not self._measured:
            name = "starting"
        elif self._lag_seconds > self._max_lag:
            name = "lagging"
        else:
            name = "fresh"
        return ReplicaState(name, self._replayed, self._lag_seconds, self._lag_bytes)

    def failed(self, error: BaseException) -> None:
        """The standby failed: reads go to the primary until the back-off is over and the
        monitor has measured it again."""
        if self._clock() >= self._down_until:
            log.warning("the read replica failed (%s); reading the primary for %.1f s",
                        type(error).__name__, self._retry)
        self._down_until = self._clock() + self._retry
        self._measured = False
        metrics.REPLICA_USABLE.set(0)

    async def poll(self) -> None:
        """Measure the standby's replay position and lag once (the monitor's turn)."""
        if self._clock() < self._down_until:
            return
        try:
            async with asyncio.timeout(self._timeout + 1.0):
                [flushed] = await self._watch.fetch(_FLUSHED)
        except Exception:  # the primary is away: the requests will say so, not the monitor
            return
        try:
            async with asyncio.timeout(self._timeout + 1.0):
                [row] = await self._monitor.fetch(_STANDBY)
        except _FAILURES as error:
            self.failed(error)
            return
        if not row["recovering"]:
            self.failed(RuntimeError("the replica is not in recovery"))
            return
        self._measured_now(lsn(flushed[0]), lsn(row["replayed"]), row["replay_age"])

    def _measured_now(self, primary: int, replayed: int, replay_age: float | None) -> None:
        now = self._clock()
        self._samples.append((now, primary))
        while len(self._samples) > 1 and now - self._samples[1][0] > 4 * self._max_lag:
            self._samples.popleft()
        self._replayed = max(self._replayed, replayed)
        behind = next((at for at, position in self._samples if position > replayed), None)
        self._lag_seconds = 0.0 if behind is None else now - behind
        self._lag_bytes = max(0, primary - replayed)
        self._measured = True
        metrics.REPLICA_LAG_SECONDS.set(self._lag_seconds)
        metrics.REPLICA_LAG_BYTES.set(self._lag_bytes)
        if replay_age is not None:
            metrics.REPLICA_REPLAY_AGE.set(replay_age)
        metrics.REPLICA_USABLE.set(1 if self.state.state == "fresh" else 0)

    async def start(self) -> None:
        """Measure once, then keep measuring in a task of this event loop; the replica's
        pool is reported as ``mhi_db_pool_connections{pool="replica"}``."""
        POOLS.watch("replica", lambda: self.replica_engine)
        await self.poll()
        self._task = asyncio.create_task(self._monitor_loop(), name="replica-monitor")

    async def close(self) -> None:
        """Stop the monitor."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _monitor_loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                await self.poll()
            except Exception:  # never let the monitor die: the next turn tries again
                log.exception("the replica monitor's turn failed")

    # --- routing -------------------------------------------------------------------------

    async def route(self, need: int | None) -> tuple[bool, str]:
        """Whether a request that needs position ``need`` (None: any) reads the replica, and
        why (the reason label of ``mhi_replica_route``)."""
        state = self.state.state
        if state != "fresh":
            return False, "down" if state in ("down", "starting") else "lagging"
        if need is None:
            return True, "fresh"
        if self._replayed >= need:
            return True, "replayed"
        started = self._clock()
        delay = 0.001
        try:
            while True:
                async with asyncio.timeout(self._timeout + 1.0):
                    replayed = lsn((await self._monitor.fetch(_REPLAYED))[0][0])
                self._replayed = max(self._replayed, replayed)
                if replayed >= need:
                    return True, "waited"
                left = started + self._wait - self._clock()
                if left <= 0:
                    return False, "own_write"
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 0.016)
        except _FAILURES as error:
            self.failed(error)
            return False, "down"
        finally:
            metrics.REPLICA_WAIT.observe(self._clock() - started)

    async def note_write(self, person_id: uuid.UUID) -> str:
        """``person_id`` just committed a write: their mark, and its token for the client."""
        if self._precise_marks:
            try:
                [row] = await self._watch.fetch(_MARK)
            except asyncpg.InsufficientPrivilegeError:
                log.warning("pg_logical_emit_message is not allowed: read-your-writes waits "
                            "for the WAL writer (grant it to the API's role)")
                self._precise_marks = False
        if not self._precise_marks:
            [row] = await self._watch.fetch(_INSERT_POSITION)
        position = lsn(row[0])
        self.marks.note(person_id, position)
        return token_of(position)

    def reads_for(self, person_id: uuid.UUID, token: str | None) -> RoutedReads:
        """The reads of one request by ``person_id``, carrying ``token`` (or None)."""
        need = self.marks.need(person_id, self._replayed)
        sent = position_of(token)
        if sent is not None and sent > self._replayed:
            need = sent if need is None else max(need, sent)
        return RoutedReads(self, person_id, need)


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None)
    if state is None and isinstance(error, DBAPIError):
        state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _replica_failed(error: BaseException, driver: object) -> str | None:
    """``down`` (the standby is away), ``retry`` (read the primary instead) or None (a real
    error of the statement: it would fail on the primary too)."""
    state = _sqlstate(error)
    if state in _RETRY_ON_PRIMARY:
        if state == "25006":
            log.error("a write reached the read replica; it ran on the primary instead")
        return "retry"
    if state in _DOWN_STATES or (state or "").startswith("08"):
        return "down"
    closed = getattr(driver, "is_closed", None)
    if isinstance(error, OSError | TimeoutError | asyncpg.InterfaceError) or (
            closed is not None and closed()):
        return "down"
    return None


class _FallbackFetcher:
    """Statements on a replica connection; on the standby's failure, on the primary."""

    def __init__(self, reads: RoutedReads, driver: object, stack: AsyncExitStack,
                 listeners: list[StatementListener]) -> None:
        self._reads, self._driver, self._stack = reads, driver, stack
        self._listeners = listeners
        self._primary: Fetcher | None = None
        self.broken = False

    async def fetch(self, sql: str, *args: object) -> list[Record]:
        if self._primary is None:
            try:
                return await DriverFetcher(self._driver, self._listeners).fetch(sql, *args)
            except _FAILURES as error:
                verdict = _replica_failed(error, self._driver)
                if verdict is None:
                    raise
                self.broken = verdict == "down"
                self._reads.fell_back(error, down=self.broken)
                self._primary = await self._stack.enter_async_context(
                    self._reads.router.primary.connection())
        return await self._primary.fetch(sql, *args)


class RoutedReads(OneConnection):
    """One request's reads: on the replica when it is fresh and has replayed what the reader
    needs, else on the primary; decided once, at the first read, for the whole request (so a
    screen is read from one place).  Its statements share one connection
    (``OneConnection``)."""

    def __init__(self, router: ReplicaRouter, person_id: uuid.UUID, need: int | None) -> None:
        super().__init__(router.primary._engine)
        self.listeners = router.primary.listeners
        self.router = router
        self.person_id = person_id
        self.need = need
        self.on_replica: bool | None = None
        self._lock = asyncio.Lock()

    @property
    def shared(self) -> Reads:
        return self.router.primary

    @property
    def primary(self) -> Reads:
        """The primary's reads, for what must never read the replica (the access audit)."""
        return self.router.primary

    def pin_primary(self) -> None:
        """Everything of this request reads the primary (a mutation)."""
        if self.on_replica is None:
            metrics.REPLICA_ROUTES.labels("primary", "pinned").inc()
        self.on_replica = False

    def fell_back(self, error: BaseException, *, down: bool) -> None:
        """The replica failed under this request: the rest reads the primary."""
        if self.on_replica:
            metrics.REPLICA_ROUTES.labels("primary", "failed").inc()
        self.on_replica = False
        if down:
            self.router.failed(error)

    async def wrote(self) -> str:
        """The reader just committed a write: the token to give back."""
        return await self.router.note_write(self.person_id)

    async def _decide(self) -> bool:
        if self.on_replica is not None:
            return self.on_replica
        async with self._lock:
            if self.on_replica is None:
                target, reason = await self.router.route(self.need)
                metrics.REPLICA_ROUTES.labels("replica" if target else "primary", reason).inc()
                self.on_replica = target
        return bool(self.on_replica)

    @asynccontextmanager
    async def _lend(self) -> AsyncIterator[Fetcher]:
        """A connection on the chosen server (see ``Reads.connection``); a replica that
        fails under it hands the statements to the primary."""
        raw = None
        if await self._decide():
            try:
                raw = await asyncio.wait_for(self.router.replica_engine.raw_connection(),
                                             self.router._timeout + 1.0)
            except _FAILURES as error:
                self.fell_back(error, down=True)
        if raw is None:
            async with self.router.primary.connection() as db:
                yield db
            return
        async with AsyncExitStack() as stack:
            fetcher = _FallbackFetcher(self, raw.driver_connection, stack, self.listeners)
            try:
                yield fetcher
            finally:
                if fetcher.broken:
                    raw.invalidate()
                    await self.router.replica_engine.dispose(close=False)
                raw.close()
