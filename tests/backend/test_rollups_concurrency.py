"""The fold under concurrency and failure: several folders at once count every delta once;
ingestion and folding at the same time agree with the raw rows; a folder killed mid-fold loses
nothing; an ingestion that rolls back leaves no delta.

A small demo country in a database of its own; batches of service payments and contributions
for its people go through the real ingestion pipeline (``backend.ingest``).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.admin import drop_database
from backend.demo import generator
from backend.ingest import pipeline
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status.schedule import refresh_due
from backend.transparency import rollups
from tests.backend.rollups_recompute import assert_exact, deltas_waiting
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)
PEOPLE = 150


@dataclass
class Country:
    """The demo database, its rate book, and what batches are made of."""

    engine: AsyncEngine
    rates: RateBook
    people: list[str]
    providers: list[str]
    services: list[str]
    rng: random.Random

    def payments(self, size: int) -> list[dict[str, Any]]:
        """Service payments for random people, providers, services and days of 2026."""
        records = []
        for _ in range(size):
            care = date(2026, 1, 1) + timedelta(days=self.rng.randrange(320))
            records.append({
                "recordId": f"B-{uuid.uuid4().hex[:16]}", "iin": self.rng.choice(self.people),
                "providerBin": self.rng.choice(self.providers),
                "serviceCode": self.rng.choice(self.services), "careDate": care.isoformat(),
                "amount": f"{self.rng.randrange(1_000, 90_000)}.00",
                "paidOn": (care + timedelta(days=self.rng.randrange(3))).isoformat()})
        return records

    def contributions(self, size: int) -> list[dict[str, Any]]:
        """Self-payers' contributions for months of 2025 and 2026."""
        return [{"recordId": f"C-{uuid.uuid4().hex[:16]}", "iin": self.rng.choice(self.people),
                 "kind": "self_payment", "period": f"202{5 + n % 2}-{1 + n % 10:02d}",
                 "amount": "4250.00", "paidOn": f"2026-{1 + n % 11:02d}-{1 + n % 28:02d}",
                 "paymentCode": 122} for n in range(size)]

    async def burst(self, batches: int, size: int = 40) -> int:
        """``batches`` batches of each kind, one after another; records stored."""
        stored = 0
        for _ in range(batches):
            for kind, records in ((ServicePayments(), self.payments(size)),
                                  (Contributions(), self.contributions(size // 4))):
                result = await ingest(self.engine, kind, source="bench", today=AS_OF,
                                      rates=self.rates, rows=docs_of(records))
                stored += result.accepted
        return stored


@pytest.fixture(scope="module")
async def country(settings: AppSettings) -> AsyncIterator[Country]:
    url = throwaway_url(settings, "folds")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=5, as_of=AS_OF, quiet=True)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
        people = [r[0] for r in await conn.execute(text(
            "SELECT iin FROM core.person WHERE death_date IS NULL ORDER BY id"))]
        providers = [r[0] for r in await conn.execute(text("SELECT bin FROM core.provider"))]
        services = [r[0] for r in await conn.execute(text(
            "SELECT code FROM core.medical_service"))]
    await refresh_due(engine, today=AS_OF, rates=rates, everyone=True)
    try:
        yield Country(engine, rates, people, providers, services,
                      random.Random(3))  # noqa: S311 (test data)
    finally:
        await engine.dispose()
        await drop_database(url)


async def _folder(engine: AsyncEngine, limit: int) -> int:
    """Fold small batches until a fold finds nothing it can take; deltas folded."""
    folded = 0
    while True:
        async with engine.begin() as conn:
            batch = (await rollups.fold(conn, limit)).total
        if batch == 0:
            return folded
        folded += batch
        await asyncio.sleep(0)


async def test_four_folders_at_once_count_every_delta_once(country: Country) -> None:
    await assert_exact(country.engine)
    assert await country.burst(6) > 200
    waiting = sum((await deltas_waiting(country.engine)).values())
    assert waiting > 100
    folded = await asyncio.gather(*(_folder(country.engine, 3) for _ in range(4)))
    assert sum(folded) == waiting
    assert sum(1 for count in folded if count) >= 2  # they really shared the work
    assert sum((await deltas_waiting(country.engine)).values()) == 0
    await assert_exact(country.engine, fold=False)


async def test_ingestion_and_folding_at_the_same_time_agree_with_the_rows(
    country: Country,
) -> None:
    stop = asyncio.Event()

    async def folding() -> int:
        folded = 0
        while not stop.is_set():
            folded += await _folder(country.engine, 7)
            await asyncio.sleep(0.01)
        return folded

    folders = [asyncio.create_task(folding()) for _ in range(2)]
    try:
        await asyncio.gather(country.burst(4), country.burst(4))
    finally:
        stop.set()
    assert sum(await asyncio.gather(*folders)) > 0
    await assert_exact(country.engine)


async def test_a_folder_killed_mid_fold_loses_nothing(country: Country) -> None:
    await country.burst(2)
    waiting = await deltas_waiting(country.engine)
    async with country.engine.connect() as victim, country.engine.connect() as killer:
        await victim.begin()
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert (await rollups.fold(victim, 100_000)).total == sum(waiting.values())
        await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError):
            await victim.execute(text("SELECT 1"))
        await victim.invalidate()
    assert await deltas_waiting(country.engine) == waiting
    await assert_exact(country.engine)


async def test_an_ingestion_that_rolls_back_writes_no_delta(
    country: Country, monkeypatch: pytest.MonkeyPatch
) -> None:
    await assert_exact(country.engine)
    before = await deltas_waiting(country.engine)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process died after storing the batch")

    # The batch's result is made after its rows, their deltas and the batch row are written,
    # whether or not anything was refused (the issue queries are skipped when nothing was).
    monkeypatch.setattr(pipeline, "IngestResult", crash)
    for kind, records in ((ServicePayments(), country.payments(30)),
                          (Contributions(), country.contributions(10))):
        with pytest.raises(RuntimeError):
            await ingest(country.engine, kind, source="bench", today=AS_OF,
                         rates=country.rates, rows=docs_of(records))
    assert await deltas_waiting(country.engine) == before
    await assert_exact(country.engine)
