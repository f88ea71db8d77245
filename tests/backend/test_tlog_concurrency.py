"""The log under concurrency and failure: an appender killed midway loses and doubles nothing;
appenders racing each other and the ingestion at the same time log every stored record exactly
once, with no gap in the indexes, and the tree stays the library's tree of the entries.

A small demo country in a database of its own; batches go through the real ingestion pipeline
(``backend.ingest``), whose triggers queue the records in the batch's transaction.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.admin import drop_database
from backend.demo import generator
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.tlog.append import append, append_all
from backend.tlog.store import driver_of, inclusion_proof, root_hash
from tests.backend.tlog_helpers import PSEUDONYM_KEY, LibraryLog, queue, stored_entries
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)


@dataclass
class Country:
    """The demo database and what batches are made of."""

    engine: AsyncEngine
    rates: RateBook
    people: list[str]
    providers: list[str]
    services: list[str]
    rng: random.Random

    async def burst(self, batches: int, size: int = 30) -> int:
        """``batches`` batches of service payments and of contributions; records stored."""
        stored = 0
        for _ in range(batches):
            payments = []
            for _ in range(size):
                care = date(2026, 1, 1) + timedelta(days=self.rng.randrange(300))
                payments.append({
                    "recordId": f"B-{uuid.uuid4().hex[:16]}",
                    "iin": self.rng.choice(self.people),
                    "providerBin": self.rng.choice(self.providers),
                    "serviceCode": self.rng.choice(self.services),
                    "careDate": care.isoformat(), "amount": "1500.00",
                    "paidOn": (care + timedelta(days=1)).isoformat()})
            contributions = [{
                "recordId": f"C-{uuid.uuid4().hex[:16]}", "iin": self.rng.choice(self.people),
                "kind": "self_payment", "period": f"2026-{1 + n % 10:02d}", "amount": "4250.00",
                "paidOn": f"2026-{1 + n % 10:02d}-15", "paymentCode": 122}
                for n in range(size // 3)]
            for kind, records in ((ServicePayments(), payments),
                                  (Contributions(), contributions)):
                result = await ingest(self.engine, kind, source="bench", today=AS_OF,
                                      rates=self.rates, rows=docs_of(records))
                stored += result.accepted
        return stored


@pytest.fixture(scope="module")
async def country(settings: AppSettings) -> AsyncIterator[Country]:
    url = throwaway_url(settings, "tlograce")
    engine = await migrated_database(url)
    await generator.generate(engine, people=80, seed=11, as_of=AS_OF, quiet=True)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
        people = [r[0] for r in await conn.execute(text(
            "SELECT iin FROM core.person WHERE death_date IS NULL ORDER BY id"))]
        providers = [r[0] for r in await conn.execute(text("SELECT bin FROM core.provider"))]
        services = [r[0] for r in await conn.execute(text(
            "SELECT code FROM core.medical_service WHERE sex IS NULL"))]
    try:
        yield Country(engine, rates, people, providers, services,
                      random.Random(5))  # noqa: S311 (test data)
    finally:
        await engine.dispose()
        await drop_database(url)


async def assert_logged_exactly_once(engine: AsyncEngine) -> int:
    """Every stored record is one leaf (none queued), indexes have no gap, and the stored tree
    is the library's tree of the stored entries; the log's size."""
    assert await queue(engine) == []
    async with engine.connect() as conn:
        stored = {(row[0], row[1]) for row in await conn.execute(text(
            "SELECT CASE WHEN refund_of IS NULL THEN 'contribution'"
            " ELSE 'contribution_refund' END, id FROM core.contribution"
            " UNION ALL SELECT CASE WHEN withdrawal_of IS NULL THEN 'service_payment'"
            " ELSE 'service_withdrawal' END, id FROM core.service_payment"
            " UNION ALL SELECT 'access', id FROM core.access_log"))}
        logged = [(row[0], row[1]) for row in await conn.execute(text(
            "SELECT kind, record_id FROM tlog.leaf ORDER BY leaf_index"))]
    assert len(logged) == len(set(logged)) == len(stored)
    assert set(logged) == stored
    entries = await stored_entries(engine)  # checks the indexes run 0 … n-1
    async with engine.connect() as conn:
        assert await root_hash(await driver_of(conn), len(entries)) == LibraryLog(
            entries).root()
    return len(entries)


async def _waiting_on_a_lock(engine: AsyncEngine, pid: int) -> None:
    for _ in range(500):
        async with engine.connect() as conn:
            event = (await conn.execute(text(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid})).scalar()
        if event == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the appender never reached the tiles")


async def test_an_appender_killed_mid_append_loses_and_doubles_nothing(
    country: Country,
) -> None:
    engine = country.engine
    waiting = await queue(engine)
    assert len(waiting) > 1000
    entries = await stored_entries(engine)
    async with engine.connect() as victim, engine.connect() as holder:
        # The appender will have taken its queue rows and read their records when it reaches
        # the tiles, which another transaction holds: there it is killed.
        await holder.begin()
        await holder.execute(text("LOCK TABLE tlog.tile IN ACCESS EXCLUSIVE MODE"))
        await victim.begin()
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        appending = asyncio.create_task(append(victim, PSEUDONYM_KEY, 500))
        await _waiting_on_a_lock(engine, pid)
        async with engine.connect() as killer:
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises((DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError)):
            await appending  # the driver's own error: append talks to asyncpg directly
        await victim.invalidate()
        await holder.rollback()
    assert await queue(engine) == waiting
    assert await stored_entries(engine) == entries
    await append_all(engine, PSEUDONYM_KEY, limit=333)
    await assert_logged_exactly_once(engine)


async def test_appenders_racing_the_ingestion_log_every_record_once(country: Country) -> None:
    engine = country.engine
    await append_all(engine, PSEUDONYM_KEY)
    before = len(await stored_entries(engine))
    stop = asyncio.Event()

    async def appender(wait: bool) -> int:
        appended = 0
        while not stop.is_set():
            async with engine.begin() as conn:
                appended += (await append(conn, PSEUDONYM_KEY, 17, wait=wait)).appended
            await asyncio.sleep(0.005)
        return appended

    appenders = [asyncio.create_task(appender(wait)) for wait in (True, False, False)]
    try:
        stored = sum(await asyncio.gather(country.burst(4), country.burst(4)))
    finally:
        stop.set()
    counts = await asyncio.gather(*appenders)
    assert sum(counts) > 0
    await append_all(engine, PSEUDONYM_KEY)
    size = await assert_logged_exactly_once(engine)
    assert size == before + stored
    async with engine.connect() as conn:
        for index in (before, (before + size) // 2, size - 1):
            assert (await inclusion_proof(conn, index, size)).index == index
