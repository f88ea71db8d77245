"""A bulk load killed in the middle leaves the database as it was, and the retry completes.

For real: a child process (``sys.executable`` running a small script) streams an NDJSON file
of 3,000 contributions through ``ingest(..., stream=...)`` into the suite's database, and is
killed with SIGKILL while PostgreSQL is copying the file (or, in the second test, while it
waits to write the batch's events).  Then nothing from that source may be there, and the
same file sent again in-process must be stored whole, once, with its events once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import ingest
from backend.models import Person
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from backend.status import store
from tests.factories import create_employer, create_person

TODAY = date(2026, 11, 23)
PEOPLE = 60
MONTHS = 50  # September 2022 to October 2026: 3,000 records
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio
import sys
from datetime import date
from pathlib import Path

from backend.db.engine import create_engine
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import ingest
from backend.rates.repository import load_rate_book


async def main(url: str, application: str, source: str, path: str, pause: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0, application_name=application)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    data = Path(path).read_bytes()

    async def body():
        step = 16384
        for start in range(0, len(data), step):
            yield data[start:start + step]
            print("copying", flush=True)
            await asyncio.sleep(float(pause))

    result = await ingest(engine, Contributions(), source=source, today=date(2026, 11, 23),
                          rates=rates, stream=body())
    print("done", result.accepted, flush=True)


asyncio.run(main(*sys.argv[1:]))
"""


@dataclass
class Load:
    """A file of contributions for people whose statuses are stored."""

    engine: AsyncEngine
    rates: RateBook
    source: str
    people: list[Person]
    body: bytes
    record_ids: list[str]

    async def all(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Everything a batch of this source can write."""
        ids = [person.id for person in self.people]
        return {
            "contributions": await self.all(
                "SELECT source_record_id FROM core.contribution WHERE source = :s",
                s=self.source),
            "batches": await self.all("SELECT id FROM core.ingestion_batch WHERE source = :s",
                                      s=self.source),
            "outbox": await self.all("SELECT id, person_id, kind FROM notify.outbox"
                                     " WHERE person_id = ANY(:p) ORDER BY id", p=ids),
            "statuses": await self.all(
                "SELECT person_id, status, reason_code, as_of, stable_until, updated_at"
                " FROM core.person_status WHERE person_id = ANY(:p) ORDER BY person_id", p=ids),
            "history": await self.all("SELECT id FROM core.status_history"
                                      " WHERE person_id = ANY(:p) ORDER BY id", p=ids),
        }

    async def in_process(self) -> Any:
        """The same file, streamed here in chunks that split lines."""

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(self.body), 10_000):
                yield self.body[start:start + 10_000]

        return await ingest(self.engine, Contributions(), source=self.source, today=TODAY,
                            rates=self.rates, stream=chunks())


@pytest.fixture
async def load(engine: AsyncEngine, committed: AsyncSession) -> AsyncIterator[Load]:
    """60 employees (not insured, status stored) and a file paying 50 months for each."""
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    employer = await create_employer(committed)
    people = [await create_person(committed, birth_date=date(1970 + n % 30, n % 12 + 1, 5),
                                  sex="M" if n % 2 else "F") for n in range(PEOPLE)]
    await committed.commit()
    lines: list[str] = []
    record_ids: list[str] = []
    for n, person in enumerate(people):
        for m in range(MONTHS):
            index = 2022 * 12 + 8 + m  # September 2022 onwards
            period = f"{index // 12}-{index % 12 + 1:02d}"
            record_id = f"BULK-{n:03d}-{m:03d}"
            record_ids.append(record_id)
            lines.append(
                f'{{"recordId": "{record_id}", "iin": "{person.iin}", '
                f'"kind": "employer_deduction", "period": "{period}", "amount": "15300.00", '
                f'"paidOn": "2026-11-10", "paymentCode": 121, "payerBin": "{employer.bin}"}}')
    source = f"test-crash-{uuid.uuid4().hex}"
    found = Load(engine, rates, source, people, ("\n".join(lines) + "\n").encode(), record_ids)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():
            await store.refresh(db, [person.id for person in people], today=TODAY, rates=rates,
                                cause="test")
    try:
        yield found
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM notify.outbox WHERE person_id IN"
                                    " (SELECT id FROM core.person)"))
            await conn.execute(text("DELETE FROM core.contribution WHERE source = :s"),
                               {"s": source})
            await conn.execute(text("DELETE FROM core.ingestion_batch WHERE source = :s"),
                               {"s": source})


async def start_child(engine: AsyncEngine, load: Load, tmp_path: Path, application: str,
                      pause: float) -> asyncio.subprocess.Process:
    """The child process loading ``load``'s file, ``pause`` seconds between 16 KiB chunks."""
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    data = tmp_path / "contributions.ndjson"
    data.write_bytes(load.body)
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, str(script), url, application, load.source, str(data), str(pause),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(ROOT), env=env)


