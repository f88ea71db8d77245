"""Critical notices by SMS when the push does not reach the person.

Expansion writes one ``notify.sms_delivery`` row per critical event (``expand``); this module
sends them.  A round claims due rows in a committed transaction: a row whose event already
reached the person (a push sent, or possibly sent, or the item read in the app) becomes
``skipped``; the others become ``sending`` (``attempts`` + 1) before any call.  Then the text
is made in the person's language, handed to the ``SmsChannel`` and the answer recorded.  As
with pushes (``notifications.sender``), a worker that dies between the claim and the record
leaves ``sending`` rows that ``reap`` marks ``unknown``: the operator may have the message,
and sending it again could text the person twice.

Who the person is (their phone number and language) is not ``notifications``' to know: the
caller passes a ``Contacts`` that reads them on the claim's connection, and an ``SmsChannel``
in front of the operator (``backend.sms`` wraps auth's ``SmsGateway``, the same one that
sends sign-in codes).  Neither the number nor the text is stored or logged.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifications.clock import NOW, Clock, reading
from notifications.formatting import parse_day
from notifications.messages import COUNTRY_ZONE
from notifications.sender import backoff
from notifications.settings import NotifySettings
from notifications.sms_texts import sms_text

log = logging.getLogger("mhi.notify")


@dataclass(frozen=True)
class Contact:
    """Where a person's SMS goes and in which language (None: no phone on record)."""

    phone: str | None
    language: str


class Contacts(Protocol):
    """The phone number and language of people, read on the caller's connection."""

    async def __call__(self, conn: AsyncConnection, people: Sequence[uuid.UUID]
                      ) -> Mapping[uuid.UUID, Contact]:
        """Everyone of ``people`` who is known (an unknown person is left out)."""


class SmsVerdict(enum.Enum):
    """What to do with an SMS after the operator answered."""

    SENT = "sent"
    RETRY = "retry"  # transient: try again later (backoff, Retry-After)
    FAIL = "fail"  # refused (the number, the text, the account): dead-letter now
    UNKNOWN = "unknown"  # no answer after the request left: the operator may have it


@dataclass(frozen=True)
class SmsOutcome:
    """The operator's answer to one message; ``error`` holds no personal data."""

    verdict: SmsVerdict
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    encoding: str | None = None
    segments: int | None = None


class SmsChannel(Protocol):
    """The operator, as the dispatcher needs it."""

    async def send(self, phone: str, text: str) -> SmsOutcome:
        """Send one message; never raises for the operator's failures."""

    async def delivery_states(self, message_ids: Sequence[str]) -> Mapping[str, str]:
        """``delivered`` | ``undelivered`` | ``pending`` per id the operator reports on."""


CLAIM: Final = f"""
WITH due AS (
  SELECT id FROM notify.sms_delivery
  WHERE state = 'pending' AND due_at <= {NOW}
  ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED
), judged AS (
  SELECT s.id, CASE
    WHEN EXISTS (SELECT 1 FROM notify.delivery d WHERE d.event_id = s.event_id
                 AND d.state IN ('sent', 'unknown')) THEN 'PUSH_SENT'
    WHEN EXISTS (SELECT 1 FROM notify.notification n WHERE n.event_id = s.event_id
                 AND n.read_at IS NOT NULL) THEN 'READ_IN_APP' END AS reached
  FROM notify.sms_delivery s JOIN due ON due.id = s.id
)
UPDATE notify.sms_delivery s SET
  state = CASE WHEN j.reached IS NULL THEN 'sending' ELSE 'skipped' END,
  claimed_at = CASE WHEN j.reached IS NULL THEN {NOW} END,
  attempts = s.attempts + CASE WHEN j.reached IS NULL THEN 1 ELSE 0 END,
  last_error = coalesce(j.reached, s.last_error),
  finished_at = CASE WHEN j.reached IS NOT NULL THEN {NOW} END
FROM judged j, notify.outbox o
WHERE s.id = j.id AND o.id = s.event_id
RETURNING s.id, s.event_id, s.person_id, s.kind, s.attempts, s.state, o.payload
"""  # noqa: S608 (the clock expression, no client value)
RECORD: Final = f"""
UPDATE notify.sms_delivery s SET state = u.state,
  due_at = coalesce((SELECT notify.quiet_until(u.due_at, q.starts, q.ends, q.time_zone)
                     FROM notify.quiet_hours q WHERE q.person_id = s.person_id),
                    u.due_at, s.due_at),
  last_error = u.error, message_id = u.message_id, language = u.language,
  encoding = u.encoding, segments = u.segments, claimed_at = NULL,
  sent_at = CASE WHEN u.state = 'sent' THEN {NOW} END,
  finished_at = CASE WHEN u.state IN ('pending', 'sent') THEN NULL ELSE {NOW} END
FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:due AS timestamptz[]),
            CAST(:errors AS text[]), CAST(:message_ids AS text[]), CAST(:languages AS text[]),
            CAST(:encodings AS text[]), CAST(:segments AS integer[]))
  AS u(id, state, due_at, error, message_id, language, encoding, segments)
WHERE s.id = u.id AND s.state = 'sending'
"""  # noqa: S608 (the clock expression, no client value)
REAP: Final = f"""
UPDATE notify.sms_delivery SET state = 'unknown', finished_at = {NOW}, claimed_at = NULL,
  last_error = 'WORKER_LOST: the worker stopped during the call; not sent again'
WHERE state = 'sending' AND claimed_at < {NOW} - make_interval(secs => :lease)
"""  # noqa: S608 (the clock expression, no client value)
TO_CHECK: Final = f"""
SELECT id, message_id FROM notify.sms_delivery
WHERE state = 'sent' AND message_id IS NOT NULL
  AND sent_at > {NOW} - make_interval(hours => :hours)
ORDER BY checked_at NULLS FIRST, id LIMIT :limit FOR UPDATE SKIP LOCKED
"""  # noqa: S608 (the clock expression, no client value)
CHECKED: Final = f"""
UPDATE notify.sms_delivery s SET checked_at = {NOW},
  state = CASE u.state WHEN 'delivered' THEN 'delivered' WHEN 'undelivered' THEN 'undelivered'
          ELSE s.state END,
  finished_at = CASE WHEN u.state IN ('delivered', 'undelivered') THEN {NOW} END
FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[])) AS u(id, state)
WHERE s.id = u.id AND s.state = 'sent'
"""  # noqa: S608 (the clock expression, no client value)


