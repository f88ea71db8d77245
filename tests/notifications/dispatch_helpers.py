"""Shared helpers of the dispatcher tests: events with realistic payloads, devices, a
dispatcher on real firebase-admin pointed at fcm-local, and readers of what happened.

Everything goes through the real pieces: ``notify.outbox`` rows as the backend writes them,
``devices.register``, ``Dispatcher`` with ``Gateway(open_app(settings))``, and fcm-local's own
records of what a phone would have received.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import secrets
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import firebase_admin
from jsonschema import Draft202012Validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import devices, payloads, preferences
from notifications.clock import Clock
from notifications.fcm_local import FcmLocal, Record
from notifications.gateway import Gateway, close_app, open_app
from notifications.preferences import Quiet
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher

ALMATY = "Asia/Almaty"
_keys = itertools.count(1)


def names(kk: str, ru: str, en: str) -> dict[str, str]:
    """A name in the three languages, as events carry them."""
    return {"kk": kk, "ru": ru, "en": en}


ASTANA = names("«Astana Build» ЖШС", "ТОО «Astana Build»", "TOO Astana Build")
POLY = names("№ 5 емхана", "Поликлиника № 5", "Polyclinic No. 5")
HOSPITAL = names("№ 1 қалалық аурухана", "Городская больница № 1", "City Hospital No. 1")
LAB = names("Орталық зертхана", "Центральная лаборатория", "Central Laboratory")
CARDIO = names("Кардиолог кеңесі", "Консультация кардиолога", "Cardiologist consultation")


# --- payloads, shaped as backend/ingest, backend/status and backend/inbox write them ---------


def received(*ids: int, period: str = "2026-10", amount: int = 425_000,
             payer: Mapping[str, str] | None = ASTANA) -> dict[str, Any]:
    """``contribution.received``: one contribution per id."""
    return {"batch": 7, "contributions": [
        {"id": id_, "kind": "employer", "period": period, "amountTiyn": amount,
         "paidOn": "2026-11-20", "payer": payer} for id_ in ids]}


def refunded(id_: int = 103, refund_of: int = 101) -> dict[str, Any]:
    """``contribution.refunded`` (the amount is negative, as ingestion writes it)."""
    return {"id": id_, "refundOf": refund_of, "kind": "employer", "period": "2026-09",
            "amountTiyn": -425_000, "paidOn": "2026-11-21", "payer": ASTANA}


def payment(id_: int, amount: int = 1_240_000, provider: Mapping[str, str] = POLY,
            care_date: str = "2026-11-03") -> dict[str, Any]:
    """One item of a ``service.paid`` event."""
    return {"id": id_, "providerId": provider["en"], "serviceCode": "A01.001",
            "careDate": care_date, "amountTiyn": amount, "flags": [], "provider": provider,
            "service": CARDIO}


def paid(*items: dict[str, Any], batch: int = 8) -> dict[str, Any]:
    """``service.paid`` with ``items`` (see ``payment``)."""
    return {"batch": batch, "payments": list(items)}


def withdrawn(id_: int = 5002, of: int = 5001) -> dict[str, Any]:
    """``service.withdrawn`` (negative amount, as ingestion writes it)."""
    return {"id": id_, "withdrawalOf": of, "providerId": "P5", "serviceCode": "A01.001",
            "careDate": "2026-11-03", "amountTiyn": -1_240_000, "provider": POLY,
            "service": CARDIO}


def status(new: str, reason: str, old: str = "INSURED",
           changes_on: str | None = None) -> dict[str, Any]:
    """``status.changed`` as the status store writes it."""
    return {"oldStatus": old, "newStatus": new, "reason": reason, "on": "2026-11-01",
            "changesOn": changes_on}


def announcement(id_: int = 9, help_slug: str | None = "turn-on-notifications",
                 send_at: str | None = None) -> dict[str, Any]:
    """``announcement.published`` (``sendAt``: its place in line; None: no wait)."""
    payload: dict[str, Any] = {
        "announcementId": id_, "title": names("Жаңалық", "Новость", "News"),
        "body": names("Қор жаңалығы", "Новость Фонда", "News from the Fund"),
        "helpSlug": help_slug}
    if send_at is not None:
        payload["sendAt"] = send_at
    return payload


def desk_check(clinic: Mapping[str, str] = POLY) -> dict[str, Any]:
    """``desk.check`` as ``notifications.checks.send_check`` writes it."""
    return {"clinic": dict(clinic)}


def warning(drops_on: date | str, days_left: int = 14, status: str = "INSURED",
            self_payer: bool = True) -> dict[str, Any]:
    """``status.warning`` as ``backend.status.warnings`` writes it."""
    day = drops_on if isinstance(drops_on, str) else drops_on.isoformat()
    return {"dropsOn": day, "daysLeft": days_left, "status": status, "selfPayer": self_payer}


def reminder(due_on: date | str, amount: int = 425_000, months: Sequence[str] = ("2026-11",),
             period: str | None = None) -> dict[str, Any]:
    """``payment.reminder`` as ``backend.status.reminders`` writes it (``period``: the
    newest month unless given)."""
    day = due_on if isinstance(due_on, str) else due_on.isoformat()
    return {"dueOn": day, "amountTiyn": amount, "period": period or max(months),
            "months": list(months)}


def dispute(state: str = "IN_REVIEW", patient: str | None = None) -> dict[str, Any]:
    """``dispute.updated`` as ``backend.disputes.service`` writes it."""
    return {"caseId": 31, "serviceId": 5001, "state": state, "category": "NOT_RECEIVED",
            "careDate": "2026-11-03", "dueOn": "2026-12-08", "recoveredTiyn": None,
            "explanation": None, "provider": POLY, "service": CARDIO, "patient": patient}


def coming_25th(today: date, at_least_days: int = 3) -> date:
    """The first 25th at least ``at_least_days`` after ``today``."""
    due = today.replace(day=25)
    while due < today + timedelta(days=at_least_days):
        due = (due.replace(day=1) + timedelta(days=32)).replace(day=25)
    return due


# --- the dispatcher -------------------------------------------------------------------------


def notify_settings(fcm_url: str, **overrides: Any) -> NotifySettings:
    """Settings for a fast test: no digest wait, tiny backoff, the lease as in production."""
    values: dict[str, Any] = {"fcm_local_url": fcm_url, "digest_window_seconds": 0,
                              "retry_base_seconds": 0.05, "retry_max_seconds": 1.0,
                              "idle_poll_seconds": 0.05, "http_timeout_seconds": 10}
    values.update(overrides)
    return NotifySettings(**values)


class TestClock:
    """A dispatcher clock (``notifications.clock``) that only the test moves: quiet hours,
    digest windows and backoffs are checked at exact instants instead of slept on."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> datetime:
        """Time passes; the new instant."""
        self.at += timedelta(seconds=seconds)
        return self.at


