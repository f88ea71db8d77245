"""Benchmark: bulk ingestion of contribution records over HTTP against a COPY of the same rows
into the real ``core.contribution`` (the floor).

    .venv/bin/python bench/ingest.py                         # 1,000,000 records, 100,000 people
    .venv/bin/python bench/ingest.py --records 100000        # a quicker run
    .venv/bin/python bench/ingest.py --keep                  # keep the throwaway database

What it does, in one run:

* makes sure the demo database ``mhi_bench_home_<people>`` exists (``ensure_demo`` of
  ``bench/home_screen.py``: loaded once, shared with the HomeScreen benchmark), waits until no
  other session uses it, and copies it (``CREATE DATABASE … TEMPLATE``) into a throwaway
  ``mhi_bench_ingest_<random>``, migrated to head; everything below happens in the copy, which
  is dropped at the end (``--keep`` keeps it);
* gives every person a stored status first (``mhi statuses refresh --as-of 2026-11-23``, i.e.
  ``backend.status.schedule.refresh_due``) — timed, not part of the figures;
* writes an NDJSON file of valid contribution records for the living people of that database
  (people and payers read with one query each): for someone employed this autumn (their latest
  employer deduction is for 2026-09 or later) the employer's deduction (КНП 121, 3 %) and the
  withheld contribution (122, 2 %) of their last wage, month by month back from 2026-10, paid
  the next month by that employer (``payerBin``); for everyone else a self payment (122,
  4,250.00 ₸ = 5 % of the 2026 minimum wage) month by month back from 2026-11, paid within the
  month, never after "today" 2026-11-23; ``recordId`` unique; ordered month by month like
  monthly payment files — timed, not part of the figures;
* starts the real API (``bench.servers:graphql_app``: ``create_app`` under uvicorn, one
  worker, ``BENCH_TODAY=2026-11-23``), creates an integrator client holding
  ``contributions:write`` and gets its token, and POSTs the file to ``/ingest/contributions``
  streamed from disk in 1 MiB chunks: wall time from the first byte sent to the answer, the
  answer's counts, the rows added to ``core.contribution`` and ``notify.outbox``, the CPU time
  of the uvicorn process and of the database backends it used;
* the floor, measured before the first POST, from the same state: asyncpg's
  ``copy_records_to_table`` of the same rows (prepared in memory before the clock starts)
  through the partitioned parent ``core.contribution`` with everything the schema hangs on it
  (its partitions' indexes, checks and foreign keys, the key table ``core.contribution_key``
  that its trigger fills, the rollups' and the verifiable log's triggers), rolled back;
  ``FLOOR_RUNS`` times, the fastest counts; records/s and the ratio end-to-end / floor (the
  target is 0.5 at least, issue 18); for reference only, the same rows into a bare table
  (no index or constraint), and through the parent without the rollups' trigger;
* POSTs the same file again and checks that nothing changed: 0 accepted, every record a
  duplicate, and ``core.contribution``, ``notify.outbox``, ``core.status_history`` and
  ``core.person_status`` as they were (row counts, and a digest of the stored statuses);
* the cost of keeping the public rollups current (``bench/rollups_cost.py``): while the first
  POST runs, a folder thread folds every 2 s as ``mhi worker`` does, and the lag is how long
  after the answer the last delta was folded; then the same file is POSTed into a second fresh
  copy of the demo whose ``stats_*`` triggers are disabled (``--no-rollups`` skips it), so the
  throughput with and without the triggers compare; last, the fold's own throughput over
  synthetic deltas (``--fold-deltas``).

Exits 1 when the second ingest changed anything (or the first one refused a record: the file
is valid, so a refusal means the figures measure the wrong thing).  Uses ``DATABASE_URL`` when
set (its server), otherwise the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from auth.principals import Scope  # noqa: E402
from auth.service import AuthService  # noqa: E402
from auth.settings import AuthSettings  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.db.admin import drop_database  # noqa: E402
from backend.db.engine import (  # noqa: E402
    create_engine,
    create_session_factory,
    resolve_database_url,
)
from backend.rates.repository import load_rate_book  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from backend.status.schedule import refresh_due  # noqa: E402
from bench.home_screen import cpu_seconds, database_url, ensure_demo, server  # noqa: E402
from bench.raw_floor import asyncpg_dsn  # noqa: E402
from bench.rollups_cost import (  # noqa: E402
    Folder,
    fold_throughput,
    set_rollup_triggers,
)

TODAY = date(2026, 11, 23)
SEED = 1
CHUNK = 1024 * 1024
TARGET_RATIO = 0.5  # end-to-end / a COPY into the real table (issue 18)
SELF_PAYMENT_TIYN = 4_250_00  # 5 % of the 2026 minimum wage (85,000 ₸)
EMPLOYED_SINCE = date(2026, 9, 1)  # a latest employer deduction this recent: still employed
EMPLOYEE_LAST = date(2026, 10, 1)  # paid by the employer in the following month
SELF_LAST = date(2026, 11, 1)  # paid within the month
TOKEN_SECONDS = 6 * 3600
TEMPLATE_WAIT_SECONDS = 300
FLOOR_RUNS = 2
FLOOR_TABLE = "bench_ingest_floor"
FLOOR_COLUMNS = ("person_id", "kind", "period", "amount_tiyn", "paid_on", "payment_code",
                 "payer_bin", "record_id")
WATCHED = ("core.contribution", "notify.outbox", "core.status_history", "core.person_status",
           "core.ingestion_batch")
UNCHANGED = WATCHED[:4]  # the batch itself is recorded every time
REFERENCE_SOURCE = "bench-reference"
REFERENCE_COLUMNS = ("person_id", "payer_id", "payer_kind", "kind", "period", "amount_tiyn",
                     "paid_on", "payment_code", "source", "source_record_id")

PEOPLE_SQL = """
SELECT p.id, p.iin, last.payer_id, last.period, last.amount_tiyn
FROM core.person p
LEFT JOIN LATERAL (
    SELECT c.payer_id, c.period, c.amount_tiyn FROM core.contribution c
    WHERE c.person_id = p.id AND c.kind = 'employer_deduction'
    ORDER BY c.period DESC, c.id DESC LIMIT 1) last ON true
