"""What FCM's answers do to deliveries and devices, through real firebase-admin and fcm-local:
transient errors retried after a backoff (never before Retry-After, a 429 pauses the sender),
dead tokens retired at once, our own mistakes dead-lettered, and nothing pushed twice."""

from __future__ import annotations

import contextlib
import random
import socket
import uuid
from datetime import timedelta
from typing import Any

import firebase_admin
import httpx
import pytest
from firebase_admin import exceptions, messaging
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.gateway import Outcome, Verdict, classify
from notifications.sender import backoff
from notifications.settings import NotifySettings
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    TestClock,
    add_device,
    add_event,
    almaty,
    deliveries,
    dispatcher,
    make_due,
    notify_settings,
    paid,
    payment,
    received,
    scalar,
)


def jitter() -> random.Random:
    """The same jitter every time: the test knows a retry's delay to the microsecond."""
    return random.Random(7)  # noqa: S311 (jitter, not secrecy)


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- 7 and 11: transient errors, Retry-After, the 429 pause ---------------------------------


@pytest.mark.parametrize(("code", "retry_after"), [
    ("UNAVAILABLE", None), ("INTERNAL", None), ("UNAVAILABLE", 2), ("QUOTA_EXCEEDED", 2)])
async def test_a_transient_error_is_retried_then_sent_once(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App, code: str,
        retry_after: int | None) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    fcm_local.state.retry_after = retry_after
    fcm_local.state.script_errors(phone.token, [code])
    await add_event(db, person, "contribution.received", received(1))
    settings = notify_settings(fcm_local.url)
    clock = TestClock(almaty(2026, 11, 24, 12))
    async with dispatcher(db, settings, firebase, clock, jitter()) as worker:
        await worker.expand_once()
        report = await worker.send_once()
        assert (report.claimed, report.retried, report.sent) == (1, 1, 0)
        # One HTTP call: firebase-admin's own retries (500, 503) are off (gateway.open_app).
        assert fcm_local.state.errors == {code: 1} and fcm_local.state.accepted == 0
        [row] = await deliveries(db)
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, code)
        # The backoff (0.05 s, jitter half to all of it), never before Retry-After.
        delay = backoff(1, settings, retry_after, jitter())
        assert 0.025 <= delay <= 0.05 if retry_after is None else delay == retry_after
        assert row.due_at == clock.at + timedelta(seconds=delay)
        # A 429 with Retry-After pauses the sender (only a 429: doc "Delivery states").
        assert report.pause == (retry_after if code == "QUOTA_EXCEEDED" else 0.0)
        clock.advance(delay - 0.000_001)
        assert (await worker.drain()).sent == 0
        clock.advance(0.000_001)
        totals = await worker.drain()
        await worker.drain()
    assert totals.sent == 1
    [row] = await deliveries(db)
    [record] = fcm_local.state.messages(phone.token)
    assert (row.state, row.attempts, row.last_error, row.message_name) == (
        "sent", 2, None, record.name)
    assert fcm_local.state.counts == {phone.token: 1}


async def test_a_network_error_is_retried(db: AsyncEngine, fcm_local: FcmLocalServer,
                                          firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    await add_event(db, person, "contribution.received", received(1))
    away = notify_settings(f"http://127.0.0.1:{closed_port()}")
    clock = TestClock(almaty(2026, 11, 24, 12))
    async with dispatcher(db, away, clock=clock) as worker:
        totals = await worker.drain()
    assert (totals.retried, totals.sent) == (1, 0)
    [row] = await deliveries(db)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "NETWORK")
    clock.advance(away.retry_max_seconds)  # past any backoff
    async with dispatcher(db, notify_settings(fcm_local.url), firebase, clock) as worker:
        await worker.drain()
    [row] = await deliveries(db)
    assert (row.state, row.attempts) == ("sent", 2)
    assert fcm_local.state.counts == {phone.token: 1}


