"""Benchmark: the public figures over HTTP against a raw SQL floor, at several data sizes.

    .venv/bin/python bench/public_stats.py                          # 10,000, 100,000, 1,000,000
    .venv/bin/python bench/public_stats.py --sizes 10000,1000000    # only these
    .venv/bin/python bench/public_stats.py --prepare-only           # databases only, no load

Issue 15, part 6 ("fast at any size"): every public read is measured anonymous over HTTP on
the demo databases ``mhi_bench_home_<people>`` of ``bench/home_screen.py`` (its helpers make
them: a missing one is loaded with the demo loader, an existing one is migrated to head).

* **The rollups of an existing database**: a database older than the rollups' migration
  (0014) is migrated to the one before first, then to 0014, which computes every rollup from
  the rows stored (the only full scan): that step is timed once and printed.  The bench then
  takes a provisional snapshot of the bench day's month (``rollups.fold_and_snapshot``, as
  ``mhi dev`` does), computing the stored statuses first when the database has none, so
  ``insured`` has figures.
* **What is measured**, the same three requests on every server:
  ``publicStats``: POST /graphql with ``mobile_contract/operations/PublicStats.graphql`` (the page's
  figures in one request, default variables: the 12 months before this one);
  ``csv``: GET /open-data/<last ended month>/money-out-by-provider.csv (the largest file, one
  row per provider); ``page``: GET /transparency?lang=en (no cookie, no Accept-Language).
* **Three servers**, each under uvicorn with one worker exactly as ``bench/home_screen.py``
  starts its own (``home_screen.server``):
  ``api cold``: the real app (``create_app``) in which every request gets its own empty
  ``PublicFigures`` (the figures' minute cache; ``bench/public_floor.py``): each request reads
  the editions and its months' released cells again (``backend.transparency.release``: the
  months were protected once, when released), as the first request after the minute has
  passed does, and never finds what a concurrent request just read — the work per request,
  on which the target is judged; ``api warm``: the real app as deployed (a month read is kept
  a minute, so most requests read no released cell at all);
  ``floor``: ``bench/public_floor.py``, a minimal Starlette app issuing the same SELECTs on
  asyncpg that the figures module issues for that request, summing the rows into the same
  cells and serializing them (JSON of the same shape, the same CSV columns, a plain HTML page
  of the same tables), with no privacy rule, no GraphQL and no chart.  HTTP caching plays no
  part in any of them: wrk never sends ``If-None-Match``, so every answer is a full 200 whose
  ETag is computed again.  In both ``api`` servers two guards are relaxed, not the work: the
  anonymous pace (10,000 cost units a second per address, about 8 ``publicStats`` a second
  from wrk's one address) is lifted, and the query time limit is 60 s, not 10 s (32 queued
  requests share one worker).
* **Load**: wrk (Debian's package) with ``bench/public_stats.lua``, as home_screen's: 1
  thread, 32 connections (``--connections``), a warm-up, then the measured seconds (10 by
  default, 3 of warm-up: three servers by three requests by three sizes); ``api cold`` with 4
  (``--cold-connections``): a cold request takes a few hundred milliseconds of CPU in the
  one worker, so 32 of them queue for seconds and a 10 s run completes a handful, while 4
  already keep the worker busy (its throughput is the same; its latency is then a few
  requests' work, not 32).  The table says how many requests each run completed.  Any error (a
  non-200, a body with ``"errors":``, a timeout) is printed.
* **Printed**: per size and request, req/s, p50, p99, the uvicorn process's CPU per request,
  the answer's size, and ratio = api req/s / floor req/s (cold and warm); then p99 and CPU
  per request from the smallest size to the largest (flat: within 20 %), and the load
  average before and after
  each size (other work on this machine skews every figure).  The target (issue 15): ratio at
  least 0.5 and p99 flat within 20 %, **judged on ``api cold``** (the work per request; warm,
  most of the work was done by an earlier request).

The cost of keeping the rollups current is printed by ``bench/ingest.py``.  Uses
``DATABASE_URL`` when set (its server), otherwise the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from backend.db import migrate  # noqa: E402
from backend.db.engine import (  # noqa: E402
    create_engine,
    create_session_factory,
    resolve_database_url,
)
from backend.months import add_months, month_start  # noqa: E402
from backend.rates.repository import load_rate_book  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from backend.status.schedule import refresh_due  # noqa: E402
from backend.transparency.release import ReleaseReport, release  # noqa: E402
from backend.transparency.rollups import fold_all, fold_and_snapshot  # noqa: E402
from bench.home_screen import (  # noqa: E402
    DEFAULT_SIZES,
    _state,
    cpu_seconds,
    database_url,
    ensure_demo,
    ensure_wrk,
    facts_of,
    server,
)
from bench.raw_floor import asyncpg_dsn  # noqa: E402
from bench.report import Facts, Load, Measure  # noqa: E402
from bench.servers import DEFAULT_TODAY  # noqa: E402

ROLLUPS_REVISION = "0014"
"""The migration that creates the rollups and computes them from the rows already stored."""
TODAY = date.fromisoformat(os.environ.get("BENCH_TODAY", DEFAULT_TODAY))
LUA = ROOT / "bench" / "public_stats.lua"
OPERATION = ROOT / "mobile_contract" / "operations" / "PublicStats.graphql"
TARGET_RATIO = 0.5
TARGET_FLAT = 0.20
SERVERS = (("api cold", "bench.public_floor:api_cold_app"),
           ("api warm", "bench.public_floor:api_warm_app"),
           ("floor", "bench.public_floor:floor_app"))


# --- the databases -------------------------------------------------------------------------


async def _has_rollups(url: str) -> bool:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return bool(await conn.fetchval("SELECT to_regclass('stats.money_in') IS NOT NULL"))
    finally:
        await conn.close()


async def _upgrade(url: str, target: str) -> float:
    """Migrate ``url`` to ``target``; the seconds it took."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        started = time.perf_counter()
        await migrate.upgrade(engine, target)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def _analyze_stats(url: str) -> dict[str, int]:
    """ANALYZE the rollups (what autovacuum does soon after) and count their rows."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        counts = {}
        for table in ("money_in", "money_out", "cash_day", "provider_flags", "disputes",
                      "insured_now"):
            await conn.execute(f"ANALYZE stats.{table}")
            counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM stats.{table}"))
        return counts
    finally:
        await conn.close()


def compute_rollups(url: str) -> None:
    """An existing database without the rollups: migrate it to the revision before them, then
    time the rollups' migration, which computes them from every row stored."""
    before = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(
        ROLLUPS_REVISION).down_revision
    assert isinstance(before, str)
    seconds = asyncio.run(_upgrade(url, before))
    print(f"  migrated to {before} (the revision before the rollups) in {seconds:.1f} s",
          flush=True)
    print(f"  migration {ROLLUPS_REVISION}: computing the rollups from the rows already "
          "stored (the only full scan)…", flush=True)
    seconds = asyncio.run(_upgrade(url, ROLLUPS_REVISION))
    counts = asyncio.run(_analyze_stats(url))
    print(f"  ROLLUPS COMPUTED BY MIGRATION {ROLLUPS_REVISION}: {seconds:.1f} s "
          f"({', '.join(f'{table} {rows:,}' for table, rows in counts.items())} rows)",
          flush=True)