@dataclass
class SmsReport:
    """What one round of SMS sending did."""

    claimed: int = 0
    skipped: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    unknown: int = 0
    segments: int = 0


@dataclass
class _Row:
    """A claimed SMS and what becomes of it."""

    id: int
    event_id: int
    person_id: uuid.UUID
    kind: str
    attempts: int
    payload: Mapping[str, Any]
    state: str = "sending"
    due_at: datetime | None = None
    error: str | None = None
    message_id: str | None = None
    language: str | None = None
    encoding: str | None = None
    segments: int | None = None
    outcome: SmsOutcome | None = field(default=None, repr=False)


def expires(kind: str, payload: Mapping[str, Any]) -> datetime | None:
    """When the SMS of an event stops being true: a warning at midnight before the day cover
    ends (in Kazakhstan), as its push; None: it stays true."""
    if kind == "status.warning":
        return datetime.combine(parse_day(payload["dropsOn"]), time(), COUNTRY_ZONE)
    return None


class SmsSender:
    """Claims, sends and records SMS, one batch at a time (several may run at once)."""

    def __init__(self, engine: AsyncEngine, channel: SmsChannel, contacts: Contacts,
                 settings: NotifySettings, rng: random.Random | None = None,
                 clock: Clock | None = None) -> None:
        self.engine = engine
        self.channel = channel
        self.contacts = contacts
        self.settings = settings
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self.clock = clock

    async def send_once(self) -> SmsReport:
        """Claim up to ``sms_batch`` due SMS, send those still needed, record the answers."""
        async with self.engine.begin() as conn:
            rows = (await conn.execute(text(CLAIM), {"limit": self.settings.sms_batch,
                                                     "now": reading(self.clock)})).all()
            claimed = [_Row(id=row[0], event_id=row[1], person_id=row[2], kind=row[3],
                            attempts=row[4], payload=row[6])
                       for row in rows if row[5] == "sending"]
            contacts = await self.contacts(conn, sorted({row.person_id for row in claimed}))
        report = SmsReport(claimed=len(rows), skipped=len(rows) - len(claimed))
        if not claimed:
            return report
        now = reading(self.clock) or datetime.now().astimezone()
        texts: dict[int, tuple[str, str]] = {}
        for row in claimed:
            contact = contacts.get(row.person_id)
            if contact is None or not contact.phone:
                row.state, row.error = "cancelled", "NO_PHONE"
                continue
            row.language = contact.language
            try:
                ends = expires(row.kind, row.payload)
                if ends is not None and ends - now < timedelta(seconds=1):
                    row.state, row.error = "cancelled", "EXPIRED: too late to be true"
                    continue
                texts[row.id] = (contact.phone, sms_text(row.kind, row.payload,
                                                         contact.language))
            except (ValueError, KeyError, TypeError) as error:
                log.error("an SMS could not be worded (%s: %s); dead-lettered", row.kind,
                          type(error).__name__)
                row.state, row.error = "dead", f"BUILD_FAILED: {type(error).__name__}"
        await self._send(claimed, texts)
        for row in claimed:
            if row.outcome is not None:
                self._judge(row, row.outcome, now)
        report.sent = sum(row.state == "sent" for row in claimed)
        report.retried = sum(row.state == "pending" for row in claimed)
        report.dead = sum(row.state == "dead" for row in claimed)
        report.cancelled = sum(row.state == "cancelled" for row in claimed)
        report.unknown = sum(row.state == "unknown" for row in claimed)
        report.segments = sum(row.segments or 0 for row in claimed if row.state == "sent")
        async with self.engine.begin() as conn:
            await conn.execute(text(RECORD), {
                "ids": [r.id for r in claimed], "states": [r.state for r in claimed],
                "due": [r.due_at for r in claimed], "errors": [r.error for r in claimed],
                "message_ids": [r.message_id for r in claimed],
                "languages": [r.language for r in claimed],
                "encodings": [r.encoding for r in claimed],
                "segments": [r.segments for r in claimed], "now": reading(self.clock)})
        return report

    async def _send(self, claimed: Sequence[_Row], texts: Mapping[int, tuple[str, str]]
                    ) -> None:
        """Hand each worded SMS to the channel, ``sms_concurrency`` at a time; one person's
        in the order of their events, so that "you are not insured" never comes before the
        warning it follows."""
        gate = asyncio.Semaphore(self.settings.sms_concurrency)
        people: dict[uuid.UUID, list[_Row]] = {}
        for row in sorted(claimed, key=lambda row: row.event_id):
            if row.id in texts:
                people.setdefault(row.person_id, []).append(row)

        async def one(rows: Sequence[_Row]) -> None:
            for row in rows:
                phone, message = texts[row.id]
                async with gate:
                    try:
                        row.outcome = await self.channel.send(phone, message)
                    except Exception as error:  # the channel broke its word: it may have gone
                        row.outcome = SmsOutcome(SmsVerdict.UNKNOWN,
                                                 error=f"CHANNEL_FAILED: {type(error).__name__}")

        await asyncio.gather(*(one(rows) for rows in people.values()))

    def _judge(self, row: _Row, outcome: SmsOutcome, now: datetime) -> None:
        row.encoding, row.segments = outcome.encoding, outcome.segments
        if outcome.verdict is SmsVerdict.SENT:
            row.state, row.message_id = "sent", outcome.message_id
        elif outcome.verdict is SmsVerdict.UNKNOWN:
            row.state, row.error = "unknown", outcome.error
        elif (outcome.verdict is SmsVerdict.RETRY
              and row.attempts < self.settings.sms_max_attempts):
            delay = backoff(row.attempts, self.settings, outcome.retry_after, self.rng)
            row.state, row.error = "pending", outcome.error
            row.due_at = now + timedelta(seconds=delay)
        elif outcome.verdict is SmsVerdict.RETRY:
            row.state, row.error = "dead", f"{outcome.error} after {row.attempts} attempts"
        else:
            row.state, row.error = "dead", outcome.error

    async def check_reports(self) -> int:
        """Ask the operator how the SMS sent in the last ``sms_report_hours`` fared (the
        longest-unchecked first); the number of SMS now known delivered or undelivered.  The
        rows are marked checked before the call, so that no lock is held during it and other
        workers take the next ones."""
        now = reading(self.clock)
        async with self.engine.begin() as conn:
            rows = (await conn.execute(text(TO_CHECK), {
                "hours": self.settings.sms_report_hours, "limit": self.settings.sms_report_batch,
                "now": now})).all()
            if not rows:
                return 0
            await conn.execute(text(CHECKED), {"ids": [row[0] for row in rows],
                                               "states": ["pending"] * len(rows), "now": now})
        try:
            found = await self.channel.delivery_states([row[1] for row in rows])
        except Exception as error:  # the operator is away: ask again next round
            log.warning("the SMS operator's delivery reports failed (%s)", type(error).__name__)
            return 0
        states = [found.get(row[1], "pending") for row in rows]
        async with self.engine.begin() as conn:
            await conn.execute(text(CHECKED), {"ids": [row[0] for row in rows],
                                               "states": states, "now": now})
        return sum(state in ("delivered", "undelivered") for state in states)


async def reap(conn: AsyncConnection, settings: NotifySettings,
               clock: Clock | None = None) -> int:
    """SMS a dead worker left ``sending``: marked ``unknown`` (see the module)."""
    result = await conn.execute(text(REAP), {"lease": float(settings.lease_seconds),
                                             "now": reading(clock)})
    return int(result.rowcount)