WHERE p.death_date IS NULL
ORDER BY p.id
"""
PAYERS_SQL = "SELECT id, bin FROM core.payer WHERE kind = 'employer'"
STATUS_DIGEST = (
    "SELECT md5(string_agg(concat_ws('|', person_id, status, reason_code, as_of,"
    " stable_until, updated_at), ',' ORDER BY person_id)) FROM core.person_status"
)

Row = tuple[uuid.UUID, str, date, int, date, int, str | None, str]


# --- small helpers -------------------------------------------------------------------------


def _url(base: str, database: str) -> str:
    return make_url(base).set(database=database).render_as_string(hide_password=False)


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _month(day: date, back: int) -> date:
    """The first of the month ``back`` months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _tenge(tiyn: int) -> str:
    return f"{tiyn // 100}.{tiyn % 100:02d}"


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# --- the throwaway database ----------------------------------------------------------------


async def copy_template(base: str, template: str, target: str) -> float:
    """``CREATE DATABASE target TEMPLATE template`` once no one else uses the template."""
    admin = await _connect(_url(base, "postgres"))
    try:
        deadline = time.monotonic() + TEMPLATE_WAIT_SECONDS
        noted = False
        while True:
            others = await admin.fetch(
                "SELECT pid, application_name, state FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()", template)
            if not others:
                started = time.perf_counter()
                try:
                    await admin.execute(f"CREATE DATABASE {_quote(target)} TEMPLATE "
                                        f"{_quote(template)} STRATEGY FILE_COPY")
                    return time.perf_counter() - started
                except asyncpg.ObjectInUseError:  # someone connected in between: wait again
                    pass
            if time.monotonic() > deadline:
                sys.exit(f"{template} is still in use by {len(others)} session(s) after "
                         f"{TEMPLATE_WAIT_SECONDS} s (another benchmark?); run again later")
            if not noted and others:
                print(f"  waiting: {len(others)} other session(s) use {template} "
                      f"({', '.join(sorted({r['application_name'] or '?' for r in others}))})",
                      flush=True)
                noted = True
            await asyncio.sleep(1)
    finally:
        await admin.close()