async def _insured_now(url: str) -> tuple[int, int]:
    """(people counted in ``stats.insured_now``, cells of ``stats.insured`` for TODAY's month)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        people = await conn.fetchval("SELECT coalesce(sum(people), 0) FROM stats.insured_now")
        cells = await conn.fetchval("SELECT count(*) FROM stats.insured WHERE month = $1",
                                    month_start(TODAY))
        return int(people), int(cells)
    finally:
        await conn.close()


async def _statuses_and_snapshot(url: str, compute: bool) -> tuple[float, str]:
    """Store every status as of TODAY when ``compute``, then fold and take TODAY's month's
    provisional snapshot (what ``mhi dev`` does); (seconds, what was done)."""
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        started = time.perf_counter()
        what = ""
        if compute:
            async with create_session_factory(engine)() as session:
                rates = await load_rate_book(session)
            done = await refresh_due(engine, today=TODAY, rates=rates)
            what = ("another process was computing statuses; " if done is None else
                    f"{done.computed:,} statuses computed and stored; ")
        await fold_and_snapshot(engine, [month_start(TODAY)], final=False)
        return time.perf_counter() - started, what
    finally:
        await engine.dispose()


async def _rollup_rows(url: str) -> str:
    """What the public reads read: the rollups' rows per month of money, and providers."""
    last = add_months(month_start(TODAY), -1)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        money_in = await conn.fetchval("SELECT count(*) FROM stats.money_in WHERE month = $1",
                                       last)
        money_out = await conn.fetchval("SELECT count(*) FROM stats.money_out WHERE month = $1",
                                        last)
        providers = await conn.fetchval("SELECT count(*) FROM core.provider")
    finally:
        await conn.close()
    return (f"rollup rows of {last:%Y-%m}: money_in {money_in:,}, money_out {money_out:,}; "
            f"{providers:,} providers")


