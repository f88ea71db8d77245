"""Retention (``backend.ops.retention``) on the suite's real PostgreSQL: every table loses what
is old and only that, in bounded batches; a dry run changes nothing; what a digest, a waiting
text, the claim or the verifiable log still reads stays; a digest after pruning still counts
the day's earlier payments; pruning beside a running dispatcher and new events loses nothing
current; the development SMS sink is trimmed."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import firebase_admin
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.ops import retention
from backend.settings import RetentionSettings
from backend.tlog.monitor import unaccounted
from tests.factories import create_person
from tests.notifications import conftest as notify_fixtures
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    HOSPITAL,
    LAB,
    TestClock,
    add_device,
    add_event,
    almaty,
    dispatcher,
    notify_settings,
    paid,
    payment,
    pushes,
    received,
)

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=3000)  # older than every retention
FRESH = NOW - timedelta(hours=1)  # younger than every retention
LATER = timedelta(days=9000)  # a session that outlives the test
AUTH_TABLES = ("auth.login_challenge", "auth.consent_challenge", "auth.consent_code",
               "auth.onboarding_code", "auth.consent_window", "auth.staff_setup_code",
               "auth.refresh_token", "auth.session_family", "auth.desk_session",
               "auth.throttle", "auth.staff_account", "core.retention_horizon")
FAST = RetentionSettings(pause_seconds=0)
# fcm-local and firebase-admin on it, as the dispatcher tests have them.
fcm_local_server = notify_fixtures.fcm_local_server
fcm_local = notify_fixtures.fcm_local
firebase = notify_fixtures.firebase


@pytest.fixture
async def db(engine: AsyncEngine, committed: AsyncSession) -> AsyncIterator[AsyncEngine]:
    """The suite's database; notify, core and tlog emptied after (``committed``), and the
    auth tables retention prunes, and the horizon."""
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(AUTH_TABLES)} CASCADE"))


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> Any:
    """Run one statement (committed); its first value, if it returns rows."""
    async with engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return result.scalar() if result.returns_rows else None


async def person_id(engine: AsyncEngine) -> uuid.UUID:
    """A person in ``core.person`` (the access log points at one)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        person = await create_person(session)
        await session.commit()
        return person.id


# --- one old and one fresh row in every table ---------------------------------------------


