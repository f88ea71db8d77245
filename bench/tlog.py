"""Benchmark: the verifiable log: appending 1,000,000 leaves against the ingestion's own rate,
proof latency at 1M and 10M leaves, and bytes stored per leaf.

    .venv/bin/python bench/tlog.py                          # 1M appended, proofs at 1M and 10M
    .venv/bin/python bench/tlog.py --records 100000 --synthesize-to 0    # a quick run
    .venv/bin/python bench/tlog.py --keep                   # keep the throwaway database

What it does, in a throwaway database ``mhi_bench_tlog_<random>`` migrated to head (dropped at
the end unless ``--keep``):

* loads a demo country of ``--people`` people (``backend.demo``): its COPYs queue every record
  (``tlog.pending``), which is appended untimed;
* the ingestion's rate on this machine, in this database: ``--ingest`` self-payment records
  through the real pipeline (``backend.ingest.pipeline.ingest``, in process, one batch as a
  file POSTed to ``/ingest/contributions`` is: checks, store, events, statuses; the log's
  queue trigger included), records/s;
* queues ``--records`` contributions with one ``INSERT … SELECT`` (the triggers write one
  queue row each), timed, and again with the log's trigger disabled (rolled back): what the
  queue costs a bulk insert;
* appends them (``backend.tlog.append.append_all``, batches of ``--batch``, one transaction
  each, as the worker does), timed: leaves/s, and the ratio to the ingestion's rate (the log
  must not be the bottleneck: it must append faster than records are stored);
* checks the stored root against the library's root of the same entries (at up to 2M leaves;
  skipped beyond, as it reads every entry);
* proof latency at that size: ``--proofs`` inclusion proofs of random leaves in the current
  tree and as many consistency proofs from random older sizes, each through
  ``backend.tlog.store`` on one connection (one statement, then verified), p50 and p99;
* bytes stored per leaf: ``pg_total_relation_size`` of ``tlog.leaf`` and ``tlog.tile`` (heap,
  indexes, TOAST) over the leaves, after ``VACUUM``;
* **synthesized** up to ``--synthesize-to`` leaves (default 10,000,000): entries of the real
  shape (a random commitment and pseudonym) written straight into ``tlog.leaf`` and
  ``tlog.tile`` with the appender's own tile code (``backend.tlog.append.grow``), without
  records, queue or record reads; then the proof latency again at that size.

Uses ``DATABASE_URL`` when set (its server), otherwise the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from backend.db import migrate  # noqa: E402
from backend.db.admin import drop_database, ensure_database  # noqa: E402
from backend.db.engine import create_engine, resolve_database_url  # noqa: E402
from backend.demo import generator  # noqa: E402
from backend.ingest.contributions import Contributions  # noqa: E402
from backend.ingest.pipeline import docs_of, ingest  # noqa: E402
from backend.rates.repository import load_rate_book  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from backend.tlog import leaves  # noqa: E402
from backend.tlog.append import _edge_keys, _write_tiles, append_all, grow  # noqa: E402
from backend.tlog.store import (  # noqa: E402
    consistency_proof,
    driver_of,
    inclusion_proof,
    read_tiles,
    root_hash,
    tree_size,
)
from backend.tlog.tlog import MemoryHashReader, record_hash, stored_hashes, tree_hash  # noqa: E402

TODAY = date(2026, 11, 23)
KEY = os.urandom(32)


def parse_args() -> argparse.Namespace:
    """The options (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000,
                        help="records queued and appended in the timed run")
    parser.add_argument("--people", type=int, default=2_000, help="the demo's people")
    parser.add_argument("--ingest", type=int, default=100_000,
                        help="records through the ingestion pipeline, for its rate")
    parser.add_argument("--batch", type=int, default=20_000, help="records per append")
    parser.add_argument("--proofs", type=int, default=1_000, help="proofs of each kind timed")
    parser.add_argument("--synthesize-to", type=int, default=10_000_000,
                        help="grow the log with synthetic leaves to this size, then time the "
                             "proofs again (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


async def _ingestion_rate(engine: AsyncEngine, records: int) -> tuple[int, float]:
    """Self-payments for living people through the real pipeline, in one batch (as a file
    POSTed to ``/ingest/contributions`` is)."""
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
        people = [row[0] for row in await conn.execute(text(
            "SELECT iin FROM core.person WHERE death_date IS NULL ORDER BY id"))]
    rng = random.Random(1)
    batch = [{"recordId": f"ING-{uuid.uuid4().hex}", "iin": rng.choice(people),
              "kind": "self_payment", "period": f"2026-{1 + n % 10:02d}",
              "amount": "4250.00", "paidOn": f"2026-{1 + n % 10:02d}-20",
              "paymentCode": 122} for n in range(records)]
    started = time.perf_counter()
    result = await ingest(engine, Contributions(), source="bench-tlog", today=TODAY,
                          rates=rates, rows=docs_of(batch))
    return result.accepted, time.perf_counter() - started


_BULK = """
    INSERT INTO core.contribution (person_id, kind, period, amount_tiyn, paid_on, payment_code,
                                   source, source_record_id)
    SELECT p.ids[1 + n % cardinality(p.ids)], 'self_payment',
           make_date(2025, 1 + n % 12, 1), 425000, make_date(2026, 1 + n % 10, 20), 122,
           'bench-tlog-bulk', :tag || n
    FROM (SELECT array_agg(id) AS ids FROM core.person WHERE death_date IS NULL) p,
         generate_series(1, :records) AS n"""


async def _queue(engine: AsyncEngine, records: int) -> tuple[float, float]:
    """Queue ``records`` contributions with one INSERT (timed), and time the same INSERT with
    the log's trigger disabled, rolled back."""
    async with engine.begin() as conn:
        started = time.perf_counter()
        await conn.execute(text(_BULK), {"records": records, "tag": "q-"})
        queued = time.perf_counter() - started
    async with engine.connect() as conn:
        await conn.begin()
        await conn.execute(text(
            "ALTER TABLE core.contribution DISABLE TRIGGER tlog_contribution_insert"))
        started = time.perf_counter()
        await conn.execute(text(_BULK), {"records": records, "tag": "plain-"})
        plain = time.perf_counter() - started
        await conn.rollback()
    return queued, plain


async def _library_root(engine: AsyncEngine, size: int) -> bytes:
    stored: list[bytes] = []
    async with engine.connect() as conn:
        driver = await driver_of(conn)
        for first in range(0, size, 100_000):
            rows = await driver.fetch(
                "SELECT entry FROM tlog.leaf WHERE leaf_index >= $1 AND leaf_index < $2"
                " ORDER BY leaf_index", first, min(size, first + 100_000))
            for offset, row in enumerate(rows):
                stored.extend(stored_hashes(first + offset, bytes(row["entry"]),
                                            MemoryHashReader(stored)))
    return tree_hash(size, MemoryHashReader(stored))


def _percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return (f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms, "
            f"max {max(samples) * 1000:.2f} ms")


async def _latency(count: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def _proofs(engine: AsyncEngine, count: int) -> None:
    rng = random.Random(2)
    async with engine.connect() as conn:
        driver = await driver_of(conn)
        size = await tree_size(driver)
        await inclusion_proof(driver, 0, size)  # prepares the statement
        inclusion = await _latency(count, lambda: inclusion_proof(
            driver, rng.randrange(size), size))
        consistency = await _latency(count, lambda: consistency_proof(
            driver, rng.randrange(1, size), size))
    print(f"  at {size:,} leaves: inclusion proof {_percentiles(inclusion)}", flush=True)
    print(f"  at {size:,} leaves: consistency proof {_percentiles(consistency)}", flush=True)


async def _bytes_per_leaf(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM tlog.leaf, tlog.tile, tlog.pending"))
        size = await tree_size(await driver_of(conn))
        row = (await conn.execute(text(
            "SELECT pg_total_relation_size('tlog.leaf'), pg_total_relation_size('tlog.tile'),"
            " pg_relation_size('tlog.leaf'), pg_indexes_size('tlog.leaf'),"
            " (SELECT avg(length(entry)) FROM tlog.leaf TABLESAMPLE SYSTEM (1))"))).one()
    leaf, tile, heap, indexes, entry = row
    print(f"  bytes stored per leaf at {size:,} leaves: {(leaf + tile) / size:,.1f}"
          f" (tlog.leaf {leaf / size:,.1f}: heap {heap / size:,.1f}, its two indexes"
          f" {indexes / size:,.1f}; tlog.tile {tile / size:,.1f}); the entry itself"
          f" averages {float(entry or 0):,.0f} bytes", flush=True)


def _synthetic_entry(index: int) -> tuple[bytes, bytes]:
    salt = os.urandom(16)
    return leaves.canonical_json({
        "v": 1, "kind": "contribution", "id": str(10_000_000_000 + index),
        "person": leaves.pseudonym(KEY, f"{index % 5_000_000:012d}"), "logged": "2026-11-23",
        "commitment": leaves.commitment(salt, b"synthetic")}), salt


async def _synthesize(engine: AsyncEngine, target: int, batch: int = 100_000) -> None:
    """Grow the log to ``target`` leaves with synthetic entries, the appender's tile code."""
    started = time.perf_counter()
    async with engine.connect() as conn:
        size = await tree_size(await driver_of(conn))
    first = size
    while size < target:
        count = min(batch, target - size)
        rows = []
        for offset in range(count):
            entry, salt = _synthetic_entry(size + offset)
            rows.append((size + offset, "contribution", 10_000_000_000 + size + offset, entry,
                         salt))
        async with engine.begin() as conn:
            driver = await driver_of(conn)
            edge = await read_tiles(driver, _edge_keys(size))
            await _write_tiles(driver, grow(size, edge, [record_hash(r[3]) for r in rows]))
            await driver.copy_records_to_table(
                "leaf", records=rows, columns=["leaf_index", "kind", "record_id", "entry",
                                               "salt"], schema_name="tlog")
        size += count
        if size % 1_000_000 < batch:
            print(f"    … {size:,} leaves", flush=True)
    seconds = time.perf_counter() - started
    print(f"  synthesized {size - first:,} leaves in {seconds:.0f} s"
          f" ({_rate(size - first, seconds)})", flush=True)


async def run(engine: AsyncEngine, args: argparse.Namespace) -> int:
    """Everything above, in order; 1 if a root disagrees with the library's."""
    started = time.perf_counter()
    demo = await generator.generate(engine, people=args.people, seed=1, as_of=TODAY, quiet=True)
    demo_leaves = await append_all(engine, KEY, args.batch)
    print(f"  demo: {args.people:,} people loaded in {demo.seconds:.1f} s; its"
          f" {demo_leaves.appended:,} queued records appended in {demo_leaves.seconds:.1f} s"
          f" ({time.perf_counter() - started:.0f} s in all)", flush=True)

    stored, seconds = await _ingestion_rate(engine, args.ingest)
    ingest_rate = stored / seconds
    print(f"  ingestion (the pipeline, in process, one batch): {stored:,} records in"
          f" {seconds:.1f} s, {_rate(stored, seconds)}", flush=True)
    await append_all(engine, KEY, args.batch)

    queued, plain = await _queue(engine, args.records)
    print(f"  queueing {args.records:,} records with one INSERT … SELECT: {queued:.1f} s; the"
          f" same INSERT without the log's trigger {plain:.1f} s (+{queued - plain:.1f} s,"
          f" {100 * (queued - plain) / plain:.0f} %)", flush=True)
    appended = await append_all(engine, KEY, args.batch)
    rate = appended.appended / appended.seconds
    print(f"  append: {appended.appended:,} leaves in {appended.seconds:.1f} s,"
          f" {_rate(appended.appended, appended.seconds)} in batches of {args.batch:,}:"
          f" {rate / ingest_rate:.1f}x the ingestion's rate", flush=True)

    size = appended.size
    if size <= 2_000_000:
        async with engine.connect() as conn:
            ours = await root_hash(await driver_of(conn), size)
        if ours != await _library_root(engine, size):
            print("  the stored root is NOT the library's root of the entries")
            return 1
        print(f"  the stored root at {size:,} is the library's root of the same entries",
              flush=True)
    await _proofs(engine, args.proofs)
    await _bytes_per_leaf(engine)

    if args.synthesize_to > size:
        print(f"  synthesizing up to {args.synthesize_to:,} leaves (no records behind them)",
              flush=True)
        await _synthesize(engine, args.synthesize_to)
        await _proofs(engine, args.proofs)
        await _bytes_per_leaf(engine)
    print(json.dumps({"append_per_s": round(rate), "ingest_per_s": round(ingest_rate)}))
    return 0


async def main() -> int:
    """A throwaway database, the run, the database dropped."""
    args = parse_args()
    base = resolve_database_url(AppSettings())
    name = f"mhi_bench_tlog_{uuid.uuid4().hex[:8]}"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    print(f"== the verifiable log: {args.records:,} leaves appended, proofs up to"
          f" {max(args.synthesize_to, args.records):,} leaves ({name}) ==", flush=True)
    await ensure_database(url)
    engine = create_engine(url, pool_size=2, max_overflow=2)
    try:
        await migrate.upgrade(engine)
        return await run(engine, args)
    finally:
        await engine.dispose()
        if args.keep:
            print(f"kept the database {name}")
        else:
            await drop_database(url)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
