"""Benchmark: core.contribution three ways on the 1M demo's rows; prints what each costs.

    .venv/bin/python bench/partitioning.py                  # the 1M demo's 29.7 M rows
    .venv/bin/python bench/partitioning.py --sample 10      # the rows of ~10 % of the people

The same rows (streamed by COPY from ``mhi_bench_home_<people>``, which must be loaded: see
``bench/home_screen.py``; it is only read) go into a throwaway database migrated to head,
as three tables with every index, check, foreign key and trigger the real one has:

* ``flat``:  unpartitioned, as before migration 0019 (``UNIQUE (source, source_record_id)``);
* ``hash``:  ``PARTITION BY HASH (person_id)``, 16 partitions, as migration 0019 made it;
* ``month``: ``PARTITION BY RANGE (period)``, one partition a month, primary key
  ``(id, period)``.

The two partitioned ones keep their record ids unique through a key table and its trigger,
as migration 0019 does.  For each it prints the citizen's keyset page (first page, and the
page after it) over ``--people`` random people, p50 and p99 of one connection's sequential
calls, with the partitions its plan reads; a lookup by id alone; a COPY of one monthly
payroll file (every positive contribution of ``--month``, new record ids) through every
index, constraint and trigger; and the table's size with its indexes and key table.

The three tables stand side by side while the reads are timed, the variants taking turns
person by person, so that a busy machine weighs on all three alike.  The throwaway database
is dropped at the end unless ``--keep``.  Built this way, not as a TEMPLATE copy of the
demo, so that it needs about 3 GB of disk with ``--sample 10`` and 30 GB with all the rows,
instead of the demo's 18 GB more.  Uses DATABASE_URL when set, otherwise the embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from backend.contributions import repository as contributions  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.db.admin import drop_database, ensure_database  # noqa: E402
from backend.db.engine import create_engine, resolve_database_url  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from bench.home_screen import database_url  # noqa: E402
from bench.raw_floor import asyncpg_dsn  # noqa: E402

COLUMNS = ("id, person_id, payer_id, payer_kind, kind, period, amount_tiyn, paid_on,"
           " payment_code, source, source_record_id, note, created_at, refund_of, batch_id,"
           " flags")
# (name, columns): the indexes of migration 0019, on each variant.
INDEXES = (("refund_of", "(refund_of) WHERE refund_of IS NOT NULL"),
           ("flagged", "(id DESC) WHERE flags <> '{}'::text[]"),
           ("person_period", "(person_id, period DESC, id DESC)"))
TRIGGERS = (("stats", "stats.stats_contribution_insert"),
            ("tlog", "tlog.tlog_contribution_insert"))


@dataclass(frozen=True)
class Variant:
    """One way to lay out the table."""

    name: str
    spec: str  # the PARTITION BY clause, or ""
    key: str  # the primary key's columns
    pointer: str  # the refund's foreign key columns

    @property
    def table(self) -> str:
        return f"bench.contribution_{self.name}"


FLAT = Variant("flat", "", "id", "refund_of")
HASH = Variant("hash", "PARTITION BY HASH (person_id)", "id, person_id", "refund_of, person_id")
MONTH = Variant("month", "PARTITION BY RANGE (period)", "id, period", "refund_of, period")


async def _stream(source: Any, target: Any, query: str, table: str, columns: list[str]) -> None:
    """COPY ``query`` on ``source`` into ``table`` on ``target`` (binary, through a queue)."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=64)

    async def put(chunk: bytes) -> None:
        await queue.put(bytes(chunk))

    async def chunks() -> Any:
        while (chunk := await queue.get()) is not None:
            yield chunk

    async def produce() -> None:
        try:
            await source.copy_from_query(query, output=put, format="binary")
        finally:
            await queue.put(None)

    schema, name = table.split(".")
    await asyncio.gather(produce(), target.copy_to_table(
        name, schema_name=schema, source=chunks(), columns=columns, format="binary"))