async def seed(engine: AsyncEngine, person: uuid.UUID, at: datetime, tag: str) -> None:
    """One row per job whose age is ``at`` (an end, an expiry, a start), marked ``tag``."""
    device = (await add_device(engine, person)).id
    staff = uuid.uuid4()
    window = uuid.uuid4()
    family = uuid.uuid4()
    for statement in (
        # a pushed event: its finished delivery and read inbox item, a dead delivery of
        # another event, an unread item of a third; a text of a fourth; all dispatched at ``at``
        "INSERT INTO notify.outbox (id, person_id, kind, payload, dedupe_key, created_at,"
        " dispatched_at) OVERRIDING SYSTEM VALUE SELECT n, :person, 'contribution.received',"
        " '{}', :tag || ':' || n, :at, :at FROM generate_series(:base + 1, :base + 4) n",
        "INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category, state,"
        " due_at, finished_at) VALUES (:base + 1, :device, :person, 'contribution.received',"
        " 'payments', 'sent', :at, :at), (:base + 2, :device, :person, 'contribution.received',"
        " 'payments', 'dead', :at, :at)",
        "INSERT INTO notify.notification (event_id, person_id, kind, category, payload,"
        " created_at, read_at) VALUES (:base + 1, :person, 'contribution.received', 'payments',"
        " '{}', :at, :at), (:base + 3, :person, 'contribution.received', 'payments', '{}', :at,"
        " NULL)",
        "INSERT INTO notify.sms_delivery (event_id, person_id, kind, state, due_at, created_at)"
        " VALUES (:base + 4, :person, 'status.warning', 'delivered', :at, :at)",
        "INSERT INTO auth.staff_account (id, username, display_name, provider_id, provider_name)"
        " VALUES (:staff, :tag, 'Desk', :staff, 'Clinic')",
        "INSERT INTO auth.login_challenge (id, code_hash, expires_at)"
        " VALUES (gen_random_uuid(), '\\x00', :at)",
        "INSERT INTO auth.consent_challenge (id, staff_id, person_id, code_hash, expires_at)"
        " VALUES (gen_random_uuid(), :staff, :person, '\\x00', :at)",
        "INSERT INTO auth.consent_code (code_hash, person_id, expires_at)"
        " VALUES (convert_to(:tag || 'c', 'UTF8'), :person, :at)",
        "INSERT INTO auth.consent_window (id, staff_id, provider_id, person_id, expires_at)"
        " VALUES (:window, :staff, :staff, :person, :at)",
        "INSERT INTO auth.onboarding_code (code_hash, person_id, window_id, expires_at)"
        " VALUES (convert_to(:tag || 'o', 'UTF8'), :person, :window, :at)",
        "INSERT INTO auth.staff_setup_code (code_hash, staff_id, expires_at)"
        " VALUES (convert_to(:tag || 's', 'UTF8'), :staff, :at)",
        "INSERT INTO auth.session_family (id, audience, subject, signed_in_by, expires_at)"
        " VALUES (:family, 'mobile', :tag, 'sms', :later),"
        " (gen_random_uuid(), 'mobile', :tag, 'sms', :at),"
        " (gen_random_uuid(), 'mobile', :tag, 'sms', :later)",
        "UPDATE auth.session_family SET revoked_at = :at WHERE subject = :tag"
        " AND id <> :family AND expires_at > :at",
        "INSERT INTO auth.refresh_token (token_hash, family_id, expires_at, used_at)"
        " VALUES (convert_to(:tag || 'r', 'UTF8'), :family, :later, :at)",
        "INSERT INTO auth.desk_session (id, token_hash, staff_id, last_seen_at, expires_at)"
        " VALUES (gen_random_uuid(), convert_to(:tag, 'UTF8'), :staff, :at, :at)",
        "INSERT INTO auth.throttle (bucket, window_start, hits) VALUES (:tag, :at, 1)",
        "INSERT INTO core.access_log (person_id, at, actor_kind, actor_id, actor_name,"
        " organization, purpose, reason, reference)"
        " VALUES (:person, :at, 'staff', :tag, 'Desk', 'Clinic', 'profile', 'consent', :tag)",
    ):
        await sql(engine, statement, person=person, at=at, tag=tag, staff=staff,
                  window=window, family=family, device=device, later=at + LATER,
                  base=1000 if tag == "old" else 2000)


# Per job: what counts its rows (old and fresh alike).
COUNTS = {
    "push deliveries": "SELECT count(*) FROM notify.delivery WHERE state = 'sent'",
    "dead push deliveries": "SELECT count(*) FROM notify.delivery WHERE state = 'dead'",
    "sms deliveries": "SELECT count(*) FROM notify.sms_delivery",
    "read inbox items": "SELECT count(*) FROM notify.notification WHERE read_at IS NOT NULL",
    "unread inbox items": "SELECT count(*) FROM notify.notification WHERE read_at IS NULL",
    "outbox events": "SELECT count(*) FROM notify.outbox",
    "sign-in challenges": "SELECT count(*) FROM auth.login_challenge",
    "consent challenges": "SELECT count(*) FROM auth.consent_challenge",
    "consent codes": "SELECT count(*) FROM auth.consent_code",
    "onboarding codes": "SELECT count(*) FROM auth.onboarding_code",
    "consent windows": "SELECT count(*) FROM auth.consent_window",
    "staff setup codes": "SELECT count(*) FROM auth.staff_setup_code",
    "used refresh tokens": "SELECT count(*) FROM auth.refresh_token",
    "expired sessions": "SELECT count(*) FROM auth.session_family WHERE revoked_at IS NULL"
                        " AND expires_at < now()",
    "revoked sessions": "SELECT count(*) FROM auth.session_family WHERE revoked_at IS NOT NULL",
    "desk sessions": "SELECT count(*) FROM auth.desk_session",
    "throttle windows": "SELECT count(*) FROM auth.throttle",
    "access log": "SELECT count(*) FROM core.access_log",
}
EVENTS_PER_SEED = 4


