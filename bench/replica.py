"""Benchmark: HomeScreen with its reads on the primary against on a streaming replica.

    .venv/bin/python bench/replica.py                 # 10,000 people, 2 rounds
    .venv/bin/python bench/replica.py --rounds 3 --duration 20

It starts its own primary and hot standby from the embedded binaries (``backend.db.standby``:
``initdb``, ``pg_basebackup -R``, streaming replication; both with the same settings), loads
into the primary a copy (``pg_dump`` / ``pg_restore``) of ``bench/home_screen.py``'s demo
database of the same size (``mhi_bench_home_<N>`` on the usual server, loaded there first if
it is missing, exactly as that bench does) and waits until the standby has replayed it.  Then,
in rounds, it serves the real API twice under uvicorn (one worker, as ``bench/home_screen.py``):

* ``primary``: ``DATABASE_REPLICA_URL`` unset: every read on the primary, as today;
* ``replica``: ``DATABASE_REPLICA_URL`` set to the standby: the citizens' reads go there.

Each is checked first (a few people's answers, byte-identical on both after the request id),
then driven by wrk with ``bench/home_screen.lua`` (32 connections, 1,000 people with a token
each).  It prints requests/s, p50, p99, errors, the API's CPU per request, and each cluster's
CPU per request (every process of the cluster, the exited backends too) with the
transactions each cluster committed meanwhile, so that where the reads went is measured, not
assumed.  Everything runs on one machine: the replica moves the database's work to other
processes, not to other cores, so the figure to read is where the CPU went.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import httpx
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from auth.settings import AuthSettings  # noqa: E402
from backend.api.app import create_app  # noqa: E402
from backend.db.engine import resolve_database_url  # noqa: E402
from backend.db.standby import ReplicaPair, replica_pair  # noqa: E402
from backend.ops.backup import conninfo  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from bench.home_screen import (  # noqa: E402
    AS_OF,
    cpu_seconds,
    database_url,
    ensure_demo,
    ensure_wrk,
    facts_of,
    fetch_bodies,
    run_wrk,
    sample_people,
    server,
    write_inputs,
)
from bench.home_screen import _without_request_id as without_request_id  # noqa: E402
from bench.raw_floor import asyncpg_dsn  # noqa: E402
from bench.report import Load  # noqa: E402

DATABASE = "mhi"
CHECKED = 5
BENCH_SETTINGS = {"shared_buffers": "256MB", "max_connections": "200"}


@dataclass(frozen=True)
class Round:
    """One measured run of one server."""

    reads_on: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    api_cpu_ms: float | None
    primary_cpu_ms: float
    standby_cpu_ms: float
    primary_xacts: int
    standby_xacts: int


def cluster_cpu(pgdata: Path) -> float:
    """CPU seconds of a cluster so far: its postmaster (with the children it reaped, so the
    backends that exited count) and its live children."""
    postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    total = _cpu_of(postmaster, reaped=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _cpu_of(pid: int, *, reaped: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


async def _xacts(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        value = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    finally:
        await conn.close()
    return int(value)


def xacts(pair: ReplicaPair) -> tuple[int, int]:
    """Transactions committed so far on the app's database: (primary, standby)."""
    return (asyncio.run(_xacts(pair.url(DATABASE))),
            asyncio.run(_xacts(pair.url(DATABASE, standby=True))))


def copy_database(pair: ReplicaPair, source: str) -> None:
    """The database at ``source`` copied into the primary's ``DATABASE``."""
    dump = pair.root / "demo.dump"
    started = time.monotonic()
    pair.tools.run("pg_dump", "-Fc", "-Z", "0", "-f", str(dump), "-d",
                   asyncpg_dsn(source), timeout=1800)
    pair.sql(f"CREATE DATABASE {DATABASE}")
    pair.tools.run("pg_restore", "--no-owner", "-j", "2", "-d", conninfo(pair.primary_port,
                   DATABASE), str(dump), timeout=1800)
    dump.unlink()
    # Done now, not by autovacuum in the middle of a measured run on a fresh copy.
    pair.sql("VACUUM (ANALYZE)", database=DATABASE)
    pair.sql("CHECKPOINT")
    print(f"  copied {make_url(source).database} into the primary in "
          f"{time.monotonic() - started:.1f} s", flush=True)


@contextmanager
def replica_env(url: str | None) -> Iterator[None]:
    """``DATABASE_REPLICA_URL`` for the server started inside (unset: none)."""
    before = os.environ.pop("DATABASE_REPLICA_URL", None)
    if url is not None:
        os.environ["DATABASE_REPLICA_URL"] = url
    try:
        yield
    finally:
        os.environ.pop("DATABASE_REPLICA_URL", None)
        if before is not None:
            os.environ["DATABASE_REPLICA_URL"] = before


