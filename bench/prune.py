"""Benchmark: retention prunes 10,000,000 finished push deliveries while HomeScreen is served.

    .venv/bin/python bench/prune.py                    # 10,000,000 rows, 10,000 people
    .venv/bin/python bench/prune.py --rows 1000000     # a quicker look

It uses a database of its own, ``mhi_bench_prune_<people>``, made like HomeScreen's
(``bench/home_screen.py``'s ``ensure_demo``: the demo country as of 2026-11-23, loaded once),
and fills ``notify.delivery`` with ``--rows`` sent pushes that finished 40 to 41 days ago, one
``INSERT … SELECT generate_series`` per million rows, on one device per person.  Then:

1. HomeScreen's real API under uvicorn (``bench.servers:graphql_app``, one worker) is warmed
   up and measured with wrk (``bench/home_screen.lua``: 1 thread, 32 connections, 1,000
   people) for ``--duration`` seconds: *before*;
2. wrk starts again with no end, the push-delivery job of ``backend.ops.retention`` runs until
   nothing is left (``RETENTION_*`` settings: batch size, pause), and wrk is stopped (SIGINT:
   it prints its figures) when the prune is done: *during*.

It prints the rows pruned, the time, rows/s, HomeScreen's p50 and p99 before and during, and
the plan of one batch (that it walks ``ix_delivery_finished``).  2 cores shared by the prune,
PostgreSQL, the API and wrk: the "during" figures include that competition, as production's
would on a busy primary.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backend.db.engine import create_engine, resolve_database_url  # noqa: E402
from backend.ops import retention  # noqa: E402
from backend.settings import AppSettings, RetentionSettings  # noqa: E402
from bench.home_screen import (  # noqa: E402
    CHECKED_PEOPLE,
    LUA,
    ensure_demo,
    ensure_wrk,
    fetch_bodies,
    sample_people,
    server,
    write_inputs,
)
from bench.raw_floor import asyncpg_dsn  # noqa: E402

CHUNK = 1_000_000
DEVICES = """
INSERT INTO notify.device (person_id, token, platform, app_version, language, time_zone)
SELECT id, 'bench-prune:' || id, 'android', '1.4.0', 'kk', 'Asia/Almaty' FROM core.person
WHERE NOT EXISTS (SELECT 1 FROM notify.device d WHERE d.token = 'bench-prune:' || person.id)
"""
FILL = """
WITH dev AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(person_id ORDER BY id) AS people
             FROM notify.device WHERE token LIKE 'bench-prune:%')
INSERT INTO notify.delivery (event_id, device_id, person_id, kind, category, state, due_at,
                             attempts, message_name, created_at, finished_at)
SELECT $1 + g, dev.ids[1 + g % cardinality(dev.ids)], dev.people[1 + g % cardinality(dev.ids)],
       'contribution.received', 'payments', 'sent', t, 1, 'projects/bench/messages/' || g, t, t
FROM dev, generate_series(1, $2) AS g,
     LATERAL (SELECT now() - interval '41 days' + g * interval '8.64 milliseconds' AS t) AS at
"""


@dataclass(frozen=True)
class Latency:
    """One wrk run's figures."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int


def database_url(base: str, people: int) -> str:
    """``mhi_bench_prune_<people>`` on the server of ``base``."""
    return make_url(base).set(database=f"mhi_bench_prune_{people}").render_as_string(
        hide_password=False)


async def fill(url: str, rows: int) -> float:
    """Sent pushes, 40 to 41 days old, until ``rows`` are there to prune; seconds taken."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    started = time.monotonic()
    try:
        await conn.execute(DEVICES)
        have = await conn.fetchval(
            "SELECT count(*) FROM notify.delivery WHERE state = 'sent'"
            " AND finished_at < now() - interval '30 days'")
        while have < rows:
            step = min(CHUNK, rows - have)
            base = await conn.fetchval("SELECT coalesce(max(event_id), 0) FROM notify.delivery")
            await conn.execute(FILL, base, step)
            have += step
            print(f"  {have:>12,} rows ({time.monotonic() - started:.0f} s)", flush=True)
        await conn.execute("VACUUM (ANALYZE) notify.delivery")
    finally:
        await conn.close()
    return time.monotonic() - started


async def plan_of_a_batch(url: str) -> list[str]:
    """EXPLAIN of one batch of the push-delivery job, its scan lines."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    job = retention.JOBS[0]
    sql = retention.batch_sql(job).replace(":cutoff", "$1").replace(":rows", "$2") \
        .replace(":name", "$3")
    try:
        rows = await conn.fetch("EXPLAIN " + sql, datetime.now(UTC) - job.keep(
            RetentionSettings()), 5000, job.name)
    finally:
        await conn.close()
    return [row[0].strip() for row in rows if "Scan" in row[0]]