def _key_sql(variant: Variant) -> list[str]:
    """The key table and its trigger, as migration 0019 makes them for core.contribution."""
    t, key = variant.table, f"{variant.table}_key"
    function = f"bench.{variant.name}_key_insert"
    return [
        f"CREATE TABLE {key} (source varchar(64) NOT NULL, source_record_id varchar(128)"
        f" NOT NULL, id bigint NOT NULL, person_id uuid NOT NULL,"
        f" PRIMARY KEY (source, source_record_id))",
        f"INSERT INTO {key} SELECT source, source_record_id, id, person_id FROM {t}",
        f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
BEGIN
    INSERT INTO {key} (source, source_record_id, id, person_id)
    SELECT source, source_record_id, id, person_id FROM new_rows
    ON CONFLICT (source, source_record_id) DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added <> (SELECT count(*) FROM new_rows) AND EXISTS (
        SELECT 1 FROM new_rows n JOIN {key} k USING (source, source_record_id)
        WHERE k.id <> n.id) THEN
        RAISE unique_violation USING MESSAGE = 'record id taken';
    END IF;
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER key_insert AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


async def _build(db: Any, variant: Variant, months: list[date]) -> float:
    """Create ``variant`` (from ``bench.contribution_flat`` unless it is the flat one, whose
    rows are streamed in beforehand) with all its keys, indexes and triggers; seconds."""
    started = time.perf_counter()
    t = variant.table
    if variant is not FLAT:
        await db.execute(f"CREATE TABLE {t} (LIKE bench.contribution_flat INCLUDING DEFAULTS"
                         f" INCLUDING CONSTRAINTS INCLUDING IDENTITY) {variant.spec}")
        if variant is HASH:
            bounds = [f"WITH (MODULUS 16, REMAINDER {i})" for i in range(16)]
        else:
            ends = [*months[1:], date(months[-1].year + months[-1].month // 12,
                                      months[-1].month % 12 + 1, 1)]
            bounds = [f"FROM ('{start}') TO ('{end}')"
                      for start, end in zip(months, ends, strict=True)]
        for i, bound in enumerate(bounds):
            await db.execute(f"CREATE TABLE {t}_p{i:03d} PARTITION OF {t} FOR VALUES {bound}")
        await db.execute(f"INSERT INTO {t} SELECT * FROM bench.contribution_flat")
        await db.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'),"
                         f" (SELECT max(id) FROM {t}))")
    await db.execute("SET maintenance_work_mem = '256MB'")
    await db.execute(f"ALTER TABLE {t} ADD PRIMARY KEY ({variant.key})")
    for name, columns in INDEXES:
        await db.execute(f"CREATE INDEX {variant.name}_{name} ON {t} {columns}")
    if variant is FLAT:
        await db.execute(f"ALTER TABLE {t} ADD UNIQUE (source, source_record_id)")
    else:
        for statement in _key_sql(variant):
            await db.execute(statement)
    await db.execute(f"ALTER TABLE {t} ADD FOREIGN KEY (person_id) REFERENCES core.person (id)")
    await db.execute(f"ALTER TABLE {t} ADD FOREIGN KEY (payer_id) REFERENCES core.payer (id)")
    await db.execute(f"ALTER TABLE {t} ADD FOREIGN KEY (batch_id)"
                     f" REFERENCES core.ingestion_batch (id)")
    await db.execute(f"ALTER TABLE {t} ADD FOREIGN KEY ({variant.pointer})"
                     f" REFERENCES {t} ({variant.key})")
    for name, function in TRIGGERS:
        await db.execute(f"CREATE TRIGGER {name} AFTER INSERT ON {t} REFERENCING NEW TABLE"
                         f" AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    await db.execute(f"ANALYZE {t}")
    return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def _timed(statement: Any, *args: object) -> tuple[float, list[Any]]:
    """Milliseconds one execution of a prepared statement takes, and its rows."""
    started = time.perf_counter()
    rows: list[Any] = await statement.fetch(*args)
    return (time.perf_counter() - started) * 1000, rows


def _plan_summary(plan: dict[str, Any], variant: Variant) -> str:
    """Partitions the plan reads, and its shape (top nodes), in one line."""
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan)
    prefix = variant.table.split(".")[1]
    scanned = {n["Relation Name"] for n in nodes
               if n.get("Relation Name", "").startswith(prefix)}
    shape = " > ".join(dict.fromkeys(n["Node Type"] for n in nodes
                                     if n["Node Type"] not in ("Hash", "Materialize")))
    return f"{len(scanned)} partition(s) of {prefix}: {shape}"