async def test_no_answer_after_the_request_left_is_unknown_and_not_sent_again(
        db: AsyncEngine, fcm_local: FcmLocalServer) -> None:
    """FCM took the message but the answer never came (read timeout): it may be on the phone,
    so the delivery is ``unknown`` and is not sent again."""
    person = uuid.uuid4()
    phone = await add_device(db, person)
    await add_event(db, person, "contribution.received", received(1))
    fcm_local.state.latency_ms = 1300
    async with dispatcher(db, notify_settings(fcm_local.url, http_timeout_seconds=1)) as worker:
        totals = await worker.drain()
        assert totals.unknown == 1
        fcm_local.state.latency_ms = 0
        await make_due(db)
        await worker.drain()
    [row] = await deliveries(db)
    assert (row.state, row.attempts, row.last_error) == ("unknown", 1, "NO_ANSWER (ReadTimeout)")
    assert fcm_local.state.counts == {phone.token: 1}


# --- 8. the backoff -----------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    settings = NotifySettings(retry_base_seconds=2.0, retry_max_seconds=900.0)
    rng, twin = random.Random(7), random.Random(7)  # noqa: S311
    for attempts in range(1, 16):
        ceiling = min(900.0, 2.0 * 2 ** (attempts - 1))
        delay = backoff(attempts, settings, None, rng)
        assert delay == ceiling * twin.uniform(0.5, 1.0)
        assert 0.5 * ceiling <= delay <= ceiling
    assert [min(900.0, 2.0 * 2 ** (n - 1)) for n in (1, 2, 3, 9, 10, 11)] == [
        2, 4, 8, 512, 900, 900]
    draws = [backoff(3, settings, None, random.Random(seed)) for seed in range(200)]  # noqa: S311
    assert 4.0 <= min(draws) < 4.4 and 7.6 < max(draws) <= 8.0  # spread over [0.5, 1] × 8 s
    assert len(set(draws)) > 150  # a burst of failures does not come back at once


def test_backoff_is_never_before_retry_after() -> None:
    settings = NotifySettings(retry_base_seconds=2.0, retry_max_seconds=900.0)
    rng = random.Random(1)  # noqa: S311
    assert backoff(1, settings, 30.0, rng) == 30.0
    assert backoff(20, settings, 1200.0, rng) == 1200.0  # beyond the ceiling too
    assert 256.0 <= backoff(9, settings, 3.0, rng) <= 512.0  # a short Retry-After changes nothing
    assert 1.0 <= backoff(1, settings, 0.0, rng) <= 2.0


# --- 9. dead tokens ------------------------------------------------------------------------


async def doomed_device(engine: AsyncEngine, fcm: FcmLocalServer, person: uuid.UUID,
                        how: str) -> tuple[int, str]:
    """A device whose token FCM refuses ``how``: (device id, token)."""
    if how == "malformed token in the database":  # the app never sends this: a bad import
        token = "not a token"
        device = await scalar(engine, (
            "INSERT INTO notify.device (person_id, token, platform, app_version, language,"
            " time_zone) VALUES (:p, :t, 'android', '1.0.0', 'en', 'Asia/Almaty') RETURNING id"),
            {"p": person, "t": token})
        return int(device), token
    phone = await add_device(engine, person)
    if how == "UNREGISTERED":
        fcm.state.unregister([phone.token])
    else:
        fcm.state.script_errors(phone.token, [how.split()[0]])
    return phone.id, phone.token