async def prepare(url: str) -> tuple[float, float, str]:
    """Migrate the copy to head, then store everyone's status as of TODAY; (migrate s,
    refresh s, what the refresh did)."""
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        started = time.perf_counter()
        await migrate.upgrade(engine)
        migrated = time.perf_counter() - started
        started = time.perf_counter()
        async with create_session_factory(engine)() as session:
            rates = await load_rate_book(session)
        done = await refresh_due(engine, today=TODAY, rates=rates)
        refreshed = time.perf_counter() - started
    finally:
        await engine.dispose()
    conn = await _connect(url)
    try:  # what autovacuum would have done by the time a file arrives
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    what = ("another process was refreshing" if done is None else
            f"{done.computed:,} computed, {done.changed:,} stored as changed, "
            f"{done.events:,} events")
    return migrated, refreshed, what


# --- the file ------------------------------------------------------------------------------


@dataclass
class Dataset:
    """The NDJSON file and the same rows for the floor."""

    path: Path
    records: int
    people: int
    employees: int
    size: int
    rows: list[Row] = field(repr=False)
    employers: dict[str, uuid.UUID] = field(repr=False, default_factory=dict)


def _employee_rows(person: uuid.UUID, count: int, bin_: str, deduction: int,
                   rng: random.Random, record: Iterator[str]) -> Iterator[Row]:
    contribution = deduction * 2 // 3  # 2 % withheld beside the employer's 3 %
    for slot in range(count):
        back = slot // 2
        period = _month(EMPLOYEE_LAST, back)
        paid = _month(EMPLOYEE_LAST, back - 1).replace(day=rng.randint(5, 20))
        if slot % 2 == 0:
            yield (person, "employer_deduction", period, deduction, paid, 121, bin_,
                   next(record))
        else:
            yield (person, "employee_contribution", period, contribution, paid, 122, bin_,
                   next(record))


def _self_rows(person: uuid.UUID, count: int, rng: random.Random, record: Iterator[str]
               ) -> Iterator[Row]:
    for back in range(count):
        period = _month(SELF_LAST, back)
        paid = period.replace(day=rng.randint(1, min(20, TODAY.day)))
        yield (person, "self_payment", period, SELF_PAYMENT_TIYN, paid, 122, None, next(record))


async def read_people(url: str) -> tuple[list[asyncpg.Record], dict[uuid.UUID, str]]:
    """The living people (with their latest employer deduction) and the employers' BINs."""
    conn = await _connect(url)
    try:
        people = await conn.fetch(PEOPLE_SQL)
        payers = {row["id"]: row["bin"] for row in await conn.fetch(PAYERS_SQL)}
    finally:
        await conn.close()
    return people, payers


