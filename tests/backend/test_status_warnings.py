"""Warnings before cover ends (``backend.status.warnings``) on the suite's real PostgreSQL: the
day a person becomes not insured is stored with their status, and the day's run writes one
``status.warning`` 14 and 3 days before it, once per deadline, whoever runs it and however
often, across month and year ends and the 2026 grace change (6 months after 60 paid in a row).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.cli.shared import warn_statuses
from backend.models import Person
from backend.rates.book import RateBook
from backend.status.schedule import refresh_due
from backend.status.warnings import warn
from tests.backend.test_status_store import employee
from tests.factories import create_membership, create_person


async def computed(engine: AsyncEngine, rates: RateBook, today: date) -> None:
    """Every status due on ``today`` computed and stored (the status job)."""
    done = await refresh_due(engine, today=today, rates=rates, everyone=True)
    assert done is not None


async def drop_day(engine: AsyncEngine, person: Person) -> tuple[date | None, bool]:
    """(drops_on, self_pays) stored for the person."""
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT drops_on, self_pays FROM core.person_status WHERE person_id = :p"),
            {"p": person.id})).one()
    return row[0], row[1]


async def run(engine: AsyncEngine, today: date) -> tuple[int, int]:
    """One run of the day's warnings: (people due, warnings written)."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        done = await warn(raw.driver_connection, today)
    return done.due, done.written


