"""Sending: claim due deliveries, push them through the gateway, record what FCM said.

A claim is its own committed transaction (``sending``, ``attempts`` + 1) before any call, and
the outcome another after it.  So a worker that dies between the two leaves ``sending`` rows
behind; ``reap`` turns those older than the lease into ``unknown``: FCM may have delivered
them, and sending again could push twice.  Every other path is exact: a retried delivery was
refused by FCM, and one (event, device) has one row.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifications.clock import NOW, Clock, reading
from notifications.gateway import Gateway, Outcome, Verdict
from notifications.messages import Claimed, Expired, Push, build
from notifications.settings import NotifySettings

log = logging.getLogger("mhi.notify")
CLAIM: Final = f"""
WITH due AS (
  SELECT id, device_id, digest_key FROM notify.delivery
  WHERE state = 'pending' AND due_at <= {NOW}
  ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED
), companions AS (
  SELECT d.id FROM notify.delivery d
  JOIN (SELECT DISTINCT device_id, digest_key FROM due WHERE digest_key IS NOT NULL) g
    ON d.device_id = g.device_id AND d.digest_key = g.digest_key
  WHERE d.state = 'pending' AND d.id NOT IN (SELECT id FROM due)
  FOR UPDATE OF d SKIP LOCKED
), picked AS (SELECT id FROM due UNION ALL SELECT id FROM companions)
UPDATE notify.delivery d SET state = 'sending', claimed_at = {NOW}, attempts = d.attempts + 1
FROM picked, notify.device v, notify.outbox o
WHERE d.id = picked.id AND v.id = d.device_id AND o.id = d.event_id
RETURNING d.id, d.event_id, d.device_id, d.kind, d.category, d.digest_key, d.attempts,
  v.token, v.token_kind, v.platform, v.language, v.retired_at IS NOT NULL, o.payload,
  o.created_at
"""  # noqa: S608 (the clock expression, no client value)
EARLIER: Final = """
SELECT d.device_id, d.digest_key, o.payload FROM notify.delivery d
JOIN notify.outbox o ON o.id = d.event_id
JOIN unnest(CAST(:devices AS bigint[]), CAST(:keys AS text[])) AS g(device_id, digest_key)
  ON d.device_id = g.device_id AND d.digest_key = g.digest_key
WHERE d.state = 'sent' ORDER BY d.event_id, d.id
"""
RECORD: Final = f"""
UPDATE notify.delivery d SET state = u.state,
  due_at = coalesce((SELECT notify.quiet_until(u.due_at, q.starts, q.ends, q.time_zone)
                     FROM notify.quiet_hours q WHERE q.person_id = d.person_id),
                    u.due_at, d.due_at),
  last_error = u.error, message_name = u.name, claimed_at = NULL,
  finished_at = CASE WHEN u.state = 'pending' THEN NULL ELSE {NOW} END
FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:due AS timestamptz[]),
            CAST(:errors AS text[]), CAST(:names AS text[])) AS u(id, state, due_at, error, name)
WHERE d.id = u.id AND d.state = 'sending'
"""  # noqa: S608 (the clock expression, no client value)
RETIRE: Final = f"""
WITH retired AS (
  UPDATE notify.device v SET retired_at = {NOW}, retired_reason = r.reason
  FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS r(id, reason)
  WHERE v.id = r.id AND v.retired_at IS NULL RETURNING v.id
)
UPDATE notify.delivery SET state = 'cancelled', finished_at = {NOW}, claimed_at = NULL,
  last_error = 'DEVICE_RETIRED'
WHERE device_id IN (SELECT id FROM retired) AND state = 'pending'
"""  # noqa: S608 (the clock expression, no client value)
REAP: Final = f"""
UPDATE notify.delivery SET state = 'unknown', finished_at = {NOW},
  last_error = 'WORKER_LOST: the worker stopped during the call; not sent again'
WHERE state = 'sending' AND claimed_at < {NOW} - make_interval(secs => :lease)
"""  # noqa: S608 (the clock expression, no client value)


@dataclass
class SendReport:
    """What one round of sending did."""

    claimed: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    rejected: int = 0
    dead: int = 0
    cancelled: int = 0
    unknown: int = 0
    pause: float = 0.0  # FCM asked everyone to wait (429 Retry-After): seconds


def backoff(attempts: int, settings: NotifySettings, retry_after: float | None,
            rng: random.Random) -> float:
    """Seconds before the next try: exponential in ``attempts`` with jitter (half to all of
    it, so that a burst of failures does not come back at once), never before Retry-After."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** (attempts - 1))
    delay = ceiling * rng.uniform(0.5, 1.0)
    return float(max(delay, retry_after or 0.0))