def write_file(folder: Path, records: int, people: list[asyncpg.Record],
               payers: dict[uuid.UUID, str]) -> Dataset:
    """``records`` valid records for ``people``, as evenly spread as can be."""
    rng = random.Random(SEED)
    serial = (f"KZ-BENCH-{n:09d}" for n in range(1, records + 1))
    iins: dict[uuid.UUID, str] = {}
    slots: list[Row] = []
    employees = 0
    each, extra = divmod(records, len(people))
    for index, person in enumerate(people):
        count = each + (index < extra)
        if count == 0:
            break
        iins[person["id"]] = person["iin"]
        employed = (person["payer_id"] in payers and person["period"] is not None
                    and person["period"] >= EMPLOYED_SINCE)
        if employed:
            employees += 1
            slots.extend(_employee_rows(person["id"], count,
                                        payers[person["payer_id"]], person["amount_tiyn"],
                                        rng, serial))
        else:
            slots.extend(_self_rows(person["id"], count, rng, serial))
    # Month by month, oldest first (a stable sort: people stay in id order within a month).
    slots.sort(key=lambda row: row[2])
    rows = slots
    path = folder / "contributions.ndjson"
    with path.open("w", encoding="utf-8") as out:
        for person, kind, period, amount, paid, code, bin_, record_id in rows:
            payer = f', "payerBin": "{bin_}"' if bin_ is not None else ""
            out.write(f'{{"recordId": "{record_id}", "iin": "{iins[person]}", '
                      f'"kind": "{kind}", "period": "{period:%Y-%m}", '
                      f'"amount": "{_tenge(amount)}", "paidOn": "{paid.isoformat()}", '
                      f'"paymentCode": {code}{payer}}}\n')
    return Dataset(path, len(rows), len(iins), employees, path.stat().st_size, rows,
                   {bin_: payer for payer, bin_ in payers.items()})


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Row counts of the watched tables, a digest of the stored statuses, backend CPU."""

    counts: dict[str, int]
    statuses: str
    backend_cpu: dict[int, float]


async def snapshot(url: str) -> Snapshot:
    """The watched tables as they are now."""
    conn = await _connect(url)
    try:
        counts = {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
                  for table in WATCHED}
        digest = str(await conn.fetchval(STATUS_DIGEST))
        pids = [row[0] for row in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")]
    finally:
        await conn.close()
    cpu = {pid: seconds for pid in pids if (seconds := cpu_seconds(pid)) is not None}
    return Snapshot(counts, digest, cpu)


def backend_cpu(before: Snapshot, after: Snapshot) -> float | None:
    """CPU the server's database backends spent between two snapshots (None when the
    database runs elsewhere and ``/proc`` cannot see them)."""
    if not after.backend_cpu:
        return None
    return sum(seconds - before.backend_cpu.get(pid, 0.0)
               for pid, seconds in after.backend_cpu.items())


async def checkpoint(url: str) -> None:
    """Start each measured step with no dirty buffers left over from the one before."""
    conn = await _connect(url)
    try:
        await conn.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass
    finally:
        await conn.close()


async def client_token(url: str) -> tuple[str, str]:
    """A new integrator client holding ``contributions:write``: (client id, access token)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        auth = await AuthService.open(engine, AuthSettings(access_token_ttl_seconds=TOKEN_SECONDS))
        new = await auth.clients.create("Ingestion benchmark", "bench",
                                        [Scope.CONTRIBUTIONS_WRITE], requests_per_minute=100_000)
        token = await auth.clients.token(new.info.id, new.secret, Scope.CONTRIBUTIONS_WRITE.value)
    finally:
        await engine.dispose()
    return new.info.id, token.access_token


@dataclass(frozen=True)
class Post:
    """One POST of the file."""

    seconds: float
    answer: dict[str, Any]
    server_cpu: float | None
    backend_cpu: float | None
    before: Snapshot
    after: Snapshot


def post_file(port: int, token: str, path: Path, pid: int, url: str) -> Post:
    """Stream the file to the bulk endpoint; the clock runs from the first byte sent."""
    started: list[float] = []

    def body() -> Iterator[bytes]:
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                if not started:
                    started.append(time.perf_counter())
                yield chunk

    asyncio.run(checkpoint(url))
    before = asyncio.run(snapshot(url))
    cpu_before = cpu_seconds(pid)
    timeout = httpx.Timeout(connect=30, read=7200, write=600, pool=30)
    with httpx.Client(timeout=timeout) as client:
        response = client.post(
            f"http://127.0.0.1:{port}/ingest/contributions", content=body(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson",
                     "Content-Length": str(path.stat().st_size)})
        response.read()
        finished = time.perf_counter()
    cpu_after = cpu_seconds(pid)
    after = asyncio.run(snapshot(url))
    if response.status_code != 200:
        sys.exit(f"the bulk endpoint answered {response.status_code}: {response.text[:3000]}")
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Post(finished - started[0], response.json(), server_cpu, backend_cpu(before, after),
                before, after)


