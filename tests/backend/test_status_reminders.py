"""Self-payers' reminders before the 25th (``backend.status.reminders``) on the suite's real
PostgreSQL: the exact amount and months (arrears first) as the status engine will apply the
payment, on the days before the deadline only, once per person and deadline, and never to
someone who has paid the month or who does not pay for themselves."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.models import Person
from backend.rates.book import RateBook
from backend.status.reminders import Reminded, deadline_of, remind
from backend.status.schedule import refresh_due
from tests.api.test_citizen_graph import employee_paid_through, month
from tests.api.test_how_to_pay import self_paid
from tests.backend.test_status_store import employee
from tests.factories import create_contribution, create_person


async def behind_by_a_month(db: AsyncSession) -> Person:
    """A self-payer (after a year of an employer's money) whose September is unpaid."""
    person = await create_person(db)
    await employee_paid_through(db, person, month(2025, 12), 12)
    await self_paid(db, person, month(2026, 1), month(2026, 8))
    await db.commit()
    return person


async def run(engine: AsyncEngine, rates: RateBook, today: date, chunk: int = 2_000
              ) -> Reminded:
    """Store everyone's status on ``today``, then one run of the day's reminders."""
    done = await refresh_due(engine, today=today, rates=rates, everyone=True)
    assert done is not None
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        return await remind(raw.driver_connection, today, rates, chunk)


async def reminders_of(engine: AsyncEngine, person: Person) -> list[dict[str, Any]]:
    """The payloads of the person's reminders, oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT payload FROM notify.outbox WHERE person_id = :p"
            " AND kind = 'payment.reminder' ORDER BY id"), {"p": person.id})).all()
    return [row[0] for row in rows]


def test_the_days_before_the_25th() -> None:
    assert [deadline_of(date(2026, 11, day)) for day in (19, 20, 24, 25, 26)] == [
        None, date(2026, 11, 25), date(2026, 11, 25), None, None]
    assert deadline_of(date(2026, 12, 22)) == date(2026, 12, 25)


async def test_the_amount_and_the_months_arrears_first(
        engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
    person = await behind_by_a_month(clean)
    done = await run(engine, rates, date(2026, 11, 20))
    assert (done.owing, done.written) == (1, 1)
    assert await reminders_of(engine, person) == [{
        "dueOn": "2026-11-25", "amountTiyn": 850_000, "period": "2026-10",
        "months": ["2026-09", "2026-10"]}]


async def test_once_per_deadline_however_often_and_by_how_many(
        engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
    people = [await behind_by_a_month(clean) for _ in range(7)]
    await run(engine, rates, date(2026, 11, 20))
    await run(engine, rates, date(2026, 11, 22))  # a later day of the same window
    async with engine.connect() as a, engine.connect() as b:  # two workers at once
        first, second = await asyncio.gather(
            remind((await a.get_raw_connection()).driver_connection, date(2026, 11, 24),
                   rates, 3),
            remind((await b.get_raw_connection()).driver_connection, date(2026, 11, 24),
                   rates, 3))
    assert first.written + second.written == 0
    for person in people:
        assert len(await reminders_of(engine, person)) == 1


async def test_not_outside_the_days_before_nor_to_who_paid_nor_to_employees(
        engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
    late = await behind_by_a_month(clean)
    paid = await behind_by_a_month(clean)
    for period in (month(2026, 9), month(2026, 10)):  # paid September and October already
        await create_contribution(clean, paid, period=period, paid_on=date(2026, 11, 10),
                                  amount_tiyn=425_000)
    worker = await employee(clean, last=date(2026, 9, 1))
    await clean.commit()
    assert (await run(engine, rates, date(2026, 11, 19))).written == 0  # too early
    assert (await run(engine, rates, date(2026, 11, 25))).written == 0  # the day itself
    await run(engine, rates, date(2026, 11, 21))
    assert len(await reminders_of(engine, late)) == 1
    assert await reminders_of(engine, paid) == []
    assert await reminders_of(engine, worker) == []


async def test_the_next_month_reminds_again(
        engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
    person = await behind_by_a_month(clean)
    await run(engine, rates, date(2026, 11, 20))
    await run(engine, rates, date(2026, 12, 20))
    assert [(r["dueOn"], r["months"]) for r in await reminders_of(engine, person)] == [
        ("2026-11-25", ["2026-09", "2026-10"]),
        ("2026-12-25", ["2026-09", "2026-10", "2026-11"])]
