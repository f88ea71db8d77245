"""The dispatcher's rules, end to end through real firebase-admin, fcm-local and PostgreSQL:
one push per device in its language, every push type valid against the mobile contract,
preferences (critical cannot be muted), quiet hours, the daily digest, stale and retired
devices."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import firebase_admin
import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications import devices, preferences, templates
from notifications.errors import NotifyError
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    ALMATY,
    COLLAPSE_KEYS,
    HOSPITAL,
    KIND_TTL_SECONDS,
    LAB,
    NOT_COLLAPSED,
    PUSH_CASES,
    TTL_DAYS,
    TestClock,
    add_device,
    add_event,
    almaty,
    announcement,
    db_now,
    deliveries,
    dispatcher,
    execute,
    inbox_count,
    make_due,
    notification_id,
    notify_settings,
    paid,
    payment,
    pushes,
    received,
    scalar,
    schema_errors,
    set_quiet,
    status,
    switch,
)

DAY = timedelta(days=1)


# --- 1. one event, two devices, two languages ---------------------------------------------


async def test_one_event_reaches_each_device_in_its_language(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    kk = await add_device(db, person, language="kk", platform="android")
    en = await add_device(db, person, language="en", platform="ios", token_kind="fid")
    payload = received(101)
    event = await add_event(db, person, "contribution.received", payload)
    settings = notify_settings(fcm_local.url)
    clock = TestClock(almaty(2026, 11, 24, 12))
    async with dispatcher(db, settings, firebase, clock) as worker:
        totals = await worker.drain()
    assert (totals.events, totals.deliveries, totals.sent) == (1, 2, 2)
    assert await inbox_count(db, person) == 1
    rows = await deliveries(db)
    assert [(r.event_id, r.state, r.attempts) for r in rows] == [(event, "sent", 1)] * 2
    assert fcm_local.state.counts == {kk.token: 1, en.token: 1}
    now = int(clock.at.timestamp())
    for phone in (kk, en):
        [message] = pushes(fcm_local.state, phone.token)
        [row] = [r for r in rows if r.device_id == phone.id]
        assert row.message_name == fcm_local.state.messages(phone.token)[0].name
        expected = templates.render("contribution.received", payload, phone.language)
        assert message["notification"] == {"title": expected.title, "body": expected.body}
        data = message["data"]
        assert schema_errors(data) == []
        assert (data["type"], data["category"]) == ("contribution.received", "payments")
        assert data["notificationId"] == notification_id(event)
        android = message["android"]
        assert android["collapse_key"] == "payments"
        assert android["ttl"] == "259200s"  # three days
        assert android["priority"] == "normal"
        assert android["notification"]["tag"] == f"contribution.received:{event}"
        assert android["notification"]["channel_id"] == "payments"
        headers = message["apns"]["headers"]
        assert headers["apns-collapse-id"] == f"contribution.received:{event}"
        assert headers["apns-priority"] == "5"
        assert headers["apns-expiration"] == str(now + 3 * 86400)
    [to_kk], [to_en] = pushes(fcm_local.state, kk.token), pushes(fcm_local.state, en.token)
    assert to_kk["notification"]["title"] == "2026 жылғы қазан үшін сақтандыру төленді"
    assert to_en["notification"]["title"] == "Insurance paid for October 2026"
    # Each addressed as it registered: a registration token, a Firebase installation id.
    assert (to_kk.get("token"), to_kk.get("fid")) == (kk.token, None)
    assert (to_en.get("token"), to_en.get("fid")) == (None, en.token)


# --- 2. every push type the dispatcher produces ---------------------------------------------

@pytest.mark.parametrize("label", list(PUSH_CASES))
async def test_every_push_type_is_valid_against_its_schema(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
        label: str) -> None:
    events, push_type, category = PUSH_CASES[label]
    person = uuid.uuid4()
    phone = await add_device(db, person, language="ru")
    ids = [await add_event(db, person, kind, payload) for kind, payload in events]
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    [message] = pushes(fcm_local.state, phone.token)
    data = message["data"]
    assert schema_errors(data) == []
    assert (data["type"], data["category"]) == (push_type, category)
    assert data["notificationId"] == notification_id(max(ids))
    every = [payload for _, payload in events]
    expected = (templates.render_digest(every, "ru") if push_type == "service.digest"
                else templates.render(events[0][0], every[0], "ru"))
    assert message["notification"] == {"title": expected.title, "body": expected.body}
    assert message["android"].get("collapse_key") == (
        None if push_type in NOT_COLLAPSED else COLLAPSE_KEYS.get(push_type, category))
    ttl = KIND_TTL_SECONDS.get(push_type, TTL_DAYS[category] * 86400)
    assert message["android"]["ttl"] == f"{ttl}s"
    critical = category == "critical"
    assert message["android"]["priority"] == ("high" if critical else "normal")
    assert message["apns"]["headers"]["apns-priority"] == ("10" if critical else "5")
    assert message["apns"]["payload"]["aps"]["thread-id"] == category
    assert {r.state for r in await deliveries(db)} == {"sent"}


async def test_an_announcement_waits_for_its_place_in_line(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    send_at = await db_now(db) + timedelta(minutes=5)
    await add_event(db, person, "announcement.published",
                    announcement(send_at=send_at.isoformat()))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
        [row] = await deliveries(db)
        assert (row.state, row.due_at) == ("pending", send_at)
        assert await inbox_count(db, person) == 1  # the inbox has it at once
        assert fcm_local.state.accepted == 0
        await make_due(db)
        await worker.drain()
    assert fcm_local.state.counts == {phone.token: 1}


# --- 3. preferences ---------------------------------------------------------------------------


async def test_push_off_keeps_the_inbox_item_and_sends_nothing(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    await add_device(db, person)
    await switch(db, person, "payments", "push")
    await add_event(db, person, "contribution.received", received(1))
    await add_event(db, person, "service.paid", paid(payment(2)))  # another category: pushed
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    assert await inbox_count(db, person) == 2
    assert [r.state for r in await deliveries(db)] == ["sent"]
    [record] = fcm_local.state.messages()
    assert record.message["data"]["type"] == "service.paid"


async def test_inbox_off_still_pushes(db: AsyncEngine, fcm_local: FcmLocalServer,
                                      firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    await switch(db, person, "payments", "inbox")
    await add_event(db, person, "contribution.received", received(1))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    assert await inbox_count(db, person) == 0
    assert fcm_local.state.counts == {phone.token: 1}


async def test_critical_cannot_be_muted(db: AsyncEngine, fcm_local: FcmLocalServer,
                                        firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    await switch(db, person, "status", "push")
    await switch(db, person, "status", "inbox")
    up = await add_event(db, person, "status.changed", status("INSURED", "PAID",
                                                               old="NOT_INSURED"))
    down = await add_event(db, person, "status.changed", status(
        "CONDITIONALLY_INSURED", "GRACE_PERIOD", changes_on="2027-02-01"))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    # The status switches work (the change up is muted) but the loss of cover gets through.
    assert await scalar(db, "SELECT array_agg(event_id) FROM notify.notification") == [down]
    assert [(r.event_id, r.state) for r in await deliveries(db)] == [(down, "sent")]
    [message] = pushes(fcm_local.state, phone.token)
    assert message["data"]["category"] == "critical"
    assert message["data"]["notificationId"] == notification_id(down) != notification_id(up)
    async with db.begin() as conn:
        for channel in ("push", "inbox"):
            with pytest.raises(NotifyError) as raised:
                await preferences.set_switch(conn, person, "critical", channel, False)
            assert raised.value.code == "CATEGORY_NOT_MUTABLE"
    with pytest.raises(exc.IntegrityError):  # nor behind the code's back
        async with db.begin() as conn:
            await conn.execute(text(
                "INSERT INTO notify.preference (person_id, category, channel, enabled)"
                " VALUES (:p, 'critical', 'push', false)"), {"p": person})


# --- 4. quiet hours ------------------------------------------------------------------------


async def test_quiet_hours_hold_pushes_until_they_end_then_send_once(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """22:00–07:00 in Almaty, events at 23:30: held across midnight until 07:00 (not a
    microsecond before), then each sent once."""
    person = uuid.uuid4()
    phone = await add_device(db, person)
    clock = TestClock(almaty(2026, 11, 23, 23, 30))
    ends = almaty(2026, 11, 24, 7)
    await set_quiet(db, person, time(22), time(7))
    await add_event(db, person, "contribution.received", received(1))
    await add_event(db, person, "status.changed", status(  # critical waits too
        "CONDITIONALLY_INSURED", "GRACE_PERIOD", changes_on="2027-02-01"))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        totals = await worker.drain()
        assert (totals.deliveries, totals.messages) == (2, 0)
        held = await deliveries(db)
        assert [(r.state, r.due_at) for r in held] == [("pending", ends)] * 2
        clock.at = ends - timedelta(microseconds=1)
        await worker.drain()
        assert fcm_local.state.accepted == 0
        clock.at = ends
        await worker.drain()
        await worker.drain()
    assert fcm_local.state.counts == {phone.token: 2}
    assert {r.state for r in await deliveries(db)} == {"sent"}


@pytest.mark.parametrize(("at", "starts", "ends", "time_zone", "expected"), [
    # 22:00–07:00 in Almaty, across midnight
    (almaty(2026, 11, 23, 21, 59, 59), "22:00", "07:00", ALMATY, None),
    (almaty(2026, 11, 23, 22), "22:00", "07:00", ALMATY, almaty(2026, 11, 24, 7)),
    (almaty(2026, 11, 23, 23, 30), "22:00", "07:00", ALMATY, almaty(2026, 11, 24, 7)),
    (almaty(2026, 12, 31, 23, 59), "22:00", "07:00", ALMATY, almaty(2027, 1, 1, 7)),
    (almaty(2026, 11, 24, 0), "22:00", "07:00", ALMATY, almaty(2026, 11, 24, 7)),
    (almaty(2026, 11, 24, 3, 15), "22:00", "07:00", ALMATY, almaty(2026, 11, 24, 7)),
    (almaty(2026, 11, 24, 6, 59, 59, 999_999), "22:00", "07:00", ALMATY,
     almaty(2026, 11, 24, 7)),
    (almaty(2026, 11, 24, 7), "22:00", "07:00", ALMATY, None),
    (almaty(2026, 11, 24, 12), "22:00", "07:00", ALMATY, None),
    # a window within one day
    (almaty(2026, 11, 24, 12, 59), "13:00", "14:00", ALMATY, None),
    (almaty(2026, 11, 24, 13, 30), "13:00", "14:00", ALMATY, almaty(2026, 11, 24, 14)),
    (almaty(2026, 11, 24, 14), "13:00", "14:00", ALMATY, None),
    # the person's own time zone counts: 19:30 UTC is 22:30 in Moscow
    (datetime(2026, 11, 23, 19, 30, tzinfo=ZoneInfo("UTC")), "22:00", "07:00",
     "Europe/Moscow", datetime(2026, 11, 24, 4, tzinfo=ZoneInfo("UTC"))),
    # no quiet hours
    (almaty(2026, 11, 23, 23), None, None, None, None),
])
async def test_quiet_until(db: AsyncEngine, at: datetime, starts: str | None,
                           ends: str | None, time_zone: str | None,
                           expected: datetime | None) -> None:
    found = await scalar(db, "SELECT notify.quiet_until(:at, CAST(:starts AS time),"
                             " CAST(:ends AS time), :tz)",
                         {"at": at, "tz": time_zone,
                          "starts": time.fromisoformat(starts) if starts else None,
                          "ends": time.fromisoformat(ends) if ends else None})
    assert found == (expected or at)


async def test_a_retry_does_not_land_inside_quiet_hours(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """Quiet hours begin at Almaty midnight, two seconds from now; FCM is unavailable and asks
    for five seconds: the retry must wait for the end of the quiet hours (01:00 the next
    day), not wake the person at once."""
    person = uuid.uuid4()
    phone = await add_device(db, person)
    clock = TestClock(almaty(2026, 11, 23, 23, 59, 58))
    await set_quiet(db, person, time(0), time(1))
    fcm_local.state.retry_after = 5
    fcm_local.state.script_errors(phone.token, ["UNAVAILABLE"])
    await add_event(db, person, "contribution.received", received(1))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
        [row] = await deliveries(db)
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, "UNAVAILABLE")
        assert row.due_at == almaty(2026, 11, 24, 1), "the retry is due inside quiet hours"
        clock.at = almaty(2026, 11, 24, 0, 0, 3)  # Retry-After has passed: still quiet
        await worker.drain()
        assert fcm_local.state.accepted == 0
        clock.at = almaty(2026, 11, 24, 1)
        await worker.drain()
    [row] = await deliveries(db)
    assert (row.state, row.attempts) == ("sent", 2)
    assert fcm_local.state.counts == {phone.token: 1}


# --- 5. the daily digest of service payments ---------------------------------------------


async def test_a_burst_of_service_payments_is_one_digest_then_the_day_is_recounted(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person, language="en")
    burst = [paid(payment(5001, 1_240_000)), paid(payment(5002, 560_000, HOSPITAL)),
             paid(payment(5003, 300_000, HOSPITAL))]
    ids = [await add_event(db, person, "service.paid", payload) for payload in burst]
    settings = notify_settings(fcm_local.url, digest_window_seconds=60)
    clock = TestClock(almaty(2026, 11, 24, 12))
    async with dispatcher(db, settings, firebase, clock) as worker:
        await worker.drain()
        clock.advance(59.999_999)
        await worker.drain()
        assert fcm_local.state.accepted == 0  # the window is open
        clock.advance(0.000_001)
        await worker.drain()
        [first] = pushes(fcm_local.state, phone.token)
        assert first["notification"] == {
            "title": "The Fund paid for your care today",
            "body": "The Fund paid for 3 services for you today, 21,000 ₸ in all, at "
                    "Polyclinic No. 5 and City Hospital No. 1."}
        data = first["data"]
        assert schema_errors(data) == []
        assert (data["type"], data["count"]) == ("service.digest", "3")
        assert data["notificationId"] == notification_id(max(ids))
        rows = await deliveries(db)
        assert {(r.state, r.message_name) for r in rows} == {
            ("sent", fcm_local.state.messages(phone.token)[0].name)}
        [key] = {r.digest_key for r in rows}
        assert key == f"service.paid:{data['day']}" == "service.paid:2026-11-24"

        later = paid(payment(5004, 100_000, LAB))
        last = await add_event(db, person, "service.paid", later)
        clock.advance(3600)
        await worker.drain()
        assert fcm_local.state.accepted == 1
        clock.advance(60)
        await worker.drain()
    first_push, second = pushes(fcm_local.state, phone.token)
    recounted = templates.render_digest([*burst, later], "en")
    assert second["notification"] == {"title": recounted.title, "body": recounted.body}
    assert "4 services" in second["notification"]["body"]
    assert "22,000 ₸" in second["notification"]["body"]
    assert (second["data"]["type"], second["data"]["count"]) == ("service.digest", "4")
    assert second["data"]["notificationId"] == notification_id(last)
    assert schema_errors(second["data"]) == []
    # It replaces the first on the phone.
    assert second["android"]["notification"]["tag"] == key
    assert first_push["android"]["notification"]["tag"] == key
    assert second["apns"]["headers"]["apns-collapse-id"] == key
    assert [r.state for r in await deliveries(db)] == ["sent"] * 4


async def test_a_digest_lists_its_events_in_order_whatever_the_delivery_ids(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """One expansion writes a batch's deliveries in whatever order its join yields: the
    digest names the clinics in the order of the events, not of the delivery rows."""
    person = uuid.uuid4()
    phone = await add_device(db, person, language="en")
    burst = [paid(payment(5001, 1_240_000)), paid(payment(5002, 560_000, HOSPITAL))]
    ids = [await add_event(db, person, "service.paid", payload) for payload in burst]
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.expand_once()
        await execute(db, "UPDATE notify.delivery SET id = 1000000 - id")  # newest event first
        assert [r.event_id for r in await deliveries(db)] == ids[::-1]
        await worker.drain()
    [message] = pushes(fcm_local.state, phone.token)
    assert message["notification"]["body"].endswith("at Polyclinic No. 5 and City Hospital "
                                                    "No. 1.")
    assert message["data"]["notificationId"] == notification_id(ids[-1])


async def test_the_digest_day_ends_at_almaty_midnight(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """A payment at 23:59:30 and one at 00:00:30 in Almaty (both 24 November in UTC) belong
    to two days: two pushes, not one digest of both."""
    person = uuid.uuid4()
    phone = await add_device(db, person)
    clock = TestClock(almaty(2026, 11, 24, 23, 59, 30))
    settings = notify_settings(fcm_local.url, digest_window_seconds=60)
    async with dispatcher(db, settings, firebase, clock) as worker:
        await add_event(db, person, "service.paid", paid(payment(5001)))
        await worker.drain()
        clock.advance(60)
        await add_event(db, person, "service.paid", paid(payment(5002, 560_000, HOSPITAL)))
        await worker.drain()
        clock.advance(60)
        await worker.drain()
    assert [(r.digest_key, r.state) for r in await deliveries(db)] == [
        ("service.paid:2026-11-24", "sent"), ("service.paid:2026-11-25", "sent")]
    assert [(m["data"]["type"], m["data"].get("count")) for m in pushes(
        fcm_local.state, phone.token)] == [("service.paid", "1")] * 2


# --- 6. stale and retired devices ----------------------------------------------------------


async def test_a_device_not_seen_for_31_days_gets_nothing(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    fresh = await add_device(db, person)
    recent = await add_device(db, person)
    stale = await add_device(db, person)
    await execute(db, "UPDATE notify.device SET last_seen_at = now() - make_interval(days => 29)"
                     " WHERE id = :id", {"id": recent.id})
    await execute(db, "UPDATE notify.device SET last_seen_at = now() - make_interval(days => 31)"
                     " WHERE id = :id", {"id": stale.id})
    await add_event(db, person, "contribution.received", received(1))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    assert sorted(r.device_id for r in await deliveries(db)) == sorted([fresh.id, recent.id])
    assert fcm_local.state.counts == {fresh.token: 1, recent.token: 1}
    async with db.connect() as conn:
        listed = {d.id: d.push_off_reason(await db_now(db), 30)
                  for d in await devices.list_devices(conn, person)}
    assert listed == {fresh.id: None, recent.id: None, stale.id: "NOT_SEEN_RECENTLY"}


async def test_a_retired_devices_waiting_push_is_cancelled(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    signed_out = await add_device(db, person)
    kept = await add_device(db, person)
    await add_event(db, person, "contribution.received", received(1))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.expand_once()
        async with db.begin() as conn:
            assert await devices.unregister(conn, person, signed_out.id)
        await worker.drain()
    rows = {r.device_id: r for r in await deliveries(db)}
    assert (rows[signed_out.id].state, rows[signed_out.id].last_error) == (
        "cancelled", "DEVICE_RETIRED")
    assert rows[kept.id].state == "sent"
    assert fcm_local.state.counts == {kept.token: 1}


async def test_a_device_retired_after_its_push_was_queued_is_not_sent(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """A device retired without touching its deliveries (another worker's race): the sender
    sees it at claim time and cancels instead of sending."""
    person = uuid.uuid4()
    phone = await add_device(db, person)
    await add_event(db, person, "contribution.received", received(1))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.expand_once()
        await execute(db, "UPDATE notify.device SET retired_at = now(),"
                         " retired_reason = 'SIGNED_OUT' WHERE id = :id", {"id": phone.id})
        report = await worker.send_once()
    assert (report.claimed, report.messages, report.cancelled) == (1, 0, 1)
    [row] = await deliveries(db)
    assert (row.state, row.last_error) == ("cancelled", "DEVICE_RETIRED")
    assert fcm_local.state.accepted == 0 and fcm_local.state.errors == {}
