"""The registry desk's "Check that notifications work", end to end through the real pieces:
``checks.send_check`` writes the event in the caller's transaction, the real ``Dispatcher``
sends it with firebase-admin to fcm-local, and ``checks.check_states`` reports every device
of the person: what became of its push, or why there is none."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from datetime import time, timedelta

import firebase_admin
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import checks, devices, payloads, templates
from notifications.checks import CheckReport, DeviceCheck
from notifications.clock import Clock
from notifications.models import CHANNELS, MUTABLE_CATEGORIES
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    POLY,
    TestClock,
    add_device,
    add_event,
    almaty,
    desk_check,
    dispatcher,
    execute,
    inbox_count,
    notification_id,
    notify_settings,
    pushes,
    received,
    scalar,
    schema_errors,
    set_quiet,
    switch,
)

TEXTS = {
    "kk": ("Хабарламалар жұмыс істейді",
           "Бұл — № 5 емхана тіркеу бөлімінен жіберілген сынақ хабарламасы. "
           "Сізге ештеңе істеудің қажеті жоқ."),
    "ru": ("Уведомления работают",
           "Это проверочное уведомление из регистратуры (Поликлиника № 5). "
           "Делать ничего не нужно."),
    "en": ("Notifications work",
           "This is a test from the registry desk at Polyclinic No. 5. "
           "You do not need to do anything."),
}


async def send(engine: AsyncEngine, person: uuid.UUID, key: str | None = None,
               clinic: Mapping[str, str] = POLY) -> int | None:
    """``checks.send_check`` in a transaction of its own, as the desk's form does."""
    async with engine.begin() as conn:
        return await checks.send_check(conn, person, key or str(uuid.uuid4()), clinic)


async def sent(engine: AsyncEngine, person: uuid.UUID) -> int:
    """A new check's event id."""
    event = await send(engine, person)
    assert event is not None
    return event


async def report(engine: AsyncEngine, event: int, clock: Clock | None = None,
                 person: uuid.UUID | None = None) -> CheckReport:
    """``checks.check_states`` of a check that exists."""
    async with engine.connect() as conn:
        found = await checks.check_states(conn, event, person_id=person, clock=clock)
    assert found is not None
    return found


def by_id(found: CheckReport) -> dict[int, DeviceCheck]:
    """The report's device rows by device id."""
    return {device.device_id: device for device in found.devices}


# --- the check reaches every live device, in its language -------------------------------------