async def counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows of each job's kind."""
    return {name: int(await sql(engine, query)) for name, query in COUNTS.items()}


async def test_every_table_loses_what_is_old_and_only_that(db: AsyncEngine) -> None:
    person = await person_id(db)
    await seed(db, person, OLD, "old")
    await seed(db, person, FRESH, "new")
    await sql(db, "DELETE FROM tlog.pending")  # the log has appended them
    before = await counts(db)

    report = await retention.run(db, FAST)

    pruned = {job.name: job.rows for job in report.jobs}
    after = await counts(db)
    for name in COUNTS:
        expected_gone = EVENTS_PER_SEED if name == "outbox events" else 1
        assert pruned[name] == expected_gone, name
        assert after[name] == before[name] - expected_gone, name
    # What is left is exactly the fresh rows.
    assert await sql(db, "SELECT count(*) FROM auth.throttle WHERE bucket = 'new'") == 1
    assert await sql(db, "SELECT min(at) FROM core.access_log") == FRESH
    assert await sql(db, "SELECT min(dispatched_at) FROM notify.outbox") == FRESH
    assert all(job.done for job in report.jobs)


async def test_a_dry_run_counts_and_changes_nothing(db: AsyncEngine) -> None:
    person = await person_id(db)
    await seed(db, person, OLD, "old")
    await seed(db, person, FRESH, "new")
    await sql(db, "DELETE FROM tlog.pending")
    before = await counts(db)

    dry = await retention.run(db, FAST, dry_run=True)

    assert await counts(db) == before
    assert await sql(db, "SELECT count(*) FROM core.retention_horizon") == 0
    would = {job.name: job.rows for job in dry.jobs}
    real = {job.name: job.rows for job in (await retention.run(db, FAST)).jobs}
    # A dry run counts each table as it stands: an event whose push is still there, a window
    # whose code is still there, are not counted; the real run prunes those first.
    assert (would.pop("outbox events"), real.pop("outbox events")) == (1, EVENTS_PER_SEED)
    assert (would.pop("consent windows"), real.pop("consent windows")) == (0, 1)
    assert would == real
    assert any(line.startswith("access log") and "would prune" in line
               for line in dry.lines(dry_run=True))


async def test_a_run_is_bounded_and_the_next_run_goes_on(db: AsyncEngine) -> None:
    person = uuid.uuid4()
    device = (await add_device(db, person)).id
    await sql(db, "INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category,"
                  " state, due_at, finished_at) SELECT n, :device, :person,"
                  " 'contribution.received', 'payments', 'sent', :at, :at"
                  " FROM generate_series(1, 25) n", device=device, person=person, at=OLD)
    settings = RetentionSettings(batch_rows=10, max_batches=2, pause_seconds=0)

    first = await retention.run(db, settings, jobs=retention.JOBS[:1])
    assert (first.jobs[0].rows, first.jobs[0].batches, first.jobs[0].done) == (20, 2, False)
    assert await sql(db, "SELECT count(*) FROM notify.delivery") == 5
    assert "bound reached" in first.lines()[0]

    second = await retention.run(db, settings, jobs=retention.JOBS[:1])
    assert (second.jobs[0].rows, second.jobs[0].done) == (5, True)
    assert await sql(db, "SELECT count(*) FROM notify.delivery") == 0


