"""Benchmark: the monthly peak — payroll files arrive while citizens open the app and the
worker sends the pushes the files caused.

    .venv/bin/python bench/peak.py                          # 100,000 people, 40,000 records
    .venv/bin/python bench/peak.py --people 10000 --records 10000 --rate 20   # a quicker run

Around the 25th every employer's payroll file for the month before arrives at the bulk
endpoint, the people paid for get a push ("your contribution for November arrived"), and more
citizens than on other days open the app to look.  This measures that day on one machine, as a
bounded, loopback-only run:

* a throwaway copy (``CREATE DATABASE … TEMPLATE``) of the HomeScreen benchmark's demo
  database ``mhi_bench_home_<people>`` (``bench/home_screen.py``'s ``ensure_demo``), migrated to
  head, everyone's status stored as of today (not measured), dropped at the end (``--keep``
  keeps it);
* the payroll files: for each employer of the demo, one NDJSON file with, for each employee
  (someone whose latest contribution is that employer's deduction), the employer's deduction
  (КНП 121) and the withheld contribution (КНП 122) for last month, paid today, until
  ``--records`` records; every employee in one file only, and one phone registered for each,
  so each employee must get exactly one "contribution received" push;
* the processes, as in production: the API (``create_app`` under uvicorn, one worker), one
  ``mhi worker`` (pushes, statuses, rollups, the verifiable log, retention) and fcm-local;
* **idle**: HomeScreen opened at ``--rate`` requests a second (open loop: each request is
  sent at its scheduled time, whether or not the ones before were answered, and its latency
  counts from that time, so a stall is not hidden), for ``--seconds``;
* **peak**: the same HomeScreen rate while ``--uploaders`` clients stream the payroll files
  into ``/ingest/contributions`` one after the other, and the worker sends the pushes.  It
  runs until the last file is answered and every push has reached fcm-local.

It prints HomeScreen p50/p99 idle and under the peak, ingestion records per second, the push
lag from commit to fcm-local (each push's arrival at fcm-local minus the time its file's
answer arrived: the answer leaves after the commit, so this is the lag from commit minus the
answer's trip on loopback, under a millisecond), and the CPU of each process and of the
database's backends.  ``docs/scaling.md`` derives the sizing table for the country from them.

Uses ``DATABASE_URL`` when set (its server), otherwise the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

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
from bench import notify_setup as setup  # noqa: E402
from bench.home_screen import (  # noqa: E402
    OPERATION,
    cpu_seconds,
    database_url,
    ensure_demo,
    mint_tokens,
    sample_people,
    server,
)
from bench.ingest import client_token, copy_template  # noqa: E402
from bench.raw_floor import asyncpg_dsn  # noqa: E402

HOME_PEOPLE = 1000
HTTP_PORT = 8791
PUSH_DEADLINE_SECONDS = 600.0
RECEIVED = "contribution.received"


# --- the world -----------------------------------------------------------------------------


@dataclass
class Payroll:
    """The payroll files, and for each employee the file that pays for them."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    records: int = 0
    employees: dict[str, int] = field(default_factory=dict)  # device token -> file number
    employers: int = 0


def _last_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def _tenge(tiyn: int) -> str:
    return f"{tiyn // 100}.{tiyn % 100:02d}"