@asynccontextmanager
async def dispatcher(engine: AsyncEngine, settings: NotifySettings,
                     app: firebase_admin.App | None = None, clock: Clock | None = None,
                     rng: random.Random | None = None) -> AsyncIterator[Dispatcher]:
    """``Dispatcher(engine, Gateway(open_app(settings)), settings)``, the app closed after.

    ``app``: a firebase-admin app from ``open_app`` to share (making one costs six TLS
    contexts, a few tenths of a second); it must point at ``settings.fcm_local_url``.
    ``clock``, ``rng``: the dispatcher's time and jitter (default: the database's, random)."""
    own = open_app(settings) if app is None else None
    try:
        yield Dispatcher(engine, Gateway(own or app), settings, clock=clock, rng=rng)
    finally:
        if own is not None:
            await close_app(own)


# --- people, devices, events ----------------------------------------------------------------


def new_token() -> str:
    """An FCM-shaped registration token nobody else has."""
    return "tok:" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Phone:
    """A registered device: its row id, token and language."""

    id: int
    token: str
    language: str
    platform: str


async def add_device(engine: AsyncEngine, person: uuid.UUID, language: str = "en",
                     platform: str = "android", time_zone: str = ALMATY,
                     token: str | None = None, token_kind: str = "token",  # noqa: S107
                     ) -> Phone:
    """Register a device through ``devices.register`` (committed)."""
    token = token or new_token()
    async with engine.begin() as conn:
        row = await devices.register(conn, person, devices.Registration(
            token=token, platform=platform, app_version="1.4.0", language=language,
            time_zone=time_zone, token_kind=token_kind))
    return Phone(row.id, token, language, platform)


async def add_event(engine: AsyncEngine, person: uuid.UUID, kind: str,
                    payload: Mapping[str, Any]) -> int:
    """One outbox event (committed); its id."""
    async with engine.begin() as conn:
        return int((await conn.execute(text(
            "INSERT INTO notify.outbox (person_id, kind, payload, dedupe_key)"
            " VALUES (:person, :kind, CAST(:payload AS jsonb), :key) RETURNING id"),
            {"person": person, "kind": kind, "payload": json.dumps(payload),
             "key": f"test:{kind}:{next(_keys)}:{uuid.uuid4()}"})).scalar_one())