def prepare(url: str, people: int, data_dir: Path) -> bool:
    """The demo database of ``people``, at head, with its rollups and an insured snapshot of
    TODAY's month; False (with a note) when it cannot be had."""
    loaded, _ = asyncio.run(_state(url))
    if loaded and not asyncio.run(_has_rollups(url)):
        compute_rollups(url)
    elif loaded:
        print(f"  the rollups exist already (migration {ROLLUPS_REVISION} ran earlier; its "
              "time is printed by the run that migrated the database)")
    if not ensure_demo(url, people, data_dir):  # loads a missing demo; migrates to head
        return False
    counted, cells = asyncio.run(_insured_now(url))
    if not cells:
        seconds, what = asyncio.run(_statuses_and_snapshot(url, compute=counted == 0))
        print(f"  {what}provisional snapshot of {TODAY:%Y-%m}'s insured people taken in "
              f"{seconds:.1f} s", flush=True)
    print(f"  {asyncio.run(_release(url))} (what the worker does when months change)",
          flush=True)
    return True


async def _release(url: str) -> ReleaseReport:
    """Release every due month for TODAY (all of them, the first time), as the worker does."""
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        await fold_all(engine)
        return await release(engine, TODAY)
    finally:
        await engine.dispose()


# --- the requests and the load ------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One request of the benchmark, the same on every server."""

    name: str
    method: str
    path: str


def asks() -> tuple[Ask, ...]:
    """publicStats, the last ended month's provider file, the page."""
    last = add_months(month_start(TODAY), -1)
    return (Ask("publicStats", "POST", "/graphql"),
            Ask("csv", "GET", f"/open-data/{last:%Y-%m}/money-out-by-provider.csv"),
            Ask("page", "GET", "/transparency?lang=en"))