@pytest.mark.parametrize(("how", "error"), [
    ("UNREGISTERED", "UNREGISTERED"),
    ("SENDER_ID_MISMATCH", "SENDER_ID_MISMATCH"),
    ("INVALID_ARGUMENT naming the token", "INVALID_TOKEN"),
    ("malformed token in the database", "INVALID_TOKEN"),
])
async def test_a_dead_token_retires_the_device_at_once(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App, how: str,
        error: str) -> None:
    person = uuid.uuid4()
    dead, token = await doomed_device(db, fcm_local, person, how)
    healthy = await add_device(db, person)
    now_event = await add_event(db, person, "contribution.received", received(1))
    await add_event(db, person, "service.paid", paid(payment(2)))  # waits for its window
    settings = notify_settings(fcm_local.url, digest_window_seconds=3600)
    async with dispatcher(db, settings, firebase) as worker:
        totals = await worker.drain()
        assert (totals.rejected, totals.sent) == (1, 1)
        rows = {(r.device_id, r.event_id): r for r in await deliveries(db)}
        assert (rows[dead, now_event].state, rows[dead, now_event].last_error) == (
            "rejected", error)
        others = [r for (device, event), r in rows.items() if device == dead and
                  event != now_event]
        assert [(r.state, r.last_error) for r in others] == [("cancelled", "DEVICE_RETIRED")]
        assert await scalar(db, "SELECT retired_reason FROM notify.device WHERE id = :id"
                                " AND retired_at IS NOT NULL", {"id": dead}) == error
        await make_due(db)
        await worker.drain()
    # One call for the dead token, ever; the person's other phone got both pushes.
    assert sum(fcm_local.state.errors.values()) == 1
    assert token not in fcm_local.state.counts
    assert fcm_local.state.counts == {healthy.token: 2}
    assert {r.state for r in await deliveries(db, "device_id = :d", {"d": healthy.id})} == {
        "sent"}


async def test_a_message_fcm_refuses_is_dead_and_the_device_kept(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """INVALID_ARGUMENT about the message, not the token (over FCM's 4 KB: a very long token
    and a full message): our fault, so dead at once, and the phone is not retired."""
    person = uuid.uuid4()
    phone = await add_device(db, person, token="tok:" + "A" * 3990)
    await add_event(db, person, "contribution.received", received(1))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        totals = await worker.drain()
        await make_due(db)
        await worker.drain()
    assert (totals.dead, totals.rejected, totals.retried) == (1, 0, 0)
    [row] = await deliveries(db)
    assert (row.state, row.attempts) == ("dead", 1)
    assert row.last_error is not None and row.last_error.startswith("INVALID_ARGUMENT")
    assert await scalar(db, "SELECT retired_at FROM notify.device WHERE id = :id",
                        {"id": phone.id}) is None
    assert fcm_local.state.errors == {"INVALID_ARGUMENT": 1}


async def test_third_party_auth_error_is_dead_at_once_and_spares_the_batch(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """The project's APNs key is wrong for one phone: that push is dead at once; the others
    sent in the same batch are sent once and only once."""
    ios_person, android_person = uuid.uuid4(), uuid.uuid4()
    ios = await add_device(db, ios_person, platform="ios")
    android = await add_device(db, android_person)
    fcm_local.state.script_errors(ios.token, ["THIRD_PARTY_AUTH_ERROR"] * 3)
    await add_event(db, ios_person, "contribution.received", received(1))
    await add_event(db, android_person, "contribution.received", received(2))
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.expand_once()
        await worker.send_once()
        states = {r.device_id: (r.state, r.last_error) for r in await deliveries(db)}
        await make_due(db)
        await worker.drain()
    assert fcm_local.state.counts == {android.token: 1}, "a push reached a phone twice"
    assert states == {ios.id: ("dead", "THIRD_PARTY_AUTH_ERROR"),
                      android.id: ("sent", None)}


def error_response(status: int, field: str | None = None, retry_after: str | None = None
                   ) -> httpx.Response:
    details: list[dict[str, Any]] = []
    if field is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field, "description": "bad"}]})
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, headers=headers, json={"error": {
        "code": status, "message": "x", "status": "X", "details": details}})


