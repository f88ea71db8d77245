"""Critical notices by SMS through the real operator adapter (Mobizon's HTTP API) against
sms-local, which fakes that protocol at the edge as fcm-local fakes FCM: what the operator
took, what it refused, what happened when its answer was lost, its delivery reports, and a
worker killed in the middle of sending.  Whatever happens, no one is texted twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import firebase_admin
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.sms_mobizon import MobizonGateway
from backend.sms import GatewayChannel, person_contacts
from notifications.gateway import Gateway
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher
from tests.factories import create_person
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    ROOT,
    TestClock,
    add_event,
    almaty,
    notify_settings,
    wait_for,
    warning,
    worker_backends,
)
from tests.sms_local import SmsLocalServer

NOW = almaty(2027, 2, 10, 12)
DROPS_ON = date(2027, 2, 24)


@dataclass
class Setup:
    """A dispatcher whose SMS go to sms-local through the Mobizon adapter."""

    dispatcher: Dispatcher
    gateway: MobizonGateway
    clock: TestClock
    settings: NotifySettings


@pytest.fixture
async def setup(db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
                sms_local: SmsLocalServer) -> AsyncIterator[Setup]:
    """The dispatcher as ``mhi worker`` makes it with ``AUTH_SMS_GATEWAY=mobizon``."""
    gateway = sms_local.gateway(timeout_seconds=0.5)
    clock = TestClock(NOW)
    settings = notify_settings(fcm_local.url, stale_after_days=3650)
    try:
        yield Setup(Dispatcher(db, Gateway(firebase), settings, clock=clock,
                               sms=(GatewayChannel(gateway), person_contacts)),
                    gateway, clock, settings)
    finally:
        await gateway.aclose()


async def person_with_phone(session: AsyncSession, n: int = 0) -> tuple[uuid.UUID, str]:
    """A Russian reader on record with a phone of their own (committed): (id, the number as
    the operator writes it)."""
    phone = f"+7702{uuid.uuid4().int % 10**6:06d}{n % 10}"
    person = await create_person(session, phone=phone)
    await session.commit()
    return person.id, phone[1:]


async def sms_states(engine: AsyncEngine) -> list[tuple[str, int, str | None]]:
    """(state, attempts, last_error) of every SMS, oldest first."""
    async with engine.connect() as conn:
        return [(row[0], row[1], row[2]) for row in await conn.execute(text(
            "SELECT state, attempts, last_error FROM notify.sms_delivery ORDER BY id"))]


async def test_the_operator_takes_the_text_and_reports_it_delivered(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        sms_local: SmsLocalServer) -> None:
    person, number = await person_with_phone(committed)
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    [record] = sms_local.state.messages(number)
    assert record.text.startswith("ОСМС: с 24.02.2027 вы не будете застрахованы")
    assert (record.segments.encoding, record.segments.count) == ("UCS-2", 2)
    async with db.connect() as conn:
        row = (await conn.execute(text(
            "SELECT state, message_id, encoding, segments FROM notify.sms_delivery"))).one()
    assert tuple(row) == ("sent", str(record.id), "UCS-2", 2)
    assert await setup.dispatcher.check_sms_reports() == 0  # still on its way
    sms_local.clock.advance(2)
    assert await setup.dispatcher.check_sms_reports() == 1
    assert await sms_states(db) == [("delivered", 1, None)]


async def test_an_unreachable_phone_is_reported_undelivered(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        sms_local: SmsLocalServer) -> None:
    person, number = await person_with_phone(committed)
    sms_local.state.make_unreachable([number])
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    sms_local.clock.advance(2)
    await setup.dispatcher.check_sms_reports()
    assert await sms_states(db) == [("undelivered", 1, None)]


@pytest.mark.parametrize("fault", ["SERVICE_ERROR", "RATE_LIMITED", "HTTP_503"])
async def test_the_operators_trouble_is_retried_and_the_text_sent_once(
        db: AsyncEngine, committed: AsyncSession, setup: Setup, sms_local: SmsLocalServer,
        fault: str) -> None:
    person, number = await person_with_phone(committed)
    sms_local.state.script_errors(number, [fault, fault])
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    [(state, attempts, error)] = await sms_states(db)
    assert (state, attempts) == ("pending", 1) and error is not None
    for _ in range(2):
        setup.clock.advance(3600)  # past any backoff
        await setup.dispatcher.drain()
    assert [state for state, _, _ in await sms_states(db)] == ["sent"]
    assert len(sms_local.state.messages(number)) == 1


async def test_a_refused_text_is_dead_lettered_at_once(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        sms_local: SmsLocalServer) -> None:
    person, number = await person_with_phone(committed)
    sms_local.state.script_errors(number, ["INVALID_RECIPIENT"])
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    totals = await setup.dispatcher.drain()
    assert totals.sms_dead == 1
    [(state, attempts, error)] = await sms_states(db)
    assert (state, attempts) == ("dead", 1)
    assert error is not None and number not in error  # the cause, never the number
    assert sms_local.state.messages(number) == []


@pytest.mark.parametrize("fault", ["TIMEOUT", "DROP"])
async def test_a_lost_answer_is_never_sent_again(
        db: AsyncEngine, committed: AsyncSession, setup: Setup, sms_local: SmsLocalServer,
        fault: str) -> None:
    person, number = await person_with_phone(committed)
    sms_local.state.script_errors(number, [fault])
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    setup.clock.advance(3600)
    await setup.dispatcher.drain()
    assert [state for state, _, _ in await sms_states(db)] == ["unknown"]
    assert len(sms_local.state.messages(number)) == 1  # the operator took it once


WORKER = """
import asyncio, json, signal, sys
from auth.sms_mobizon import MobizonGateway
from backend.db.engine import create_engine
from backend.sms import GatewayChannel, person_contacts
from notifications.gateway import Gateway, open_app
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher

async def main() -> None:
    url, name, values, sms_url, key = sys.argv[1:6]
    settings = NotifySettings(**json.loads(values))
    engine = create_engine(url, application_name=name)
    sms = (GatewayChannel(MobizonGateway(sms_url, key)), person_contacts)
    await Dispatcher(engine, Gateway(open_app(settings)), settings, sms=sms).run(asyncio.Event())

asyncio.run(main())
"""


async def test_a_worker_killed_mid_send_texts_nobody_twice(
        db: AsyncEngine, committed: AsyncSession, fcm_local: FcmLocalServer,
        firebase: firebase_admin.App, sms_local: SmsLocalServer, tmp_path: Path) -> None:
    people = [await person_with_phone(committed, n) for n in range(40)]
    for person, _ in people:
        await add_event(db, person, "status.warning", warning(date.today() + timedelta(14)))
    sms_local.state.configure(latency_ms=300)  # calls are in flight when the worker dies
    name = f"crash-sms-{uuid.uuid4().hex[:8]}"
    values = {"fcm_local_url": fcm_local.url, "sms_batch": 10, "sms_concurrency": 4,
              "idle_poll_seconds": 0.05}
    url = db.url.render_as_string(hide_password=False)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, url, name, json.dumps(values), sms_local.url,
            sms_local.state.api_key, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out, stderr=out)

    async def busy() -> bool:
        assert worker.returncode is None, log.read_text()
        states = dict(await _counts(db))
        return states.get("sent", 0) >= 8 and states.get("sending", 0) > 0

    try:
        await wait_for(busy, 30, step=0.01)
    finally:
        worker.kill()
        await worker.wait()

    async def gone() -> bool:
        return await worker_backends(db, name) == 0

    await wait_for(gone, 10)
    in_flight = dict(await _counts(db))["sending"]
    sms_local.state.configure(latency_ms=0)
    gateway = sms_local.gateway()
    try:
        restarted = Dispatcher(db, Gateway(firebase), notify_settings(
            fcm_local.url, lease_seconds=0), sms=(GatewayChannel(gateway), person_contacts))
        reaped, _ = await restarted.upkeep()
        await restarted.drain()
    finally:
        await gateway.aclose()
    assert reaped == in_flight
    final = dict(await _counts(db))
    assert set(final) <= {"sent", "unknown"} and final.get("unknown", 0) <= in_flight
    assert sum(final.values()) == len(people)
    texted = [record.recipient for record in sms_local.state.messages(limit=1000)]
    assert len(texted) == len(set(texted)), "someone was texted twice"
    # Everyone marked sent was texted exactly once; an unknown one at most once.
    assert final["sent"] <= len(texted) <= final["sent"] + final.get("unknown", 0)


async def _counts(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        return [(row[0], int(row[1])) for row in await conn.execute(text(
            "SELECT state, count(*) FROM notify.sms_delivery GROUP BY state"))]