async def add_events(engine: AsyncEngine,
                     events: Sequence[tuple[uuid.UUID, str, Mapping[str, Any]]]) -> list[int]:
    """Many outbox events in one statement (committed); their ids in order."""
    async with engine.begin() as conn:
        rows = await conn.execute(text(
            "INSERT INTO notify.outbox (person_id, kind, payload, dedupe_key)"
            " SELECT p, k, v, d FROM unnest(CAST(:people AS uuid[]), CAST(:kinds AS text[]),"
            " CAST(:payloads AS jsonb[]), CAST(:keys AS text[])) WITH ORDINALITY"
            " AS t(p, k, v, d, n) ORDER BY n RETURNING id"),
            {"people": [e[0] for e in events], "kinds": [e[1] for e in events],
             "payloads": [json.dumps(e[2]) for e in events],
             "keys": [f"test:{e[1]}:{next(_keys)}:{uuid.uuid4()}" for e in events]})
        return sorted(int(row[0]) for row in rows)


# --- reading what happened ------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    """A ``notify.delivery`` row as the tests read it."""

    id: int
    event_id: int
    device_id: int
    state: str
    attempts: int
    due_at: datetime
    last_error: str | None
    message_name: str | None
    digest_key: str | None
    finished_at: datetime | None


async def deliveries(engine: AsyncEngine, where: str = "true",
                     params: Mapping[str, Any] | None = None) -> list[DeliveryRow]:
    """Deliveries matching ``where``, by id."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT id, event_id, device_id, state, attempts, due_at, last_error, message_name,"
            f" digest_key, finished_at FROM notify.delivery WHERE {where} ORDER BY id"),
            dict(params or {}))
        return [DeliveryRow(*row) for row in rows]


async def scalar(engine: AsyncEngine, sql: str, params: Mapping[str, Any] | None = None
                 ) -> Any:
    """One value of one statement (committed)."""
    async with engine.begin() as conn:
        return (await conn.execute(text(sql), dict(params or {}))).scalar()


async def execute(engine: AsyncEngine, sql: str, params: Mapping[str, Any] | None = None
                  ) -> int:
    """Run one statement (committed); the rows it touched."""
    async with engine.begin() as conn:
        return int((await conn.execute(text(sql), dict(params or {}))).rowcount)


async def db_now(engine: AsyncEngine) -> datetime:
    """The database's clock."""
    now: datetime = await scalar(engine, "SELECT now()")
    return now


async def states(engine: AsyncEngine) -> Counter[str]:
    """How many deliveries are in each state."""
    async with engine.connect() as conn:
        return Counter({state: int(n) for state, n in await conn.execute(text(
            "SELECT state, count(*) FROM notify.delivery GROUP BY state"))})


async def make_due(engine: AsyncEngine) -> None:
    """Time passes: every pending delivery is due now."""
    await execute(engine, "UPDATE notify.delivery SET due_at = now() WHERE state = 'pending'")


def pushes(fcm: FcmLocal, token: str) -> list[dict[str, Any]]:
    """The messages fcm-local accepted for ``token``, oldest first."""
    return [record.message for record in reversed(fcm.messages(token, limit=10_000))]


def per_event(records: Sequence[Record]) -> Counter[tuple[str, str]]:
    """How many accepted pushes each (target, notificationId) got."""
    return Counter((record.target, record.message["data"]["notificationId"])
                   for record in records)


def notification_id(event_id: int) -> str:
    """The ``notificationId`` of an event's push (the inbox item's global id)."""
    return payloads.node_id("Notification", event_id)


def schema_errors(data: Mapping[str, Any]) -> list[str]:
    """What is wrong with push ``data`` against ``mobile_contract/push/<type>.schema.json``."""
    schema = json.loads((payloads.SCHEMA_DIR / f"{data['type']}.schema.json").read_text(
        encoding="utf-8"))
    return [error.message for error in Draft202012Validator(schema).iter_errors(dict(data))]


async def worker_backends(engine: AsyncEngine, application_name: str) -> int:
    """How many database sessions a (killed) worker still has."""
    n: int = await scalar(engine, "SELECT count(*) FROM pg_stat_activity"
                                  " WHERE application_name = :name", {"name": application_name})
    return n