async def test_what_is_still_read_stays_however_old(db: AsyncEngine) -> None:
    """A waiting digest's earlier pushes, a push whose text waits, an event with a push left
    or not yet dispatched, a window with its onboarding code, an access-log entry the
    verifiable log has not appended yet."""
    person = await person_id(db)
    await seed(db, person, OLD, "old")  # access log still queued in tlog.pending
    device = (await add_device(db, person)).id
    await sql(db, "INSERT INTO notify.outbox (id, person_id, kind, payload, dedupe_key,"
                  " created_at, dispatched_at) OVERRIDING SYSTEM VALUE VALUES"
                  " (50, :p, 'service.paid', '{}', 'k50', :at, :at),"
                  " (51, :p, 'service.paid', '{}', 'k51', :at, :at),"
                  " (52, :p, 'status.warning', '{}', 'k52', :at, :at),"
                  " (53, :p, 'contribution.received', '{}', 'k53', :at, NULL)",
              p=person, at=OLD)
    await sql(db, "INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category,"
                  " digest_key, state, due_at, finished_at) VALUES"
                  " (50, :d, :p, 'service.paid', 'service_payments', 'service.paid:2018-01-01',"
                  "  'sent', :at, :at),"
                  " (51, :d, :p, 'service.paid', 'service_payments', 'service.paid:2018-01-01',"
                  "  'pending', :at, NULL),"
                  " (52, :d, :p, 'status.warning', 'critical', NULL, 'sent', :at, :at)",
              d=device, p=person, at=OLD)
    await sql(db, "INSERT INTO notify.sms_delivery (event_id, person_id, kind, state, due_at,"
                  " created_at) VALUES (52, :p, 'status.warning', 'pending', :at, :at)",
              p=person, at=OLD)
    await sql(db, "INSERT INTO auth.consent_window (id, staff_id, provider_id, person_id,"
                  " expires_at) SELECT :w, id, id, :p, :at FROM auth.staff_account",
              w=(window := uuid.uuid4()), p=person, at=OLD)
    await sql(db, "INSERT INTO auth.onboarding_code (code_hash, person_id, window_id,"
                  " expires_at) VALUES ('\\x01', :p, :w, :at)", p=person, w=window, at=FRESH)

    await retention.run(db, FAST)

    assert await sql(db, "SELECT array_agg(event_id ORDER BY event_id) FROM notify.delivery") \
        == [50, 51, 52]
    assert await sql(db, "SELECT array_agg(id ORDER BY id) FROM notify.outbox") \
        == [50, 51, 52, 53]
    assert await sql(db, "SELECT count(*) FROM core.access_log") == 1
    assert await sql(db, "SELECT array_agg(id) FROM auth.consent_window") == [window]

    # Once the digest went, the text went and the log appended the entry: all of it goes.
    await sql(db, "UPDATE notify.delivery SET state = 'sent', finished_at = :at"
                  " WHERE event_id = 51", at=OLD)
    await sql(db, "UPDATE notify.sms_delivery SET state = 'skipped'")
    await sql(db, "DELETE FROM tlog.pending")
    await sql(db, "DELETE FROM auth.onboarding_code")  # redeemed, say
    await retention.run(db, FAST)
    assert await sql(db, "SELECT count(*) FROM notify.delivery") == 0
    assert await sql(db, "SELECT array_agg(id) FROM notify.outbox") == [53]  # never dispatched
    assert await sql(db, "SELECT count(*) FROM core.access_log") == 0
    assert await sql(db, "SELECT count(*) FROM auth.consent_window") == 0


async def test_the_horizon_says_what_may_be_gone_and_never_goes_back(db: AsyncEngine) -> None:
    person = await person_id(db)
    await seed(db, person, OLD, "old")
    await sql(db, "DELETE FROM tlog.pending")
    await retention.run(db, FAST, now=NOW)
    cutoff = NOW - timedelta(days=FAST.access_log_days)
    row = (await sql(db, "SELECT before FROM core.retention_horizon"
                         " WHERE table_name = 'access log'"))
    assert row == cutoff
    assert await sql(db, "SELECT pruned FROM core.retention_horizon"
                         " WHERE table_name = 'access log'") == 1
    # An earlier clock, with something to prune, does not move it back.
    await seed(db, person, OLD - timedelta(days=1), "older")
    await sql(db, "DELETE FROM tlog.pending")
    await retention.run(db, FAST, now=NOW - timedelta(days=100))
    assert await sql(db, "SELECT before FROM core.retention_horizon"
                         " WHERE table_name = 'access log'") == cutoff
    assert await sql(db, "SELECT pruned FROM core.retention_horizon"
                         " WHERE table_name = 'access log'") == 2