def wrk_command(url: str, inputs: tuple[Path, Path], seconds: int, connections: int
                ) -> list[str]:
    """wrk as the HomeScreen benchmark runs it (1 thread, 32 connections by default)."""
    return ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout=10s", "--latency", "-s",
            str(LUA), url, "--", str(inputs[0]), str(inputs[1])]


def parse(stdout: str) -> Latency:
    """The ``BENCH`` line of ``bench/home_screen.lua``."""
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"wrk printed no figures:\n{stdout}")
    n = {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:])}
    errors = sum(n[k] for k in ("non200", "body_errors", "connect", "read", "write", "timeout"))
    return Latency(n["requests"], n["duration_us"] / 1e6, n["p50_us"] / 1000,
                   n["p99_us"] / 1000, errors)


def measure_during(url: str, target: str, inputs: tuple[Path, Path], connections: int,
                   settings: RetentionSettings) -> tuple[Latency, retention.Pruned]:
    """wrk with no end while the prune runs in a thread; wrk stopped when it is done."""
    result: list[retention.Pruned] = []

    def prune() -> None:
        async def go() -> None:
            engine = create_engine(url, pool_size=1, max_overflow=0)
            try:
                report = await retention.run(engine, settings, max_batches=0,
                                             jobs=[retention.JOBS[0]])
                result.extend(report.jobs)
            finally:
                await engine.dispose()
        asyncio.run(go())

    wrk = subprocess.Popen(wrk_command(target, inputs, 36_000, connections), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # wrk connected and running before the prune starts
    worker = threading.Thread(target=prune)
    worker.start()
    worker.join()
    wrk.send_signal(signal.SIGINT)
    stdout, _ = wrk.communicate(timeout=60)
    if not result:
        sys.exit("the prune failed")
    return parse(stdout), result[0]


def main() -> None:
    """Fill, measure before, prune while measuring, print."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds measured before")
    parser.add_argument("--port", type=int, default=18750)
    parser.add_argument("--connections", type=int, default=32,
                        help="wrk connections (32, as bench/home_screen.py: the server is "
                             "saturated and p50 is mostly queueing; fewer show the latency "
                             "of a request that does not wait behind others)")
    args = parser.parse_args()
    generator = ensure_wrk()
    app = AppSettings()
    url = database_url(resolve_database_url(app), args.people)
    print(f"== {make_url(url).database}: {args.rows:,} sent pushes to prune ==", flush=True)
    if not ensure_demo(url, args.people, app.data_dir):
        sys.exit("no demo database")
    seconds = asyncio.run(fill(url, args.rows))
    print(f"  filled in {seconds:.0f} s", flush=True)
    for line in asyncio.run(plan_of_a_batch(url)):
        print(f"  plan: {line}")
    settings = RetentionSettings()
    people = asyncio.run(sample_people(url, 1000))
    target = f"http://127.0.0.1:{args.port}/graphql"
    with tempfile.TemporaryDirectory(prefix="mhi-bench-prune-") as tmp:
        inputs = write_inputs(Path(tmp), url, people, 36_000)
        with server("bench.servers:graphql_app", url, args.port, Path(tmp) / "api.log"):
            fetch_bodies(args.port, inputs[0].read_text().split()[:CHECKED_PEOPLE],
                         inputs[1].read_bytes())
            c = args.connections
            subprocess.run(wrk_command(target, inputs, 5, c), capture_output=True, check=False)
            before = parse(subprocess.run(wrk_command(target, inputs, args.duration, c),
                                          capture_output=True, text=True,
                                          check=False).stdout)
            during, pruned = measure_during(url, target, inputs, c, settings)
    print(f"\nretention's push-delivery job, batches of {settings.batch_rows:,} rows, "
          f"{settings.pause_seconds * 1000:.0f} ms rest between batches; HomeScreen by "
          f"{generator} (1 thread, {args.connections} connections), uvicorn 1 worker, 2 cores "
          "shared")
    print(f"rows pruned  {pruned.rows:>12,}  in {pruned.batches:,} batches")
    print(f"time taken   {pruned.seconds:>12.1f} s")
    print(f"rows/s       {pruned.rows / pruned.seconds:>12,.0f}")
    print(f"{'HomeScreen':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'seconds':>9}")
    for name, figures in (("before", before), ("during", during)):
        print(f"{name:<12}{figures.requests / figures.seconds:>9,.0f}{figures.p50_ms:>9.2f}"
              f"{figures.p99_ms:>9.2f}{figures.errors:>8}{figures.seconds:>9.1f}")


if __name__ == "__main__":
    main()