async def _reads(db: Any, variants: list[Variant], people: list[uuid.UUID],
                 ids: list[int]) -> dict[str, dict[str, Any]]:
    """Keyset pages and id lookups on one connection, the variants taking turns person by
    person (so that the machine's load falls on all of them alike)."""
    statements: dict[str, tuple[Any, Any, Any, str, str]] = {}
    for variant in variants:
        first_sql = contributions.page_query(people[0], limit=21)[0]
        later_sql = contributions.page_query(people[0], limit=21,
                                             after=(date(2026, 1, 1), 1))[0]
        first_sql = first_sql.replace("core.contribution c", f"{variant.table} c")
        later_sql = later_sql.replace("core.contribution c", f"{variant.table} c")
        by_id = f"SELECT * FROM {variant.table} WHERE id = $1"
        statements[variant.name] = (await db.prepare(first_sql), await db.prepare(later_sql),
                                    await db.prepare(by_id), first_sql, by_id)
    times: dict[str, dict[str, Any]] = {
        v.name: {"first": [], "later": [], "lookup": [], "plans": {}} for v in variants}
    for person in people:  # warm the statements and the cache as a serving pool would be
        for first, *_ in statements.values():
            await first.fetch(person)
    for turn, (person, row_id) in enumerate(zip(people, ids, strict=True)):
        order = variants[turn % len(variants):] + variants[:turn % len(variants)]
        for variant in order:
            first, later, lookup, _, _ = statements[variant.name]
            took, rows = await _timed(first, person)
            times[variant.name]["first"].append(took)
            if len(rows) == 21:
                times[variant.name]["later"].append(
                    (await _timed(later, person, rows[-1][3], rows[-1][0]))[0])
            times[variant.name]["lookup"].append((await _timed(lookup, row_id))[0])
    for variant in variants:
        _, _, _, first_sql, by_id = statements[variant.name]
        for label, sql, args in (("first page", first_sql, [people[0]]),
                                 ("by id", by_id, [ids[0]])):
            explained = json.loads(await db.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args))[0]
            times[variant.name]["plans"][label] = (
                f"{_plan_summary(explained['Plan'], variant)}; planning"
                f" {explained['Planning Time']:.2f} ms, execution"
                f" {explained['Execution Time']:.2f} ms")
    return times


async def _copy_month(db: Any, variant: Variant, payroll: bytes, columns: list[str]) -> float:
    """Seconds to COPY the payroll file into ``variant`` (committed)."""
    schema, name = variant.table.split(".")
    started = time.perf_counter()
    async with db.transaction():
        await db.copy_to_table(name, schema_name=schema, source=io.BytesIO(payroll),
                               columns=columns, format="binary")
    return time.perf_counter() - started


async def _size(db: Any, variant: Variant) -> str:
    return str(await db.fetchval(
        "SELECT pg_size_pretty(coalesce((SELECT sum(pg_total_relation_size(relid))"
        " FROM pg_partition_tree($1::regclass) WHERE isleaf), pg_total_relation_size($1))"
        " + coalesce(pg_total_relation_size(to_regclass($2)), 0))",
        variant.table, f"{variant.table}_key"))


