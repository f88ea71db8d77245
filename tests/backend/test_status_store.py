"""Stored statuses (``backend.status.store``) and the month-boundary job
(``backend.status.schedule.refresh_due``) on the suite's real PostgreSQL.

People are made with ``committed`` (which empties people, and with them their stored statuses
and history, after each test); this test's ``notify.outbox`` rows are deleted by ``clean``.
The dates follow rule R3: month M is due by the 25th of M+1, with three months of grace.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import docs_of, ingest
from backend.models import Person
from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.status import ContributionFact, Status, StatusResult, compute_status, store
from backend.status.schedule import _LOCK, refresh_due
from tests.factories import create_contribution, create_employer, create_person

TODAY = date(2026, 11, 23)


async def employee(db: AsyncSession, last: date, first: date = date(2026, 1, 1)) -> Person:
    """Someone whose employer paid every month from ``first`` to ``last`` (committed)."""
    person = await create_person(db, birth_date=date(1982, 2, 2), sex="M")
    employer = await create_employer(db)
    month = first
    while month <= last:
        paid = date(month.year + month.month // 12, month.month % 12 + 1, 10)
        await create_contribution(db, person, kind="employer_deduction", payment_code=121,
                                  payer_id=employer.id, payer_kind="employer", period=month,
                                  paid_on=paid, amount_tiyn=1_530_000)
        month = paid.replace(day=1)
    await db.commit()
    return person


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Every row of a query, as tuples."""
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]


async def stored(engine: AsyncEngine, person: Person) -> tuple[Any, ...] | None:
    """(status, reason, as_of, stable_until, updated_at) of the person."""
    found = await rows(engine, "SELECT status, reason_code, as_of, stable_until, updated_at"
                               " FROM core.person_status WHERE person_id = :p", p=person.id)
    return found[0] if found else None


async def history(engine: AsyncEngine, person: Person) -> list[tuple[Any, ...]]:
    """(old, new, changed_on, reason, cause) of each change, oldest first."""
    return await rows(engine, "SELECT old_status, new_status, changed_on, reason_code, cause"
                              " FROM core.status_history WHERE person_id = :p ORDER BY id",
                      p=person.id)


async def changed_events(engine: AsyncEngine, person: Person) -> list[dict[str, Any]]:
    """The payloads of the person's status.changed events, oldest first."""
    found = await rows(engine, "SELECT payload FROM notify.outbox WHERE person_id = :p"
                               " AND kind = 'status.changed' ORDER BY id", p=person.id)
    return [row[0] for row in found]


async def expected(engine: AsyncEngine, person: Person, today: date,
                   rates: RateBook) -> StatusResult:
    """What the engine says of the person's contributions on ``today``."""
    found = await rows(engine, "SELECT period, kind, amount_tiyn, paid_on FROM core.contribution"
                               " WHERE person_id = :p", p=person.id)
    facts = [ContributionFact(r[0], ContributionKind(r[1]), r[2], r[3]) for r in found]
    return compute_status(as_of=today, memberships=[], contributions=facts, rates=rates)


