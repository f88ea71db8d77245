"""Retention: delete by age, in bounded batches, what nobody needs any more.

Every job is one table and one age (``JOBS``).  A batch is one short transaction:

    DELETE FROM <table> WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM <table> t WHERE <age> < :cutoff AND <guards>
      ORDER BY <age> LIMIT :rows FOR UPDATE OF t SKIP LOCKED))

so it takes row locks on at most ``batch_rows`` rows, never a table lock, walks the index on
its age from the oldest end (migration 0017 made one where none was), and steps around rows
another transaction holds (a sender recording an outcome, a requeue) instead of waiting.  A
run does at most ``max_batches`` batches per table (the worker's bound) and rests
``pause_seconds`` between batches; what is left waits for the next run.

What must stay, whatever its age (the guards):

- A sent push whose device still has a push of the same digest key waiting or being sent: the
  digest reads the day's earlier sent pushes and their events' payloads (``notifications.
  sender.EARLIER``) to count the whole day.  Together with ``delivery_days`` >= 2 this means a
  digest never misses an earlier payload: a digest key names one local day, so once a sent
  push is two days old no new push of its key can be written.
- A push or an inbox item of an event whose text is still pending: the SMS loop skips the text
  when a push was sent or the item read (``notifications.sms``).
- An event while any push or text of it remains (the claim and the digest join the event).
- An event not yet dispatched (a kind this worker does not know waits for one that does).
- An access-log entry still queued for the verifiable log (``tlog.pending``): the appender
  reads the row to make its leaf.

Each batch that deleted rows also moves ``core.retention_horizon`` for its table to its cutoff,
in the same transaction: every row older than ``before`` may be gone.  The verifiable log's
monitor reads it for the access log.

Only one process prunes at a time (a session advisory lock); another worker's run skips.
The development SMS sink, a file, is pruned by ``prune_dev_sms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.settings import RetentionSettings

log = logging.getLogger("mhi.retention")
LOCK: Final = 0x6D68692D72657465  # "mhi-rete"
NO_ID: Final = 9_223_372_036_854_775_807

_FINISHED_PUSH = "('sent', 'rejected', 'cancelled', 'unknown')"
_FINISHED_SMS = "('sent', 'delivered', 'undelivered', 'skipped', 'dead', 'cancelled', 'unknown')"
_DIGEST_WAITING = ("(t.digest_key IS NULL OR NOT EXISTS (SELECT 1 FROM notify.delivery p"
                   " WHERE p.device_id = t.device_id AND p.digest_key = t.digest_key"
                   " AND p.digest_key IS NOT NULL AND p.state IN ('pending', 'sending')))")
_SMS_WAITING = ("NOT EXISTS (SELECT 1 FROM notify.sms_delivery s WHERE s.event_id = t.event_id"
                " AND s.state IN ('pending', 'sending'))")


@dataclass(frozen=True)
class Job:
    """One table pruned by one age: rows where ``age < cutoff`` and ``guard`` holds."""

    name: str
    """What ``mhi retention run`` prints and the horizon is kept under."""
    table: str
    age: str
    """The column the age is read from; an index on it (partial on ``where``) serves."""
    where: str
    """What else a row must be to be pruned by this job (matches the index's predicate)."""
    keep: Callable[[RetentionSettings], timedelta]
    guard: str = "true"


def _days(name: str) -> Callable[[RetentionSettings], timedelta]:
    return lambda settings: timedelta(days=getattr(settings, name))


def _throttle_age(settings: RetentionSettings) -> timedelta:
    """Never less than the longest throttle window auth counts over (plus an hour)."""
    from auth.settings import AuthSettings

    auth = AuthSettings()
    windows = [int(value) for key, value in auth.model_dump().items()
               if key.endswith("window_seconds") and isinstance(value, int)]
    longest = timedelta(seconds=max(windows, default=0)) + timedelta(hours=1)
    return max(timedelta(hours=settings.throttle_hours), longest)


JOBS: Final[tuple[Job, ...]] = (
    Job("push deliveries", "notify.delivery", "finished_at", f"state IN {_FINISHED_PUSH}",
        _days("delivery_days"),
        guard=f"{_DIGEST_WAITING} AND {_SMS_WAITING}"),
    Job("dead push deliveries", "notify.delivery", "finished_at", "state = 'dead'",
        _days("dead_delivery_days")),
    Job("sms deliveries", "notify.sms_delivery", "created_at", f"state IN {_FINISHED_SMS}",
        _days("sms_days")),
    Job("read inbox items", "notify.notification", "created_at", "read_at IS NOT NULL",
        _days("inbox_read_days"), guard=_SMS_WAITING),
    Job("unread inbox items", "notify.notification", "created_at", "read_at IS NULL",
        _days("inbox_unread_days"), guard=_SMS_WAITING),
    Job("outbox events", "notify.outbox", "dispatched_at", "dispatched_at IS NOT NULL",
        _days("outbox_days"),
        guard="NOT EXISTS (SELECT 1 FROM notify.delivery d WHERE d.event_id = t.id)"
              " AND NOT EXISTS (SELECT 1 FROM notify.sms_delivery s WHERE s.event_id = t.id)"),
    Job("sign-in challenges", "auth.login_challenge", "expires_at", "true",
        _days("auth_keep_days")),
    Job("consent challenges", "auth.consent_challenge", "expires_at", "true",
        _days("auth_keep_days")),
    Job("consent codes", "auth.consent_code", "expires_at", "true", _days("auth_keep_days")),
    Job("onboarding codes", "auth.onboarding_code", "expires_at", "true",
        _days("auth_keep_days")),
    Job("consent windows", "auth.consent_window", "expires_at", "true",
        _days("auth_keep_days"),
        guard="NOT EXISTS (SELECT 1 FROM auth.onboarding_code o WHERE o.window_id = t.id)"),
    Job("staff setup codes", "auth.staff_setup_code", "expires_at", "true",
        _days("auth_keep_days")),
    Job("used refresh tokens", "auth.refresh_token", "used_at", "used_at IS NOT NULL",
        _days("used_refresh_token_days")),
    Job("expired sessions", "auth.session_family", "expires_at", "true",
        _days("auth_keep_days")),
    Job("revoked sessions", "auth.session_family", "revoked_at", "revoked_at IS NOT NULL",
        _days("auth_keep_days")),
    Job("desk sessions", "auth.desk_session", "expires_at", "true", _days("auth_keep_days")),
    Job("throttle windows", "auth.throttle", "window_start", "true", _throttle_age),
    Job("access log", "core.access_log", "at", "true", _days("access_log_days"),
        guard="t.id < (SELECT coalesce(min(record_id), 9223372036854775807) FROM tlog.pending"
              " WHERE kind = 'access')"),
)


def _eligible(job: Job) -> str:
    return (f"FROM {job.table} t WHERE t.{job.age} < :cutoff AND {job.where}"
            f" AND {job.guard}")


def batch_sql(job: Job) -> str:
    """One batch of ``job``: delete up to ``:rows`` of its oldest eligible rows, move its
    horizon when it deleted any, and return how many."""
    return f"""
WITH gone AS (
  DELETE FROM {job.table} WHERE ctid = ANY(ARRAY(
    SELECT t.ctid {_eligible(job)} ORDER BY t.{job.age} LIMIT :rows FOR UPDATE OF t SKIP LOCKED))
  RETURNING 1
), horizon AS (
  INSERT INTO core.retention_horizon AS h (table_name, before, pruned)
  SELECT :name, :cutoff, count(*) FROM gone HAVING count(*) > 0
  ON CONFLICT (table_name) DO UPDATE SET before = GREATEST(h.before, excluded.before),
    pruned = h.pruned + excluded.pruned, updated_at = now()
)
SELECT count(*) FROM gone"""  # noqa: S608 (constant fragments; values are parameters)


def count_sql(job: Job) -> str:
    """How many rows ``job`` would prune now (the dry run)."""
    return f"SELECT count(*) {_eligible(job)}"


@dataclass
class Pruned:
    """What one table's job did (or, dry, would do) in a run."""

    name: str
    table: str
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    done: bool = True
    """False when the run's bound stopped it with rows left."""


@dataclass
class Report:
    """One run: every job's rows, and the development SMS sink's."""

    jobs: list[Pruned] = field(default_factory=list)
    dev_sms: int = 0
    skipped: bool = False
    """Another process held the lock: nothing was done."""

    @property
    def total(self) -> int:
        """Rows pruned in all."""
        return sum(job.rows for job in self.jobs) + self.dev_sms

    def lines(self, dry_run: bool = False) -> list[str]:
        """One line per table, as ``mhi retention run`` prints them."""
        if self.skipped:
            return ["another process is pruning now; nothing done"]
        verb = "would prune" if dry_run else "pruned"
        out = [f"{job.name:22} {job.table:24} {verb} {job.rows:>12,}"
               + ("" if job.done else "  (bound reached; more next run)")
               for job in self.jobs]
        out.append(f"{'development SMS sink':22} {'(file)':24} {verb} {self.dev_sms:>12,}")
        return out


async def run(engine: AsyncEngine, settings: RetentionSettings, *, now: datetime | None = None,
              max_batches: int | None = None, dry_run: bool = False,
              jobs: Sequence[Job] = JOBS, dev_sms_file: Path | None = None,
              stop: Callable[[], bool] | None = None) -> Report:
    """Run every job once: up to ``max_batches`` batches each (None: the settings' bound;
    0: until done).  ``now``: the moment ages are counted from (default: the clock).
    ``dry_run``: count what would go and change nothing.  ``stop``: asked between batches
    (a draining worker stops at the next one)."""
    now = now or datetime.now(UTC)
    bound = settings.max_batches if max_batches is None else max_batches
    report = Report()
    async with engine.connect() as conn:
        if not (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                   {"k": LOCK})).scalar_one():
            await conn.rollback()
            report.skipped = True
            return report
        await conn.commit()
        try:
            for job in jobs:
                if stop is not None and stop():
                    break
                cutoff = now - job.keep(settings)
                if dry_run:
                    rows = (await conn.execute(text(count_sql(job)),
                                               {"cutoff": cutoff})).scalar_one()
                    await conn.rollback()
                    report.jobs.append(Pruned(job.name, job.table, int(rows)))
                else:
                    report.jobs.append(await _prune(conn, job, cutoff, settings, bound, stop))
        finally:
            await conn.rollback()  # a batch that failed left its transaction aborted
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
            await conn.commit()
    if dev_sms_file is not None:
        report.dev_sms = await asyncio.to_thread(
            prune_dev_sms, dev_sms_file, now - timedelta(hours=settings.dev_sms_hours), dry_run)
    return report