def _print(variant: Variant, reads: dict[str, Any], build: float, copy_s: float,
           payroll_rows: int, size: str) -> None:
    first, later, lookup = reads["first"], reads["later"], reads["lookup"]
    print(f"{variant.name:<6} keyset first page  p50 {_pct(first, 50):6.2f} ms"
          f"  p99 {_pct(first, 99):6.2f} ms  ({len(first):,} people)")
    print(f"{'':<6} keyset later page  p50 {_pct(later, 50):6.2f} ms"
          f"  p99 {_pct(later, 99):6.2f} ms  ({len(later):,} people)")
    print(f"{'':<6} lookup by id alone p50 {_pct(lookup, 50):6.2f} ms"
          f"  p99 {_pct(lookup, 99):6.2f} ms  ({len(lookup):,} ids)")
    for label, summary in reads["plans"].items():
        print(f"{'':<6} plan, {label:<10} {summary}")
    print(f"{'':<6} COPY of one month  {copy_s:6.1f} s  ({payroll_rows:,} rows,"
          f" {payroll_rows / copy_s:,.0f} rows/s, all indexes, keys, checks, triggers)")
    print(f"{'':<6} built in {build:,.0f} s; table + indexes + key table {size}")


async def run(people_db: int, sample: int, people: int, month: date, keep: bool) -> None:
    settings = AppSettings()
    base = resolve_database_url(settings)
    source_url = database_url(base, people_db)
    url = make_url(base).set(database=f"mhi_bench_partitioning_{uuid.uuid4().hex[:8]}"
                             ).render_as_string(hide_password=False)
    try:
        source = await asyncpg.connect(asyncpg_dsn(source_url))
    except asyncpg.InvalidCatalogNameError:
        print(f"partitioning: skipped, {make_url(source_url).database} is not loaded"
              " (bench/home_screen.py loads it)")
        return
    await ensure_database(url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    await migrate.upgrade(engine)
    await engine.dispose()
    db = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await db.execute("CREATE SCHEMA bench")
        person_columns = [r[0] for r in await db.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'core.person'::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
        present = {r[0] for r in await source.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'core.person'::regclass"
            " AND attnum > 0 AND NOT attisdropped")}
        person_columns = [c for c in person_columns if c in present]
        started = time.perf_counter()
        for table, cols in (("payer", None), ("person", person_columns)):
            names = cols or [r[0] for r in await db.fetch(
                f"SELECT attname FROM pg_attribute WHERE attrelid = 'core.{table}'::regclass"
                " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
            await _stream(source, db, f"SELECT {', '.join(names)} FROM core.{table}",
                          f"core.{table}", names)
        await db.execute("CREATE TABLE bench.contribution_flat"
                         " (LIKE core.contribution INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        sampled = "" if sample >= 100 else (
            f" WHERE abs(hashtext(person_id::text)) % 100 < {sample}")
        copy_columns = COLUMNS.replace(" batch_id,", " NULL::bigint AS batch_id,")
        await _stream(source, db, f"SELECT {copy_columns} FROM core.contribution{sampled}",
                      "bench.contribution_flat", [c.strip() for c in COLUMNS.split(",")])
        rows = await db.fetchval("SELECT count(*) FROM bench.contribution_flat")
        print(f"partitioning: {rows:,} contributions of {make_url(source_url).database}"
              f"{'' if sample >= 100 else f' ({sample} % of the people)'} copied in"
              f" {time.perf_counter() - started:,.0f} s; machine shared and loaded:"
              " compare the rows with each other, not with other runs", flush=True)
        await db.execute("SELECT setval(pg_get_serial_sequence('bench.contribution_flat',"
                         " 'id'), (SELECT max(id) FROM bench.contribution_flat))")
        months = [r[0] for r in await db.fetch(
            "SELECT DISTINCT period FROM bench.contribution_flat ORDER BY 1")]
        rng = random.Random(1)
        chosen = [r[0] for r in await db.fetch(
            "SELECT DISTINCT person_id FROM bench.contribution_flat"
            " WHERE abs(hashtext(person_id::text)) % 100 < 5")]
        rng.shuffle(chosen)
        chosen = chosen[:people]
        top = await db.fetchval("SELECT max(id) FROM bench.contribution_flat")
        ids = [rng.randint(1, top) for _ in range(people)]
        payroll_columns = [c.strip() for c in COLUMNS.split(",") if c.strip() != "id"]
        payroll = io.BytesIO()

        async def keep_bytes(chunk: bytes) -> None:
            payroll.write(chunk)

        await db.copy_from_query(
            f"SELECT {', '.join(payroll_columns)} FROM bench.contribution_flat"
            " WHERE period = $1 AND refund_of IS NULL",
            month, output=keep_bytes, format="binary")
        payroll_rows = await db.fetchval("SELECT count(*) FROM bench.contribution_flat"
                                         " WHERE period = $1 AND refund_of IS NULL", month)
        await db.execute("ALTER TABLE bench.contribution_flat ALTER COLUMN id ADD GENERATED"
                         " BY DEFAULT AS IDENTITY")
        await db.execute("SELECT setval(pg_get_serial_sequence('bench.contribution_flat',"
                         " 'id'), (SELECT max(id) FROM bench.contribution_flat))")
        # A new file: the same rows under new record ids.
        payroll_bytes = payroll.getvalue()
        await db.execute(f"CREATE TEMP TABLE payroll AS SELECT {', '.join(payroll_columns)}"
                         " FROM bench.contribution_flat LIMIT 0")
        variants = [FLAT, HASH, MONTH]
        builds = {v.name: await _build(db, v, months) for v in variants}
        reads = await _reads(db, variants, chosen, ids)
        sizes = {v.name: await _size(db, v) for v in variants}
        copies = {}
        for variant in (HASH, MONTH, FLAT):  # the flat table last: the others copy it
            copies[variant.name] = await _copy_month(
                db, variant, await _renamed(db, payroll_bytes, payroll_columns),
                payroll_columns)
        for variant in variants:
            _print(variant, reads[variant.name], builds[variant.name], copies[variant.name],
                   payroll_rows, sizes[variant.name])
    finally:
        await db.close()
        await source.close()
        if keep:
            print(f"  kept {make_url(url).database}")
        else:
            await drop_database(url)


async def _renamed(db: Any, payroll: bytes, columns: list[str]) -> bytes:
    """The payroll file with fresh record ids (a new file, not a repeat of stored rows)."""
    suffix = uuid.uuid4().hex[:6]
    async with db.transaction():
        await db.execute("TRUNCATE payroll")
        await db.copy_to_table("payroll", source=io.BytesIO(payroll), columns=columns,
                               format="binary")
        await db.execute("UPDATE payroll SET source_record_id = source_record_id || $1",
                         f"-{suffix}")
        out = io.BytesIO()

        async def keep_bytes(chunk: bytes) -> None:
            out.write(chunk)

        await db.copy_from_query(f"SELECT {', '.join(columns)} FROM payroll",
                                 output=keep_bytes, format="binary")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo-people", type=int, default=1_000_000,
                        help="which demo: mhi_bench_home_<N> (default 1,000,000)")
    parser.add_argument("--sample", type=int, default=100,
                        help="percent of the people whose rows are copied (default 100)")
    parser.add_argument("--people", type=int, default=3_000,
                        help="random people whose pages are timed (default 3,000)")
    parser.add_argument("--month", type=date.fromisoformat, default=date(2026, 10, 1),
                        help="the payroll month copied (default 2026-10-01)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    asyncio.run(run(args.demo_people, args.sample, args.people, args.month, args.keep))


if __name__ == "__main__":
    main()
