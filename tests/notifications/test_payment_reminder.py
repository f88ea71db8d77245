"""A self-payer's reminder to pay by the 25th (``payment.reminder``), end to end through the
real pieces: the event written to the outbox set-wise with the job's dedupe key
(``outbox.cte``), the real ``Dispatcher`` sending with firebase-admin to fcm-local, and what
fcm-local recorded: the text in each phone's language (the amount as the app writes money, the
day and the months in the reader's grammar), the data against its schema, a TTL that never
passes the end of the 25th in Kazakhstan, and a collapse key of its own.  ``reminders`` is a
category a person may switch off, per channel; quiet hours hold it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import firebase_admin
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import outbox, templates
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    Phone,
    TestClock,
    add_device,
    almaty,
    deliveries,
    dispatcher,
    execute,
    inbox_count,
    notification_id,
    notify_settings,
    pushes,
    reminder,
    scalar,
    schema_errors,
    set_quiet,
    switch,
)

NBSP = "\u00a0"
DUE_ON = "2026-12-25"
DAY_ENDS = almaty(2026, 12, 26, 0)  # the first instant after the 25th, in Kazakhstan
RUN = almaty(2026, 12, 20, 12)  # the job's run, five days before
DAY = 86_400

ONE = reminder(DUE_ON, 425_000, ["2026-11"])
ARREARS = reminder(DUE_ON, 1_275_000, ["2026-09", "2026-10", "2026-11"])
TWO = reminder(DUE_ON, 850_000, ["2026-10", "2026-11"])
_DETAILS = {"kk": "Төлем деректемелері қосымшада.",
            "ru": "Реквизиты для оплаты — в приложении.",
            "en": "Open the app for the payment details."}
# label -> (payload, language -> (title, body)), as the phone shows them.
TEXTS: dict[str, tuple[dict[str, Any], dict[str, tuple[str, str]]]] = {
    "one month": (ONE, {
        "kk": (f"25 желтоқсаннан кешіктірмей 4{NBSP}250{NBSP}₸ төлеңіз",
               f"Бұл сома 2026 жылғы қараша үшін сақтандыруды төлейді. {_DETAILS['kk']}"),
        "ru": (f"Оплатите 4{NBSP}250{NBSP}₸ не позднее 25 декабря",
               f"Эта сумма оплатит страхование за ноябрь 2026. {_DETAILS['ru']}"),
        "en": (f"Pay 4,250{NBSP}₸ by 25 December",
               f"This pays your insurance for November 2026. {_DETAILS['en']}")}),
    "a month of arrears and the month due": (TWO, {
        "kk": (f"25 желтоқсаннан кешіктірмей 8{NBSP}500{NBSP}₸ төлеңіз",
               "Бұл сома 2026 жылғы қазан және қараша үшін сақтандыруды төлейді. "
               f"Төлем кезеңі: 2026 жылғы қараша. {_DETAILS['kk']}"),
        "ru": (f"Оплатите 8{NBSP}500{NBSP}₸ не позднее 25 декабря",
               "Эта сумма оплатит страхование за октябрь и ноябрь 2026. "
               f"Период платежа: ноябрь 2026. {_DETAILS['ru']}"),
        "en": (f"Pay 8,500{NBSP}₸ by 25 December",
               "This pays your insurance for October and November 2026. "
               f"Payment period: November 2026. {_DETAILS['en']}")}),
    "two months of arrears and the month due": (ARREARS, {
        "kk": (f"25 желтоқсаннан кешіктірмей 12{NBSP}750{NBSP}₸ төлеңіз",
               "Бұл сома 2026 жылғы қыркүйектен қарашаға дейінгі 3 төленбеген ай үшін "
               f"сақтандыруды төлейді. Төлем кезеңі: 2026 жылғы қараша. {_DETAILS['kk']}"),
        "ru": (f"Оплатите 12{NBSP}750{NBSP}₸ не позднее 25 декабря",
               "Эта сумма оплатит страхование за 3 неоплаченных месяца с сентября по ноябрь "
               f"2026. Период платежа: ноябрь 2026. {_DETAILS['ru']}"),
        "en": (f"Pay 12,750{NBSP}₸ by 25 December",
               "This pays your insurance for 3 unpaid months from September to November 2026. "
               f"Payment period: November 2026. {_DETAILS['en']}")}),
}


async def write(engine: AsyncEngine, person: uuid.UUID, payload: Mapping[str, Any],
                kind: str = "payment.reminder") -> int | None:
    """The event as ``backend.status.reminders`` writes it: set-wise through ``outbox.cte``,
    with its dedupe key; its id, None when the key was there already."""
    key = f"payment.reminder:{person}:{payload.get('dueOn')}"
    sql = ("WITH " + outbox.cte("written", "SELECT CAST(:person AS uuid), CAST(:kind AS text), "
                                           "CAST(:payload AS jsonb), CAST(:key AS text)", "id")
           + " SELECT id FROM written")
    async with engine.begin() as conn:
        found = (await conn.execute(text(sql), {"person": person, "key": key, "kind": kind,
                                                "payload": json.dumps(payload)})).scalar()
    return None if found is None else int(found)


async def written(engine: AsyncEngine, person: uuid.UUID, payload: Mapping[str, Any]) -> int:
    event = await write(engine, person, payload)
    assert event is not None
    return event


async def seen_at(engine: AsyncEngine, phones: Sequence[Phone], at: datetime) -> None:
    """The phones were last seen at ``at`` (the test's clock runs apart from the database's:
    a device not seen for 30 days gets no pushes)."""
    await execute(engine, "UPDATE notify.device SET last_seen_at = :at WHERE id = ANY(:ids)",
                  {"at": at, "ids": [phone.id for phone in phones]})


def shown(message: Mapping[str, Any]) -> tuple[str, str]:
    notification = message["notification"]
    return notification["title"], notification["body"]


# --- the text in each language, the data, TTL and collapse ---------------------------------


@pytest.mark.parametrize("label", list(TEXTS))
async def test_the_reminder_reaches_every_phone_in_its_language(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
        label: str) -> None:
    payload, texts = TEXTS[label]
    person = uuid.uuid4()
    phones = (await add_device(db, person, language="kk", platform="android"),
              await add_device(db, person, language="ru", platform="ios", token_kind="fid"),
              await add_device(db, person, language="en", platform="android"))
    clock = TestClock(RUN)
    await seen_at(db, phones, clock.at)
    event = await written(db, person, payload)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent) == (1, 3, 3)
    for phone in phones:
        [message] = pushes(fcm_local.state, phone.token)
        assert shown(message) == texts[phone.language]
        data = message["data"]
        assert schema_errors(data) == []
        assert data == {"type": "payment.reminder", "category": "reminders",
                        "link": "mhi://insurance", "notificationId": notification_id(event),
                        "dueOn": DUE_ON, "period": payload["period"],
                        "months": ",".join(payload["months"])}
        android = message["android"]
        # Five days ahead: the reminders category's day (the 25th ends later).
        assert (android["priority"], android["ttl"], android["collapse_key"]) == (
            "normal", f"{DAY}s", "payment.reminder")
        assert android["notification"]["tag"] == "payment.reminder"
        assert android["notification"]["channel_id"] == "reminders"
        headers = message["apns"]["headers"]
        assert (headers["apns-priority"], headers["apns-collapse-id"]) == (
            "5", "payment.reminder")
        assert headers["apns-expiration"] == str(int(clock.at.timestamp()) + DAY)
        assert message["apns"]["payload"]["aps"]["thread-id"] == "reminders"
    assert fcm_local.state.counts == {phone.token: 1 for phone in phones}
    # The inbox item reads the same in each language, from the payload as written.
    assert await inbox_count(db, person) == 1
    stored = await scalar(db, "SELECT payload FROM notify.notification WHERE event_id = :e",
                          {"e": event})
    assert stored == payload
    for language, expected in texts.items():
        assert templates.render("payment.reminder", stored, language) == templates.Rendered(
            *expected)


async def test_on_the_25th_fcm_keeps_it_only_until_the_day_ends(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru", platform="ios")
    clock = TestClock(almaty(2026, 12, 25, 9, 30))
    await seen_at(db, (phone,), clock.at)
    await written(db, person, ONE)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
    [message] = pushes(fcm_local.state, phone.token)
    left = int((DAY_ENDS - clock.at).total_seconds())
    assert left == 14 * 3600 + 30 * 60
    assert message["android"]["ttl"] == f"{left}s"
    assert message["apns"]["headers"]["apns-expiration"] == str(int(DAY_ENDS.timestamp()))


async def test_a_reminder_not_sent_by_the_end_of_the_25th_is_not_sent_at_all(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="en")
    # A worker that was down until the 25th had ended: too late to be true, cancelled.
    clock = TestClock(DAY_ENDS)
    await seen_at(db, (phone,), clock.at)
    late = await written(db, person, ONE)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent, totals.cancelled, totals.dead) == (
        1, 1, 0, 1, 0)
    assert fcm_local.state.accepted == 0
    [row] = await deliveries(db)
    assert (row.event_id, row.state, row.last_error, row.finished_at) == (
        late, "cancelled", "EXPIRED: too late to be true", DAY_ENDS)
    assert await inbox_count(db, person) == 1  # the inbox keeps what was asked


# --- the person's switches: reminders may be switched off, per channel ----------------------


async def test_push_switched_off_keeps_the_inbox_item_and_inbox_off_keeps_the_push(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    no_push, no_inbox, both_off = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    phones = {person: await add_device(db, person, language="kk")
              for person in (no_push, no_inbox, both_off)}
    await switch(db, no_push, "reminders", "push")
    await switch(db, no_inbox, "reminders", "inbox")
    await switch(db, both_off, "reminders", "push")
    await switch(db, both_off, "reminders", "inbox")
    # Another category off changes nothing for reminders.
    await switch(db, no_inbox, "payments", "push")
    clock = TestClock(RUN)
    await seen_at(db, list(phones.values()), clock.at)
    events = {person: await written(db, person, TWO) for person in phones}
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent) == (3, 1, 1)
    assert fcm_local.state.counts == {phones[no_inbox].token: 1}
    [message] = pushes(fcm_local.state, phones[no_inbox].token)
    assert shown(message) == TEXTS["a month of arrears and the month due"][1]["kk"]
    assert message["data"]["notificationId"] == notification_id(events[no_inbox])
    assert (await inbox_count(db, no_push), await inbox_count(db, no_inbox),
            await inbox_count(db, both_off)) == (1, 0, 0)
    assert [row.event_id for row in await deliveries(db)] == [events[no_inbox]]


async def test_quiet_hours_hold_the_reminder_until_they_end(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru")
    await set_quiet(db, person, time(22), time(7))
    clock = TestClock(almaty(2026, 12, 20, 23, 15))
    ends = almaty(2026, 12, 21, 7)
    await seen_at(db, (phone,), clock.at)
    event = await written(db, person, ARREARS)
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
    assert shown(message) == TEXTS["two months of arrears and the month due"][1]["ru"]
    assert message["android"]["ttl"] == f"{DAY}s"


async def test_quiet_hours_that_end_after_the_25th_mean_no_push(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="en")
    await set_quiet(db, person, time(22), time(7))
    clock = TestClock(almaty(2026, 12, 25, 23))
    await seen_at(db, (phone,), clock.at)
    await written(db, person, ONE)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
        clock.at = almaty(2026, 12, 26, 7)
        totals = await worker.drain()
    assert (totals.sent, totals.cancelled) == (0, 1)
    assert fcm_local.state.accepted == 0
    assert [row.state for row in await deliveries(db)] == ["cancelled"]


# --- a payload that cannot be worded exactly is refused --------------------------------------


@pytest.mark.parametrize("broken", [
    {**ONE, "amountTiyn": "4250"}, {**ONE, "amountTiyn": 0}, {**ONE, "dueOn": "2026-12-24"},
    {**ONE, "months": []}, {**ONE, "months": ["2026-11", "2026-10"]},
    {**ONE, "period": "2026-10"}, {k: v for k, v in ONE.items() if k != "months"},
])
async def test_a_malformed_reminder_is_refused_not_worded(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
        broken: dict[str, Any]) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru")
    clock = TestClock(RUN)
    await seen_at(db, (phone,), clock.at)
    bad = await written(db, person, broken)
    good = await written(db, person, {**TWO, "dueOn": "2027-01-25"})
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.sent, totals.dead) == (1, 1)
    rows = {row.event_id: row for row in await deliveries(db)}
    assert (rows[bad].state, rows[bad].last_error) == ("dead", "BUILD_FAILED: ValueError")
    assert rows[good].state == "sent"
    [message] = pushes(fcm_local.state, phone.token)  # only the good one went
    assert message["data"]["notificationId"] == notification_id(good)
    with pytest.raises(ValueError):
        templates.render("payment.reminder", broken, "ru")


# --- written twice: one event, one push; a newer reminder replaces the older ----------------


async def test_the_same_reminder_written_twice_is_one_push(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    clock = TestClock(RUN)
    await seen_at(db, (phone,), clock.at)
    event = await written(db, person, ONE)
    assert await write(db, person, ONE) is None  # the job ran again: nothing new
    # The next day's run (same 25th) with a new amount is still the same reminder: nothing.
    assert await write(db, person, TWO) is None
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
        clock.at += timedelta(days=1)
        assert await write(db, person, ONE) is None  # and again, after the push went
        await worker.drain()
    assert await scalar(db, "SELECT count(*) FROM notify.outbox WHERE person_id = :p",
                        {"p": person}) == 1
    assert await scalar(db, "SELECT dedupe_key FROM notify.outbox WHERE id = :id",
                        {"id": event}) == f"payment.reminder:{person}:{DUE_ON}"
    assert fcm_local.state.counts == {phone.token: 1}
    assert await inbox_count(db, person) == 1


async def test_next_months_reminder_replaces_this_ones_push(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="en")
    clock = TestClock(RUN)
    await seen_at(db, (phone,), clock.at)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await written(db, person, ONE)
        await worker.drain()
        clock.at = almaty(2027, 1, 20, 12)
        await seen_at(db, (phone,), clock.at)
        later = await written(db, person, reminder("2027-01-25", 850_000,
                                                   ["2026-11", "2026-12"]))
        await worker.drain()
    first, second = pushes(fcm_local.state, phone.token)
    for pushed in (first, second):
        assert pushed["android"]["collapse_key"] == "payment.reminder"
        assert pushed["android"]["notification"]["tag"] == "payment.reminder"
        assert pushed["apns"]["headers"]["apns-collapse-id"] == "payment.reminder"
    assert second["data"]["notificationId"] == notification_id(later)
    assert shown(second) == (f"Pay 8,500{NBSP}₸ by 25 January",
                             "This pays your insurance for November and December 2026. "
                             "Payment period: December 2026. Open the app for the payment "
                             "details.")
    assert await inbox_count(db, person) == 2
