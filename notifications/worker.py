"""The dispatcher: expansion, senders and upkeep as tasks of one process.

Run as many workers as load needs: they share the outbox and the deliveries through
``FOR UPDATE SKIP LOCKED``.  Each worker runs one expansion loop, ``senders`` send loops, with
an SMS channel an SMS loop and a delivery-report loop (``notifications.sms``), and an upkeep
loop (``reap`` what a dead worker left mid-call, prune devices long unseen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.clock import NOW, Clock, reading
from notifications.expand import Expanded, expand
from notifications.gateway import Gateway
from notifications.sender import Sender, SendReport, reap
from notifications.settings import NotifySettings
from notifications.sms import Contacts, SmsChannel, SmsReport, SmsSender
from notifications.sms import reap as reap_sms

log = logging.getLogger("mhi.notify")
PRUNE = f"""
DELETE FROM notify.device WHERE last_seen_at < {NOW} - make_interval(days => :days)
"""  # noqa: S608 (the clock expression, no client value)
UPKEEP_SECONDS = 60.0
REPORTS_SECONDS = 30.0  # how often the operator is asked how the SMS fared
_Round = Callable[[], Awaitable[float]]


@dataclass
class Totals:
    """Running totals of one worker (logged, and read by the benchmark)."""

    events: int = 0
    deliveries: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    rejected: int = 0
    dead: int = 0
    unknown: int = 0
    cancelled: int = 0
    texts: int = 0  # SMS written
    sms_sent: int = 0
    sms_skipped: int = 0  # the push got there first
    sms_retried: int = 0
    sms_dead: int = 0
    sms_cancelled: int = 0
    sms_unknown: int = 0
    sms_segments: int = 0
    sms_reported: int = 0  # known delivered or undelivered from the operator's reports

    def add_sms(self, report: SmsReport) -> None:
        """Count one round of SMS."""
        self.sms_sent += report.sent
        self.sms_skipped += report.skipped
        self.sms_retried += report.retried
        self.sms_dead += report.dead
        self.sms_cancelled += report.cancelled
        self.sms_unknown += report.unknown
        self.sms_segments += report.segments

    def add(self, report: SendReport) -> None:
        """Count one send round."""
        self.messages += report.messages
        self.sent += report.sent
        self.retried += report.retried
        self.rejected += report.rejected
        self.dead += report.dead
        self.unknown += report.unknown
        self.cancelled += report.cancelled


class Dispatcher:
    """Expands the outbox and sends the deliveries until stopped."""

    def __init__(self, engine: AsyncEngine, gateway: Gateway, settings: NotifySettings,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 sms: tuple[SmsChannel, Contacts] | None = None) -> None:
        """``clock`` and ``rng``: the time and the jitter, for tests to fix; by default the
        database's ``now()`` (``notifications.clock``) and a fresh random generator.
        ``sms``: the operator and the people's contacts, to send critical notices by SMS
        (``notifications.sms``); without them SMS rows wait for a worker that has them."""
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.sender = Sender(engine, gateway, settings, rng=rng, clock=clock)
        self.sms = (SmsSender(engine, sms[0], sms[1], settings, rng=rng, clock=clock)
                    if sms is not None else None)
        self.totals = Totals()

    async def expand_once(self) -> Expanded:
        """One batch of outbox events, in its own transaction."""
        async with self.engine.begin() as conn:
            expanded = await expand(conn, self.settings, clock=self.clock)
        self.totals.events += expanded.events
        self.totals.deliveries += expanded.deliveries
        self.totals.texts += expanded.texts
        return expanded

    async def send_once(self) -> SendReport:
        """One batch of due deliveries."""
        report = await self.sender.send_once()
        self.totals.add(report)
        return report

    async def send_sms_once(self) -> SmsReport:
        """One batch of due SMS (nothing without an SMS channel)."""
        if self.sms is None:
            return SmsReport()
        report = await self.sms.send_once()
        self.totals.add_sms(report)
        return report

    async def check_sms_reports(self) -> int:
        """One batch of the operator's delivery reports."""
        if self.sms is None:
            return 0
        found = await self.sms.check_reports()
        self.totals.sms_reported += found
        return found

    async def upkeep(self) -> tuple[int, int]:
        """Reap deliveries and SMS a dead worker left mid-call; prune devices long unseen."""
        async with self.engine.begin() as conn:
            reaped = await reap(conn, self.settings, self.clock)
            reaped += await reap_sms(conn, self.settings, self.clock)
            pruned = (await conn.execute(text(PRUNE), {"days": self.settings.prune_after_days,
                                                       "now": reading(self.clock)})).rowcount
        if reaped:
            log.warning("%d deliveries or SMS were left mid-call by a stopped worker: marked "
                        "unknown", reaped)
        return reaped, int(pruned)

    async def drain(self, rounds: int = 1000) -> Totals:
        """Expand and send until nothing is due now (tests, the CLI, the benchmark)."""
        for _ in range(rounds):
            expanded = await self.expand_once()
            report = await self.send_once()
            texts = await self.send_sms_once()
            if not expanded.events and not report.claimed and not texts.claimed:
                break
        return self.totals

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: expansion, ``senders`` send loops and upkeep."""
        await self.upkeep()
        tasks = [asyncio.create_task(self._loop(stop, self._expand_round), name="expand"),
                 *(asyncio.create_task(self._loop(stop, self._send_round), name=f"send-{n}")
                   for n in range(self.settings.senders)),
                 *([asyncio.create_task(self._loop(stop, self._sms_round), name="sms"),
                    asyncio.create_task(self._loop(stop, self._reports_round), name="reports")]
                   if self.sms is not None else []),
                 asyncio.create_task(self._loop(stop, self._upkeep_round), name="upkeep")]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _expand_round(self) -> float:
        expanded = await self.expand_once()
        return 0.0 if expanded.events else self.settings.idle_poll_seconds

    async def _send_round(self) -> float:
        report = await self.send_once()
        if report.pause:
            log.warning("FCM asked to slow down: pausing this sender %.1f s", report.pause)
            return min(report.pause, 60.0)
        return 0.0 if report.claimed else self.settings.idle_poll_seconds

    async def _sms_round(self) -> float:
        report = await self.send_sms_once()
        return 0.0 if report.claimed else self.settings.idle_poll_seconds

    async def _reports_round(self) -> float:
        await self.check_sms_reports()
        return REPORTS_SECONDS

    async def _upkeep_round(self) -> float:
        await self.upkeep()
        return UPKEEP_SECONDS

    async def _loop(self, stop: asyncio.Event, round_: _Round) -> None:
        while not stop.is_set():
            try:
                pause = await round_()
            except Exception:  # the database or FCM is away: try again shortly
                log.exception("a dispatcher round failed")
                pause = 5.0
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