async def warnings_of(engine: AsyncEngine, person: Person) -> list[dict[str, Any]]:
    """The payloads of the person's warnings, oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT payload FROM notify.outbox WHERE person_id = :p AND kind = 'status.warning'"
            " ORDER BY id"), {"p": person.id})).all()
    return [row[0] for row in rows]


class TestTheStoredDay:
    async def test_the_funds_worked_example(self, engine: AsyncEngine, clean: AsyncSession,
                                            rates: RateBook) -> None:
        # Last payment for June, nothing for July, August, September: lost in October.
        person = await employee(clean, last=date(2026, 6, 1))
        await computed(engine, rates, date(2026, 8, 20))
        assert await drop_day(engine, person) == (date(2026, 10, 1), False)

    async def test_a_year_end(self, engine: AsyncEngine, clean: AsyncSession,
                              rates: RateBook) -> None:
        person = await employee(clean, last=date(2026, 9, 1))  # grace: October to December
        await computed(engine, rates, date(2026, 11, 23))
        assert (await drop_day(engine, person))[0] == date(2027, 1, 1)

    async def test_sixty_months_in_a_row_give_six_months_of_grace_from_2026(
            self, engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
        person = await employee(clean, first=date(2021, 6, 1), last=date(2026, 5, 1))
        await computed(engine, rates, date(2026, 8, 20))
        assert (await drop_day(engine, person))[0] == date(2026, 12, 1)

    async def test_an_open_ended_category_and_the_uninsured_have_none(
            self, engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
        pensioner = await create_person(clean, birth_date=date(1950, 1, 1))
        await create_membership(clean, pensioner, valid_from=date(2015, 1, 1), valid_to=None)
        nobody = await create_person(clean, birth_date=date(1990, 1, 1))
        await clean.commit()
        await computed(engine, rates, date(2026, 11, 23))
        assert (await drop_day(engine, pensioner))[0] is None
        assert (await drop_day(engine, nobody))[0] is None


class TestTheDaysRun:
    async def test_fourteen_and_three_days_before_once_each(
            self, engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
        person = await employee(clean, last=date(2026, 6, 1))  # drops on 1 October
        await computed(engine, rates, date(2026, 9, 1))
        for day in (date(2026, 9, 16), date(2026, 9, 18), date(2026, 9, 27)):
            await run(engine, day)
            assert await warnings_of(engine, person) == [], day  # not due on those days
        assert await run(engine, date(2026, 9, 17)) == (1, 1)
        assert await run(engine, date(2026, 9, 17)) == (1, 0)  # again: nothing new
        assert await warnings_of(engine, person) == [
            {"dropsOn": "2026-10-01", "daysLeft": 14, "status": "CONDITIONALLY_INSURED",
             "selfPayer": False}]
        await run(engine, date(2026, 9, 28))
        await run(engine, date(2026, 9, 28))
        assert [w["daysLeft"] for w in await warnings_of(engine, person)] == [14, 3]

    async def test_what_the_worker_and_the_command_write_is_kept(
            self, engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
        # ``mhi worker`` and ``mhi statuses warn`` go through ``warn_statuses``, which reads
        # the rate book first: the warnings must still be committed, not left in a
        # transaction that ends with the block.
        person = await employee(clean, last=date(2026, 6, 1))  # drops on 1 October
        await computed(engine, rates, date(2026, 9, 1))
        line = await warn_statuses(engine, date(2026, 9, 17))
        assert "1 warnings written" in line
        assert [w["daysLeft"] for w in await warnings_of(engine, person)] == [14]

    async def test_across_a_year_end(self, engine: AsyncEngine, clean: AsyncSession,
                                     rates: RateBook) -> None:
        person = await employee(clean, last=date(2026, 9, 1))  # drops on 1 January 2027
        await computed(engine, rates, date(2026, 12, 1))
        await run(engine, date(2026, 12, 18))
        await run(engine, date(2026, 12, 29))
        assert [(w["dropsOn"], w["daysLeft"]) for w in await warnings_of(engine, person)] == [
            ("2027-01-01", 14), ("2027-01-01", 3)]

    async def test_a_state_category_that_ends(self, engine: AsyncEngine, clean: AsyncSession,
                                              rates: RateBook) -> None:
        mother = await create_person(clean, birth_date=date(1995, 3, 3))
        await create_membership(clean, mother, valid_from=date(2024, 1, 1),
                                valid_to=date(2026, 12, 31))
        await clean.commit()
        await computed(engine, rates, date(2026, 12, 1))
        drops = (await drop_day(engine, mother))[0]
        assert drops is not None and drops > date(2026, 12, 31)
        await run(engine, drops - timedelta(days=14))
        [warning] = await warnings_of(engine, mother)
        assert warning["status"] == "INSURED" and warning["dropsOn"] == drops.isoformat()

    async def test_a_payment_moves_the_deadline_and_its_warnings(
            self, engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
        person = await employee(clean, last=date(2026, 6, 1))
        await computed(engine, rates, date(2026, 9, 1))
        await run(engine, date(2026, 9, 17))  # 14 days before 1 October
        later = await employee(clean, last=date(2026, 6, 1))  # another person, same day
        async with engine.begin() as conn:  # July arrives for the first person
            await conn.execute(text(
                "INSERT INTO core.contribution (source, source_record_id, person_id, period,"
                " kind, payment_code, payer_id, payer_kind, paid_on, amount_tiyn, batch_id)"
                " SELECT source, source_record_id || '-jul', person_id, DATE '2026-07-01',"
                " kind, payment_code, payer_id, payer_kind, DATE '2026-09-20', amount_tiyn,"
                " batch_id FROM core.contribution WHERE person_id = :p"
                " AND period = DATE '2026-06-01'"), {"p": person.id})
        await refresh_due(engine, today=date(2026, 9, 20), rates=rates, everyone=True)
        assert (await drop_day(engine, person))[0] == date(2026, 11, 1)
        await run(engine, date(2026, 9, 28))  # the old deadline's 3-day warning: not sent
        await run(engine, date(2026, 10, 18))
        assert [(w["dropsOn"], w["daysLeft"]) for w in await warnings_of(engine, person)] == [
            ("2026-10-01", 14), ("2026-11-01", 14)]
        # Stored after the 14-day run: the old deadline's 3-day warning still reaches them.
        assert [w["daysLeft"] for w in await warnings_of(engine, later)] == [3]

    async def test_two_workers_at_once_write_each_warning_once(
            self, engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
        people = [await employee(clean, last=date(2026, 6, 1)) for _ in range(12)]
        await computed(engine, rates, date(2026, 9, 1))

        async def worker() -> int:
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                done = await warn(raw.driver_connection, date(2026, 9, 17), chunk=5)
            return done.written

        written = await asyncio.gather(worker(), worker(), worker())
        assert sum(written) == len(people)
        for person in people:
            assert len(await warnings_of(engine, person)) == 1