def one_round(pair: ReplicaPair, reads_on: str, load: Load, inputs: tuple[Path, Path],
              folder: Path) -> tuple[Round, list[bytes]]:
    """Serve the API with its reads on ``reads_on``, check it, warm it up, measure it."""
    url = pair.url(DATABASE)
    replica = pair.url(DATABASE, standby=True) if reads_on == "replica" else None
    port = load.port
    target = f"http://127.0.0.1:{port}/graphql"
    tokens = inputs[0].read_text().split()[:CHECKED]
    with replica_env(replica), server("bench.servers:graphql_app", url, port,
                                      folder / f"{reads_on}.log") as pid:
        bodies = fetch_bodies(port, tokens, inputs[1].read_bytes())
        run_wrk(target, load, load.warmup, inputs)
        before = (cpu_seconds(pid), cluster_cpu(pair.primary_data),
                  cluster_cpu(pair.standby_data), xacts(pair))
        numbers = run_wrk(target, load, load.duration, inputs)
        after = (cpu_seconds(pid), cluster_cpu(pair.primary_data),
                 cluster_cpu(pair.standby_data), xacts(pair))
    requests = max(numbers["requests"], 1)
    api = None
    if before[0] is not None and after[0] is not None:
        api = (after[0] - before[0]) * 1000 / requests
    errors = sum(numbers[key] for key in
                 ("non200", "body_errors", "connect", "read", "write", "timeout"))
    return Round(
        reads_on=reads_on, rps=numbers["requests"] * 1e6 / numbers["duration_us"],
        p50_ms=numbers["p50_us"] / 1000, p99_ms=numbers["p99_us"] / 1000, errors=errors,
        api_cpu_ms=api, primary_cpu_ms=(after[1] - before[1]) * 1000 / requests,
        standby_cpu_ms=(after[2] - before[2]) * 1000 / requests,
        primary_xacts=after[3][0] - before[3][0], standby_xacts=after[3][1] - before[3][1],
    ), bodies


MARK_ALL = "mutation { markAllNotificationsRead { marked unreadCount } }"
REASONS = ("replayed", "waited", "own_write", "fresh", "lagging", "down", "failed")


def _routes() -> dict[str, float]:
    return {reason: REGISTRY.get_sample_value("mhi_replica_route_total", {
        "target": "primary" if reason in ("own_write", "lagging", "down", "failed")
        else "replica", "reason": reason}) or 0.0 for reason in REASONS}


def _waits() -> list[tuple[float, float]]:
    """The wait histogram's cumulative buckets: (upper bound, count)."""
    found = []
    for metric in REGISTRY.collect():
        if metric.name == "mhi_replica_wait_seconds":
            found = [(float(sample.labels["le"]), sample.value) for sample in metric.samples
                     if sample.name.endswith("_bucket")]
    return found


def _quantile(before: list[tuple[float, float]], after: list[tuple[float, float]],
              q: float) -> str:
    deltas = [(bound, late - early) for (bound, late), (_, early)
              in zip(after, before or [(b, 0.0) for b, _ in after], strict=True)]
    total = deltas[-1][1] if deltas else 0
    for bound, count in deltas:
        if total and count >= q * total:
            return f"<= {bound * 1000:g} ms" if bound != float("inf") else "> 1 s"
    return "-"


async def _read_your_writes(pair: ReplicaPair, tokens: list[str], body: bytes) -> None:
    settings = AppSettings(environment="development", graphiql=False,
                           database_replica_url=pair.url(DATABASE, standby=True))
    app = create_app(settings, AuthSettings(), database_url=pair.url(DATABASE),
                     today=lambda: date.fromisoformat(AS_OF))
    transport = httpx.ASGITransport(app=app)
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://bench") as client):
        router = app.state.runtime.router
        for _ in range(200):
            if router.state.state == "fresh":
                break
            await asyncio.sleep(0.05)
        routes, waits = _routes(), _waits()
        started = time.perf_counter()
        failures = 0
        for token in tokens:
            signed = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            wrote = await client.post("/graphql", json={"query": MARK_ALL}, headers=signed)
            again = {**signed, "X-Consistency-Token": wrote.headers.get(
                "x-consistency-token", "")}
            read = await client.post("/graphql", content=body, headers=again)
            if wrote.status_code != 200 or read.status_code != 200 or "errors" in read.json() \
                    or "errors" in wrote.json():
                failures += 1
                if failures == 1:
                    print(f"  a failed pair: {wrote.text[:500]} / {read.text[:500]}")
        seconds = time.perf_counter() - started
        after, waited = _routes(), _waits()
    moved = {reason: int(after[reason] - routes[reason]) for reason in REASONS}
    print(f"read-your-writes: {len(tokens)} citizens each marked their inbox read, then opened "
          f"HomeScreen with the token at once ({seconds:.1f} s in all, {failures} failures):")
    print(f"  HomeScreen read from the replica: {moved['replayed'] + moved['waited']} "
          f"({moved['replayed']} already replayed, {moved['waited']} after waiting), from "
          f"the primary: {moved['own_write']} (not replayed within the wait), "
          f"{moved['lagging'] + moved['down'] + moved['failed']} (replica unfit)")
    print(f"  wait for the replica: p50 {_quantile(waits, waited, 0.5)}, "
          f"p99 {_quantile(waits, waited, 0.99)} (histogram buckets)")