async def copy_into_contributions(url: str, data: Dataset, *, triggers: bool = True) -> float:
    """The floor: COPY the same rows through the parent ``core.contribution`` (its
    partitions' indexes, checks and foreign keys, its key table's trigger, the verifiable
    log's trigger; the rollups' trigger unless ``triggers`` is false; no validation, events
    or statuses), rolled back; seconds."""
    rows = [(person, data.employers.get(bin_) if bin_ else None, "employer" if bin_ else None,
             kind, period, amount, paid, code, REFERENCE_SOURCE, record_id)
            for person, kind, period, amount, paid, code, bin_, record_id in data.rows]
    conn = await _connect(url)
    try:
        await conn.execute("CHECKPOINT")
        transaction = conn.transaction()
        await transaction.start()
        try:
            if not triggers:
                await conn.execute("ALTER TABLE core.contribution DISABLE TRIGGER"
                                   " stats_contribution_insert")
            started = time.perf_counter()
            await conn.copy_records_to_table("contribution", schema_name="core", records=rows,
                                             columns=list(REFERENCE_COLUMNS))
            return time.perf_counter() - started
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def copy_bare(url: str, rows: list[Row]) -> list[float]:
    """For reference: COPY the rows into a new bare table (no index, no constraint),
    ``FLOOR_RUNS`` times; the seconds of each."""
    conn = await _connect(url)
    times = []
    try:
        for _ in range(FLOOR_RUNS):
            await conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
            await conn.execute(
                f"CREATE TABLE {FLOOR_TABLE} (person_id uuid, kind text, period date,"
                " amount_tiyn bigint, paid_on date, payment_code smallint, payer_bin text,"
                " record_id text)")
            await conn.execute("CHECKPOINT")
            started = time.perf_counter()
            await conn.copy_records_to_table(FLOOR_TABLE, records=rows,
                                             columns=list(FLOOR_COLUMNS))
            times.append(time.perf_counter() - started)
            copied = await conn.fetchval(f"SELECT count(*) FROM {FLOOR_TABLE}")
            if copied != len(rows):
                sys.exit(f"the floor copied {copied:,} rows, not {len(rows):,}")
    finally:
        await conn.close()
    return times


# --- output --------------------------------------------------------------------------------


def print_post(title: str, post: Post, records: int) -> None:
    """What one POST did."""
    answer = post.answer
    print(f"{title}: {post.seconds:,.1f} s, {_rate(records, post.seconds)} records/s")
    print(f"  answer: records {answer['records']:,}, accepted {answer['accepted']:,}, "
          f"duplicates {answer['duplicates']:,}, rejected {answer['rejected']:,}, "
          f"statusesChanged {answer['statusesChanged']:,}, issues {len(answer['issues']):,}")
    for issue in answer["issues"][:5]:
        print(f"    line {issue['line']}: {issue['code']} {issue['message']} {issue['flags']}")
    print(f"  {'table':<22}{'before':>12}{'after':>12}{'added':>12}")
    for table in WATCHED:
        old, new = post.before.counts[table], post.after.counts[table]
        print(f"  {table:<22}{old:>12,}{new:>12,}{new - old:>+12,}")
    same = "unchanged" if post.before.statuses == post.after.statuses else "changed"
    print(f"  stored statuses (digest of core.person_status): {same}")
    print(f"  CPU: uvicorn process {_cpu(post.server_cpu)} s, its database backends "
          f"{_cpu(post.backend_cpu)} s (wall {post.seconds:.1f} s)", flush=True)


def print_summary(data: Dataset, facts: str, first: Post, floor: float, again: Post,
                  bare: float, unchanged: bool) -> None:
    """The final table."""
    ratio = floor / first.seconds
    print()
    print(f"Summary ({data.records:,} records, {data.size / 1024**2:,.0f} MiB of NDJSON, "
          f"for {data.people:,} people; {facts}; server: uvicorn 1 worker)")
    print(f"{'step':<34}{'records':>11}{'seconds':>9}{'records/s':>11}{'uvicorn cpu s':>15}"
          f"{'db cpu s':>10}")
    steps = (("bulk endpoint, first time", first.seconds, first.server_cpu, first.backend_cpu),
             ("COPY into core.contribution (floor)", floor, None, None),
             ("bulk endpoint, same file again", again.seconds, again.server_cpu,
              again.backend_cpu),
             ("COPY into a bare table (ref)", bare, None, None))
    for name, seconds, server_cpu, db_cpu in steps:
        print(f"{name:<34}{data.records:>11,}{seconds:>9.1f}{_rate(data.records, seconds):>11}"
              f"{_cpu(server_cpu):>15}{_cpu(db_cpu):>10}")
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"ratio end-to-end / floor (a COPY into the real partitioned core.contribution, "
          f"rolled back): {ratio:.3f} (target >= {TARGET_RATIO}: {verdict})")
    print(f"for reference: end-to-end / a COPY into a bare table (no index, no constraint): "
          f"{bare / first.seconds:.3f}; the real table / the bare one: {bare / floor:.3f}")
    print(f"second ingest changed nothing: {'yes' if unchanged else 'NO'}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=lambda v: int(v.replace("_", "").replace(",", "")),
                        default=1_000_000, help="records in the file (default: %(default)s)")
    parser.add_argument("--people-db", type=int, default=100_000, dest="people_db",
                        help="which demo database: mhi_bench_home_<people> (default "
                             "%(default)s; loaded once if missing)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway database (its name is printed)")
    parser.add_argument("--port", type=int, default=18740, help="loopback port of the API")
    parser.add_argument("--no-rollups", action="store_true", dest="no_rollups",
                        help="skip the POST without the rollups' triggers (a second copy)")
    parser.add_argument("--fold-deltas", type=int, default=200_000, dest="fold_deltas",
                        help="synthetic deltas the fold's throughput is measured on "
                             "(default %(default)s)")
    return parser.parse_args()


