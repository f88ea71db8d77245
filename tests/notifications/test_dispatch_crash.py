"""Crash and restart: a worker killed mid-send or mid-expansion, a graceful stop, and two
workers at once.  Whatever happens, no phone gets one event's push twice, and no event is
lost: a delivery caught in the call is ``unknown`` (FCM may have it), never sent again."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import firebase_admin
import pytest
from firebase_admin import messaging
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from notifications.gateway import close_app, open_app
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    Phone,
    add_device,
    add_events,
    deliveries,
    dispatcher,
    notification_id,
    notify_settings,
    per_event,
    received,
    scalar,
    start_worker,
    states,
    wait_for,
    worker_backends,
)


@pytest.fixture
def db(engine: AsyncEngine, committed: AsyncSession) -> AsyncEngine:
    """The suite's database; the notify tables are emptied after the test (``committed``)."""
    return engine


@pytest.fixture
async def firebase(fcm_local: FcmLocalServer) -> AsyncIterator[firebase_admin.App]:
    """A firebase-admin app on fcm-local (``gateway.open_app``), closed after the test."""
    app = open_app(notify_settings(fcm_local.url))
    yield app
    await close_app(app)


async def people_with_phones(engine: AsyncEngine, people: int, second_phone_every: int = 0
                             ) -> tuple[list[uuid.UUID], dict[int, Phone]]:
    """``people`` people with a phone each (and a second for every n-th); phones by id."""
    persons = [uuid.uuid4() for _ in range(people)]
    phones: dict[int, Phone] = {}
    for n, person in enumerate(persons):
        for _ in range(2 if second_phone_every and n % second_phone_every == 0 else 1):
            phone = await add_device(engine, person, language=("kk", "ru", "en")[n % 3])
            phones[phone.id] = phone
    return persons, phones


