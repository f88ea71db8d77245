"""The worker's metrics: what it did (counters), how long FCM and the SMS operator took, and
how far behind the queues are (scrape-time probes on the database).

``notifications`` knows nothing of metrics (it imports neither ``backend`` nor a metrics
library): ``instrument_worker`` wraps the dispatcher's FCM gateway and SMS channel in timed
ones, and exports the dispatcher's own running ``Totals`` as counters when scraped, so the
send loops do no extra work beyond two clock reads per call.

**Several workers.**  Each exports its own counters (sum them).  The queue gauges are the
database's, so every worker reports the same figures: take ``max`` of them across workers,
as the alert rules do.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from time import perf_counter
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from firebase_admin import messaging
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.observability import metrics
from backend.observability.probes import POOLS, PROBE_TIMEOUT_SECONDS, PROBES, Probe
from backend.observability.server import MetricsServer, MetricsSettings, serve_metrics
from notifications.gateway import Gateway, Outcome, Verdict
from notifications.sms import SmsChannel, SmsOutcome
from notifications.worker import Dispatcher, Totals

ALMATY = ZoneInfo("Asia/Almaty")
COUNT_CAP = 1_000_000
"""Queue gauges count at most this many rows: past it the figure says "a million or more",
and counting further would cost the database more than it tells anyone."""
_STATEMENT_TIMEOUT_MS = int(PROBE_TIMEOUT_SECONDS * 1000) - 250


class MeteredGateway(Gateway):
    """The FCM gateway, timing each ``send_each_async`` call and counting FCM's answers."""

    def __init__(self, inner: Gateway) -> None:
        super().__init__(inner.app)
        self.inner = inner

    async def send(self, messages: Sequence[messaging.Message]) -> list[Outcome]:
        """``Gateway.send``, timed; each answer counted by its result."""
        if not messages:
            return []
        started = perf_counter()
        try:
            outcomes = await self.inner.send(messages)
        finally:
            metrics.FCM_SEND_DURATION.observe(perf_counter() - started)
        for outcome in outcomes:
            metrics.FCM_MESSAGES.labels(metrics.fcm_result(
                None if outcome.verdict is Verdict.SENT else outcome.error or "UNKNOWN")).inc()
        return outcomes


class MeteredSmsChannel:
    """An ``SmsChannel`` that times each text sent and counts the operator's verdicts."""

    def __init__(self, inner: SmsChannel) -> None:
        self.inner = inner

    async def send(self, phone: str, text: str) -> SmsOutcome:
        """The inner channel's ``send``, timed (the number and text are not looked at)."""
        started = perf_counter()
        try:
            outcome = await self.inner.send(phone, text)
        finally:
            metrics.SMS_SEND_DURATION.observe(perf_counter() - started)
        metrics.SMS_CALLS.labels(outcome.verdict.value).inc()
        return outcome

    async def delivery_states(self, message_ids: Sequence[str]) -> Mapping[str, str]:
        """The inner channel's delivery reports."""
        return await self.inner.delivery_states(message_ids)


_PUSH_OUTCOMES = ("sent", "retried", "rejected", "dead", "unknown", "cancelled")
_SMS_OUTCOMES = {"sent": "sms_sent", "skipped": "sms_skipped", "retried": "sms_retried",
                 "dead": "sms_dead", "cancelled": "sms_cancelled", "unknown": "sms_unknown"}