@pytest.mark.parametrize(("error", "expected"), [
    (exceptions.InvalidArgumentError("Invalid registration token",
                                     http_response=error_response(400, "message.token")),
     Outcome(Verdict.RETIRE, error="INVALID_TOKEN")),
    (exceptions.InvalidArgumentError("Invalid value", http_response=error_response(
        400, "message.fid")), Outcome(Verdict.RETIRE, error="INVALID_TOKEN")),
    (exceptions.InvalidArgumentError("Invalid value at 'message.data'",
                                     http_response=error_response(400, "message.data")),
     Outcome(Verdict.FAIL, error="INVALID_ARGUMENT")),
    (messaging.ThirdPartyAuthError("Auth error from APNS", http_response=error_response(401)),
     Outcome(Verdict.FAIL, error="THIRD_PARTY_AUTH_ERROR")),
    (messaging.UnregisteredError("gone", http_response=error_response(404)),
     Outcome(Verdict.RETIRE, error="UNREGISTERED")),
    (messaging.QuotaExceededError("slow down", http_response=error_response(429, None, "7")),
     Outcome(Verdict.RETRY, error="QUOTA_EXCEEDED", retry_after=7.0)),
    (exceptions.UnavailableError("down", cause=httpx.ConnectError("refused")),
     Outcome(Verdict.RETRY, error="NETWORK")),
    (exceptions.UnavailableError("timed out", cause=httpx.ReadTimeout("slow")),
     Outcome(Verdict.UNKNOWN, error="NO_ANSWER (ReadTimeout)")),
])
def test_classify(error: BaseException, expected: Outcome) -> None:
    assert classify(error) == expected


# --- 10. dead letters -------------------------------------------------------------------


async def test_a_delivery_that_keeps_failing_is_dead_after_max_attempts(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person = uuid.uuid4()
    phone = await add_device(db, person)
    fcm_local.state.script_errors(phone.token, ["UNAVAILABLE"] * 5)
    await add_event(db, person, "contribution.received", received(1))
    settings = notify_settings(fcm_local.url, max_attempts=3)
    async with dispatcher(db, settings, firebase) as worker:
        for _ in range(4):
            await worker.drain()
            await make_due(db)
        totals = worker.totals
    assert (totals.retried, totals.dead, totals.sent) == (2, 1, 0)
    [row] = await deliveries(db)
    assert (row.state, row.attempts, row.last_error) == (
        "dead", 3, "UNAVAILABLE after 3 attempts")
    assert row.finished_at is not None
    assert fcm_local.state.errors == {"UNAVAILABLE": 3}
    assert fcm_local.state.accepted == 0
    assert fcm_local.state.script == {phone.token: ["UNAVAILABLE"] * 2}
    assert await scalar(db, "SELECT retired_at FROM notify.device WHERE id = :id",
                        {"id": phone.id}) is None


# --- an event the dispatcher cannot turn into a push ----------------------------------------


async def test_an_event_without_a_text_does_not_take_its_batch_down(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    """A payload the texts cannot word (a writer's bug) must cost its own push only, not
    every push claimed with it: it is dead-lettered, the others go."""
    reminded, paid_person = uuid.uuid4(), uuid.uuid4()
    broken = await add_device(db, reminded)
    phone = await add_device(db, paid_person)
    await add_event(db, reminded, "contribution.received", {"batch": 1})
    await add_event(db, paid_person, "contribution.received", received(1))
    settings = notify_settings(fcm_local.url, lease_seconds=0)
    async with dispatcher(db, settings, firebase) as worker:
        await worker.expand_once()
        with contextlib.suppress(Exception):  # as Dispatcher._loop does: log, go on
            await worker.send_once()
        await worker.upkeep()  # after the lease: what was left mid-call is reaped
        await worker.drain()
    states = {r.device_id: r.state for r in await deliveries(db)}
    assert fcm_local.state.counts == {phone.token: 1}, f"the payment push was lost: {states}"
    assert states[phone.id] == "sent"
    assert states[broken.id] == "dead"
