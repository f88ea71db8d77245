"""The attacker: from everything the public GraphQL fields and the open-data files publish,
try to recover each suppressed figure exactly (linear algebra over fractions on the rollup
rows each figure sums, with every month, every prefix and suffix of the months, every page of
providers, the insured people, the running balance and every file) — and fail.

On the demo, and on small countries made to be hard: a single small cell, a region with one
provider, a category that only one provider bills, a tiny first month with nothing prepaid
(the running balance then gives that month's money away unless another month hides with it).
Every row is stored the real way (the loader's COPY or raw inserts, their triggers, the fold).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.settings import AuthSettings
from backend.demo import generator
from backend.models import Person, Provider
from backend.rates.repository import load_rate_book
from backend.status.schedule import refresh_due
from backend.transparency import rollups
from tests.api.conftest import TODAY
from tests.api.public_stats_harvest import Harvest, harvest_everything
from tests.api.public_stats_world import ENDED, client_of, load_country, unpaced_app
from tests.factories import (
    create_contribution,
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
)


@pytest.fixture
def app(engine: AsyncEngine, auth_settings: AuthSettings) -> FastAPI:
    return unpaced_app(engine, auth_settings)


async def attack(app: FastAPI, engine: AsyncEngine,
                 ranges: list[tuple[date, date]] | None = None) -> Harvest:
    async with client_of(app) as client:
        return await harvest_everything(client, engine, TODAY, ranges=ranges)


def assert_nothing_recovered(harvest: Harvest) -> None:
    for name, measure in harvest.measures().items():
        assert measure.recovered() == [], name
    # The attacker is not blind: what was published, it recovers at its published value.
    for measure in harvest.measures().values():
        for atoms, (value, label) in list(measure.published.items())[::7]:
            assert measure.attacker.recover(atoms) == value, label


@pytest.fixture
async def demo(engine: AsyncEngine) -> AsyncIterator[None]:
    await load_country(engine, people=500, seed=4)
    try:
        yield
    finally:
        await generator.clear(engine)


@pytest.mark.usefixtures("demo")
async def test_nothing_suppressed_in_the_demo_can_be_worked_out(
    app: FastAPI, engine: AsyncEngine
) -> None:
    harvest = await attack(app, engine)
    withheld = {name: len(m.targets) for name, m in harvest.measures().items()}
    assert withheld["money in"] and withheld["money out"] > 100 and withheld["insured"], withheld
    assert harvest.requests > 100
    assert_nothing_recovered(harvest)


async def small_country(session: AsyncSession, engine: AsyncEngine) -> dict[str, Provider]:
    """Three regions.  Almaty: providers A (30 services), B (25) and C (4, the only dental
    care); Astana: D alone (6); Shymkent: E alone (40).  People: 30 in Almaty, 2 in Astana,
    15 in Shymkent paying for September and October, one entrepreneur; a first month (July)
    with 3 payments and nothing paid ahead, so the balance would give July away alone."""
    providers = {
        "A": await create_provider(session, region_code="KZ-75"),
        "B": await create_provider(session, region_code="KZ-75", quality_zone="yellow"),
        "C": await create_provider(session, region_code="KZ-75", kind="dental_clinic"),
        "D": await create_provider(session, region_code="KZ-71", quality_zone="red"),
        "E": await create_provider(session, region_code="KZ-79"),
    }
    visit = await create_medical_service(session)
    scan = await create_medical_service(session, package="osms", category="diagnostics")
    dental = await create_medical_service(session, package="osms", category="dental")
    people: list[Person] = []
    for region, count in (("KZ-75", 30), ("KZ-71", 2), ("KZ-79", 15)):
        for _ in range(count):
            person = await create_person(session, region_code=region)
            people.append(person)
            for month in (9, 10):
                await create_contribution(session, person, period=date(2026, month, 1),
                                          paid_on=date(2026, month + 1, 5))
    await create_contribution(session, people[0], kind="entrepreneur_contribution",
                              period=date(2026, 10, 1), paid_on=date(2026, 11, 5),
                              amount_tiyn=595_000)
    for person in people[:3]:
        await create_contribution(session, person, period=date(2026, 7, 1),
                                  paid_on=date(2026, 8, 5))
    plan = (("A", visit, 20), ("A", scan, 10), ("B", visit, 25), ("C", dental, 4),
            ("D", visit, 6), ("E", visit, 30), ("E", scan, 10))
    for number, (name, service, count) in enumerate(plan):
        for index in range(count):
            await create_service_payment(
                session, people[(number * 7 + index) % len(people)], providers[name], service,
                care_date=date(2026, 10, 1 + index % 20), paid_on=date(2026, 10, 25),
                amount_tiyn=1_000_000 + 10_000 * index)
    await session.commit()
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    await refresh_due(engine, today=TODAY, rates=rates, everyone=True)
    await rollups.fold_and_snapshot(engine, [ENDED], final=True)
    return providers


async def test_a_small_country_made_to_leak_does_not(
    app: FastAPI, engine: AsyncEngine, committed: AsyncSession
) -> None:
    await generator.clear(engine)
    await small_country(committed, engine)
    months = [date(2026, month, 1) for month in range(7, 11)]
    every_period = [(a, b) for a in months for b in months if a <= b]
    harvest = await attack(app, engine, every_period)
    out = harvest.money_out
    labels = " | ".join(out.targets.values())
    # Provider C (4), D (6) and the dental category (4) are withheld, and enough with them.
    assert "category dental" in labels and "region KZ-71" in labels
    # July (3 payments) and another month are withheld (the balance knows their sum).
    withheld = {month for month in (date(2026, 7, 1), date(2026, 9, 1), date(2026, 10, 1))
                if harvest.money_in.select(lambda atom: True, [month])
                in harvest.money_in.targets}
    assert withheld == {date(2026, 7, 1), date(2026, 9, 1)}
    assert_nothing_recovered(harvest)