class TotalsCollector(Collector):
    """The dispatchers' running ``Totals`` as counters (read at scrape, nothing per send)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dispatchers: weakref.WeakSet[Dispatcher] = weakref.WeakSet()

    def watch(self, dispatcher: Dispatcher) -> None:
        """Export ``dispatcher``'s totals (summed with the others of the process)."""
        with self._lock:
            self._dispatchers.add(dispatcher)

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families appear with the first dispatcher."""
        return []

    def collect(self) -> Iterable[Metric]:
        """``mhi_notify_*_total``: events, deliveries, pushes and SMS by outcome, retries,
        dead letters."""
        with self._lock:
            totals = [d.totals for d in self._dispatchers]
        if not totals:
            return []

        def total(field: str) -> float:
            return float(sum(getattr(t, field) for t in totals))

        events = CounterMetricFamily("mhi_notify_events_expanded", "Outbox events expanded "
                                     "into inbox items, deliveries and SMS rows.")
        events.add_metric([], total("events"))
        written = CounterMetricFamily("mhi_notify_deliveries_written", "Push deliveries "
                                      "written by expansion (one per event and device).")
        written.add_metric([], total("deliveries"))
        pushes = CounterMetricFamily(
            "mhi_notify_push_deliveries", "Push deliveries finished or put back by a send "
            "round, by outcome (sent, retried, rejected, dead, unknown, cancelled).",
            labels=["outcome"])
        for outcome in _PUSH_OUTCOMES:
            pushes.add_metric([outcome], total(outcome))
        texts = CounterMetricFamily(
            "mhi_notify_sms", "Critical SMS handled by a send round, by outcome (sent, "
            "skipped: the push got there, retried, dead, cancelled, unknown).",
            labels=["outcome"])
        for outcome, field in _SMS_OUTCOMES.items():
            texts.add_metric([outcome], total(field))
        retries = CounterMetricFamily("mhi_notify_retries", "Deliveries put back to pending "
                                      "after a transient failure, by channel.",
                                      labels=["channel"])
        retries.add_metric(["push"], total("retried"))
        retries.add_metric(["sms"], total("sms_retried"))
        dead = CounterMetricFamily("mhi_notify_dead_letters", "Deliveries given up (dead): "
                                   "`mhi notify dead` lists them, `mhi notify requeue` "
                                   "retries them; by channel.", labels=["channel"])
        dead.add_metric(["push"], total("dead"))
        dead.add_metric(["sms"], total("sms_dead"))
        return [events, written, pushes, texts, retries, dead]


TOTALS = TotalsCollector()
REGISTRY.register(TOTALS)


class QueueProbe(Probe):
    """How far behind the notification queues are (indexed reads, capped counts)."""

    name = "notify_queues"
    families: ClassVar[Mapping[str, str]] = {
        "mhi_notify_outbox_waiting": "Outbox events not yet expanded (at most 1,000,000 "
                                     "counted).",
        "mhi_notify_outbox_lag_seconds": "Age of the oldest outbox event not yet expanded "
                                         "(0 when none waits).",
        "mhi_notify_deliveries_due": "Push deliveries due now and not yet sent (at most "
                                     "1,000,000 counted).",
        "mhi_notify_delivery_lag_seconds": "How long the longest-waiting due push delivery "
                                           "has been due (0 when none).",
        "mhi_notify_sms_due": "Critical SMS due now and not yet sent (at most 1,000,000).",
        "mhi_notify_quiet_hours_held": "Push deliveries held now by their person's quiet "
                                       "hours (at most 1,000,000 counted).",
        "mhi_notify_dead_letters_waiting": "Push deliveries in state dead, waiting for "
                                           "`mhi notify requeue` or pruning.",
    }
    SQL = f"""
    SELECT
      (SELECT count(*) FROM (SELECT 1 FROM notify.outbox WHERE dispatched_at IS NULL
                             LIMIT {COUNT_CAP}) w),
      (SELECT extract(epoch FROM now() - created_at) FROM notify.outbox
       WHERE dispatched_at IS NULL ORDER BY id LIMIT 1),
      (SELECT count(*) FROM (SELECT 1 FROM notify.delivery WHERE state = 'pending'
                             AND due_at <= now() LIMIT {COUNT_CAP}) d),
      (SELECT extract(epoch FROM now() - min(due_at)) FROM notify.delivery
       WHERE state = 'pending' AND due_at <= now()),
      (SELECT count(*) FROM (SELECT 1 FROM notify.sms_delivery WHERE state = 'pending'
                             AND due_at <= now() LIMIT {COUNT_CAP}) s),
      (SELECT count(*) FROM (SELECT 1 FROM notify.delivery d
                             JOIN notify.quiet_hours q ON q.person_id = d.person_id
                             WHERE d.state = 'pending' AND d.due_at > now()
                             AND notify.quiet_until(now(), q.starts, q.ends, q.time_zone)
                                 > now() LIMIT {COUNT_CAP}) h),
      (SELECT count(*) FROM notify.delivery WHERE state = 'dead')
    """  # noqa: S608 (a constant, no client value)

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self) -> dict[str, float]:
        """One statement of scalar subqueries, each on a partial index."""
        row = await _one(self._engine, self.SQL, {})
        names = list(self.families)
        return {name: float(value or 0) for name, value in zip(names, row, strict=True)}


class StatusProbe(Probe):
    """How far the status refresh is behind: stored statuses whose ``stable_until`` has come
    (the worker recomputes them every few minutes; the refresh has fallen behind when they
    stay)."""

    name = "status_refresh"
    families: ClassVar[Mapping[str, str]] = {
        "mhi_status_refresh_due_people": "People whose stored status is due to be "
                                         "recomputed and is not yet (at most 1,000,000).",
        "mhi_status_refresh_behind_seconds": "Since when the oldest due status has been due "
                                             "(its stable_until, midnight in Almaty); 0 when "
                                             "none is due.",
    }
    SQL = f"""
    SELECT (SELECT count(*) FROM (SELECT 1 FROM core.person_status
                                  WHERE stable_until <= :today LIMIT {COUNT_CAP}) s),
           (SELECT min(stable_until) FROM core.person_status WHERE stable_until <= :today)
    """  # noqa: S608 (a constant, no client value)

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self) -> dict[str, float]:
        """Two reads on ``ix_person_status_stable_until``."""
        now = datetime.now(ALMATY)
        due, oldest = await _one(self._engine, self.SQL, {"today": now.date()})
        behind = 0.0
        if oldest is not None:
            behind = max(0.0, (now - datetime.combine(oldest, time(), ALMATY)).total_seconds())
        return {"mhi_status_refresh_due_people": float(due),
                "mhi_status_refresh_behind_seconds": behind}


async def _one(engine: AsyncEngine, sql: str, values: Mapping[str, Any]) -> Sequence[Any]:
    """One row of ``sql`` in a read-only transaction bounded by a statement timeout."""
    async with engine.connect() as conn, conn.begin():
        await conn.execute(text(f"SET LOCAL statement_timeout = {_STATEMENT_TIMEOUT_MS}"))
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        return (await conn.execute(text(sql), dict(values))).one()


class WorkerMetrics:
    """What ``instrument_worker`` started: ``close`` stops it."""

    def __init__(self, server: MetricsServer | None) -> None:
        self.server = server

    def close(self) -> None:
        """Stop the probes and the metrics server."""
        PROBES.detach(QueueProbe.name, StatusProbe.name)
        if self.server is not None:
            self.server.close()


def instrument_worker(dispatcher: Dispatcher, settings: MetricsSettings) -> WorkerMetrics:
    """Meter ``dispatcher`` (call inside the running loop, before ``dispatcher.run``): timed
    FCM and SMS calls, its totals as counters, its pool, the queue and status probes, and
    ``/metrics`` on ``settings.port`` (see ``serve_metrics``)."""
    sender = dispatcher.sender
    if not isinstance(sender.gateway, MeteredGateway):
        sender.gateway = MeteredGateway(sender.gateway)
    if dispatcher.sms is not None and not isinstance(dispatcher.sms.channel, MeteredSmsChannel):
        dispatcher.sms.channel = MeteredSmsChannel(dispatcher.sms.channel)
    TOTALS.watch(dispatcher)
    engine = dispatcher.engine
    POOLS.watch("worker", lambda: engine)
    PROBES.attach(asyncio.get_running_loop(), [QueueProbe(engine), StatusProbe(engine)])
    return WorkerMetrics(serve_metrics(settings, process="worker"))


__all__ = ["MeteredGateway", "MeteredSmsChannel", "QueueProbe", "StatusProbe", "Totals",
           "WorkerMetrics", "instrument_worker"]