def payments_of(persons: list[uuid.UUID], each: int
                ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
    """``each`` contribution.received events per person, every one about other money."""
    return [(person, "contribution.received", received(10_000 * n + k))
            for n, person in enumerate(persons) for k in range(each)]


async def check_at_most_once(engine: AsyncEngine, fcm: FcmLocalServer,
                             phones: dict[int, Phone]) -> Counter[str]:
    """Every delivery's push reached fcm-local at most once (exactly once if ``sent``), and
    fcm-local has nothing that is not a delivery; the deliveries' states."""
    received_ = per_event(list(fcm.state.records))
    rows = await deliveries(engine)
    expected = {(phones[r.device_id].token, notification_id(r.event_id)) for r in rows}
    assert set(received_) <= expected, "fcm-local got a push no delivery stands for"
    doubled = {key: n for key, n in received_.items() if n > 1}
    assert doubled == {}, f"{len(doubled)} pushes reached a phone twice"
    for row in rows:
        key = (phones[row.device_id].token, notification_id(row.event_id))
        if row.state == "sent":
            assert received_[key] == 1
    return Counter(row.state for row in rows)


async def _gone(engine: AsyncEngine, name: str) -> bool:
    """The killed worker's database sessions have ended (its open transactions with them)."""
    return await worker_backends(engine, name) == 0


# --- 12. killed mid-send ----------------------------------------------------------------


async def test_a_worker_killed_mid_send_pushes_nothing_twice(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
        tmp_path: Path) -> None:
    persons, phones = await people_with_phones(db, 100, second_phone_every=10)
    events = await add_events(db, payments_of(persons, 3))
    fcm_local.state.latency_ms = 300  # calls are in flight when the worker dies
    name = f"crash-send-{uuid.uuid4().hex[:8]}"
    worker = await start_worker(db, name, {
        "fcm_local_url": fcm_local.url, "send_batch": 25, "senders": 2,
        "digest_window_seconds": 0, "idle_poll_seconds": 0.05}, tmp_path / "worker.log")

    async def busy() -> bool:
        now = await states(db)
        assert worker.returncode is None, (tmp_path / "worker.log").read_text()
        return now["sent"] >= 50 and now["sending"] > 0

    try:
        await wait_for(busy, 30, step=0.01)
    finally:
        worker.kill()
        await worker.wait()
    await wait_for(lambda: _gone(db, name), 10)
    at_kill = await states(db)
    assert at_kill["sending"] > 0 and at_kill["sent"] >= 50
    fcm_local.state.latency_ms = 0
    settings = notify_settings(fcm_local.url, lease_seconds=0)
    async with dispatcher(db, settings, firebase) as restarted:
        reaped, _ = await restarted.upkeep()
        await restarted.drain()
    assert reaped == at_kill["sending"]
    final = await check_at_most_once(db, fcm_local, phones)
    assert set(final) <= {"sent", "unknown"}, final
    assert final["unknown"] <= at_kill["sending"]
    assert final["sent"] + final["unknown"] == len(events) // len(persons) * len(phones)
    assert await scalar(db, "SELECT count(*) FROM notify.notification") == len(events)


# --- 12. killed mid-expansion -------------------------------------------------------------


async def test_a_worker_killed_mid_expansion_loses_no_event(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
        tmp_path: Path) -> None:
    with_phones, phones = await people_with_phones(db, 60)
    without = [uuid.uuid4() for _ in range(140)]
    events = await add_events(db, payments_of(with_phones + without, 2))
    name = f"crash-expand-{uuid.uuid4().hex[:8]}"
    # Hold the last event's inbox row in an open transaction: the worker's one expansion
    # statement (all 400 events) stops there, mid-way, until this transaction ends.
    async with db.connect() as blocker:
        await blocker.begin()
        await blocker.execute(text(
            "INSERT INTO notify.notification (event_id, person_id, kind, category, payload,"
            " created_at) SELECT id, person_id, kind, 'payments', payload, created_at"
            " FROM notify.outbox WHERE id = :id"), {"id": max(events)})
        worker = await start_worker(db, name, {
            "fcm_local_url": fcm_local.url, "expand_batch": 10_000, "digest_window_seconds": 0,
            "idle_poll_seconds": 0.05}, tmp_path / "worker.log")

        async def expanding() -> bool:
            assert worker.returncode is None, (tmp_path / "worker.log").read_text()
            n: int = await scalar(db, "SELECT count(*) FROM pg_stat_activity"
                                      " WHERE application_name = :n AND wait_event_type = 'Lock'"
                                      " AND query LIKE '%WITH claimed AS%'", {"n": name})
            return n == 1

        try:
            await wait_for(expanding, 30)
        finally:
            worker.kill()
            await worker.wait()
        await blocker.rollback()
    await wait_for(lambda: _gone(db, name), 10)
    assert await scalar(db, "SELECT count(*) FROM notify.outbox"
                            " WHERE dispatched_at IS NOT NULL") == 0
    assert await scalar(db, "SELECT count(*) FROM notify.notification") == 0
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as restarted:
        totals = await restarted.drain()
    assert totals.events == len(events)
    assert await scalar(db, "SELECT count(*) FROM notify.outbox"
                            " WHERE dispatched_at IS NULL") == 0
    assert await scalar(db, "SELECT count(DISTINCT event_id) = count(*) AND count(*) = :n"
                            " FROM notify.notification", {"n": len(events)})
    final = await check_at_most_once(db, fcm_local, phones)
    assert final == {"sent": 2 * len(phones)}
    assert len(fcm_local.state.records) == 2 * len(phones)


# --- 13. graceful stop ------------------------------------------------------------------


async def test_a_graceful_stop_finishes_the_calls_under_way(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    persons, phones = await people_with_phones(db, 80)
    events = await add_events(db, payments_of(persons, 1))
    fcm_local.state.latency_ms = 300
    settings = notify_settings(fcm_local.url, send_batch=10, senders=2)
    stop = asyncio.Event()
    async with dispatcher(db, settings, firebase) as worker:
        running = asyncio.create_task(worker.run(stop))

        async def busy() -> bool:
            now = await states(db)
            return now["sent"] >= 10 and now["sending"] > 0

        await wait_for(busy, 20, step=0.01)
        under_way = {r.id for r in await deliveries(db, "state = 'sending'")}
        stop.set()
        await asyncio.wait_for(running, 5)
        at_stop = await states(db)
        assert at_stop["sending"] == 0 and at_stop["unknown"] == 0, at_stop
        assert at_stop["pending"] > 0  # it did stop before the end
        assert under_way and {r.state for r in await deliveries(db, "id = ANY(:ids)", {
            "ids": list(under_way)})} == {"sent"}
        fcm_local.state.latency_ms = 0
        await worker.drain()  # the next worker takes the rest
    final = await check_at_most_once(db, fcm_local, phones)
    assert final == {"sent": len(events)}


async def test_the_gateway_closes_inside_the_running_loop(fcm_local: FcmLocalServer) -> None:
    """``mhi worker`` closes the app in its ``finally``, inside the event loop, after a
    graceful stop: the HTTP client is closed there and the app forgotten, without an error."""
    app = open_app(notify_settings(fcm_local.url))
    client = messaging._get_messaging_service(app)._async_client._async_client
    assert not client.is_closed
    await close_app(app)
    assert client.is_closed
    assert app.name not in firebase_admin._apps


# --- several workers ----------------------------------------------------------------------


async def test_two_workers_share_the_outbox_without_doubles(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    persons, phones = await people_with_phones(db, 60, second_phone_every=3)
    events = await add_events(db, payments_of(persons, 2))
    fcm_local.state.latency_ms = 20
    settings = notify_settings(fcm_local.url, send_batch=15, expand_batch=25, senders=2)
    stop = asyncio.Event()
    async with dispatcher(db, settings, firebase) as one, dispatcher(db, settings) as two:
        runs = [asyncio.create_task(worker.run(stop)) for worker in (one, two)]
        expected = len(events) // len(persons) * len(phones)

        async def done() -> bool:
            return (await states(db))["sent"] == expected

        try:
            await wait_for(done, 30)
        finally:
            stop.set()
            await asyncio.gather(*runs)
    final = await check_at_most_once(db, fcm_local, phones)
    assert final == {"sent": expected}
    assert one.totals.sent > 0 and two.totals.sent > 0
    assert one.totals.events + two.totals.events == len(events)