async def _prune(conn: AsyncConnection, job: Job, cutoff: datetime,
                 settings: RetentionSettings, bound: int,
                 stop: Callable[[], bool] | None) -> Pruned:
    """Batches of ``job`` until none is full, the bound is reached or ``stop`` says so."""
    pruned = Pruned(job.name, job.table)
    started = time.monotonic()
    sql = text(batch_sql(job))
    while True:
        rows = int((await conn.execute(sql, {"cutoff": cutoff, "rows": settings.batch_rows,
                                             "name": job.name})).scalar_one())
        await conn.commit()
        pruned.rows += rows
        pruned.batches += 1
        if rows < settings.batch_rows:
            break
        if (bound and pruned.batches >= bound) or (stop is not None and stop()):
            pruned.done = False
            break
        if settings.pause_seconds:
            await asyncio.sleep(settings.pause_seconds)
    pruned.seconds = time.monotonic() - started
    if pruned.rows:
        log.info("retention: %d rows of %s pruned in %d batches", pruned.rows, job.table,
                 pruned.batches)
    return pruned


def prune_dev_sms(path: Path, cutoff: datetime, dry_run: bool = False) -> int:
    """Drop the development SMS sink's messages sent before ``cutoff`` (the file holds phone
    numbers and sign-in codes); how many.  The kept lines are written to a new file that
    replaces the old one; a message the API appends meanwhile is carried over (the size is
    checked again just before the swap), so at worst one appended in the last microseconds
    is lost: it is a development file."""
    if not path.exists():
        return 0
    for _ in range(5):
        data = path.read_bytes()
        kept = [line for line in data.splitlines(keepends=True) if not _older(line, cutoff)]
        gone = len(data.splitlines()) - len(kept)
        if dry_run or gone == 0:
            return gone
        temporary = path.with_suffix(path.suffix + ".retention")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(kept))
            if path.stat().st_size != len(data):  # appended meanwhile: read again
                continue
            os.replace(temporary, path)
        return gone
    path.with_suffix(path.suffix + ".retention").unlink(missing_ok=True)
    return 0  # the API kept appending: next run