class Sender:
    """Claims, sends and records, one batch at a time (several may run at once)."""

    def __init__(self, engine: AsyncEngine, gateway: Gateway, settings: NotifySettings,
                 rng: random.Random | None = None, clock: Clock | None = None) -> None:
        self.engine = engine
        self.gateway = gateway
        self.settings = settings
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self.clock = clock  # None: the database's now() (see notifications.clock)

    async def send_once(self) -> SendReport:
        """Claim up to ``send_batch`` due deliveries, send them and record the outcome."""
        async with self.engine.begin() as conn:
            claimed = await self._claim(conn)
            earlier = await self._earlier(conn, claimed)
        report = SendReport(claimed=len(claimed))
        if not claimed:
            return report
        live = [c for c in claimed if not c.retired]
        pushes: list[Push] = []
        broken: dict[int, str] = {}
        expired: dict[int, str] = {}
        for group in _groups(live):
            try:
                pushes.append(build(group, earlier.get((group[0].device_id,
                                                        group[0].digest_key), []),
                                    now=reading(self.clock)))
            except Expired:  # too late to be true (a warning on its day, a reminder after
                # its 25th): never sent
                expired.update({c.id: "EXPIRED: too late to be true" for c in group})
            except (ValueError, KeyError, TypeError) as error:  # an event we cannot word
                log.error("a push could not be built (%s: %s); dead-lettered",
                          group[0].kind, type(error).__name__)
                broken.update({c.id: f"BUILD_FAILED: {type(error).__name__}" for c in group})
        outcomes = await self.gateway.send([push.message for push in pushes])
        report.messages = len(pushes)
        async with self.engine.begin() as conn:
            await self._record(conn, claimed, pushes, outcomes, report, broken, expired)
        return report

    async def _claim(self, conn: AsyncConnection) -> list[Claimed]:
        rows = (await conn.execute(text(CLAIM), {"limit": self.settings.send_batch,
                                                  "now": reading(self.clock)})).all()
        # In event order: one expansion writes a batch's deliveries in no set order, and a
        # digest lists its payments (and a group names its newest) by event.
        return [Claimed(*row) for row in sorted(rows, key=lambda row: (row[1], row[0]))]

    async def _earlier(self, conn: AsyncConnection, claimed: Sequence[Claimed]
                       ) -> dict[tuple[int, str | None], list[Mapping[str, Any]]]:
        keys = {(c.device_id, c.digest_key) for c in claimed if c.digest_key is not None}
        found: dict[tuple[int, str | None], list[Mapping[str, Any]]] = defaultdict(list)
        if keys:
            devices, digest_keys = zip(*keys, strict=True)
            for device_id, digest_key, payload in (await conn.execute(text(EARLIER), {
                    "devices": list(devices), "keys": list(digest_keys)})).all():
                found[(device_id, digest_key)].append(payload)
        return found

    async def _record(self, conn: AsyncConnection, claimed: Sequence[Claimed],
                      pushes: Sequence[Push], outcomes: Sequence[Outcome],
                      report: SendReport, broken: Mapping[int, str],
                      expired: Mapping[int, str]) -> None:
        now = reading(self.clock) or datetime.now().astimezone()
        rows: dict[int, tuple[str, datetime | None, str | None, str | None]] = {
            c.id: ("cancelled", None, "DEVICE_RETIRED", None) for c in claimed if c.retired}
        rows.update({key: ("cancelled", None, error, None) for key, error in expired.items()})
        report.cancelled = len(rows)
        rows.update({key: ("dead", None, error, None) for key, error in broken.items()})
        report.dead += len(broken)
        retire: dict[int, str] = {}
        for push, outcome in zip(pushes, outcomes, strict=True):
            for delivery in push.deliveries:
                rows[delivery.id] = self._state(delivery, outcome, now, report)
            if outcome.verdict is Verdict.RETIRE:
                retire[push.deliveries[0].device_id] = str(outcome.error)
            if outcome.error == "QUOTA_EXCEEDED" and outcome.retry_after:
                report.pause = max(report.pause, outcome.retry_after)
        ids = list(rows)
        await conn.execute(text(RECORD), {
            "ids": ids, "states": [rows[i][0] for i in ids], "due": [rows[i][1] for i in ids],
            "errors": [rows[i][2] for i in ids], "names": [rows[i][3] for i in ids],
            "now": reading(self.clock)})
        if retire:
            await conn.execute(text(RETIRE), {"ids": list(retire),
                                              "reasons": list(retire.values()),
                                              "now": reading(self.clock)})

    def _state(self, delivery: Claimed, outcome: Outcome, now: datetime, report: SendReport
               ) -> tuple[str, datetime | None, str | None, str | None]:
        verdict = outcome.verdict
        if verdict is Verdict.SENT:
            report.sent += 1
            return "sent", None, None, outcome.message_name
        if verdict is Verdict.RETIRE:
            report.rejected += 1
            return "rejected", None, outcome.error, None
        if verdict is Verdict.UNKNOWN:
            report.unknown += 1
            return "unknown", None, outcome.error, None
        if verdict is Verdict.RETRY and delivery.attempts < self.settings.max_attempts:
            report.retried += 1
            delay = backoff(delivery.attempts, self.settings, outcome.retry_after, self.rng)
            return "pending", now + timedelta(seconds=delay), outcome.error, None
        report.dead += 1
        if verdict is Verdict.FAIL:
            return "dead", None, outcome.error, None
        return "dead", None, f"{outcome.error} after {delivery.attempts} attempts", None


def _groups(claimed: Sequence[Claimed]) -> list[list[Claimed]]:
    """One group per message: a device's deliveries that share a digest key, else alone."""
    groups: dict[tuple[int, str] | int, list[Claimed]] = {}
    for delivery in claimed:
        key: tuple[int, str] | int = ((delivery.device_id, delivery.digest_key)
                                      if delivery.digest_key is not None else delivery.id)
        groups.setdefault(key, []).append(delivery)
    return list(groups.values())


async def reap(conn: AsyncConnection, settings: NotifySettings,
               clock: Clock | None = None) -> int:
    """Deliveries a dead worker left ``sending``: marked ``unknown`` (see the module)."""
    result = await conn.execute(text(REAP), {"lease": float(settings.lease_seconds),
                                             "now": reading(clock)})
    return int(result.rowcount)