def unchanged_by(post: Post) -> bool:
    """Whether a POST left the watched tables as they were."""
    return (post.answer["accepted"] == 0 and post.answer["rejected"] == 0
            and post.answer["duplicates"] == post.answer["records"]
            and all(post.before.counts[t] == post.after.counts[t] for t in UNCHANGED)
            and post.before.statuses == post.after.statuses)


def main() -> int:
    """Copy, prepare, write the file, ingest, the floor, ingest again, the summary."""
    args = parse_args()
    settings = AppSettings()
    base = resolve_database_url(settings)
    template_url = database_url(base, args.people_db)
    template = str(make_url(template_url).database)
    print(f"== bulk ingestion: {args.records:,} records, demo database {template} ==",
          flush=True)
    if not ensure_demo(template_url, args.people_db, settings.data_dir):
        return 1
    target = f"mhi_bench_ingest_{uuid.uuid4().hex[:8]}"
    url = _url(base, target)
    copied = asyncio.run(copy_template(base, template, target))
    print(f"  copied {template} into {target} in {copied:.1f} s", flush=True)
    try:
        return run(args, url, target, (base, template))
    finally:
        if args.keep:
            print(f"kept the database {target}")
        else:
            asyncio.run(drop_database(url))


def run(args: argparse.Namespace, url: str, target: str, origin: tuple[str, str]) -> int:
    """Everything that happens in the throwaway database (and, without the rollups'
    triggers, in a second copy of ``origin``: the server's URL and the demo database)."""
    migrated, refreshed, what = asyncio.run(prepare(url))
    print(f"  migrated to head in {migrated:.1f} s; statuses refreshed as of "
          f"{TODAY.isoformat()} in {refreshed:.1f} s ({what}), then ANALYZE (not measured)",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="mhi-bench-ingest-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        people, payers = asyncio.run(read_people(url))
        data = write_file(folder, args.records, people, payers)
        del people
        print(f"  file: {data.records:,} records for {data.people:,} people "
              f"({data.employees:,} employed: 121 + 122; the others self-paying: 122), "
              f"{data.size / 1024**2:,.1f} MiB, written in {time.perf_counter() - started:.1f} s"
              " (not measured)", flush=True)
        conn_facts = asyncio.run(_facts(url))
        print(f"  database {target}: {conn_facts}", flush=True)
        client_id, token = asyncio.run(client_token(url))
        # The floor first, from the state the first POST starts from (it is rolled back).
        floors = [asyncio.run(copy_into_contributions(url, data)) for _ in range(FLOOR_RUNS)]
        floor = min(floors)
        print(f"COPY floor: the same rows through core.contribution (partitions, key table, "
              f"triggers), rolled back, best of {', '.join(f'{t:.2f}' for t in floors)} s: "
              f"{floor:,.2f} s, {_rate(data.records, floor)} records/s", flush=True)
        table_bare = asyncio.run(copy_into_contributions(url, data, triggers=False))
        print(f"(reference) the same without the rollups' trigger: {table_bare:,.1f} s, "
              f"{_rate(data.records, table_bare)} records/s", flush=True)
        bares = asyncio.run(copy_bare(url, data.rows))
        bare = min(bares)
        print(f"(reference) the same rows into a bare table (no index or constraint), best of "
              f"{', '.join(f'{t:.2f}' for t in bares)} s: {bare:,.2f} s, "
              f"{_rate(data.records, bare)} records/s", flush=True)
        os.environ["BENCH_TODAY"] = TODAY.isoformat()
        with server("bench.servers:graphql_app", url, args.port, folder / "api.log") as pid:
            print(f"  API up (pid {pid}); integrator client {client_id}", flush=True)
            with Folder(url) as folding:
                first = post_file(args.port, token, data.path, pid, url)
                lag = folding.lag_after(time.perf_counter())
            print_post("bulk endpoint, first time", first, data.records)
            print(f"  rollups: {lag[1]:,} deltas folded {lag[0]:.2f} s after the answer "
                  f"(longest fold {lag[2]:.2f} s; the folder runs every 2 s)", flush=True)
            ratio = floor / first.seconds
            print(f"ratio end-to-end / floor {ratio:.3f} "
                  f"({'meets' if ratio >= TARGET_RATIO else 'misses'} the target "
                  f"{TARGET_RATIO})", flush=True)
            again = post_file(args.port, token, data.path, pid, url)
            print_post("bulk endpoint, same file again", again, data.records)
        deltas, fold_seconds = asyncio.run(fold_throughput(url, args.fold_deltas))
        print(f"fold: {deltas:,} synthetic deltas in {fold_seconds:.2f} s, "
              f"{_rate(deltas, fold_seconds)} deltas/s", flush=True)
        plain = None if args.no_rollups else without_rollups(args, origin, data, folder_of=tmp)
    unchanged = unchanged_by(again)
    print_summary(data, conn_facts, first, floor, again, bare, unchanged)
    print_rollups(data.records, first, plain, (floor, table_bare), lag, (deltas, fold_seconds))
    problems = []
    if first.answer["rejected"] or first.answer["accepted"] != data.records:
        problems.append(f"the first ingest accepted {first.answer['accepted']:,} of "
                        f"{data.records:,} valid records")
    if not unchanged:
        problems.append("the second ingest of the same file changed something")
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def without_rollups(args: argparse.Namespace, origin: tuple[str, str], data: Dataset,
                    folder_of: str) -> Post:
    """The same file POSTed into a second fresh copy of the demo whose rollup triggers are
    disabled (prepared the same way; dropped after)."""
    base, template = origin
    target = f"mhi_bench_ingest_{uuid.uuid4().hex[:8]}"
    url = _url(base, target)
    asyncio.run(copy_template(base, template, target))
    try:
        asyncio.run(prepare(url))
        disabled = asyncio.run(set_rollup_triggers(url, enabled=False))
        print(f"  without rollups: a second copy {target}, {len(disabled)} triggers disabled",
              flush=True)
        _, token = asyncio.run(client_token(url))
        with server("bench.servers:graphql_app", url, args.port,
                    Path(folder_of) / "api-plain.log") as pid:
            plain = post_file(args.port, token, data.path, pid, url)
        print_post("bulk endpoint, first time, without the rollups' triggers", plain,
                   data.records)
        return plain
    finally:
        asyncio.run(drop_database(url))


def print_rollups(records: int, first: Post, plain: Post | None, copies: tuple[float, float],
                  lag: tuple[float, int, float], fold: tuple[int, float]) -> None:
    """What keeping the public rollups current costs."""
    print(f"{'rollups':<44}{'seconds':>9}{'records/s':>11}")
    rows = [("bulk endpoint with the rollups' triggers", first.seconds)]
    if plain is not None:
        rows.append(("bulk endpoint without them (fresh copy)", plain.seconds))
    rows += [("COPY into core.contribution with trigger", copies[0]),
             ("COPY into core.contribution without it", copies[1])]
    for name, seconds in rows:
        print(f"{name:<44}{seconds:>9.1f}{_rate(records, seconds):>11}")
    if plain is not None:
        print(f"end-to-end throughput with / without the triggers: "
              f"{plain.seconds / first.seconds:.3f}")
    print(f"COPY with / without the trigger: {copies[1] / copies[0]:.3f}")
    print(f"fold lag after the answer: {lag[0]:.2f} s ({lag[1]:,} deltas, longest fold "
          f"{lag[2]:.2f} s; stated bound 60 s); fold throughput {_rate(*fold)} deltas/s "
          f"({fold[0]:,} in {fold[1]:.2f} s)")


async def _facts(url: str) -> str:
    conn = await _connect(url)
    try:
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        people = await conn.fetchval("SELECT count(*) FROM core.person")
        contributions = await conn.fetchval("SELECT count(*) FROM core.contribution")
    finally:
        await conn.close()
    return f"{size}, {people:,} people, {contributions:,} contributions"


if __name__ == "__main__":
    sys.exit(main())