def fetch(port: int, ask: Ask, body: Path) -> bytes:
    """One anonymous request, checked: 200 and (GraphQL) no ``errors``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{ask.path}", method=ask.method,
        data=body.read_bytes() if ask.method == "POST" else None,
        headers={"Content-Type": "application/json"} if ask.method == "POST" else {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            content: bytes = response.read()
    except urllib.error.HTTPError as failed:
        sys.exit(f"{ask.name} answered {failed.code}: {failed.read()[:2000]!r}")
    if ask.method == "POST" and "errors" in json.loads(content):
        sys.exit(f"{ask.name} answered with errors: {content[:2000]!r}")
    return content


def run_wrk(port: int, ask: Ask, load: Load, seconds: int, body: Path) -> dict[str, int]:
    """One wrk run; the numbers of the ``BENCH`` line that the Lua script prints."""
    command = ["wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s",
               f"--timeout={load.timeout}s", "--latency", "-s", str(LUA),
               f"http://127.0.0.1:{port}{ask.path}", "--", ask.method, str(body)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return {key: int(value) for key, value in (pair.split("=") for pair in line.split()[1:])}


@dataclass(frozen=True)
class Run:
    """One request measured on one server."""

    ask: str
    server: str
    connections: int
    measure: Measure
    size: int
    requests: int


def measure_server(name: str, factory: str, url: str, load: Load, port: int,
                   folder: Path, body: Path) -> tuple[list[Run], dict[str, bytes]]:
    """Start one server; for each request: check it, warm up, measure."""
    runs, answers = [], {}
    log = folder / f"{name.replace(' ', '_')}.log"
    with server(factory, url, port, log) as pid:
        for ask in asks():
            answers[ask.name] = fetch(port, ask, body)
            run_wrk(port, ask, load, load.warmup, body)
            before = cpu_seconds(pid)
            numbers = run_wrk(port, ask, load, load.duration, body)
            after = cpu_seconds(pid)
            errors = {key: numbers[key] for key in
                      ("non200", "body_errors", "connect", "read", "write", "timeout")}
            cpu_ms = None
            if before is not None and after is not None and numbers["requests"]:
                cpu_ms = (after - before) * 1000 / numbers["requests"]
            runs.append(Run(ask.name, name, load.connections, Measure(
                endpoint=name, rps=numbers["requests"] * 1e6 / numbers["duration_us"],
                p50_ms=numbers["p50_us"] / 1000, p99_ms=numbers["p99_us"] / 1000,
                errors=sum(errors.values()),
                error_detail=", ".join(f"{k} {v}" for k, v in errors.items() if v),
                cpu_ms=cpu_ms), len(answers[ask.name]), numbers["requests"]))
    return runs, answers


# --- the floor's figures against the API's ---------------------------------------------------


def _published(data: Mapping[str, Any]) -> dict[str, object]:
    """Every figure of a PublicStats answer by a path naming it (withheld ones as None)."""
    stats = data["publicStats"]
    found: dict[str, object] = {}
    for field in ("received", "paidOut", "balance"):
        found[f"balance.{field}"] = stats["balance"][field]["amount"]
    for measure in ("moneyIn", "moneyOut"):
        money = stats[measure]
        rows = [("total", money["total"])] + [(row["key"], row) for table in
                                              ("byMonth", "byRegion") for row in money[table]]
        for key, row in rows:
            found[f"{measure}.{key}.count"] = row["count"]
            found[f"{measure}.{key}.amount"] = (row["amount"] or {}).get("amount")
    insured = stats["insured"]
    for key, row in [("total", insured["total"]),
                     *((row["key"], row) for row in insured["byRegion"])]:
        for field in ("insured", "conditionallyInsured", "notInsured", "total"):
            found[f"insured.{key}.{field}"] = row[field]
    for edge in stats["providers"]["edges"]:
        node = edge["node"]
        key = node["provider"]["id"]
        found[f"provider.{key}.received"] = (node["received"] or {}).get("amount")
        for field in ("services", "anomalyRate", "disputeRate"):
            found[f"provider.{key}.{field}"] = node[field]
    return found


def compare(api: bytes, floor: bytes) -> str:
    """How many of the API's published figures the floor has at the same value."""
    shown, raw = _published(json.loads(api)["data"]), _published(json.loads(floor)["data"])
    withheld = sum(value is None for value in shown.values())
    wrong = [key for key, value in shown.items() if value is not None and raw.get(key) != value]
    agree = len(shown) - withheld - len(wrong)
    note = "" if not wrong else f"  <-- DIFFERENT: {', '.join(wrong[:5])}"
    return (f"the floor has every figure publicStats publishes at the same value: {agree} "
            f"agree, {len(wrong)} differ, {withheld} withheld by the API{note}")