async def prepare(url: str, today: date) -> float:
    """Migrate the copy, store everyone's status as of ``today``, ANALYZE; seconds."""
    started = time.perf_counter()
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        await migrate.upgrade(engine)
        async with create_session_factory(engine)() as session:
            rates = await load_rate_book(session)
        await refresh_due(engine, today=today, rates=rates)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def write_payroll(url: str, folder: Path, records: int, today: date) -> Payroll:
    """One file per employer (its employees' 121 and 122 for last month), and one phone for
    each employee; ``records`` records in all, at most."""
    period = _last_month(today).strftime("%Y-%m")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (c.person_id) c.person_id, p.iin, c.payer_id, py.bin,"
            " c.amount_tiyn FROM core.contribution c JOIN core.person p ON p.id = c.person_id"
            " JOIN core.payer py ON py.id = c.payer_id"
            " WHERE c.kind = 'employer_deduction' AND c.refund_of IS NULL"
            " AND p.death_date IS NULL ORDER BY c.person_id, c.period DESC, c.id DESC")
        by_employer: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            by_employer[str(row["bin"])].append(row)
        payroll = Payroll(folder)
        devices: list[tuple[Any, ...]] = []
        stamp = secrets.token_hex(4)
        for number, (bin_, staff) in enumerate(sorted(by_employer.items(),
                                                      key=lambda item: -len(item[1]))):
            if payroll.records + 2 * len(staff) > records:
                continue
            path = folder / f"payroll-{number:05d}.ndjson"
            with path.open("w") as out:
                for row in staff:
                    deduction = int(row["amount_tiyn"])
                    base = {"iin": row["iin"], "period": period, "paidOn": today.isoformat(),
                            "payerBin": bin_}
                    out.write(json.dumps({**base, "recordId": f"PEAK-{stamp}-{row['iin']}-121",
                                          "kind": "employer_deduction", "paymentCode": 121,
                                          "amount": _tenge(deduction)}) + "\n")
                    out.write(json.dumps({**base, "recordId": f"PEAK-{stamp}-{row['iin']}-122",
                                          "kind": "employee_contribution", "paymentCode": 122,
                                          "amount": _tenge(max(1, deduction * 2 // 3))}) + "\n")
                    token = f"peak-{stamp}-{row['person_id']}"
                    payroll.employees[token] = len(payroll.files)
                    devices.append((row["person_id"], token, "token", "android", "1.4.0", "ru",
                                    "Asia/Almaty"))
            payroll.files.append(path)
            payroll.records += 2 * len(staff)
            payroll.employers += 1
            if payroll.records >= records - 1:
                break
        # The demo's opt-outs and quiet hours would hold some of the pushes back (as they
        # should): here everyone keeps the defaults, so every push is due at once.
        await conn.execute("DELETE FROM notify.device")
        await conn.execute("DELETE FROM notify.preference")
        await conn.execute("DELETE FROM notify.quiet_hours")
        await conn.copy_records_to_table("device", schema_name="notify",
                                         columns=list(setup.DEVICE_COLUMNS), records=devices)
        await conn.execute("ANALYZE notify.device")
    finally:
        await conn.close()
    return payroll


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds of the processes and of the database's backends, read at two moments."""

    pids: dict[str, int]
    url: str
    start: dict[str, float] = field(default_factory=dict)
    backends: dict[int, float] = field(default_factory=dict)
    started: float = 0.0

    async def _backends(self) -> dict[int, float]:
        conn = await setup.connect(self.url)
        try:
            return await setup.backend_cpu(conn)
        finally:
            await conn.close()

    async def begin(self) -> None:
        self.start = {name: cpu_seconds(pid) or 0.0 for name, pid in self.pids.items()}
        self.backends = await self._backends()
        self.started = time.perf_counter()

    async def end(self) -> dict[str, float]:
        """Cores used on average since ``begin``, per process and for the database."""
        wall = time.perf_counter() - self.started
        used = {name: ((cpu_seconds(pid) or 0.0) - self.start[name]) / wall
                for name, pid in self.pids.items()}
        after = await self._backends()
        used["database"] = (setup.cpu_spent(self.backends, after) or 0.0) / wall
        return used


@dataclass
class Opens:
    """HomeScreen latencies (ms) of one phase, and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    late: int = 0  # requests whose send time slipped (the driver itself was behind)

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_home(client: httpx.AsyncClient, tokens: list[str], rate: float,
                    stop: asyncio.Event, seconds: float | None = None) -> Opens:
    """HomeScreen at ``rate`` a second, open loop, until ``stop`` (or ``seconds``)."""
    body = json.dumps({"query": OPERATION.read_text(encoding="utf-8"),
                       "operationName": "HomeScreen"}).encode()
    opens = Opens()
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    begin = loop.time()

    async def one(token: str, due: float) -> None:
        try:
            response = await client.post("/graphql", content=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            ok = response.status_code == 200 and b'"errors"' not in response.content
        except httpx.HTTPError:
            ok = False
        if ok:
            opens.latencies.append((loop.time() - due) * 1000)
        else:
            opens.errors += 1

    n = 0
    while not stop.is_set() and (seconds is None or loop.time() - begin < seconds):
        due = begin + n / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            opens.late += 1
        task = asyncio.create_task(one(tokens[n % len(tokens)], due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    return opens


@dataclass
class Upload:
    """One payroll file's POST."""

    number: int
    records: int
    seconds: float
    answered_at: float  # time.time() when the answer arrived
    accepted: int


async def upload_files(port: int, token: str, payroll: Payroll, uploaders: int) -> list[Upload]:
    """Stream the files into the bulk endpoint, ``uploaders`` at a time."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(len(payroll.files)):
        queue.put_nowait(number)
    done: list[Upload] = []
    timeout = httpx.Timeout(connect=30, read=3600, write=600, pool=30)

    async def uploader() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as c:
            while not queue.empty():
                number = queue.get_nowait()
                path = payroll.files[number]
                content = path.read_bytes()
                started = time.perf_counter()
                response = await c.post("/ingest/contributions", content=content, headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/x-ndjson"})
                if response.status_code != 200:
                    sys.exit(f"the bulk endpoint answered {response.status_code}: "
                             f"{response.text[:2000]}")
                answer = response.json()
                done.append(Upload(number, content.count(b"\n"),
                                   time.perf_counter() - started, time.time(),
                                   int(answer.get("accepted", 0))))

    await asyncio.gather(*(uploader() for _ in range(uploaders)))
    return done


def push_lags(fcm: setup.FcmProcess, payroll: Payroll, uploads: list[Upload]
              ) -> tuple[list[float], int, int, Counter[str]]:
    """Seconds from each file's answer to its "contribution received" push at fcm-local;
    (lags, such pushes to the payroll's phones, phones that got more than one, the other
    pushes those phones got by type: a status that changed with the money, say)."""
    answered = {upload.number: upload.answered_at for upload in uploads}
    lags: list[float] = []
    seen: Counter[str] = Counter()
    others: Counter[str] = Counter()
    for message in _messages(fcm, 10 * len(payroll.employees) + 1000):
        target = message["target"]
        if target not in payroll.employees:
            continue
        kind = (message["message"].get("data") or {}).get("type", "?")
        if kind != RECEIVED:
            others[kind] += 1
            continue
        seen[target] += 1
        at = datetime_seconds(message["received_at"])
        lags.append(at - answered[payroll.employees[target]])
    return lags, sum(seen.values()), sum(1 for count in seen.values() if count > 1), others


def _messages(fcm: setup.FcmProcess, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` messages fcm-local accepted."""
    response = httpx.get(f"{fcm.url}/admin/messages", params={"limit": str(limit)}, timeout=120)
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def datetime_seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def wait_pushes(fcm: setup.FcmProcess, payroll: Payroll, deadline: float) -> None:
    """Poll fcm-local until every payroll phone got its "contribution received" push (first
    its cheap per-phone counts, then the messages themselves), or the deadline."""
    while time.monotonic() < deadline:
        counts = await asyncio.to_thread(fcm.counts)
        if all(counts.get(token, 0) for token in payroll.employees):
            break
        await asyncio.sleep(0.25)
    while time.monotonic() < deadline:
        messages = await asyncio.to_thread(_messages, fcm, 10 * len(payroll.employees) + 1000)
        received = {m["target"] for m in messages
                    if (m["message"].get("data") or {}).get("type") == RECEIVED}
        if received >= payroll.employees.keys():
            return
        await asyncio.sleep(1.0)


# --- the run -------------------------------------------------------------------------------


def _worker(url: str, fcm: setup.FcmProcess, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "NOTIFY_FCM_LOCAL_URL": fcm.url}
    mhi = str(Path(sys.executable).parent / "mhi")
    with log.open("w") as out:
        process = subprocess.Popen([mhi, "worker"], cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while "worker started" not in log.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            sys.exit(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    settle(process.pid)
    return process


def settle(pid: int, limit: float = 300.0) -> None:
    """Wait until the worker's first passes are done (statuses due, the day's warnings, the
    rollups, the log) and it idles: under 5 % of a core for two seconds in a row."""
    deadline = time.monotonic() + limit
    quiet = 0
    last = cpu_seconds(pid) or 0.0
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pid) or 0.0
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now


async def drive(args: argparse.Namespace, url: str, payroll: Payroll, fcm: setup.FcmProcess,
                pids: dict[str, int], tokens: list[str], ingest_token: str) -> dict[str, Any]:
    """The idle phase, then the peak; the figures."""
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}", limits=limits,
                                 timeout=httpx.Timeout(60)) as client:
        never = asyncio.Event()
        await open_home(client, tokens, args.rate, never, seconds=3)  # warm-up
        cpu = Cpu(pids, url)
        await cpu.begin()
        idle = await open_home(client, tokens, args.rate, never, seconds=args.seconds)
        idle_cpu = await cpu.end()

        fcm.clear()
        stop = asyncio.Event()
        await cpu.begin()
        started = time.perf_counter()
        opening = asyncio.create_task(open_home(client, tokens, args.rate, stop))
        uploads = await upload_files(args.port, ingest_token, payroll, args.uploaders)
        ingest_seconds = time.perf_counter() - started
        expected = len(payroll.employees)
        await wait_pushes(fcm, payroll, time.monotonic() + PUSH_DEADLINE_SECONDS)
        stop.set()
        peak = await opening
        peak_seconds = time.perf_counter() - started
        peak_cpu = await cpu.end()
    lags, pushes, doubled, others = push_lags(fcm, payroll, uploads)
    return {"others": others, "idle": idle, "idle_cpu": idle_cpu, "peak": peak,
            "peak_cpu": peak_cpu,
            "uploads": uploads, "ingest_seconds": ingest_seconds, "peak_seconds": peak_seconds,
            "lags": lags, "pushes": pushes, "doubled": doubled, "expected": expected,
}


def report(args: argparse.Namespace, payroll: Payroll, figures: dict[str, Any]) -> None:
    idle: Opens = figures["idle"]
    peak: Opens = figures["peak"]
    uploads: list[Upload] = figures["uploads"]
    accepted = sum(upload.accepted for upload in uploads)
    lags: list[float] = sorted(figures["lags"])
    print(f"\nThe monthly peak: {args.people:,} people, {payroll.employers:,} payroll files, "
          f"{payroll.records:,} records, {len(payroll.employees):,} phones; HomeScreen at "
          f"{args.rate:g}/s, {args.uploaders} uploader(s), 1 API process, 1 worker")
    print(f"  load average before: {os.getloadavg()[0]:.2f} (2 cores shared: a busy machine "
          "stretches every figure)")
    print("  HomeScreen (open loop)      requests   errors   late    p50 ms    p99 ms")
    for name, opens in (("idle", idle), ("during the peak", peak)):
        print(f"    {name:<24} {len(opens.latencies):>8} {opens.errors:>8} {opens.late:>6}"
              f" {opens.quantile(0.5):>9.1f} {opens.quantile(0.99):>9.1f}")
    rate = accepted / figures["ingest_seconds"] if figures["ingest_seconds"] else 0.0
    print(f"  ingestion: {accepted:,} of {payroll.records:,} records accepted in "
          f"{figures['ingest_seconds']:.1f} s = {rate:,.0f} records/s; a file took "
          f"{statistics.median(u.seconds for u in uploads):.2f} s (median), "
          f"{max(u.seconds for u in uploads):.2f} s (longest)")
    if lags:
        def q(p: float) -> float:
            return lags[min(len(lags) - 1, int(p * len(lags)))]
        print(f"  pushes: {figures['pushes']:,} '{RECEIVED}' of {figures['expected']:,}"
              " expected at fcm-local,"
              f" {figures['doubled']} phones got two; lag from commit p50 {q(0.5):.2f} s,"
              f" p99 {q(0.99):.2f} s, max {lags[-1]:.2f} s")
    else:
        print(f"  pushes: none of {figures['expected']:,} arrived")
    if figures["others"]:
        print("  other pushes to those phones (caused by the same money): " + ", ".join(
            f"{kind} {count:,}" for kind, count in sorted(figures["others"].items())))
    print("  CPU, cores used on average      idle    peak")
    for name in figures["peak_cpu"]:
        print(f"    {name:<28} {figures['idle_cpu'].get(name, 0.0):>6.2f} "
              f"{figures['peak_cpu'][name]:>7.2f}")
    sizes = sorted(upload.records for upload in uploads)
    print(f"  peak phase: {figures['peak_seconds']:.1f} s; records per file: median "
          f"{sizes[len(sizes) // 2]}, largest {sizes[-1]}")
    per_record = (figures["peak_cpu"]["database"] * figures["peak_seconds"]
                  / max(1, accepted)) * 1000
    print(f"  database CPU per record during the peak (HomeScreen's share included): "
          f"{per_record:.2f} ms")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000,
                        help="the demo's size (its database is loaded once and kept)")
    parser.add_argument("--records", type=int, default=40_000,
                        help="payroll records in all (two per employee)")
    parser.add_argument("--rate", type=float, default=40.0, help="HomeScreen opens a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="the idle phase")
    parser.add_argument("--uploaders", type=int, default=2, help="files streamed at once")
    parser.add_argument("--port", type=int, default=HTTP_PORT)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    today = date.today()
    os.environ["BENCH_TODAY"] = today.isoformat()
    base = resolve_database_url(AppSettings())
    demo = database_url(base, args.people)
    data_dir = Path(os.environ.get("MHI_DATA_DIR", ROOT / ".data"))
    if not ensure_demo(demo, args.people, data_dir):
        return 0
    template = str(make_url(demo).database)
    target = f"mhi_bench_peak_{secrets.token_hex(4)}"
    url = make_url(demo).set(database=target).render_as_string(hide_password=False)
    print(f"copying {template} into {target} …", flush=True)
    copied = asyncio.run(copy_template(base, template, target))
    try:
        prepared = asyncio.run(prepare(url, today))
        print(f"  copied in {copied:.1f} s, migrated and statuses stored as of {today} in "
              f"{prepared:.1f} s (not measured)", flush=True)
        with tempfile.TemporaryDirectory(prefix="mhi-peak-") as tmp:
            folder = Path(tmp)
            payroll = asyncio.run(write_payroll(url, folder, args.records, today))
            people = asyncio.run(sample_people(url, HOME_PEOPLE))
            tokens = asyncio.run(mint_tokens(url, people, 7200))
            _, ingest_token = asyncio.run(client_token(url))
            with setup.fcm_local(folder / "fcm-local.log") as fcm, \
                    server("bench.servers:graphql_app", url, args.port,
                           folder / "api.log") as api:
                worker = _worker(url, fcm, folder / "worker.log")
                try:
                    pids = {"API (uvicorn)": api, "worker": worker.pid, "fcm-local": fcm.pid}
                    figures = asyncio.run(drive(args, url, payroll, fcm, pids, tokens,
                                                ingest_token))
                finally:
                    setup.stop(worker)
            report(args, payroll, figures)
    finally:
        if not args.keep:
            asyncio.run(drop_database(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