async def test_each_batch_walks_an_index(db: AsyncEngine) -> None:
    """With sequential scans priced out, no batch reads its table from the start."""
    async with db.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        for job in retention.JOBS:
            plan = "\n".join(row[0] for row in await conn.execute(
                text("EXPLAIN " + retention.batch_sql(job)),
                {"cutoff": NOW, "rows": 100, "name": job.name}))
            assert f"Seq Scan on {job.table.split('.')[1]} t " not in plan, (job.name, plan)
        await conn.rollback()


# --- the digest, and a running dispatcher -------------------------------------------------


async def test_a_digest_after_pruning_still_counts_the_days_earlier_payments(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    person, someone = uuid.uuid4(), uuid.uuid4()
    phone = await add_device(db, person, language="en")
    await add_device(db, someone, language="en")
    morning = [paid(payment(5001, 1_240_000)), paid(payment(5002, 560_000, HOSPITAL))]
    for payload in morning:
        await add_event(db, person, "service.paid", payload)
    unrelated = await add_event(db, someone, "contribution.received", received(77))
    settings = notify_settings(fcm_local.url, digest_window_seconds=60)
    clock = TestClock(almaty(2026, 11, 24, 9))
    async with dispatcher(db, settings, firebase, clock) as worker:
        await worker.drain()
        clock.advance(60)
        await worker.drain()
        assert len(pushes(fcm_local.state, phone.token)) == 1  # the morning's digest of 2
        await add_event(db, person, "service.paid", paid(payment(5003, 100_000, LAB)))
        clock.advance(4 * 3600)
        await worker.drain()  # the afternoon's payment waits for its digest window

        # Retention runs as if much later: everything finished is old by then.
        report = await retention.run(db, RetentionSettings(pause_seconds=0, delivery_days=2),
                                     now=clock.at + timedelta(days=60))
        pruned = {job.name: job.rows for job in report.jobs}
        assert pruned["push deliveries"] == 1  # the unrelated push, not the morning's
        assert await sql(db, "SELECT count(*) FROM notify.outbox WHERE id = :id",
                         id=unrelated) == 0

        clock.advance(60)
        await worker.drain()
    afternoon = pushes(fcm_local.state, phone.token)[-1]
    assert afternoon["data"]["type"] == "service.digest"
    assert afternoon["data"]["count"] == "3"
    assert "3 services" in afternoon["notification"]["body"]
    # The day is complete: now the morning's pushes and their events go too.
    await retention.run(db, RetentionSettings(pause_seconds=0, delivery_days=2),
                        now=clock.at + timedelta(days=60))
    assert await sql(db, "SELECT count(*) FROM notify.delivery") == 0
    assert await sql(db, "SELECT count(*) FROM notify.outbox") == 0


async def test_pruning_beside_a_running_dispatcher_and_new_events_loses_nothing_current(
        db: AsyncEngine, fcm_local: FcmLocalServer, firebase: firebase_admin.App) -> None:
    people = [uuid.uuid4() for _ in range(20)]
    phones = [await add_device(db, person) for person in people]
    # 3,000 old finished pushes and their events to prune, 60 days old.
    await sql(db, "INSERT INTO notify.outbox (id, person_id, kind, payload, dedupe_key,"
                  " created_at, dispatched_at) OVERRIDING SYSTEM VALUE SELECT 100000 + n, :p,"
                  " 'contribution.received', '{}', 'old:' || n, :at, :at"
                  " FROM generate_series(1, 3000) n", p=people[0], at=NOW - timedelta(days=60))
    await sql(db, "INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category,"
                  " state, due_at, finished_at) SELECT 100000 + n, :d, :p,"
                  " 'contribution.received', 'payments', 'sent', :at, :at"
                  " FROM generate_series(1, 3000) n",
              d=phones[0].id, p=people[0], at=NOW - timedelta(days=60))
    settings = RetentionSettings(batch_rows=50, pause_seconds=0)
    stop = asyncio.Event()
    written: list[int] = []

    async def write_events() -> None:
        for round_ in range(10):
            for n, person in enumerate(people):
                written.append(await add_event(db, person, "contribution.received",
                                               received(round_ * 100 + n)))
            await asyncio.sleep(0.02)

    async def prune() -> int:
        total = 0
        while True:
            report = await retention.run(db, settings, max_batches=3)
            total += report.total
            if all(job.done for job in report.jobs):
                return total

    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        running = asyncio.create_task(worker.run(stop))
        pruned, _ = await asyncio.gather(prune(), write_events())
        for _ in range(600):  # until the dispatcher has sent everything written
            if fcm_local.state.accepted >= len(written):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await running

    assert pruned >= 6000  # the old pushes and their events
    assert fcm_local.state.accepted == len(written) == 200
    assert {phone.token: len(pushes(fcm_local.state, phone.token)) for phone in phones} == \
           {phone.token: 10 for phone in phones}
    assert await sql(db, "SELECT count(*) FROM notify.notification") == 200
    assert await sql(db, "SELECT count(*) FROM notify.delivery WHERE state = 'sent'") == 200
    assert await sql(db, "SELECT count(*) FROM notify.outbox") == 200


# --- the development SMS sink --------------------------------------------------------------


def test_the_development_sms_sink_keeps_only_the_last_day(tmp_path: Path) -> None:
    sink = tmp_path / "dev-sms.jsonl"
    lines = [{"phone": "+77010000001", "text": "old", "sent_at": (NOW - timedelta(hours=30))
              .isoformat()},
             {"phone": "+77010000002", "text": "new", "sent_at": (NOW - timedelta(hours=2))
              .isoformat()}]
    sink.write_text("".join(json.dumps(line) + "\n" for line in lines))
    os.chmod(sink, 0o600)
    cutoff = NOW - timedelta(hours=24)

    assert retention.prune_dev_sms(sink, cutoff, dry_run=True) == 1
    assert len(sink.read_text().splitlines()) == 2
    assert retention.prune_dev_sms(sink, cutoff) == 1
    assert [json.loads(x)["text"] for x in sink.read_text().splitlines()] == ["new"]
    assert sink.stat().st_mode & 0o777 == 0o600
    assert retention.prune_dev_sms(tmp_path / "absent.jsonl", cutoff) == 0


# --- the verifiable log's monitor ----------------------------------------------------------


async def test_the_logs_monitor_takes_a_pruned_look_for_retention_not_removal(
        db: AsyncEngine) -> None:
    person = await person_id(db)
    await seed(db, person, OLD, "old")
    await sql(db, "DELETE FROM tlog.pending")
    async with db.connect() as conn:
        assert await retention.pruned_through(conn) == {}
    await retention.run(db, FAST, now=NOW)
    async with db.connect() as conn:
        through = await retention.pruned_through(conn)
    horizon = (NOW - timedelta(days=FAST.access_log_days)).date()
    assert through == {"access": horizon.isoformat()}

    def leaf(kind: str, record_id: int, logged: date) -> bytes:
        return json.dumps({"person": "p1", "kind": kind, "id": str(record_id),
                           "logged": logged.isoformat()}).encode()

    entries = [leaf("access", 1, OLD.date()),  # pruned: retention
               leaf("access", 2, horizon),  # the horizon's own day: retention
               leaf("access", 3, horizon + timedelta(days=1)),  # newer: removed
               leaf("contribution", 4, OLD.date())]  # never pruned: removed
    assert [(x.kind, x.record_id) for x in unaccounted(entries, "p1", [], through)] == [
        ("access", 3), ("contribution", 4)]
    assert len(unaccounted(entries, "p1", [])) == 4