async def refresh(engine: AsyncEngine, people: Sequence[Person], *, today: date,
                  rates: RateBook, force: Sequence[Person] = ()) -> store.StatusRefresh:
    """``store.refresh`` in a transaction of its own, as ingestion calls it."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():
            return await store.refresh(db, [p.id for p in people], today=today, rates=rates,
                                       cause="test", force=[p.id for p in force])


# --- the month-boundary job -----------------------------------------------------------------


async def test_grace_running_out_lowers_the_status_on_the_first_of_the_month(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 8, 1))  # August paid; due: September
    in_grace = await expected(engine, person, TODAY, rates)
    assert in_grace.status is Status.CONDITIONALLY_INSURED
    assert in_grace.guaranteed_until == date(2026, 11, 30)

    first = await refresh_due(engine, today=TODAY, rates=rates)
    assert first is not None and first.computed >= 1
    status = await stored(engine, person)
    assert status is not None
    assert status[:4] == ("conditionally_insured", in_grace.reason.code.value, TODAY,
                          date(2026, 11, 26))
    assert [h[:3] for h in await history(engine, person)] == [
        (None, "conditionally_insured", TODAY)]
    assert await changed_events(engine, person) == []

    december = date(2026, 12, 1)
    lost = await expected(engine, person, december, rates)
    assert lost.status is Status.NOT_INSURED
    second = await refresh_due(engine, today=december, rates=rates)
    assert second is not None and second.changed >= 1
    status = await stored(engine, person)
    assert status is not None
    assert status[:4] == ("not_insured", lost.reason.code.value, december, date(2026, 12, 26))
    assert [h[:5] for h in await history(engine, person)] == [
        (None, "conditionally_insured", TODAY, in_grace.reason.code.value, "schedule"),
        ("conditionally_insured", "not_insured", december, lost.reason.code.value, "schedule")]
    assert await changed_events(engine, person) == [
        {"oldStatus": "CONDITIONALLY_INSURED", "newStatus": "NOT_INSURED",
         "reason": lost.reason.code.name, "on": "2026-12-01", "changesOn": "2026-12-26"}]

    third = await refresh_due(engine, today=december, rates=rates)
    assert third == store.StatusRefresh(0, 0, 0)
    assert len(await history(engine, person)) == 2
    assert len(await changed_events(engine, person)) == 1
    assert (await stored(engine, person)) == status


async def test_a_deadline_passing_on_the_26th_is_noticed_that_day(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 9, 1))  # September due by 25 October
    await refresh_due(engine, today=TODAY, rates=rates)
    assert (await stored(engine, person) or ())[:1] == ("insured",)

    assert await refresh_due(engine, today=date(2026, 11, 25), rates=rates) == \
        store.StatusRefresh(0, 0, 0)
    assert len(await history(engine, person)) == 1

    day = date(2026, 11, 26)
    after = await expected(engine, person, day, rates)
    assert after.status is Status.CONDITIONALLY_INSURED
    await refresh_due(engine, today=day, rates=rates)
    assert [h[:3] for h in await history(engine, person)][-1] == (
        "insured", "conditionally_insured", day)
    assert [(e["oldStatus"], e["newStatus"]) for e in await changed_events(engine, person)] == [
        ("INSURED", "CONDITIONALLY_INSURED")]


async def test_a_status_stable_into_the_future_is_not_recomputed(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 3, 1))  # not insured on TODAY
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO core.person_status (person_id, status, reason_code, as_of, stable_until,"
            " detail, updated_at)"  # with a detail: a row without one is stale, so due
            " VALUES (:p, 'insured', 'paid', :as_of, :until, '{}', '2026-11-01')"),
            {"p": person.id, "as_of": date(2026, 11, 1), "until": date(2026, 11, 26)})
    before = await stored(engine, person)

    result = await refresh_due(engine, today=TODAY, rates=rates)

    assert result is not None
    assert await stored(engine, person) == before
    assert await history(engine, person) == []
    # On the day it runs out it is recomputed (and found not insured).
    await refresh_due(engine, today=date(2026, 11, 26), rates=rates)
    assert [h[:2] for h in await history(engine, person)] == [("insured", "not_insured")]
    assert len(await changed_events(engine, person)) == 1


async def test_a_status_computed_for_a_later_day_is_recomputed(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 8, 1))
    await refresh_due(engine, today=date(2026, 12, 1), rates=rates)
    assert (await stored(engine, person) or ())[:1] == ("not_insured",)
    await refresh_due(engine, today=TODAY, rates=rates)
    status = await stored(engine, person)
    assert status is not None and status[:3] == ("conditionally_insured", status[1], TODAY)


async def test_the_job_goes_through_everyone_in_chunks(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    people = [await employee(clean, last=date(2026, 8, 1)) for _ in range(5)]
    result = await refresh_due(engine, today=TODAY, rates=rates, chunk=2)
    assert result is not None and result.computed >= 5
    for person in people:
        assert (await stored(engine, person) or ())[:1] == ("conditionally_insured",)
    assert await refresh_due(engine, today=TODAY, rates=rates, chunk=2) == \
        store.StatusRefresh(0, 0, 0)


async def test_the_job_steps_aside_when_another_process_runs_it(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 8, 1))
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        holder: Any = raw.driver_connection
        await holder.execute("SELECT pg_advisory_lock($1)", _LOCK)
        try:
            assert await refresh_due(engine, today=TODAY, rates=rates) is None
        finally:
            await holder.execute("SELECT pg_advisory_unlock($1)", _LOCK)
    assert await stored(engine, person) is None
    assert await refresh_due(engine, today=TODAY, rates=rates) is not None
    assert await stored(engine, person) is not None


# --- store.refresh, as ingestion uses it ----------------------------------------------------


async def test_an_insured_status_within_its_stable_days_is_skipped_unless_forced(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 9, 1))
    first = await refresh(engine, [person], today=TODAY, rates=rates)
    assert first == store.StatusRefresh(1, 1, 0)  # a first status: history, no event
    assert (await stored(engine, person) or ())[:1] == ("insured",)
    # Take September away behind the store's back: only a forced refresh sees it.
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM core.contribution WHERE person_id = :p"
                                " AND period = '2026-09-01'"), {"p": person.id})

    skipped = await refresh(engine, [person], today=TODAY, rates=rates)
    assert skipped == store.StatusRefresh(0, 0, 0)
    assert (await stored(engine, person) or ())[:1] == ("insured",)

    forced = await refresh(engine, [person], today=TODAY, rates=rates, force=[person])
    assert forced == store.StatusRefresh(1, 1, 1)
    assert (await stored(engine, person) or ())[:1] == ("conditionally_insured",)
    assert [h[:2] for h in await history(engine, person)] == [
        (None, "insured"), ("insured", "conditionally_insured")]
    assert len(await changed_events(engine, person)) == 1


async def test_a_status_that_is_not_insured_is_recomputed_but_not_rewritten(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    person = await employee(clean, last=date(2026, 3, 1))
    await refresh(engine, [person], today=TODAY, rates=rates)
    again = await refresh(engine, [person], today=TODAY, rates=rates)
    assert again == store.StatusRefresh(1, 0, 0)
    assert len(await history(engine, person)) == 1
    assert await changed_events(engine, person) == []


async def test_unknown_people_get_a_first_status_without_an_event(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    people = [await employee(clean, last=date(2026, month, 1)) for month in (3, 8, 10)]
    result = await refresh(engine, people, today=TODAY, rates=rates)
    assert result == store.StatusRefresh(3, 3, 0)
    for person in people:
        want = await expected(engine, person, TODAY, rates)
        status = await stored(engine, person)
        assert status is not None and status[:2] == (want.status.value, want.reason.code.value)
        assert [h[:2] for h in await history(engine, person)] == [(None, want.status.value)]
    assert {(await stored(engine, p) or ())[0] for p in people} == {
        "not_insured", "conditionally_insured", "insured"}


async def test_nobody_is_nothing_to_do(engine: AsyncEngine, rates: RateBook) -> None:
    assert await refresh(engine, [], today=TODAY, rates=rates) == store.StatusRefresh(0, 0, 0)
    stranger = uuid.uuid4()
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():
            done = await store.refresh(db, [], today=TODAY, rates=rates, cause="test",
                                       force=[stranger])
    assert done == store.StatusRefresh(0, 0, 0)


# --- concurrent batches -----------------------------------------------------------------------


async def test_concurrent_batches_for_one_person_leave_the_status_of_all_their_money(
    engine: AsyncEngine, clean: AsyncSession, rates: RateBook
) -> None:
    """Two senders' batches for the same person commit at the same time: the stored status must
    be the one all the person's money gives, not the one either batch saw alone."""
    person = await create_person(clean, birth_date=date(1988, 8, 8), sex="M")
    year = rates.monthly_amount(ContributionKind.SELF_PAYMENT, date(2025, 7, 1)) * 12
    await create_contribution(clean, person, period=date(2025, 7, 1), amount_tiyn=year,
                              paid_on=date(2025, 7, 10))  # July 2025 - June 2026 prepaid
    await clean.commit()
    await refresh(engine, [person], today=TODAY, rates=rates)
    assert (await stored(engine, person) or ())[:1] == ("not_insured",)

    def month(period: str) -> dict[str, Any]:
        return {"recordId": f"{period}-{uuid.uuid4().hex[:8]}", "iin": person.iin,
                "kind": "self_payment", "period": period, "amount": "4250.00",
                "paidOn": "2026-11-20", "paymentCode": 122}

    sources = [f"test-{uuid.uuid4().hex}", f"test-{uuid.uuid4().hex}"]
    batches = [[month("2026-07"), month("2026-08")], [month("2026-09")]]
    try:
        # Hold the person's stored status so that both batches reach it before either commits.
        async with engine.connect() as holder:
            await holder.execute(text("SELECT 1 FROM core.person_status WHERE person_id = :p"
                                      " FOR UPDATE"), {"p": person.id})
            tasks = [asyncio.create_task(ingest(engine, Contributions(), source=source,
                                                today=TODAY, rates=rates, rows=docs_of(batch)))
                     for source, batch in zip(sources, batches, strict=True)]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while len(await rows(engine, "SELECT pid FROM pg_stat_activity"
                                         " WHERE wait_event_type = 'Lock' AND state = 'active'"
                                         " AND datname = current_database()"
                                         " AND pid <> pg_backend_pid()")) < 2:
                assert loop.time() < deadline and not any(t.done() for t in tasks), tasks
                await asyncio.sleep(0.05)
            await holder.rollback()
        results = await asyncio.gather(*tasks)
        assert [result.accepted for result in results] == [2, 1]

        truth = await expected(engine, person, TODAY, rates)
        assert truth.status is Status.INSURED
        status = await stored(engine, person)
        assert status is not None and status[0] == truth.status.value
        assert [h[1] for h in await history(engine, person)][-1] == "insured"
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM core.contribution WHERE source = ANY(:s)"),
                               {"s": sources})
            await conn.execute(text("DELETE FROM core.ingestion_batch WHERE source = ANY(:s)"),
                               {"s": sources})
