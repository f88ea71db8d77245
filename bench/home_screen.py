"""Benchmark: the HomeScreen operation over HTTP against a raw floor, at several data sizes.

    .venv/bin/python bench/home_screen.py                        # 10,000, 100,000, 1,000,000
    .venv/bin/python bench/home_screen.py --sizes 10000,100000   # only these

For each size it makes sure a demo database ``mhi_bench_home_<people>`` exists (loaded once,
exactly like ``mhi demo --people N --seed 1 --if-empty --as-of 2026-11-23``; 10,000 people
take ~15 s and ~140 MB, 100,000 ~70 s and ~1.3 GB, 1,000,000 ~12 min and ~12 GB, so the 1M
size is skipped with a note when less than 20 GB of disk is free), then starts two servers in
turn, each under uvicorn with one worker (``--no-access-log``, uvloop and httptools when
installed) on loopback:

* ``graphql``: the real API (``backend.api.app.create_app``), POST /graphql with
  ``mobile_contract/operations/HomeScreen.graphql``;
* ``raw floor``: ``bench/raw_floor.py``, the same JSON from hand-written asyncpg SQL.

Both are driven by the same load generator, wrk (Debian's package, installed with apt-get
when missing) with ``bench/home_screen.lua``: 1 thread, 32 connections, a 5 s warm-up, then
20 s measured, each request for one of 1,000 random people with a token of their own.  It
prints requests/s, p50 and p99, errors, the server's CPU per request and the ratio, per size
and in a final summary.  Any error (a non-200 status, a body with ``errors``, a socket error)
is printed: a run with errors measures the wrong thing.

Uses ``DATABASE_URL`` when set (its server, databases named as above), otherwise the
embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

from auth.service import AuthService  # noqa: E402
from auth.settings import AuthSettings  # noqa: E402
from auth.tokens import Audience  # noqa: E402
from backend.cli.shared import refresh_statuses  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.db.engine import create_engine, resolve_database_url  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from bench.raw_floor import asyncpg_dsn  # noqa: E402
from bench.report import Facts, Load, Measure, print_block, print_summary  # noqa: E402

AS_OF = "2026-11-23"
SEED = 1
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
LARGE = 1_000_000
LARGE_FREE_BYTES = 20 * 1024**3
LUA = ROOT / "bench" / "home_screen.lua"
OPERATION = ROOT / "mobile_contract" / "operations" / "HomeScreen.graphql"
ENDPOINTS = (("graphql", "bench.servers:graphql_app"), ("raw floor", "bench.servers:floor_app"))
CHECKED_PEOPLE = 5


# --- the load generator --------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk's version line; installs Debian's ``wrk`` package when it is missing."""
    if shutil.which("wrk") is None:
        print("wrk is not installed; installing Debian's package: apt-get install -y wrk")
        apt = [] if os.geteuid() == 0 else ["sudo"]
        done = subprocess.run([*apt, "apt-get", "install", "-y", "wrk"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or shutil.which("wrk") is None:
            sys.exit("could not install wrk (apt-get install -y wrk failed:\n"
                     f"{done.stderr.strip()[-1500:]})\ninstall it by hand and run again")
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout + out.stderr).splitlines()[0]
    match = re.search(r"wrk (?:\S*/)?(\d[\w.]*)", first)  # "wrk debian/4.1.0-3+b2 [epoll]"
    return f"wrk {match.group(1) if match else '?'}"


def run_wrk(url: str, load: Load, seconds: int, inputs: tuple[Path, Path]) -> dict[str, int]:
    """One wrk run; the numbers of the ``BENCH`` line that the Lua script prints."""
    command = ["wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s",
               f"--timeout={load.timeout}s", "--latency", "-s", str(LUA), url,
               "--", str(inputs[0]), str(inputs[1])]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return {key: int(value) for key, value in
            (pair.split("=") for pair in line.split()[1:])}


# --- the databases -------------------------------------------------------------------------


def database_url(base: str, people: int) -> str:
    """The URL of the demo database of ``people`` on the server of ``base``."""
    name = f"mhi_bench_home_{people}"
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def _state(url: str) -> tuple[int, int]:
    """(people already loaded, other sessions on the database) — 0 people if it is absent."""
    name = make_url(url).database
    admin_url = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    admin = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        others = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await admin.close()
    if not exists:
        return 0, int(others)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        has_table = await conn.fetchval("SELECT to_regclass('core.person') IS NOT NULL")
        people = await conn.fetchval("SELECT count(*) FROM core.person") if has_table else 0
    finally:
        await conn.close()
    return int(people), int(others)


async def _migrate(url: str) -> None:
    engine = create_engine(url, pool_size=2, max_overflow=0)  # the status job holds a lock
    try:
        await migrate.upgrade(engine)
        # As the worker does after an upgrade: store the statuses that are missing or stale
        # on the bench's day, which the home screen reads (quick when none is).
        print(f"  {await refresh_statuses(engine, date.fromisoformat(AS_OF))}", flush=True)
    finally:
        await engine.dispose()


def ensure_demo(url: str, people: int, data_dir: Path) -> bool:
    """Load the demo country into ``url`` unless it is there; False (with a note) to skip."""
    loaded, others = asyncio.run(_state(url))
    if loaded:
        asyncio.run(_migrate(url))  # a database loaded by older code gains the new tables
        return True
    if others:
        print(f"  skipped: {make_url(url).database} is empty and {others} other session(s) "
              "use it (a load in progress?); run again when it has finished")
        return False
    free = shutil.disk_usage(data_dir if data_dir.exists() else ROOT).free
    if people >= LARGE and free < LARGE_FREE_BYTES:
        print(f"  skipped: {people:,} people need ~12 GB and ~12 min to load; only "
              f"{free / 1024**3:.1f} GB free (20 GB wanted)")
        return False
    print(f"  loading {people:,} demo people into {make_url(url).database} "
          f"(once; 1,000,000 take ~12 min and ~12 GB)…", flush=True)
    mhi = Path(sys.executable).with_name("mhi")
    command = [str(mhi), "demo", "--people", str(people), "--seed", str(SEED), "--if-empty",
               "--quiet", "--as-of", AS_OF]
    done = subprocess.run(command, env={**os.environ, "DATABASE_URL": url}, check=False)
    if done.returncode != 0:
        sys.exit(f"loading the demo database failed ({done.returncode})")
    return True


async def facts_of(url: str) -> Facts:
    """Size and row counts of a demo database."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        people = await conn.fetchval("SELECT count(*) FROM core.person")
        contributions = await conn.fetchval("SELECT count(*) FROM core.contribution")
    finally:
        await conn.close()
    return Facts(str(make_url(url).database), str(size), int(people), int(contributions))


async def sample_people(url: str, count: int) -> list[str]:
    """``count`` people spread over the table (the same ones on every run)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT id FROM core.person ORDER BY md5(id::text) LIMIT $1", count)
    finally:
        await conn.close()
    return [str(row["id"]) for row in rows]


async def mint_tokens(url: str, people: list[str], seconds: int) -> list[str]:
    """One token per person, valid ``seconds``, signed with that database's current key."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        auth = await AuthService.open(engine, AuthSettings(access_token_ttl_seconds=seconds))
        return [auth.mint(person, Audience.MOBILE) for person in people]
    finally:
        await engine.dispose()


def write_inputs(folder: Path, url: str, people: list[str], seconds: int
                 ) -> tuple[Path, Path]:
    """The tokens file (one per person, valid ``seconds``) and the POST body for wrk."""
    tokens = folder / "tokens.txt"
    tokens.write_text("".join(token + "\n" for token in
                              asyncio.run(mint_tokens(url, people, seconds))))
    body = folder / "body.json"
    body.write_text(json.dumps({"query": OPERATION.read_text(encoding="utf-8"),
                                "operationName": "HomeScreen"}))
    return tokens, body


# --- the servers ---------------------------------------------------------------------------


def _fastest(module: str, fallback: str) -> str:
    return module if importlib.util.find_spec(module) is not None else fallback


@contextmanager
def server(factory: str, url: str, port: int, log: Path) -> Iterator[int]:
    """uvicorn with one worker serving ``factory`` on loopback; yields its process id."""
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1", "--no-access-log",
               "--log-level", "warning", "--loop", _fastest("uvloop", "asyncio"),
               "--http", _fastest("httptools", "h11")]
    env = {**os.environ, "BENCH_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        _wait_ready(process, port, log)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server did not start within 60 s:\n{log.read_text()[-3000:]}")


def fetch_bodies(port: int, tokens: list[str], body: bytes) -> list[bytes]:
    """The responses for a few people, each checked: 200, ``data.me``, no ``errors``."""
    bodies = []
    for token in tokens:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql", data=body, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content = response.status, response.read()
        parsed = json.loads(content)
        if status != 200 or "errors" in parsed or not (parsed.get("data") or {}).get("me"):
            sys.exit(f"a check request failed ({status}): {content[:2000]!r}")
        bodies.append(content)
    return bodies


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- one size ------------------------------------------------------------------------------


def measure(endpoint: str, factory: str, url: str, load: Load,
            inputs: tuple[Path, Path], folder: Path) -> tuple[Measure, list[bytes]]:
    """Start one server, check a few responses, warm it up, measure it."""
    port = load.port + (0 if endpoint == "graphql" else 1)
    tokens = inputs[0].read_text().split()[:CHECKED_PEOPLE]
    target = f"http://127.0.0.1:{port}/graphql"
    with server(factory, url, port, folder / f"{endpoint.replace(' ', '_')}.log") as pid:
        bodies = fetch_bodies(port, tokens, inputs[1].read_bytes())
        run_wrk(target, load, load.warmup, inputs)
        before = cpu_seconds(pid)
        numbers = run_wrk(target, load, load.duration, inputs)
        after = cpu_seconds(pid)
    errors = {key: numbers[key] for key in
              ("non200", "body_errors", "connect", "read", "write", "timeout")}
    cpu_ms = None
    if before is not None and after is not None and numbers["requests"]:
        cpu_ms = (after - before) * 1000 / numbers["requests"]
    return Measure(
        endpoint=endpoint,
        rps=numbers["requests"] * 1e6 / numbers["duration_us"],
        p50_ms=numbers["p50_us"] / 1000,
        p99_ms=numbers["p99_us"] / 1000,
        errors=sum(errors.values()),
        error_detail=", ".join(f"{key} {value}" for key, value in errors.items() if value),
        cpu_ms=cpu_ms,
    ), bodies


def _without_request_id(body: bytes) -> bytes:
    """An answer without its ``extensions.requestId``, which differs on every request (a
    fresh id each, on both servers): the rest must be byte-identical."""
    return re.sub(rb'"requestId":"[0-9a-f]+"', b'"requestId":""', body)


def bench_size(url: str, load: Load) -> list[Measure]:
    """Both endpoints on one database, the floor's answers compared with GraphQL's."""
    people = asyncio.run(sample_people(url, load.people))
    budget = 3600 + 4 * (load.warmup + load.duration)
    results: list[Measure] = []
    answers: list[list[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="mhi-bench-") as tmp:
        inputs = write_inputs(Path(tmp), url, people, budget)
        for endpoint, factory in ENDPOINTS:
            result, bodies = measure(endpoint, factory, url, load, inputs, Path(tmp))
            results.append(result)
            answers.append(bodies)
    same = sum(_without_request_id(a) == _without_request_id(b)
               for a, b in zip(answers[0], answers[1], strict=True))
    note = "" if same == len(answers[0]) else "  <-- the floor is NOT the same JSON"
    print(f"  checked before load: the floor's body is byte-identical to GraphQL's for "
          f"{same}/{len(answers[0])} people{note}")
    return results


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="people per demo database, comma-separated (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per server")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per server")
    parser.add_argument("--people", type=int, default=1000, help="distinct people (tokens)")
    parser.add_argument("--port", type=int, default=18730, help="first of two loopback ports")
    parser.add_argument("--timeout", type=int, default=10,
                        help="wrk's per-request timeout in seconds (a timed-out request is an "
                             "error and has no latency, so keep it well above p99)")
    return parser.parse_args()


def main() -> None:
    """Every size in turn, then the summary."""
    args = parse_args()
    sizes = [int(value.replace("_", "")) for value in args.sizes.split(",") if value.strip()]
    load = Load(args.threads, args.connections, args.warmup, args.duration, args.people,
                args.port, args.timeout)
    generator = ensure_wrk()
    settings = AppSettings()
    base = resolve_database_url(settings)
    rows: list[tuple[Facts, list[Measure]]] = []
    for people in sizes:
        url = database_url(base, people)
        print(f"== {people:,} people ==", flush=True)
        if not ensure_demo(url, people, settings.data_dir):
            continue
        facts = asyncio.run(facts_of(url))
        print(f"  database {facts.name}: {facts.size}, {facts.people:,} people, "
              f"{facts.contributions:,} contributions", flush=True)
        results = bench_size(url, load)
        print_block(facts.people, results, generator, load)
        rows.append((facts, results))
    if rows:
        print_summary(rows, generator)


if __name__ == "__main__":
    main()
