"""The money tables partitioned by person (migration 0019): a citizen's pages read one
partition's index range, a refund locks its original in one partition, and the record ids
stay unique across the partitions whoever writes.

The plans are PostgreSQL's own, on a demo country loaded by the demo loader, for the
statements the app runs with the values it sends: ``EXPLAIN (FORMAT JSON)`` with parameters
plans them as the first executions of a prepared statement are planned (with the values),
and ``plan_cache_mode = force_generic_plan`` as a statement cached for long is (pruned when
the executor starts).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.care import repository as care
from backend.contributions import repository as contributions
from backend.db.admin import drop_database
from backend.demo import generator
from backend.demo.cast import CAST
from backend.ingest import reader
from backend.ingest.contributions import LOCK
from backend.settings import AppSettings
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)
PEOPLE = 1_500
PAGE = 10


@pytest.fixture(scope="module")
async def demo(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    url = throwaway_url(settings, "partitions")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=11, as_of=AS_OF, quiet=True)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


async def _raw(engine: AsyncEngine) -> Any:
    conn = await engine.connect()
    return conn, (await conn.get_raw_connection()).driver_connection


def _json(explained: Any) -> Any:
    """EXPLAIN's JSON (decoded already when the pool's connections have a json codec)."""
    return json.loads(explained) if isinstance(explained, str) else explained


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def _plan(db: Any, sql: str, args: list[object]) -> list[dict[str, Any]]:
    async with db.transaction():
        # As on a big table: on this small demo reading a few pages and sorting them is
        # cheaper, and the planner rightly does it (the 1M demo's plans: bench/partitioning.py).
        await db.execute("SET LOCAL enable_seqscan = off")
        await db.execute("SET LOCAL enable_bitmapscan = off")
        await db.execute("SET LOCAL enable_hashjoin = off")
        await db.execute("SET LOCAL enable_mergejoin = off")
        explained = await db.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    return list(_nodes(_json(explained)[0]["Plan"]))


def _scanned(nodes: list[dict[str, Any]], table: str) -> set[str]:
    """The partitions of ``table`` the plan reads (with ANALYZE: that were read at all)."""
    return {node["Relation Name"] for node in nodes
            if node.get("Relation Name", "").startswith(f"{table}_p")
            and node.get("Actual Loops", 1) > 0}


async def _busiest(db: Any, table: str) -> uuid.UUID:
    """A person with more than two pages of rows (a later page exists)."""
    person: uuid.UUID = await db.fetchval(
        f"SELECT person_id FROM core.{table} GROUP BY person_id HAVING count(*) > 2 * {PAGE}"
        " ORDER BY count(*) DESC, person_id LIMIT 1")
    return person


def _assert_one_index_range(nodes: list[dict[str, Any]], table: str, index: str) -> None:
    types = [node["Node Type"] for node in nodes]
    assert "Sort" not in types and "Incremental Sort" not in types, types
    assert "Seq Scan" not in types and "Bitmap Heap Scan" not in types, types
    scans = [node for node in nodes if node.get("Relation Name", "").startswith(f"{table}_p")]
    assert len(scans) == 1, [node.get("Relation Name") for node in scans]
    assert scans[0]["Node Type"] == "Index Scan", scans[0]
    assert scans[0]["Index Name"] == f"{index}_{scans[0]['Relation Name'][-3:]}", scans[0]
    appends = [node for node in nodes if node["Node Type"] in ("Append", "Merge Append")]
    assert all(len(node.get("Plans", ())) <= 1 for node in appends), appends


class TestCitizenPages:
    async def test_receipts_first_and_later_page_read_one_partition_range(
            self, demo: AsyncEngine) -> None:
        conn, db = await _raw(demo)
        try:
            person = await _busiest(db, "contribution")
            sql, args = contributions.page_query(person, limit=PAGE)
            first = await db.fetch(sql, *args)
            assert len(first) == PAGE
            _assert_one_index_range(await _plan(db, sql, args), "contribution",
                                    "ix_contribution_person_period")
            later_sql, later_args = contributions.page_query(
                person, limit=PAGE, after=(first[-1][3], first[-1][0]))
            assert (await db.fetch(later_sql, *later_args))[0][0] not in {r[0] for r in first}
            _assert_one_index_range(await _plan(db, later_sql, later_args), "contribution",
                                    "ix_contribution_person_period")
        finally:
            await conn.close()

    async def test_covered_services_first_and_later_page_read_one_partition_range(
            self, demo: AsyncEngine) -> None:
        conn, db = await _raw(demo)
        try:
            person = await _busiest(db, "service_payment")
            sql, args = care.page_query(person, limit=PAGE)
            first = await db.fetch(sql, *args)
            assert len(first) == PAGE
            _assert_one_index_range(await _plan(db, sql, args), "service_payment",
                                    "ix_service_payment_person_care_date")
            later_sql, later_args = care.page_query(
                person, limit=PAGE, after=(first[-1][3], first[-1][0]))
            _assert_one_index_range(await _plan(db, later_sql, later_args), "service_payment",
                                    "ix_service_payment_person_care_date")
        finally:
            await conn.close()

    async def test_a_cached_generic_plan_prunes_to_one_partition_when_it_starts(
            self, demo: AsyncEngine) -> None:
        conn, db = await _raw(demo)
        try:
            person = await _busiest(db, "contribution")
            sql, args = contributions.page_query(person, limit=PAGE)
            assert args == [person]
            async with db.transaction():
                await db.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                await db.execute(f"PREPARE receipts_page (uuid) AS {sql}")
                explained = await db.fetchval("EXPLAIN (ANALYZE, FORMAT JSON)"
                                              f" EXECUTE receipts_page ('{person}')")
                await db.execute("DEALLOCATE receipts_page")
            nodes = list(_nodes(_json(explained)[0]["Plan"]))
            home = await db.fetchval("SELECT tableoid::regclass::text FROM core.contribution"
                                     " WHERE person_id = $1 LIMIT 1", person)
            assert _scanned(nodes, "contribution") == {home.removeprefix("core.")}
            assert "Sort" not in [node["Node Type"] for node in nodes]
            assert any(node.get("Subplans Removed") == 15 for node in nodes), nodes
        finally:
            await conn.close()


class TestRefundLock:
    async def test_the_lock_reaches_the_original_in_its_partition_and_holds_it(
            self, demo: AsyncEngine) -> None:
        conn, db = await _raw(demo)
        other, other_db = await _raw(demo)
        try:
            original = await db.fetchrow(
                "SELECT id, person_id, source, source_record_id FROM core.contribution"
                " WHERE refund_of IS NULL AND person_id = $1 ORDER BY id LIMIT 1", CAST[0].id)
            async with db.transaction():
                await db.execute(reader.STAGE)  # the staging table, as a batch has it
                await db.execute("INSERT INTO ingest_raw (line, doc, plain) VALUES (1, $1,"
                                 " false)", json.dumps(
                                     {"recordId": "R-1",
                                      "refundOf": original["source_record_id"]}))
                # A batch names a few originals among millions: a nested loop from the key
                # table, each original found in its own partition (pruned as it runs).
                for setting in ("seqscan", "bitmapscan", "hashjoin", "mergejoin"):
                    await db.execute(f"SET LOCAL enable_{setting} = off")
                nodes = list(_nodes(_json(await db.fetchval(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) {LOCK}", original["source"]))[0]["Plan"]))
                assert len(_scanned(nodes, "contribution")) == 1, nodes
                assert [r["id"] for r in await db.fetch(LOCK, original["source"])] == [
                    original["id"]]
                # Held until the batch commits: a concurrent batch's lock waits for it.
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await other_db.execute(
                        "SELECT 1 FROM core.contribution WHERE id = $1 AND person_id = $2"
                        " FOR NO KEY UPDATE NOWAIT", original["id"], original["person_id"])
        finally:
            await other.close()
            await conn.close()


class TestRecordIds:
    async def test_a_copy_repeating_a_stored_record_id_is_refused(
            self, demo: AsyncEngine) -> None:
        conn, db = await _raw(demo)
        try:
            row = await db.fetchrow("SELECT person_id, payer_id, payer_kind, kind, period,"
                                    " amount_tiyn, paid_on, payment_code, source,"
                                    " source_record_id FROM core.contribution"
                                    " WHERE refund_of IS NULL ORDER BY id LIMIT 1")
            other = await db.fetchval("SELECT id FROM core.person WHERE id <> $1 LIMIT 1",
                                      row["person_id"])
            # Another person, so another partition: only the key table can see the repeat.
            again = (other, *tuple(row)[1:])
            with pytest.raises(asyncpg.UniqueViolationError, match="pk_contribution_key"):
                await db.copy_records_to_table("contribution", schema_name="core",
                                               records=[again], columns=list(row.keys()))
        finally:
            await conn.close()

    async def test_keys_follow_inserts_and_deletes(self, demo: AsyncEngine) -> None:
        conn, db = await _raw(demo)
        try:
            async with db.transaction():
                person = CAST[0].id
                columns = ["person_id", "kind", "period", "amount_tiyn", "paid_on",
                           "payment_code", "source", "source_record_id"]
                record = (person, "self_payment", date(2026, 1, 1), 100, date(2026, 1, 5), 122,
                          "test", "K-1")
                await db.copy_records_to_table("contribution", schema_name="core",
                                               records=[record], columns=columns)
                stored = await db.fetchrow("SELECT id, person_id FROM core.contribution"
                                           " WHERE source = 'test'")
                key = await db.fetchrow("SELECT id, person_id FROM core.contribution_key"
                                        " WHERE source = 'test' AND source_record_id = 'K-1'")
                assert tuple(key) == tuple(stored)
                with pytest.raises(asyncpg.UniqueViolationError):
                    async with db.transaction():
                        await db.copy_records_to_table("contribution", schema_name="core",
                                                       records=[record, record],
                                                       columns=columns)
                await db.execute("DELETE FROM core.contribution WHERE source = 'test'")
                assert await db.fetchval(
                    "SELECT count(*) FROM core.contribution_key WHERE source = 'test'") == 0
                await db.copy_records_to_table("contribution", schema_name="core",
                                               records=[record], columns=columns)
                assert await db.fetchval(
                    "SELECT count(*) FROM core.contribution_key WHERE source = 'test'") == 1
                raise _Rollback
        except _Rollback:
            pass
        finally:
            await conn.close()


class _Rollback(Exception):
    """Leaves the shared demo as it was."""