async def wait_for(load: Load, sql: str, within: float = 30.0, **params: Any) -> None:
    """Poll until ``sql`` returns a row."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await load.all(sql, **params):
        assert loop.time() < deadline, f"timed out waiting for: {sql}"
        await asyncio.sleep(0.05)


async def kill(child: asyncio.subprocess.Process, load: Load, application: str) -> None:
    """SIGKILL the child, and wait until its server session is gone."""
    assert child.returncode is None, "the child finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    assert await asyncio.wait_for(child.wait(), 30) == -signal.SIGKILL
    await wait_for(load, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity"
                         " WHERE application_name = :a)", a=application)


async def assert_retry_completes(load: Load, before: dict[str, list[tuple[Any, ...]]]) -> None:
    """The file again, in-process: all of it stored once, its events once; then idempotent."""
    result = await load.in_process()
    assert (result.records, result.accepted, result.duplicates, result.rejected) == (
        PEOPLE * MONTHS, PEOPLE * MONTHS, 0, 0), result.rejections[:3]
    stored = await load.all("SELECT source_record_id, count(*) FROM core.contribution"
                            " WHERE source = :s GROUP BY 1", s=load.source)
    assert sorted(row[0] for row in stored) == sorted(load.record_ids)
    assert {row[1] for row in stored} == {1}
    ids = [person.id for person in load.people]
    events = await load.all("SELECT kind, count(*), count(DISTINCT person_id) FROM notify.outbox"
                            " WHERE person_id = ANY(:p) AND id > :after GROUP BY kind"
                            " ORDER BY kind", p=ids,
                            after=max((row[0] for row in before["outbox"]), default=0))
    assert events == [("contribution.received", PEOPLE, PEOPLE),
                      ("status.changed", PEOPLE, PEOPLE)]
    assert result.events == 2 * PEOPLE
    assert result.statuses_changed == PEOPLE
    statuses = await load.all("SELECT DISTINCT status FROM core.person_status"
                              " WHERE person_id = ANY(:p)", p=ids)
    assert statuses == [("insured",)]
    batches = await load.all("SELECT records, accepted FROM core.ingestion_batch"
                             " WHERE source = :s", s=load.source)
    assert batches == [(PEOPLE * MONTHS, PEOPLE * MONTHS)]

    after = await load.snapshot()
    again = await load.in_process()
    assert (again.accepted, again.duplicates, again.events) == (0, PEOPLE * MONTHS, 0)
    settled = await load.snapshot()
    assert {k: v for k, v in settled.items() if k != "batches"} == {
        k: v for k, v in after.items() if k != "batches"}


async def test_a_load_killed_while_copying_leaves_nothing_and_the_retry_completes(
    engine: AsyncEngine, load: Load, tmp_path: Path
) -> None:
    before = await load.snapshot()
    assert before["contributions"] == [] and len(before["statuses"]) == PEOPLE
    assert {row[1] for row in before["statuses"]} == {"not_insured"}
    application = f"mhi-crash-{uuid.uuid4().hex[:12]}"
    child = await start_child(engine, load, tmp_path, application, pause=0.5)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        if line.strip() != b"copying":
            child.kill()
            await child.wait()
            error = await child.stderr.read() if child.stderr else b""
            pytest.fail(f"the child did not start copying: {line!r} {error.decode()[-2000:]}")
        await wait_for(load, "SELECT 1 FROM pg_stat_activity WHERE application_name = :a"
                             " AND state = 'active' AND query ILIKE 'COPY %'", a=application)
        await kill(child, load, application)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()

    assert await load.snapshot() == before
    await assert_retry_completes(load, before)


async def test_a_load_killed_while_storing_leaves_nothing_and_the_retry_completes(
    engine: AsyncEngine, load: Load, tmp_path: Path
) -> None:
    before = await load.snapshot()
    application = f"mhi-crash-{uuid.uuid4().hex[:12]}"
    # Hold the outbox: the child copies and checks the whole file, inserts its contributions,
    # and then waits to write their events, in the middle of the store statement.
    async with engine.connect() as holder:
        await holder.execute(text("LOCK TABLE notify.outbox IN EXCLUSIVE MODE"))
        child = await start_child(engine, load, tmp_path, application, pause=0)
        try:
            await wait_for(load, "SELECT 1 FROM pg_stat_activity WHERE application_name = :a"
                                 " AND wait_event_type = 'Lock'"
                                 " AND query ILIKE '%INSERT INTO core.contribution%'",
                           within=60, a=application)
            assert child.returncode is None, "the child finished before it could be killed"
            os.kill(child.pid, signal.SIGKILL)
            assert await asyncio.wait_for(child.wait(), 30) == -signal.SIGKILL
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
            await holder.rollback()
    # The server session notices its client is gone once the lock is released.
    await wait_for(load, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity"
                         " WHERE application_name = :a)", a=application)

    assert await load.snapshot() == before
    await assert_retry_completes(load, before)
