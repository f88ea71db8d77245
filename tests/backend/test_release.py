"""Released figures are the figures: every month of every measure, as the worker releases it,
equals the month protected in process from the rollups (the path readers take before a
release); the figures over any period agree cell for cell; a late correction re-releases its
month and only it; a new month is never read from the last month's edition; two releasers do
not both release.

A small demo country in a database of its own (module-scoped), seen on ``TODAY``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.admin import drop_database
from backend.db.reads import Reads
from backend.demo import generator
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import docs_of, ingest
from backend.months import add_months
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status.schedule import refresh_due
from backend.transparency import figures, privacy, rollups
from backend.transparency.figures import Edition, PublicFigures
from backend.transparency.release import MEASURES, release
from tests.conftest import migrated_database, throwaway_url

TODAY = date(2026, 11, 23)
ENDED = date(2026, 10, 1)
PEOPLE = 400


class InProcess(PublicFigures):
    """The figures as a reader protects them before any release (no edition seen)."""

    async def editions(self) -> dict[str, Edition]:
        return {}


@dataclass(frozen=True)
class Country:
    engine: AsyncEngine

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list(await conn.execute(text(sql), params))

    def released(self) -> PublicFigures:
        """A fresh reader (nothing kept) that reads the editions."""
        return PublicFigures(Reads(self.engine))

    def in_process(self) -> PublicFigures:
        return InProcess(Reads(self.engine))


@pytest.fixture(scope="module")
async def country(settings: AppSettings) -> AsyncIterator[Country]:
    url = throwaway_url(settings, "release")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=5, as_of=TODAY, quiet=True)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    await refresh_due(engine, today=TODAY, rates=rates, everyone=True)
    await rollups.fold_and_snapshot(engine, [ENDED], final=True)
    await rollups.fold_and_snapshot(engine, [TODAY], final=False)
    try:
        yield Country(engine)
    finally:
        await engine.dispose()
        await drop_database(url)


async def months_of(country: Country, measure: str) -> list[date]:
    upto = date.max if measure == figures.INSURED else ENDED  # insured: the month in progress too
    rows = await country.rows("SELECT month FROM stats.month_change WHERE measure = :m"
                              " AND month <= :upto ORDER BY month", m=measure, upto=upto)
    return [row.month for row in rows]


async def assert_same_as_in_process(country: Country) -> None:
    """Every released month of every measure equals the in-process protection, and the money
    figures over every period ending with the last ended month agree."""
    released, local = country.released(), country.in_process()
    for measure in MEASURES:
        months = await months_of(country, measure) or [ENDED]  # the demo flags nothing
        assert (await released.edition(measure, TODAY)) is not None, measure
        if measure == figures.INSURED:
            assert months == [ENDED, date(2026, 11, 1)]
            for month in months:
                assert await released.insured(month) == await local.insured(month)
                assert await figures.insured(released, month, await released.regions()) == \
                    await figures.insured(local, month, await local.regions())
            continue
        assert await released.families(measure, months, TODAY) == \
            await local.families(measure, months, TODAY), measure
    for measure in (figures.MONEY_IN, figures.MONEY_OUT):
        months = await months_of(country, measure)
        for first in months[-24:]:
            assert await figures.money(released, measure, first, ENDED, TODAY) == \
                await figures.money(local, measure, first, ENDED, TODAY), (measure, first)
    page = await figures.provider_page(released, region_code=None, zone=None, after=None,
                                       limit=100)
    first = add_months(ENDED, -11)
    assert await figures.providers(released, page, first, ENDED, TODAY) == \
        await figures.providers(local, page, first, ENDED, TODAY)


async def test_released_months_are_the_months_protected_in_process(country: Country) -> None:
    report = await release(country.engine, TODAY)
    assert report.released[figures.MONEY_IN] == len(await months_of(country, figures.MONEY_IN))
    await assert_same_as_in_process(country)
    # What the months' totals need: the same withheld months as privacy computes from totals.
    released = country.released()
    for measure in (figures.MONEY_IN, figures.MONEY_OUT):
        totals = await country.in_process().month_totals(measure)
        edition = await released.edition(measure, TODAY)
        assert edition is not None
        small = {m for m, (c, a) in totals.items()
                 if m <= ENDED and (c or a) and privacy.sensitive(c, a)}
        assert edition.withheld == small | privacy.months_to_hide(totals, ENDED)


async def test_nothing_changed_nothing_released(country: Country) -> None:
    await release(country.engine, TODAY)
    again = await release(country.engine, TODAY)
    assert again.total == 0, again


async def test_a_late_refund_re_releases_its_month_and_only_it(country: Country) -> None:
    await release(country.engine, TODAY)
    [row] = await country.rows(
        "SELECT c.source_record_id, p.iin, c.amount_tiyn, c.period FROM core.contribution c"
        " JOIN core.person p ON p.id = c.person_id WHERE c.source = 'demo-gfss'"
        " AND c.period = :month AND c.refund_of IS NULL ORDER BY c.id LIMIT 1",
        month=add_months(ENDED, -3))
    before = await figures.money(country.released(), figures.MONEY_IN, row.period, row.period,
                                 TODAY)
    async with country.engine.connect() as conn:
        rates = await load_rate_book(conn)
    amount = row.amount_tiyn // 2
    result = await ingest(country.engine, Contributions(), source="demo-gfss", today=TODAY,
                          rates=rates, rows=docs_of([{
                              "recordId": f"R-{uuid.uuid4().hex[:12]}", "iin": row.iin,
                              "refundOf": row.source_record_id,
                              "amount": f"{amount // 100}.{amount % 100:02d}",
                              "paidOn": TODAY.isoformat()}]))
    assert (result.accepted, result.rejected) == (1, 0), result
    # Not folded yet: the release has nothing new, and readers still see the old month.
    assert (await release(country.engine, TODAY)).total == 0
    await rollups.fold_all(country.engine)
    report = await release(country.engine, TODAY)
    assert report.released == {figures.MONEY_IN: 1, figures.MONEY_OUT: 0, "flags": 0,
                               "cases": 0, figures.INSURED: 0}, report
    after = await figures.money(country.released(), figures.MONEY_IN, row.period, row.period,
                                TODAY)
    assert before.total.amount_tiyn is not None and after.total.amount_tiyn is not None
    assert after.total.amount_tiyn == before.total.amount_tiyn - amount
    await assert_same_as_in_process(country)


async def test_a_new_month_is_not_read_from_last_months_edition(country: Country) -> None:
    await release(country.engine, TODAY)
    later = date(2026, 12, 2)
    reader = country.released()
    assert await reader.edition(figures.MONEY_IN, later) is None  # protected in process
    november = date(2026, 11, 1)
    local = await figures.money(country.in_process(), figures.MONEY_OUT, ENDED, november, later)
    assert local.total.count  # care given in November, paid for
    assert await figures.money(reader, figures.MONEY_OUT, ENDED, november, later) == local
    await release(country.engine, later)
    edition = await country.released().edition(figures.MONEY_OUT, later)
    assert edition is not None and november in edition.months
    assert await figures.money(country.released(), figures.MONEY_OUT, ENDED, november,
                               later) == local
    await release(country.engine, TODAY)  # back to the module's day for the other tests


async def test_one_releaser_at_a_time(country: Country) -> None:
    async with country.engine.begin() as conn:  # a month due in every measure
        await conn.execute(text("UPDATE stats.month_change SET version = version + 1"))
    first, second = await asyncio.gather(release(country.engine, TODAY),
                                         release(country.engine, TODAY))
    assert sorted((first.locked_out, second.locked_out)) in ([False, False], [False, True])
    due = [len(await months_of(country, measure)) for measure in MEASURES]
    assert first.total + second.total == sum(due)  # each month once, not twice
    await assert_same_as_in_process(country)


async def test_the_fold_marks_the_months_it_changes(country: Country) -> None:
    month = add_months(ENDED, -1)
    [before] = await country.rows("SELECT version FROM stats.month_change"
                                  " WHERE measure = 'money_in' AND month = :m", m=month)
    async with country.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO stats.money_in_delta (month, region_code, kind, payer_kind,"
            " amount_tiyn, payments) VALUES (:m, 'KZ-75', 'employee_contribution', 'employer',"
            " 0, 0), (:m, 'KZ-11', 'employee_contribution', 'employer', 0, 0)"), {"m": month})
    await rollups.fold_all(country.engine)
    [after] = await country.rows("SELECT version FROM stats.month_change"
                                 " WHERE measure = 'money_in' AND month = :m", m=month)
    assert after.version == before.version + 1