def _older(line: bytes, cutoff: datetime) -> bool:
    """A sink line sent before ``cutoff`` (an unreadable line is kept)."""
    try:
        sent = datetime.fromisoformat(json.loads(line)["sent_at"])
    except (ValueError, KeyError, TypeError):
        return False
    return sent < cutoff


async def run_every(engine: AsyncEngine, settings: RetentionSettings, stop: asyncio.Event,
                    dev_sms_file: Path | None = None) -> None:
    """The worker's job: ``run`` every ``every_seconds``, each run bounded by
    ``max_batches`` per table, until ``stop`` (a draining worker ends after its batch)."""
    if not settings.enabled:
        return
    while not stop.is_set():
        try:
            report = await run(engine, settings, dev_sms_file=dev_sms_file, stop=stop.is_set)
            if report.total:
                log.info("retention: %d rows pruned", report.total)
        except Exception:  # the database is away: try again next time
            log.exception("the retention run failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.every_seconds)


async def pruned_through(conn: AsyncConnection) -> dict[str, str]:
    """Per leaf kind of the verifiable log, the last day (UTC, ``YYYY-MM-DD``) whose records
    retention may have deleted: what ``backend.tlog.monitor.unaccounted`` takes so that a
    pruned access-log entry is not reported as removed.  Empty until something was pruned."""
    before = (await conn.execute(text(
        "SELECT before FROM core.retention_horizon WHERE table_name = 'access log'"))).scalar()
    return {} if before is None else {"access": before.astimezone(UTC).date().isoformat()}