def read_your_writes(pair: ReplicaPair, inputs: tuple[Path, Path], count: int) -> None:
    """A mutation then HomeScreen with its token, ``count`` citizens in turn, in process."""
    tokens = inputs[0].read_text().split()[:count]
    asyncio.run(_read_your_writes(pair, tokens, inputs[1].read_bytes()))


def print_rounds(rounds: list[Round], load: Load, generator: str) -> None:
    """The table: one line per measured run."""
    print(f"HomeScreen over HTTP, {generator} ({load.connections} connections, "
          f"{load.duration} s), uvicorn 1 worker; cpu = ms per request")
    print(f"{'reads on':<10}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
          f"{'api cpu':>9}{'primary cpu':>13}{'standby cpu':>13}{'primary xacts':>15}"
          f"{'standby xacts':>15}")
    for one in rounds:
        api = "-" if one.api_cpu_ms is None else f"{one.api_cpu_ms:.2f}"
        print(f"{one.reads_on:<10}{one.rps:>8,.0f}{one.p50_ms:>8.2f}{one.p99_ms:>8.2f}"
              f"{one.errors:>7}{api:>9}{one.primary_cpu_ms:>13.2f}{one.standby_cpu_ms:>13.2f}"
              f"{one.primary_xacts:>15,}{one.standby_xacts:>15,}")


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people-in-demo", type=int, default=10_000,
                        help="people in the demo country (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measured runs of each server, alternating (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per run")
    parser.add_argument("--duration", type=int, default=15, help="seconds measured per run")
    parser.add_argument("--people", type=int, default=1000, help="distinct people (tokens)")
    parser.add_argument("--port", type=int, default=18750, help="the API's loopback port")
    parser.add_argument("--writers", type=int, default=200,
                        help="citizens who write then read at once (default %(default)s)")
    return parser.parse_args()


def main() -> None:
    """Make the pair, load the demo, measure both servers in alternating rounds."""
    args = parse_args()
    load = Load(1, args.connections, args.warmup, args.duration, args.people, args.port, 10)
    generator = ensure_wrk()
    with replica_pair(settings=BENCH_SETTINGS) as pair, \
            tempfile.TemporaryDirectory(prefix="mhi-bench-replica-") as tmp:
        print(f"primary 127.0.0.1:{pair.primary_port}, hot standby "
              f"127.0.0.1:{pair.standby_port} (streaming replication)", flush=True)
        url = pair.url(DATABASE)
        settings = AppSettings()
        source = database_url(resolve_database_url(settings), args.people_in_demo)
        if not ensure_demo(source, args.people_in_demo, settings.data_dir):
            sys.exit("the demo could not be loaded")
        copy_database(pair, source)
        pair.wait_caught_up(timeout=600)
        facts = asyncio.run(facts_of(url))
        print(f"  database {facts.name}: {facts.size}, {facts.people:,} people, "
              f"{facts.contributions:,} contributions; the standby has replayed it",
              flush=True)
        people = asyncio.run(sample_people(url, load.people))
        budget = 3600 + 4 * args.rounds * (load.warmup + load.duration)
        inputs = write_inputs(Path(tmp), url, people, budget)
        pair.wait_caught_up()  # the signing key the tokens were minted with
        rounds: list[Round] = []
        answers: dict[str, list[bytes]] = {}
        for _ in range(args.rounds):
            for reads_on in ("primary", "replica"):
                result, bodies = one_round(pair, reads_on, load, inputs, Path(tmp))
                rounds.append(result)
                answers[reads_on] = bodies
        same = sum(without_request_id(a) == without_request_id(b) for a, b in
                   zip(answers["primary"], answers["replica"], strict=True))
        print(f"  checked before load: the answers read from the replica are byte-identical "
              f"to the primary's for {same}/{len(answers['primary'])} people")
        print_rounds(rounds, load, generator)
        read_your_writes(pair, inputs, args.writers)


if __name__ == "__main__":
    main()