async def test_a_check_reaches_every_device_in_its_language(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    kk = await add_device(db, person, language="kk", platform="android")
    ru = await add_device(db, person, language="ru", platform="ios", token_kind="fid")
    en = await add_device(db, person, language="en", platform="web")
    phones = (kk, ru, en)
    event = await sent(db, person)
    clock = TestClock(almaty(2026, 11, 24, 12))

    waiting = await report(db, event, clock, person)
    assert (waiting.event_id, waiting.person_id) == (event, person)
    assert (waiting.dispatched, waiting.dispatched_at, waiting.finished) == (False, None, False)
    assert waiting.now == clock.at
    assert {d.device_id for d in waiting.devices} == {p.id for p in phones}
    assert {(d.state, d.not_reached, d.held_until, d.finished) for d in waiting.devices} == {
        (None, None, None, False)}, "not taken yet: every live phone will get one"

    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.expand_once()
        pending = await report(db, event, clock)
        assert (pending.dispatched, pending.dispatched_at, pending.finished) == (
            True, clock.at, False)
        assert [(d.state, d.attempts, d.held_until, d.held_for, d.finished_at, d.finished)
                for d in pending.devices] == [("pending", 0, None, None, None, False)] * 3
        clock.advance(1)
        await worker.send_once()
    done = await report(db, event, clock)
    assert done.finished and done.reached == 3
    rows = by_id(done)
    for phone in phones:
        row = rows[phone.id]
        assert (row.state, row.attempts, row.last_error, row.finished_at, row.not_reached) == (
            "sent", 1, None, clock.at, None)
        assert (row.platform, row.language, row.app_version) == (
            phone.platform, phone.language, "1.4.0")
        assert row.retired_at is None and row.registered_at <= row.last_seen_at
        [message] = pushes(fcm_local.state, phone.token)
        title, body = TEXTS[phone.language]
        assert message["notification"] == {"title": title, "body": body}
        assert (message.get("fid"), message.get("token")) == (
            (phone.token, None) if phone.platform == "ios" else (None, phone.token))
        data = message["data"]
        assert schema_errors(data) == []
        assert data == {"type": "desk.check", "category": "critical",
                        "notificationId": notification_id(event),
                        "link": "mhi://inbox/" + notification_id(event).replace("+", "%2B")
                                                                       .replace("/", "%2F")}
        android = message["android"]
        # Critical: high priority; its own hour of life and no collapse key, so that it never
        # replaces a waiting "you are losing cover" push on a phone that is off.
        assert (android["priority"], android["ttl"]) == ("high", "3600s")
        assert "collapse_key" not in android
        assert android["notification"]["channel_id"] == "critical"
        headers = message["apns"]["headers"]
        assert headers["apns-priority"] == "10"
        assert headers["apns-collapse-id"] == f"desk.check:{event}"
        assert headers["apns-expiration"] == str(int(clock.at.timestamp()) + 3600)
    assert fcm_local.state.counts == {phone.token: 1 for phone in phones}
    # The inbox item reads the same, in the reader's language.
    assert await inbox_count(db, person) == 1
    payload = await scalar(db, "SELECT payload FROM notify.notification WHERE event_id = :e",
                           {"e": event})
    assert payload == desk_check() == {"clinic": POLY}
    assert templates.render("desk.check", payload, "en") == templates.Rendered(*TEXTS["en"])


# --- a dead token, a transient error ---------------------------------------------------------


async def test_a_token_fcm_rejects_ends_rejected_and_the_device_retired(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    gone = await add_device(db, person)
    kept = await add_device(db, person)
    fcm_local.state.unregister([gone.token])
    event = await sent(db, person)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    found = await report(db, event)
    assert found.finished and found.reached == 1
    rows = by_id(found)
    assert (rows[kept.id].state, rows[kept.id].retired_reason) == ("sent", None)
    rejected = rows[gone.id]
    assert (rejected.state, rejected.last_error, rejected.retired_reason) == (
        "rejected", "UNREGISTERED", "UNREGISTERED")
    assert rejected.retired_at is not None and rejected.finished_at is not None
    assert rejected.not_reached is None  # a push was made: it is the state that says why
    # Live devices first.
    assert [d.device_id for d in found.devices] == [kept.id, gone.id]
    assert fcm_local.state.counts == {kept.token: 1}
    assert fcm_local.state.errors == {"UNREGISTERED": 1}


async def test_a_refused_push_waits_for_its_retry(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    fcm_local.state.script_errors(phone.token, ["UNAVAILABLE"])
    event = await sent(db, person)
    clock = TestClock(almaty(2026, 11, 24, 12))
    settings = notify_settings(fcm_local.url)
    async with dispatcher(db, settings, firebase, clock, random.Random(7)) as worker:  # noqa: S311
        await worker.drain()
        [row] = (await report(db, event, clock)).devices
        assert (row.state, row.attempts, row.last_error, row.held_for) == (
            "pending", 1, "UNAVAILABLE", "RETRY")
        assert row.held_until is not None and row.held_until > clock.at
        clock.at = row.held_until
        await worker.drain()
    [row] = (await report(db, event, clock)).devices
    assert (row.state, row.attempts, row.last_error, row.held_until) == ("sent", 2, None, None)
    assert fcm_local.state.counts == {phone.token: 1}


# --- quiet hours hold it; switched-off categories do not ----------------------------------


async def test_quiet_hours_hold_the_check_until_they_end(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    await set_quiet(db, person, time(22), time(7))
    clock = TestClock(almaty(2026, 11, 23, 23, 30))
    ends = almaty(2026, 11, 24, 7)
    event = await sent(db, person)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
        held = await report(db, event, clock)
        [row] = held.devices
        assert (row.state, row.attempts, row.held_until, row.held_for) == (
            "pending", 0, ends, "QUIET_HOURS")
        assert held.dispatched and not held.finished
        assert await inbox_count(db, person) == 1  # the inbox has it at once
        assert fcm_local.state.accepted == 0
        clock.at = ends - timedelta(microseconds=1)
        await worker.drain()
        assert fcm_local.state.accepted == 0
        clock.at = ends
        await worker.drain()
    found = await report(db, event, clock)
    [row] = found.devices
    assert (row.state, row.held_until, row.held_for, row.finished_at) == (
        "sent", None, None, ends)
    assert found.finished
    assert fcm_local.state.counts == {phone.token: 1}


async def test_a_person_who_switched_every_category_off_still_gets_it(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru")
    for category in MUTABLE_CATEGORIES:
        for channel in CHANNELS:
            await switch(db, person, category, channel)
    muted = await add_event(db, person, "contribution.received", received(1))
    event = await sent(db, person)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent) == (2, 1, 1)
    [row] = (await report(db, event)).devices
    assert row.state == "sent"
    [message] = pushes(fcm_local.state, phone.token)
    assert message["notification"]["title"] == TEXTS["ru"][0]
    assert message["data"]["notificationId"] == notification_id(event) != notification_id(muted)
    assert await scalar(db, "SELECT array_agg(event_id) FROM notify.notification"
                            " WHERE person_id = :p", {"p": person}) == [event]


# --- devices the check did not reach, and why --------------------------------------------


async def test_retired_and_stale_devices_are_listed_with_the_reason(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """The database's clock throughout: staleness is measured against it."""
    person = uuid.uuid4()
    live = await add_device(db, person)
    signed_out = await add_device(db, person)
    stale = await add_device(db, person, platform="ios")
    async with db.begin() as conn:
        assert await devices.unregister(conn, person, signed_out.id)
    await execute(db, "UPDATE notify.device SET registered_at = now() - make_interval(days => 60),"
                      " last_seen_at = now() - make_interval(days => 31) WHERE id = :id",
                  {"id": stale.id})
    event = await sent(db, person)

    before = by_id(await report(db, event))
    assert {key: (row.state, row.not_reached, row.finished) for key, row in before.items()} == {
        live.id: (None, None, False), signed_out.id: (None, "UNREGISTERED_BY_USER", True),
        stale.id: (None, "NOT_SEEN_RECENTLY", True)}

    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    found = await report(db, event)
    assert found.finished and found.reached == 1
    assert [d.device_id for d in found.devices] == [live.id, stale.id, signed_out.id]
    rows = by_id(found)
    assert (rows[live.id].state, rows[live.id].not_reached) == ("sent", None)
    retired = rows[signed_out.id]
    assert (retired.state, retired.not_reached, retired.retired_reason) == (
        None, "UNREGISTERED_BY_USER", "UNREGISTERED_BY_USER")
    assert retired.retired_at is not None and retired.finished
    not_seen = rows[stale.id]
    assert (not_seen.state, not_seen.not_reached, not_seen.retired_reason) == (
        None, "NOT_SEEN_RECENTLY", None)
    assert fcm_local.state.counts == {live.token: 1}

    # The app is opened again on the stale phone, and on a new one: neither was reached
    # by this check (send another), and the report says why.
    await add_device(db, person, platform="ios", token=stale.token)
    new = await add_device(db, person, language="kk")
    rows = by_id(await report(db, event))
    assert (rows[stale.id].state, rows[stale.id].not_reached) == (None, "NOT_SEEN_RECENTLY")
    assert (rows[new.id].state, rows[new.id].not_reached) == (None, "REGISTERED_AFTER_CHECK")
    assert rows[new.id].language == "kk"


async def test_a_person_without_devices_gets_an_inbox_item_and_an_empty_report(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    event = await sent(db, person)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    found = await report(db, event)
    assert (found.dispatched, found.devices, found.finished, found.reached) == (
        True, (), True, 0)
    assert await inbox_count(db, person) == 1
    assert fcm_local.state.accepted == 0


# --- writing: the caller's transaction, the key, the payload -------------------------------


async def test_the_same_key_twice_writes_one_event(db: AsyncEngine) -> None:
    person, other = uuid.uuid4(), uuid.uuid4()
    key = str(uuid.uuid4())
    first = await send(db, person, key)
    assert first is not None
    assert await send(db, person, key) is None
    assert await send(db, other, key) is None  # a key names one check, whoever it is for
    second = await send(db, person)
    assert second is not None and second != first
    assert await scalar(db, "SELECT count(*) FROM notify.outbox") == 2
    assert await scalar(db, "SELECT dedupe_key FROM notify.outbox WHERE id = :id",
                        {"id": first}) == f"desk.check:{key}"


async def test_the_check_is_written_in_the_callers_transaction(db: AsyncEngine) -> None:
    person = uuid.uuid4()
    async with db.connect() as conn, conn.begin() as transaction:
        event = await checks.send_check(conn, person, "rolled-back", POLY)
        assert event is not None
        await transaction.rollback()
    assert await scalar(db, "SELECT count(*) FROM notify.outbox") == 0
    assert await send(db, person, "rolled-back") is not None  # the key was never used


async def test_the_payload_is_the_clinic_name_and_validates_as_a_push(db: AsyncEngine) -> None:
    person = uuid.uuid4()
    event = await send(db, person, clinic={"kk": "  № 5  емхана ", "ru": "Поликлиника № 5",
                                           "en": "Polyclinic No. 5", "bin": "ignored"})
    assert event is not None
    async with db.connect() as conn:
        kind, payload = (await conn.execute(text(
            "SELECT kind, payload FROM notify.outbox WHERE id = :id"), {"id": event})).one()
    assert (kind, payload) == ("desk.check", {"clinic": POLY})
    data = payloads.push_data("desk.check", payload, notification_id=event,
                              category="critical")
    assert schema_errors(data) == []
    # A long official name is stored clipped, not refused (the push shows at most 60).
    long_name = "Городская поликлиника № 5 управления здравоохранения " * 5
    event = await send(db, person, clinic={"kk": "№ 5 емхана", "ru": long_name, "en": "x"})
    stored = await scalar(db, "SELECT payload->'clinic'->>'ru' FROM notify.outbox"
                              " WHERE id = :id", {"id": event})
    assert len(stored) <= checks.NAME_LIMIT and stored.endswith("…")
    assert long_name.startswith(stored[:-1])


@pytest.mark.parametrize(("key", "clinic"), [
    ("", POLY), ("has space", POLY), ("x" * 129, POLY), ("ключ", POLY),
    ("ok", {"kk": "№ 5 емхана", "ru": "Поликлиника № 5"}),
    ("ok", {"kk": "№ 5 емхана", "ru": "Поликлиника № 5", "en": "  "}),
])
async def test_a_malformed_key_or_name_is_refused(db: AsyncEngine, key: str,
                                                  clinic: Mapping[str, str]) -> None:
    async with db.begin() as conn:
        with pytest.raises(ValueError):
            await checks.send_check(conn, uuid.uuid4(), key, clinic)
    assert await scalar(db, "SELECT count(*) FROM notify.outbox") == 0


# --- reading: only checks, only the person's -----------------------------------------------


async def test_there_is_no_report_of_what_is_not_the_persons_check(db: AsyncEngine) -> None:
    person, other = uuid.uuid4(), uuid.uuid4()
    event = await sent(db, person)
    money = await add_event(db, person, "contribution.received", received(1))
    async with db.connect() as conn:
        assert await checks.check_states(conn, event + money + 1000) is None
        assert await checks.check_states(conn, money) is None  # not a check
        assert await checks.check_states(conn, event, person_id=other) is None
        mine = await checks.check_states(conn, event, person_id=person)
    assert mine is not None and mine.person_id == person