async def wait_for(predicate: Callable[[], Awaitable[bool]], seconds: float,
                   step: float = 0.02) -> None:
    """Poll the async ``predicate`` until true; AssertionError after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {seconds} s")
        await asyncio.sleep(step)


# --- the rules' fixtures: every push type, preferences, quiet hours ----------------------

Events = Sequence[tuple[str, Mapping[str, Any]]]
PUSH_CASES: dict[str, tuple[Events, str, str]] = {
    # label: (events of one person, the push type, its category)
    "contribution.received": ([("contribution.received", received(101, 102))],
                              "contribution.received", "payments"),
    "contribution.refunded": ([("contribution.refunded", refunded())],
                              "contribution.refunded", "payments"),
    "service.paid": ([("service.paid", paid(payment(5001)))], "service.paid",
                     "service_payments"),
    "service.digest of three events": (
        [("service.paid", paid(payment(5001))),
         ("service.paid", paid(payment(5002, 560_000, HOSPITAL))),
         ("service.paid", paid(payment(5003, 300_000, LAB)))],
        "service.digest", "service_payments"),
    "service.digest of one event listing two": (
        [("service.paid", paid(payment(5001), payment(5002, 560_000, HOSPITAL)))],
        "service.digest", "service_payments"),
    "service.withdrawn": ([("service.withdrawn", withdrawn())], "service.withdrawn",
                          "service_payments"),
    "status.changed up": ([("status.changed", status("INSURED", "PAID",
                                                     old="CONDITIONALLY_INSURED"))],
                          "status.changed", "status"),
    "status.changed down to the grace period": (
        [("status.changed", status("CONDITIONALLY_INSURED", "GRACE_PERIOD",
                                   changes_on="2027-02-01"))],
        "status.changed", "critical"),
    "status.changed down to not insured": (
        [("status.changed", status("NOT_INSURED", "CONTRIBUTIONS_STOPPED",
                                   old="CONDITIONALLY_INSURED"))],
        "status.changed", "critical"),
    "announcement.published with help": (
        [("announcement.published", announcement(send_at="2026-01-01T00:00:00+00:00"))],
        "announcement.published", "announcements"),
    "announcement.published to the inbox": (
        [("announcement.published", announcement(help_slug=None))],
        "announcement.published", "announcements"),
    "desk.check": ([("desk.check", desk_check())], "desk.check", "critical"),
    # Two weeks ahead of today, whatever day the suite runs: the critical TTL (7 days) holds.
    "status.warning": ([("status.warning", warning(date.today() + timedelta(days=14)))],
                       "status.warning", "critical"),
    # The coming 25th at least 3 days ahead, whatever day the suite runs: the reminders TTL
    # (a day) holds.
    "payment.reminder": ([("payment.reminder", reminder(coming_25th(date.today())))],
                         "payment.reminder", "reminders"),
    "dispute.updated": ([("dispute.updated", dispute(patient="Dana"))], "dispute.updated",
                        "service_payments"),
}
TTL_DAYS = {"payments": 3, "service_payments": 3, "status": 3, "critical": 7,
            "announcements": 1, "reminders": 1}
KIND_TTL_SECONDS = {"desk.check": 3600}  # a desk check is news only while at the desk
NOT_COLLAPSED = ("desk.check",)  # replaces no waiting push of its category on Android
# A newer warning replaces an older one, never a push of its category (a loss of cover); a
# newer payment reminder an older one.
COLLAPSE_KEYS = {"status.warning": "status.warning", "payment.reminder": "payment.reminder"}


async def inbox_count(engine: AsyncEngine, person: uuid.UUID) -> int:
    """How many inbox items the person has."""
    n: int = await scalar(engine, "SELECT count(*) FROM notify.notification"
                                  " WHERE person_id = :p", {"p": person})
    return n


async def switch(engine: AsyncEngine, person: uuid.UUID, category: str, channel: str,
                 enabled: bool = False) -> None:
    """Switch a category off (or on) on a channel, through ``preferences.set_switch``."""
    async with engine.begin() as conn:
        await preferences.set_switch(conn, person, category, channel, enabled)


async def set_quiet(engine: AsyncEngine, person: uuid.UUID, starts: time, ends: time) -> None:
    """Quiet hours in Almaty, through ``preferences.set_quiet_hours``."""
    async with engine.begin() as conn:
        await preferences.set_quiet_hours(conn, person, Quiet(starts, ends, ALMATY))


def almaty(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0,
           micro: int = 0) -> datetime:
    """An instant given as Almaty wall-clock time."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=ZoneInfo(ALMATY))


# --- a worker in a process of its own -----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import asyncio, json, signal, sys
from backend.db.engine import create_engine
from notifications.gateway import Gateway, close_app, open_app
from notifications.preferences import Quiet
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher

async def main() -> None:
    url, name, values = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    settings = NotifySettings(**values)
    engine = create_engine(url, application_name=name)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await Dispatcher(engine, Gateway(open_app(settings)), settings).run(stop)

asyncio.run(main())
"""


async def start_worker(engine: AsyncEngine, name: str, settings: Mapping[str, Any],
                       log: Path) -> asyncio.subprocess.Process:
    """``Dispatcher.run`` in a new Python process on the test database; its database
    sessions carry ``application_name`` = ``name``; what it prints goes to ``log``."""
    url = engine.url.render_as_string(hide_password=False)
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, url, name, json.dumps(dict(settings)), cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=out)