# --- one size ------------------------------------------------------------------------------


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def bench_size(url: str, args: argparse.Namespace) -> list[Run]:
    """The three servers on one database."""
    runs: list[Run] = []
    answers: dict[str, dict[str, bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="mhi-bench-public-") as tmp:
        body = Path(tmp) / "body.json"
        body.write_text(json.dumps({"query": OPERATION.read_text(encoding="utf-8"),
                                    "operationName": "PublicStats"}))
        for index, (name, factory) in enumerate(SERVERS):
            connections = args.cold_connections if name == "api cold" else args.connections
            load = Load(args.threads, connections, args.warmup, args.duration, 0,
                        args.port + index, args.timeout)
            found, answers[name] = measure_server(name, factory, url, load, args.port + index,
                                                  Path(tmp), body)
            runs.extend(found)
    agreement = compare(answers["api warm"]["publicStats"], answers["floor"]["publicStats"])
    print(f"  checked before load: {agreement}")
    for ask in ("csv", "page"):  # publicStats's answers differ by their requestId
        same = answers["api cold"][ask] == answers["api warm"][ask]
        print(f"  {ask}: api cold and api warm answered "
              f"{'the same bytes' if same else 'DIFFERENT bytes (two processes)'}")
    return runs


def _rps(runs: Sequence[Run], ask: str, name: str) -> Run:
    return next(run for run in runs if run.ask == ask and run.server == name)


def print_size(people: int, runs: Sequence[Run], generator: str) -> None:
    """The table of one size."""
    print(f"Public figures over HTTP, anonymous; load generator: {generator}, server: uvicorn 1 "
          "worker; cpu = the uvicorn process's CPU per request")
    print(f"{'people':<11}{'request':<13}{'server':<10}{'conns':>6}{'requests':>9}{'req/s':>9}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'cpu ms/req':>11}{'bytes':>9}")
    for run in runs:
        m = run.measure
        cpu = "-" if m.cpu_ms is None else f"{m.cpu_ms:.2f}"
        print(f"{people:<11,}{run.ask:<13}{run.server:<10}{run.connections:>6}"
              f"{run.requests:>9,}{m.rps:>9,.1f}"
              f"{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}{m.errors:>7}{cpu:>11}{run.size:>9,}")
        if m.errors:
            print(f"{'':11}  errors: {m.error_detail}")
    for ask in asks():
        floor = _rps(runs, ask.name, "floor").measure.rps
        print(f"{'':11}{ask.name}: ratio api/floor cold "
              f"{_rps(runs, ask.name, 'api cold').measure.rps / floor:.3f}, warm "
              f"{_rps(runs, ask.name, 'api warm').measure.rps / floor:.3f}")
    print()


def _cpu(measure: Measure) -> str:
    return "-" if measure.cpu_ms is None else f"{measure.cpu_ms:.1f}"


def print_summary(rows: Sequence[tuple[Facts, str, list[Run]]]) -> None:
    """Every size side by side, the flatness of p99 and the verdict (judged on api cold)."""
    print("Summary (ratio = api req/s / floor req/s; cpu = ms of the uvicorn process per "
          "request; load = load average before/after; the target is judged on api cold)")
    print(f"{'request':<12}{'people':>10}{'cold r/s':>9}{'warm r/s':>9}{'floor r/s':>10}"
          f"{'cold':>7}{'warm':>7}{'cold p99':>9}{'warm p99':>9}{'floor p99':>10}"
          f"{'cold cpu':>9}{'warm cpu':>9}{'floor cpu':>10}  load")
    for ask in asks():
        for facts, load, runs in rows:
            cold, warm, floor = (_rps(runs, ask.name, name).measure for name, _ in SERVERS)
            print(f"{ask.name:<12}{facts.people:>10,}{cold.rps:>9,.1f}{warm.rps:>9,.1f}"
                  f"{floor.rps:>10,.1f}{cold.rps / floor.rps:>7.3f}{warm.rps / floor.rps:>7.3f}"
                  f"{cold.p99_ms:>9.0f}{warm.p99_ms:>9.0f}{floor.p99_ms:>10.0f}"
                  f"{_cpu(cold):>9}{_cpu(warm):>9}{_cpu(floor):>10}  {load}")
    if len(rows) < 2:
        return
    small, large = rows[0], rows[-1]
    print(f"From {small[0].people:,} to {large[0].people:,} people, p99 (flat: within "
          f"{TARGET_FLAT:.0%}) and CPU per request (what p99 follows once the queue is gone):")
    for ask in asks():
        changes = []
        for name, _ in SERVERS:
            first = _rps(small[2], ask.name, name).measure
            last = _rps(large[2], ask.name, name).measure
            cpu = ("" if first.cpu_ms is None or last.cpu_ms is None
                   else f", cpu {last.cpu_ms / first.cpu_ms - 1:+.0%}")
            changes.append(f"{name} p99 {last.p99_ms / first.p99_ms - 1:+.0%}{cpu}")
        print(f"  {ask.name:<12} " + "; ".join(changes))
    print(f"Target (api cold): ratio >= {TARGET_RATIO} at every size, p99 within "
          f"{TARGET_FLAT:.0%} from the smallest size to the largest")
    for ask in asks():
        ratios = [_rps(runs, ask.name, "api cold").measure.rps
                  / _rps(runs, ask.name, "floor").measure.rps for _, _, runs in rows]
        change = (_rps(large[2], ask.name, "api cold").measure.p99_ms
                  / _rps(small[2], ask.name, "api cold").measure.p99_ms - 1)
        print(f"  {ask.name:<12} ratio {min(ratios):.3f}-{max(ratios):.3f}: "
              f"{'meets' if min(ratios) >= TARGET_RATIO else 'MISSES'}; p99 "
              f"{change:+.0%}: {'meets' if abs(change) <= TARGET_FLAT else 'MISSES'}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="people per demo database, comma-separated (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=32,
                        help="wrk connections for api warm and the floor (default 32)")
    parser.add_argument("--cold-connections", type=int, default=4, dest="cold_connections",
                        help="wrk connections for api cold (default 4)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per run")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per run")
    parser.add_argument("--port", type=int, default=18770, help="first of three loopback ports")
    parser.add_argument("--timeout", type=int, default=30,
                        help="wrk's per-request timeout in seconds (a timed-out request is an "
                             "error and has no latency: keep it well above p99)")
    parser.add_argument("--prepare-only", action="store_true", dest="prepare_only",
                        help="make sure the databases exist, with rollups, then stop")
    return parser.parse_args()


def main() -> None:
    """Every size in turn, then the summary."""
    args = parse_args()
    sizes = [int(value.replace("_", "")) for value in args.sizes.split(",") if value.strip()]
    generator = "" if args.prepare_only else ensure_wrk()
    settings = AppSettings()
    base = resolve_database_url(settings)
    rows: list[tuple[Facts, str, list[Run]]] = []
    for people in sizes:
        url = database_url(base, people)
        print(f"== {people:,} people ==", flush=True)
        if not prepare(url, people, settings.data_dir) or args.prepare_only:
            continue
        facts = asyncio.run(facts_of(url))
        print(f"  database {facts.name}: {facts.size}, {facts.people:,} people, "
              f"{facts.contributions:,} contributions; {asyncio.run(_rollup_rows(url))}")
        before = _load_average()
        print(f"  load average before: {before}", flush=True)
        runs = bench_size(url, args)
        after = _load_average()
        print(f"  load average after: {after}")
        print_size(facts.people, runs, generator)
        rows.append((facts, f"{before.split()[0]}/{after.split()[0]}", runs))
    if rows:
        print_summary(rows)


if __name__ == "__main__":
    main()
