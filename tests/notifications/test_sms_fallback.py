"""Critical notices by SMS when the push does not reach the person, end to end through the real
pieces: people in ``core.person`` with their phone and language, the real ``Dispatcher`` with
firebase-admin on fcm-local, and auth's development SMS gateway (the file ``/dev/sms`` shows)
behind ``backend.sms``.  The clock is the test's, so "fifteen minutes later" is exact.

What a person notices: with no app, the warning comes by SMS at once, in their language; with
the app, only if no push went out within the set time (and never when they read it in the
app); nothing critical is texted during their quiet hours, nothing that is not critical is
ever texted, and no one is texted twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import firebase_admin
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.sms import DevSmsSink, Sms
from backend.sms import GatewayChannel, person_contacts
from notifications.gateway import Gateway
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher
from tests.factories import create_person
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    TestClock,
    add_device,
    add_event,
    almaty,
    desk_check,
    execute,
    notify_settings,
    pushes,
    received,
    scalar,
    set_quiet,
    status,
    warning,
)

NOW = almaty(2027, 2, 10, 12)  # noon in Almaty, a working day
DROPS_ON = date(2027, 2, 24)  # the 14-day warning's day
AFTER = 900  # sms_after_seconds: a push has fifteen minutes before the SMS goes


@dataclass
class Setup:
    """A dispatcher with an SMS channel on the development sink, and the test's clock."""

    dispatcher: Dispatcher
    sink: DevSmsSink
    clock: TestClock
    settings: NotifySettings


@pytest.fixture
async def setup(db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App,
                tmp_path: Path) -> AsyncIterator[Setup]:
    """The dispatcher as ``mhi worker`` makes it, at ``NOW``."""
    sink = DevSmsSink(tmp_path / "sms.jsonl")
    clock = TestClock(NOW)
    # Devices register at the database's time, months before the test's clock: none is stale.
    settings = notify_settings(fcm_local.url, sms_after_seconds=AFTER, stale_after_days=3650)
    yield Setup(Dispatcher(db, Gateway(firebase), settings, clock=clock,
                           sms=(GatewayChannel(sink), person_contacts)),
                sink, clock, settings)


async def someone(session: AsyncSession, language: str = "ru", phone: str | None = None,
                  **values: Any) -> uuid.UUID:
    """A person on record with a phone of their own (committed); their id."""
    person = await create_person(session, language=language,
                                 phone=phone or f"+7701{uuid.uuid4().int % 10**7:07d}",
                                 **values)
    await session.commit()
    return person.id


async def phone_of(engine: AsyncEngine, person: uuid.UUID) -> str:
    """The phone on record."""
    return str(await scalar(engine, "SELECT phone FROM core.person WHERE id = :p",
                            {"p": person}))


@dataclass(frozen=True)
class Row:
    """A ``notify.sms_delivery`` row as the tests read it."""

    state: str
    attempts: int
    due_at: datetime
    language: str | None
    encoding: str | None
    segments: int | None
    message_id: str | None
    last_error: str | None


