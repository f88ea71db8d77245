"""The warning before cover ends (``status.warning``), end to end through the real pieces: the
event written to the outbox set-wise with the job's dedupe key (``outbox.cte``), the real
``Dispatcher`` sending with firebase-admin to fcm-local, and what fcm-local recorded: the text
in each phone's language, the data against its schema, the TTL up to the day cover ends, and a
collapse key of its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

import firebase_admin
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import outbox, templates
from notifications.models import CHANNELS, MUTABLE_CATEGORIES
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    Phone,
    TestClock,
    add_device,
    add_event,
    almaty,
    deliveries,
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
    status,
    switch,
    warning,
)

DROPS_ON = "2027-03-01"
ENDS = almaty(2027, 3, 1, 0)  # the first instant without cover, in Kazakhstan
DAY = 86_400

# (days left, self-payer) -> language -> (title, body), as the phone shows them.
_SELF = {"kk": "Қалай төлеуге болатынын қосымшадан қараңыз.",
         "ru": "Откройте приложение, чтобы узнать, как оплатить.",
         "en": "Open the app to see how to pay."}
_EMPLOYEE = {"kk": "Жұмыс берушіңізден жарналарыңыздың төленгенін нақтылаңыз.",
             "ru": "Уточните у работодателя, перечислены ли за вас взносы.",
             "en": "Check with your employer that your contributions are paid."}
_ENDS = {"kk": "Жарна түспесе, 2027 жылғы 1 наурыздан бастап сіз сақтандырылмаған боласыз.",
         "ru": "С 1 марта 2027 г. вы не будете застрахованы, если не поступит взнос.",
         "en": "From 1 March 2027 you will not be insured unless a contribution arrives."}
_TITLES = {14: {"kk": "Сақтандыруыңыз 14 күннен кейін аяқталады",
                "ru": "Ваша страховка закончится через 14 дней",
                "en": "Your insurance ends in 14 days"},
           3: {"kk": "Сақтандыруыңыз 3 күннен кейін аяқталады",
               "ru": "Ваша страховка закончится через 3 дня",
               "en": "Your insurance ends in 3 days"}}
TEXTS: dict[tuple[int, bool], dict[str, tuple[str, str]]] = {
    (days, self_payer): {language: (_TITLES[days][language],
                                    f"{_ENDS[language]} "
                                    f"{(_SELF if self_payer else _EMPLOYEE)[language]}")
                         for language in ("kk", "ru", "en")}
    for days in (14, 3) for self_payer in (True, False)}


def the_day_of(days_left: int) -> datetime:
    """Noon in Almaty on the day the job writes the warning ``days_left`` days ahead."""
    return almaty(2027, 3, 1, 12) - timedelta(days=days_left)


async def write(engine: AsyncEngine, person: uuid.UUID, payload: Mapping[str, Any]
                ) -> int | None:
    """The event as ``backend.status.warnings`` writes it: set-wise through ``outbox.cte``,
    with its dedupe key; its id, None when the key was there already."""
    key = f"status.warning:{person}:{payload['dropsOn']}:{payload['daysLeft']}"
    sql = ("WITH " + outbox.cte("written", "SELECT CAST(:person AS uuid), 'status.warning', "
                                           "CAST(:payload AS jsonb), CAST(:key AS text)", "id")
           + " SELECT id FROM written")
    async with engine.begin() as conn:
        found = (await conn.execute(text(sql), {"person": person, "key": key,
                                                "payload": json.dumps(payload)})).scalar()
    return None if found is None else int(found)


async def written(engine: AsyncEngine, person: uuid.UUID, payload: Mapping[str, Any]) -> int:
    event = await write(engine, person, payload)
    assert event is not None
    return event


async def seen_at(engine: AsyncEngine, phones: tuple[Phone, ...], at: datetime) -> None:
    """The phones were last seen at ``at`` (the test's clock may run ahead of the database's:
    a device not seen for 30 days gets no pushes)."""
    await execute(engine, "UPDATE notify.device SET last_seen_at = :at WHERE id = ANY(:ids)",
                  {"at": at, "ids": [phone.id for phone in phones]})


# --- the text in each language, the data, TTL and collapse ---------------------------------


@pytest.mark.parametrize(("days", "self_payer"), list(TEXTS))
async def test_the_warning_reaches_every_phone_in_its_language(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
        days: int, self_payer: bool) -> None:
    person = uuid.uuid4()
    kk = await add_device(db, person, language="kk", platform="android")
    ru = await add_device(db, person, language="ru", platform="ios", token_kind="fid")
    en = await add_device(db, person, language="en", platform="android")
    phones = (kk, ru, en)
    clock = TestClock(the_day_of(days))
    await seen_at(db, phones, clock.at)
    payload = warning(DROPS_ON, days, "CONDITIONALLY_INSURED" if days == 3 else "INSURED",
                      self_payer)
    event = await written(db, person, payload)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent) == (1, 3, 3)
    # 14 days ahead: the critical category's week; 3 days ahead: until the day begins.
    ttl = 7 * DAY if days == 14 else int((ENDS - clock.at).total_seconds())
    assert days == 14 or ttl == 2 * DAY + 12 * 3600
    for phone in phones:
        [message] = pushes(fcm_local.state, phone.token)
        title, body = TEXTS[(days, self_payer)][phone.language]
        assert message["notification"] == {"title": title, "body": body}
        data = message["data"]
        assert schema_errors(data) == []
        assert data == {"type": "status.warning", "category": "critical",
                        "link": "mhi://insurance", "notificationId": notification_id(event),
                        "dropsOn": DROPS_ON, "daysLeft": str(days),
                        "status": payload["status"], "selfPayer": str(self_payer).lower()}
        android = message["android"]
        assert (android["priority"], android["ttl"], android["collapse_key"]) == (
            "high", f"{ttl}s", "status.warning")
        assert android["notification"]["tag"] == "status.warning"
        assert android["notification"]["channel_id"] == "critical"
        headers = message["apns"]["headers"]
        assert (headers["apns-priority"], headers["apns-collapse-id"]) == ("10", "status.warning")
        assert headers["apns-expiration"] == str(int(clock.at.timestamp()) + ttl)
        assert int(headers["apns-expiration"]) <= ENDS.timestamp()
        assert message["apns"]["payload"]["aps"]["thread-id"] == "critical"
    assert fcm_local.state.counts == {phone.token: 1 for phone in phones}
    # The inbox item reads the same, in the reader's language, and opens the status screen.
    assert await inbox_count(db, person) == 1
    stored = await scalar(db, "SELECT payload FROM notify.notification WHERE event_id = :e",
                          {"e": event})
    assert stored == payload
    for language in ("kk", "ru", "en"):
        assert templates.render("status.warning", stored, language) == templates.Rendered(
            *TEXTS[(days, self_payer)][language])


async def test_a_newer_warning_replaces_the_older_but_never_a_loss_of_cover_push(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru", platform="android")
    clock = TestClock(the_day_of(14))
    await seen_at(db, (phone,), clock.at)
    settings = notify_settings(fcm_local.url)
    async with dispatcher(db, settings, firebase, clock) as worker:
        await written(db, person, warning(DROPS_ON, 14, self_payer=False))
        await worker.drain()
        clock.at = the_day_of(3) - timedelta(hours=1)
        loss = await add_event(db, person, "status.changed", status(
            "CONDITIONALLY_INSURED", "GRACE_PERIOD", changes_on=DROPS_ON))
        await worker.drain()
        clock.at = the_day_of(3)
        await written(db, person, warning(DROPS_ON, 3, "CONDITIONALLY_INSURED", False))
        await worker.drain()
    first, changed, second = pushes(fcm_local.state, phone.token)
    for pushed in (first, second):
        assert pushed["data"]["type"] == "status.warning"
        assert pushed["android"]["collapse_key"] == "status.warning"
        assert pushed["android"]["notification"]["tag"] == "status.warning"
        assert pushed["apns"]["headers"]["apns-collapse-id"] == "status.warning"
    assert second["notification"]["title"] == "Ваша страховка закончится через 3 дня"
    # The loss-of-cover push keeps its category's key and its own tag: no warning replaces it.
    assert changed["data"]["type"] == "status.changed"
    assert changed["data"]["notificationId"] == notification_id(loss)
    assert changed["android"]["collapse_key"] == "critical"
    assert changed["android"]["notification"]["tag"] == f"status.changed:{loss}"
    assert changed["apns"]["headers"]["apns-collapse-id"] == f"status.changed:{loss}"


# --- no switched-off category stops it; quiet hours hold it --------------------------------


async def test_a_person_who_switched_every_category_off_still_gets_it(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="kk")
    for category in MUTABLE_CATEGORIES:
        for channel in CHANNELS:
            await switch(db, person, category, channel)
    clock = TestClock(the_day_of(14))
    await seen_at(db, (phone,), clock.at)
    muted = await add_event(db, person, "contribution.received", received(1))
    event = await written(db, person, warning(DROPS_ON, 14))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent) == (2, 1, 1)
    [message] = pushes(fcm_local.state, phone.token)
    assert message["notification"] == dict(zip(("title", "body"), TEXTS[(14, True)]["kk"],
                                               strict=True))
    assert message["data"]["notificationId"] == notification_id(event) != notification_id(muted)
    assert await scalar(db, "SELECT array_agg(event_id) FROM notify.notification"
                            " WHERE person_id = :p", {"p": person}) == [event]


async def test_quiet_hours_hold_the_warning_until_they_end(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="en")
    await set_quiet(db, person, time(22), time(7))
    # The job runs just after midnight, three days before the day.
    clock = TestClock(almaty(2027, 2, 26, 0, 30))
    ends = almaty(2027, 2, 26, 7)
    await seen_at(db, (phone,), clock.at)
    event = await written(db, person, warning(DROPS_ON, 3, self_payer=False))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
        [row] = await deliveries(db)
        assert (row.state, row.attempts, row.due_at) == ("pending", 0, ends)
        assert await inbox_count(db, person) == 1  # the inbox has it at once
        clock.at = ends - timedelta(microseconds=1)
        await worker.drain()
        assert fcm_local.state.accepted == 0
        clock.at = ends
        await worker.drain()
    [row] = await deliveries(db)
    assert (row.state, row.event_id, row.finished_at) == ("sent", event, ends)
    [message] = pushes(fcm_local.state, phone.token)
    assert message["notification"] == dict(zip(("title", "body"), TEXTS[(3, False)]["en"],
                                               strict=True))
    # FCM keeps it from the end of the quiet hours until the day begins.
    assert message["android"]["ttl"] == f"{int((ENDS - ends).total_seconds())}s"


# --- never after the day -------------------------------------------------------------------


async def test_a_warning_not_sent_before_the_day_is_not_sent_at_all(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru")
    clock = TestClock(ENDS - timedelta(hours=1))
    await seen_at(db, (phone,), ENDS)
    late = await written(db, person, warning(DROPS_ON, 3))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
    [message] = pushes(fcm_local.state, phone.token)
    assert message["android"]["ttl"] == "3600s"  # an hour before the day: an hour left
    # A worker that was down until the day began: the warning is not sent.
    fcm_local.state.reset()
    clock.at = ENDS
    other = await written(db, person, warning(DROPS_ON, 14))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent, totals.cancelled, totals.dead) == (
        1, 1, 0, 1, 0)
    assert fcm_local.state.accepted == 0
    rows = {row.event_id: row for row in await deliveries(db)}
    assert rows[late].state == "sent"
    assert (rows[other].state, rows[other].last_error, rows[other].finished_at) == (
        "cancelled", "EXPIRED: too late to be true", ENDS)
    assert await inbox_count(db, person) == 2


# --- written twice: one event, one push ----------------------------------------------------


async def test_the_same_warning_written_twice_is_one_push(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    clock = TestClock(the_day_of(14))
    await seen_at(db, (phone,), clock.at)
    payload = warning(DROPS_ON, 14)
    event = await written(db, person, payload)
    assert await write(db, person, payload) is None  # the job ran again: nothing new
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
        assert await write(db, person, payload) is None  # and again, after the push went
        await worker.drain()
    assert await scalar(db, "SELECT count(*) FROM notify.outbox WHERE person_id = :p",
                        {"p": person}) == 1
    assert await scalar(db, "SELECT dedupe_key FROM notify.outbox WHERE id = :id",
                        {"id": event}) == f"status.warning:{person}:{DROPS_ON}:14"
    assert fcm_local.state.counts == {phone.token: 1}
    assert await inbox_count(db, person) == 1
    # The 3-day warning of the same day is a warning of its own.
    assert await write(db, person, warning(DROPS_ON, 3)) is not None