async def sms_rows(engine: AsyncEngine, event: int | None = None) -> list[Row]:
    """The SMS rows (of one event), oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT state, attempts, due_at, language, encoding, segments, message_id,"
            " last_error FROM notify.sms_delivery"
            " WHERE CAST(:event AS bigint) IS NULL OR event_id = :event ORDER BY id"),
            {"event": event})
        return [Row(*row) for row in rows]


def texts_to(sink: DevSmsSink, phone: str) -> list[Sms]:
    """The messages the sink holds for ``phone``, oldest first."""
    return [sms for sms in reversed(sink.recent(1000)) if sms.phone == phone]


RU_WARNING = ("ОСМС: с 24.02.2027 вы не будете застрахованы, если не поступит взнос. "
              "Как оплатить: приложение, 1406.")


async def test_without_the_app_the_warning_comes_by_sms_at_once_in_their_language(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    people = {language: await someone(committed, language) for language in ("kk", "ru", "en")}
    events = {language: await add_event(db, person, "status.warning", warning(DROPS_ON))
              for language, person in people.items()}
    totals = await setup.dispatcher.drain()
    assert totals.texts == 3 and totals.sms_sent == 3
    assert totals.deliveries == 0  # no phone had the app
    expected = {
        "kk": "МӘМС: жарна түспесе, 24.02.2027 бастап сақтандырылмаған боласыз. Қалай төлеу "
              "керегі қосымшада, 1406.",
        "ru": RU_WARNING,
        "en": "MHI: from 24.02.2027 you will not be insured unless a contribution arrives. "
              "How to pay: see the app or call 1406.",
    }
    for language, person in people.items():
        got = texts_to(setup.sink, await phone_of(db, person))
        assert [sms.text for sms in got] == [expected[language]]
        [row] = await sms_rows(db, events[language])
        assert (row.state, row.attempts, row.language) == ("sent", 1, language)
        assert row.message_id is not None and row.message_id.startswith("dev-")
        # Cyrillic goes as UCS-2 (70 a segment, 67 a part): two segments; English in one.
        assert (row.encoding, row.segments) == (
            ("GSM-7", 1) if language == "en" else ("UCS-2", 2))
    # The inbox still has the item: the app shows it when the person installs it.
    assert await scalar(db, "SELECT count(*) FROM notify.notification") == 3


async def test_a_loss_of_cover_is_texted_but_nothing_that_is_not_critical(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    person = await someone(committed, "en")
    await add_event(db, person, "contribution.received", received(101))
    await add_event(db, person, "status.changed", status("INSURED", "PAID",
                                                         old="CONDITIONALLY_INSURED"))
    await add_event(db, person, "desk.check", desk_check())  # critical, but about the app
    await add_event(db, person, "status.changed",
                    status("CONDITIONALLY_INSURED", "GRACE_PERIOD", changes_on="2027-03-01"))
    await add_event(db, person, "status.changed",
                    status("NOT_INSURED", "CONTRIBUTIONS_STOPPED", old="CONDITIONALLY_INSURED"))
    await setup.dispatcher.drain()
    assert [sms.text for sms in texts_to(setup.sink, await phone_of(db, person))] == [
        "MHI: you are conditionally insured. Unless a contribution arrives, from 01.03.2027 "
        "you will not be insured. More: the app or 1406.",
        "MHI: from 01.11.2026 you are not insured. How to get cover back: see the app or call "
        "1406."]
    assert len(await sms_rows(db)) == 2


async def test_a_push_that_went_out_makes_the_sms_unneeded(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        fcm_local: FcmLocalServer) -> None:
    person = await someone(committed)
    phone = await add_device(db, person, language="ru")
    event = await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    assert len(pushes(fcm_local.state, phone.token)) == 1
    [row] = await sms_rows(db, event)
    assert row.state == "pending" and row.due_at == NOW + timedelta(seconds=AFTER)
    setup.clock.advance(AFTER)
    totals = await setup.dispatcher.drain()
    assert totals.sms_skipped == 1 and totals.sms_sent == 0
    [row] = await sms_rows(db, event)
    assert (row.state, row.attempts, row.last_error) == ("skipped", 0, "PUSH_SENT")
    assert setup.sink.recent() == []


async def test_a_dead_token_means_the_sms_goes_after_the_wait(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        fcm_local: FcmLocalServer) -> None:
    person = await someone(committed)
    phone = await add_device(db, person, language="ru")
    fcm_local.state.configure(unregistered=[phone.token])  # the app was uninstalled
    event = await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    assert await scalar(db, "SELECT state FROM notify.delivery") == "rejected"
    setup.clock.advance(AFTER - 1)
    await setup.dispatcher.drain()
    assert setup.sink.recent() == []  # not before the set time
    setup.clock.advance(1)
    await setup.dispatcher.drain()
    assert [sms.text for sms in texts_to(setup.sink, await phone_of(db, person))] == [
        RU_WARNING]
    assert [row.state for row in await sms_rows(db, event)] == ["sent"]


async def test_a_push_still_retrying_after_the_wait_does_not_hold_the_sms(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        fcm_local: FcmLocalServer) -> None:
    person = await someone(committed)
    await add_device(db, person, language="ru")
    fcm_local.state.configure(rates={"UNAVAILABLE": 1.0})  # FCM is down for everyone
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    setup.clock.advance(AFTER)
    await setup.dispatcher.drain()
    assert await scalar(db, "SELECT state FROM notify.delivery") == "pending"
    assert len(texts_to(setup.sink, await phone_of(db, person))) == 1


async def test_read_in_the_app_means_no_sms(db: AsyncEngine, committed: AsyncSession,
                                            setup: Setup, fcm_local: FcmLocalServer) -> None:
    person = await someone(committed)
    phone = await add_device(db, person, language="ru")
    fcm_local.state.configure(unregistered=[phone.token])
    event = await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    await execute(db, "UPDATE notify.notification SET read_at = now() WHERE event_id = :e",
                  {"e": event})  # the person opened the app and read it
    setup.clock.advance(AFTER)
    await setup.dispatcher.drain()
    assert [(r.state, r.last_error) for r in await sms_rows(db)] == [("skipped", "READ_IN_APP")]
    assert setup.sink.recent() == []


async def test_quiet_hours_hold_the_sms_until_they_end(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    person = await someone(committed)
    await set_quiet(db, person, time(22), time(8))
    setup.clock.at = almaty(2027, 2, 10, 23)
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    [row] = await sms_rows(db)
    assert row.due_at == almaty(2027, 2, 11, 8)
    setup.clock.at = almaty(2027, 2, 11, 7, 59)
    await setup.dispatcher.drain()
    assert setup.sink.recent() == []
    setup.clock.at = almaty(2027, 2, 11, 8)
    await setup.dispatcher.drain()
    assert len(setup.sink.recent()) == 1


async def test_the_wait_for_the_push_starts_when_quiet_hours_end(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    person = await someone(committed)
    await add_device(db, person)
    await set_quiet(db, person, time(22), time(8))
    setup.clock.at = almaty(2027, 2, 10, 23)
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    [row] = await sms_rows(db)
    # The push goes at 08:00; the SMS only if it has not gone a quarter of an hour later.
    assert row.due_at == almaty(2027, 2, 11, 8, 15)


async def test_no_phone_on_record_or_a_death_cancels_the_sms(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    no_phone = await create_person(committed, phone=None)
    died = await create_person(committed, death_date=date(2027, 2, 1))
    await committed.commit()
    for person in (no_phone.id, died.id):
        await add_event(db, person, "status.warning", warning(DROPS_ON))
    totals = await setup.dispatcher.drain()
    assert totals.sms_cancelled == 2
    assert [(r.state, r.last_error) for r in await sms_rows(db)] == [
        ("cancelled", "NO_PHONE"), ("cancelled", "NO_PHONE")]
    assert setup.sink.recent() == []


async def test_a_warning_held_past_its_day_is_not_texted(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    person = await someone(committed)
    await set_quiet(db, person, time(22), time(8))
    setup.clock.at = almaty(2027, 2, 23, 23)  # the evening before cover ends
    await add_event(db, person, "status.warning", warning(DROPS_ON, days_left=3))
    await setup.dispatcher.drain()
    setup.clock.at = almaty(2027, 2, 24, 8)  # quiet hours end on the day itself: too late
    await setup.dispatcher.drain()
    assert [(r.state, r.last_error) for r in await sms_rows(db)] == [
        ("cancelled", "EXPIRED: too late to be true")]
    assert setup.sink.recent() == []


async def test_the_same_event_expanded_by_two_workers_is_texted_once(
        db: AsyncEngine, committed: AsyncSession, setup: Setup,
        firebase: firebase_admin.App, tmp_path: Path) -> None:
    people = [await someone(committed) for _ in range(30)]
    for person in people:
        await add_event(db, person, "status.warning", warning(DROPS_ON))
    other = Dispatcher(db, Gateway(firebase), setup.settings, clock=setup.clock,
                       sms=(GatewayChannel(setup.sink), person_contacts))
    await asyncio.gather(setup.dispatcher.drain(), other.drain())
    sent = [sms.phone for sms in setup.sink.recent(1000)]
    assert len(sent) == 30 and len(set(sent)) == 30
    assert setup.dispatcher.totals.sms_sent + other.totals.sms_sent == 30


async def test_the_operators_reports_say_which_texts_arrived(
        db: AsyncEngine, committed: AsyncSession, setup: Setup) -> None:
    person = await someone(committed)
    await add_event(db, person, "status.warning", warning(DROPS_ON))
    await setup.dispatcher.drain()
    assert await setup.dispatcher.check_sms_reports() == 1
    assert [row.state for row in await sms_rows(db)] == ["delivered"]
    assert await setup.dispatcher.check_sms_reports() == 0  # nothing left to ask about
