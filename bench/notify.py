"""Benchmark: push notifications end to end (outbox → dispatcher → FCM) against fcm-local alone.

    .venv/bin/python bench/notify.py                      # 100,000 events for 50,000 people
    .venv/bin/python bench/notify.py --quick              # 5,000 events for 2,500 people
    .venv/bin/python bench/notify.py --send-batch 500,50 --senders 2,4 --processes 1,2

In its own database ``mhi_bench_notify`` (created and migrated when missing; every ``notify``
table emptied and the devices registered anew before each run: ``bench/notify_setup.py``,
~1.3 devices a person, kk / ru / en), with fcm-local in a child process (``python -m
notifications.fcm_local``):

* floor: firebase-admin ``send_each_async`` straight to fcm-local through the worker's own
  client (``gateway.open_app``), messages built beforehand (``messages.build``, the same kinds
  and languages), batches of ``--send-batch``, as many at once as the worker has send loops,
  no database, for ``--floor-seconds``: messages/s, the client's CPU per message, and what
  fcm-local could take on its own (messages per second of its CPU).  Once per transport
  (``--transports``): ``httpx``, firebase-admin's own (httpx's transport: the old floor), and
  ``pooled``, the worker's (``notifications.transport``: the new floor);
* end to end: a real ``Dispatcher.run`` as ``mhi worker`` runs it (in this process, an engine
  from ``open_engine``, default settings but ``senders``, ``send_batch`` and a digest window
  of 0), started idle; the events are written in one transaction and the clock runs from its
  commit until no event is left unexpanded and no delivery pending or sending (or
  ``--max-seconds`` pass): pushes/s, the ratio to the new floor of the same concurrency, the
  CPU of the worker, fcm-local and the database backends, and where the loops spent their
  time.  ``--processes 1,2,4`` (the default) runs it in this process, then with two and four
  ``mhi worker`` processes; the summary puts pushes/s per worker process beside the old
  floor;
* expansion alone: the same events expanded by ``expand_once`` in a loop, nothing sent;
* faults: the run again (``--fault-events``) with 5 % transient errors at fcm-local
  (UNAVAILABLE, INTERNAL and QUOTA_EXCEEDED, Retry-After 1 s) and 1 % of the tokens
  unregistered up front, retries after 0.2 s doubling, at most 8 attempts; then fcm-local's
  count per device against the events and the deliveries: exits 1 unless nothing was lost or
  doubled and every unregistered device was retired with nothing accepted for it.

A full run takes about as many minutes as 130,000 pushes take at the end-to-end rate, five
times (three process counts, expansion, faults); ``--quick`` is ~3 min.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import firebase_admin
from firebase_admin import messaging

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` and the project importable
    sys.path.insert(0, str(ROOT))

import notifications.sender as sender_module  # noqa: E402
from backend.db.engine import resolve_database_url  # noqa: E402
from backend.runtime import open_engine  # noqa: E402
from backend.settings import AppSettings  # noqa: E402
from bench import notify_setup as setup  # noqa: E402
from bench.home_screen import cpu_seconds  # noqa: E402
from notifications.gateway import Gateway, close_app, open_app  # noqa: E402
from notifications.messages import Claimed, build  # noqa: E402
from notifications.settings import NotifySettings  # noqa: E402
from notifications.worker import Dispatcher  # noqa: E402

P = ParamSpec("P")
T = TypeVar("T")
SEED = 1
POLL_SECONDS = 0.1
FLOOR_DISTINCT = 2000
FAULTS: dict[str, Any] = {"rates": {"UNAVAILABLE": 0.0167, "INTERNAL": 0.0167,
                                    "QUOTA_EXCEEDED": 0.0166}, "retry_after": 1, "seed": SEED}
UNREGISTERED_SHARE = 0.01
STEPS = ("expand (its own loop)", "expand (its own loop): found nothing", "send round",
         "send round: found nothing", "  claim (UPDATE … RETURNING)", "  build messages",
         "  FCM calls (send_each)", "  record outcomes (UPDATE)")


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Phases:
    """Wall time inside each step of the send loops (summed over loops running at once)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)

    def _add(self, name: str, started: float) -> None:
        self.seconds[name] += time.perf_counter() - started
        self.calls[name] += 1

    def timed(self, name: str, call: Callable[P, Awaitable[T]],
              idle: Callable[[T], bool] = lambda _: False) -> Callable[P, Awaitable[T]]:
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            started = time.perf_counter()
            result = await call(*args, **kwargs)
            self._add(f"{name}: found nothing" if idle(result) else name, started)
            return result
        return wrapper

    def timed_sync(self, name: str, call: Callable[P, T]) -> Callable[P, T]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            started = time.perf_counter()
            result = call(*args, **kwargs)
            self._add(name, started)
            return result
        return wrapper

    def instrument(self, dispatcher: Dispatcher) -> None:
        """Wrap the dispatcher's steps (this instance, and ``build`` until ``restore``)."""
        setattr(dispatcher, "expand_once", self.timed(  # noqa: B010
            STEPS[0], dispatcher.expand_once, lambda expanded: not expanded.events))
        setattr(dispatcher, "send_once", self.timed(  # noqa: B010
            STEPS[2], dispatcher.send_once, lambda report: not report.claimed))
        for owner, name, label in ((dispatcher.sender, "_claim", STEPS[4]),
                                   (dispatcher.sender, "_record", STEPS[7]),
                                   (dispatcher.sender.gateway, "send", STEPS[6])):
            setattr(owner, name, self.timed(label, getattr(owner, name)))
        setattr(sender_module, "build", self.timed_sync(STEPS[5], build))  # noqa: B010

    @staticmethod
    def restore() -> None:
        setattr(sender_module, "build", build)  # noqa: B010


@dataclass(frozen=True)
class Meter:
    """CPU seconds spent between ``start`` and ``stop`` by the worker (these processes, or
    this one), fcm-local and the database's backends."""

    workers: tuple[int, ...]
    fcm: setup.FcmProcess
    marks: tuple[float | None, float | None, dict[int, float]]

    @staticmethod
    def _worker(workers: tuple[int, ...]) -> float | None:
        if not workers:
            return time.process_time()
        readings = [cpu_seconds(pid) for pid in workers]
        return None if None in readings else sum(r or 0.0 for r in readings)

    @classmethod
    async def start(cls, conn: Any, fcm: setup.FcmProcess, workers: tuple[int, ...]) -> Meter:
        return cls(workers, fcm, (cls._worker(workers), fcm.cpu(),
                                  await setup.backend_cpu(conn)))

    async def stop(self, conn: Any) -> tuple[float | None, float | None, float | None]:
        worker, fcm, db = self._worker(self.workers), self.fcm.cpu(), await setup.backend_cpu(conn)
        return (None if worker is None or self.marks[0] is None else worker - self.marks[0],
                None if fcm is None or self.marks[1] is None else fcm - self.marks[1],
                setup.cpu_spent(self.marks[2], db))


@dataclass(frozen=True)
class Run:
    """One timed run of the dispatcher (``finished``: all done before the time limit)."""

    label: str
    senders: int
    size: int
    seconds: float
    finished: bool
    states: dict[str, int]
    cpu: tuple[float | None, float | None, float | None]  # worker, fcm-local, database
    phases: Phases | None = None
    retried: int | None = None  # answers that asked for a retry (in this process only)

    @property
    def sent(self) -> int:
        return self.states.get("sent", 0)


@dataclass(frozen=True)
class Floor:
    """The floor at one concurrency, through one transport."""

    transport: str
    senders: int
    messages: int  # accepted by fcm-local
    seconds: float
    client_cpu: float
    fcm_cpu: float | None
    failed: Counter[str]  # refused messages by error (cause)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def floor_messages(pop: setup.Population, count: int) -> list[messaging.Message]:
    """``count`` messages like the worker's (same kinds, payloads and languages), to tokens of
    their own (``floor-…``), built now so that the floor times sending only."""
    batch = setup.events(pop, count, SEED + 7, "floor")
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    out = []
    for n, (_, kind, payload, _) in enumerate(batch.rows, start=1):
        category = ("payments" if kind == "contribution.received" else
                    "critical" if "GRACE" in payload else "status")
        device = rng.choice(pop.devices)
        claimed = Claimed(n, n, n, kind, category, None, 1, f"floor-{n:07d}:{setup.TOKEN_PAD}",
                          "token", device.platform, device.language,
                          False, json.loads(payload), now)
        out.append(build([claimed]).message)
    return out


async def floor(fcm: setup.FcmProcess, messages: list[messaging.Message], seconds: float,
                senders: int, size: int, transport: str) -> Floor:
    """Batches of ``size`` messages, ``senders`` batches at once, for ``seconds``, straight to
    fcm-local through firebase-admin (the app ``open_app`` makes: the worker's client, on
    ``transport``)."""
    app = open_app(NotifySettings(fcm_local_url=fcm.url, transport=transport))
    failed: Counter[str] = Counter()
    turn = 0

    async def loop(until: float) -> None:  # at least one batch
        nonlocal turn
        while turn == 0 or time.perf_counter() < until:
            turn += 1
            start = turn * size % len(messages)
            chunk = [messages[(start + i) % len(messages)] for i in range(size)]
            response = await messaging.send_each_async(chunk, app=app)
            failed.update(f"{type(r.exception).__name__} ({type(r.exception.cause).__name__})"
                          for r in response.responses if r.exception is not None)

    try:
        await asyncio.gather(*(loop(0.0) for _ in range(senders)))  # warm-up: one batch
        fcm.clear()
        failed.clear()
        cpu, fcm_cpu = time.process_time(), fcm.cpu()
        started = time.perf_counter()
        await asyncio.gather(*(loop(started + seconds) for _ in range(senders)))
        elapsed = time.perf_counter() - started
        cpu, fcm_after = time.process_time() - cpu, fcm.cpu()
    finally:
        await close_app(app)
    accepted = int(fcm.stats()["accepted"])
    fcm.clear()
    return Floor(transport, senders, accepted, elapsed, cpu,
                 None if fcm_cpu is None or fcm_after is None else fcm_after - fcm_cpu, failed)


async def until_done(url: str, fcm: setup.FcmProcess, batch: setup.Events, limit: float,
                     task: asyncio.Task[None] | None = None, workers: tuple[int, ...] = ()
                     ) -> tuple[float, bool, tuple[float | None, float | None, float | None]]:
    """Write the events, then wait until all is done or ``limit`` seconds have passed;
    (seconds, finished, CPU).  ``workers``: worker processes (none: this process)."""
    conn = await setup.connect(url)
    try:
        meter = await Meter.start(conn, fcm, workers)
        await setup.enqueue(url, batch)
        started = time.perf_counter()
        finished = True
        while await setup.pending(conn):
            if task is not None and task.done():
                task.result()
                sys.exit("the dispatcher stopped before the work was done")
            if time.perf_counter() - started > limit:
                finished = False
                break
            await asyncio.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        return seconds, finished, await meter.stop(conn)
    finally:
        await conn.close()


async def in_process(url: str, fcm: setup.FcmProcess, batch: setup.Events,
                     notify: NotifySettings, label: str, limit: float) -> Run:
    """A ``Dispatcher.run`` in this process, idle until the events are written."""
    engine = open_engine(AppSettings(), url)
    app = open_app(notify)
    dispatcher = Dispatcher(engine, Gateway(app), notify)
    phases = Phases()
    phases.instrument(dispatcher)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        await asyncio.sleep(1.0)  # connected, upkeep done, idle
        seconds, finished, cpu = await until_done(url, fcm, batch, limit, task)
        stop.set()
        await task  # the rounds under way finish and are recorded
    finally:
        stop.set()
        Phases.restore()
        await close_app(app)
        await engine.dispose()
    return Run(label, notify.senders, notify.send_batch, seconds, finished,
               await _states(url), cpu, phases, dispatcher.totals.retried)


def processes(url: str, fcm: setup.FcmProcess, batch: setup.Events, count: int, senders: int,
              size: int, folder: Path, limit: float) -> Run:
    """``count`` ``mhi worker`` processes, started before the events are written."""
    env = {**os.environ, "DATABASE_URL": url, "NOTIFY_FCM_LOCAL_URL": fcm.url,
           "NOTIFY_SENDERS": str(senders), "NOTIFY_DIGEST_WINDOW_SECONDS": "0",
           "NOTIFY_SEND_BATCH": str(size)}
    mhi = str(Path(sys.executable).parent / "mhi")
    logs = [folder / f"worker-{n}.log" for n in range(count)]
    workers = []
    for log in logs:
        with log.open("w") as out:
            workers.append(subprocess.Popen([mhi, "worker", "--every", "3600"], cwd=ROOT,
                                            env=env, stdout=out, stderr=out))
    label = f"{count} × mhi worker"
    try:
        deadline = time.monotonic() + 300  # four at once on a busy 2-core machine: minutes
        while not all("worker started" in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                sys.exit(f"{label}: the workers did not start:\n{logs[0].read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(1.0)
        seconds, finished, cpu = asyncio.run(until_done(
            url, fcm, batch, limit, workers=tuple(w.pid for w in workers)))
    finally:
        for process in workers:
            setup.stop(process)
    return Run(label, senders, size, seconds, finished, asyncio.run(_states(url)), cpu)


async def _states(url: str) -> dict[str, int]:
    conn = await setup.connect(url)
    try:
        return await setup.states(conn)
    finally:
        await conn.close()


async def expansion(url: str, fcm: setup.FcmProcess, batch: setup.Events) -> tuple[float, int]:
    """Expand every event with ``expand_once`` in a loop, sending nothing; (s, deliveries)."""
    notify = NotifySettings(fcm_local_url=fcm.url, digest_window_seconds=0)
    engine = open_engine(AppSettings(), url)
    app = open_app(notify)
    try:
        dispatcher = Dispatcher(engine, Gateway(app), notify)
        await setup.enqueue(url, batch)
        started = time.perf_counter()
        while (await dispatcher.expand_once()).events:
            pass
        return time.perf_counter() - started, dispatcher.totals.deliveries
    finally:
        await close_app(app)
        await engine.dispose()


# --- output --------------------------------------------------------------------------------


def machine(version: str, url: str) -> str:
    """Cores, CPU, Python, PostgreSQL."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    where = "DATABASE_URL" if AppSettings().database_url else "embedded"
    return (f"machine: {os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"PostgreSQL {version} ({where}), firebase-admin "
            f"{firebase_admin.__version__}; database {url.rsplit('/', 1)[-1]}")


def print_floor(result: Floor, size: int) -> None:
    """One row of the floor table."""
    ceiling = f"{result.messages / result.fcm_cpu:,.0f}" if result.fcm_cpu else "-"
    print(f"{result.transport:<10}{result.senders:<9}{size:>6}{result.messages:>10,}{sum(result.failed.values()):>9,}"
          f"{result.seconds:>9.1f}{result.rate:>9,.0f}{result.client_cpu:>12.1f}"
          f"{1000 * result.client_cpu / max(result.messages, 1):>11.2f}"
          f"{_cpu(result.fcm_cpu):>9}{ceiling:>13}", flush=True)
    if result.failed:
        print(f"{'':19}refused: {dict(result.failed)}")


def print_run(run: Run, floors: dict[int, Floor], pushes: int) -> None:
    """One row of the end-to-end table."""
    rate = run.sent / run.seconds
    base = floors.get(run.senders)
    worker, fcm_cpu, db_cpu = run.cpu
    per_push = "-" if worker is None else f"{1000 * worker / max(run.sent, 1):.2f}"
    print(f"{run.label:<20}{run.senders:>3}{run.size:>6}{run.sent:>10,}{run.seconds:>9.1f}"
          f"{rate:>10,.0f}{base.rate if base else 0:>9,.0f}"
          f"{rate / base.rate if base else 0:>7.2f}{_cpu(worker):>8}{per_push:>9}"
          f"{_cpu(fcm_cpu):>8}{_cpu(db_cpu):>8}", flush=True)
    if not run.finished or run.sent != pushes or set(run.states) - {"sent"} or run.retried:
        done = "finished" if run.finished else f"DID NOT FINISH within {run.seconds:.0f} s"
        print(f"{'':20}{done}: deliveries {run.states} (want {pushes:,} sent); "
              f"retries asked for: {'?' if run.retried is None else f'{run.retried:,}'}")


def print_summary(runs: list[Run], floors: dict[tuple[str, int, int], Floor],
                  transports: list[str]) -> None:
    """Pushes/s per worker process for each process count, beside the old floor (firebase-
    admin's own transport at the same senders and batch) and the new one."""
    print("\npushes/s per worker process (end to end / processes), against the floors of "
          "the same senders and batch measured above:")
    for run in runs:
        count = int(run.label.split()[0])
        rate = run.sent / run.seconds
        line = (f"  {count} process{'es' if count > 1 else '':<2}{rate:>8,.0f} pushes/s in all"
                f"{rate / count:>8,.0f} per process")
        for transport in transports:
            base = floors.get((transport, run.senders, run.size))
            if base is not None:
                line += (f"   {rate / count / base.rate:>5.2f} × the {transport} floor "
                         f"({base.rate:,.0f}/s)")
        print(line, flush=True)


def print_phases(run: Run) -> None:
    """Where the send loops and the expansion loop spent their wall time."""
    if run.phases is None:
        return
    print(f"where the time goes ({run.label}, senders {run.senders}, batch {run.size}: "
          f"{run.senders} send loops + 1 expansion loop share one event loop; wall seconds "
          f"summed over loops, {run.seconds:.1f} s elapsed)")
    print(f"  {'step':<38}{'calls':>7}{'seconds':>9}{'ms/call':>9}{'µs/push':>9}")
    for name in (step for step in STEPS if step in run.phases.seconds):
        seconds, calls = run.phases.seconds[name], run.phases.calls[name]
        print(f"  {name:<38}{calls:>7,}{seconds:>9.1f}{1000 * seconds / calls:>9.2f}"
              f"{1e6 * seconds / max(run.sent, 1):>9.1f}")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """The command line."""
    def numbers(text: str) -> list[int]:
        return [int(part.replace("_", "")) for part in text.split(",") if part]

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--senders", type=numbers, default=[2],
                        help="send loops per worker, a run each (default 2; e.g. 2,4)")
    parser.add_argument("--send-batch", type=numbers, default=[NotifySettings().send_batch],
                        dest="send_batch", help="messages per send_each call, a run each "
                        "(default %(default)s, the worker's; e.g. 500,50)")
    parser.add_argument("--processes", type=numbers, default=[1, 2, 4],
                        help="worker processes: 1 runs in this process, more run `mhi worker`"
                             " (default 1,2,4)")
    parser.add_argument("--transports", default="httpx,pooled",
                        type=lambda text: [part for part in text.split(",") if part],
                        help="the floor through each: httpx (firebase-admin's own, the old "
                             "floor), pooled (the worker's); default %(default)s")
    parser.add_argument("--floor-seconds", type=float, default=20.0, dest="floor_seconds")
    parser.add_argument("--max-seconds", type=float, default=1800.0, dest="max_seconds",
                        help="give a run up this long (default %(default)s)")
    parser.add_argument("--fault-events", type=int, default=None, dest="fault_events",
                        help="events of the fault run (default: --events)")
    parser.add_argument("--no-faults", action="store_false", dest="faults",
                        help="skip the run with injected faults")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 5,000 events for 2,500 people, a 10 s floor")
    args = parser.parse_args()
    if args.quick:
        args.people, args.events, args.floor_seconds = 2_500, 5_000, 10.0
    return args


def main() -> int:
    """Setup, floor, end to end, expansion alone, faults."""
    args = parse_args()
    logging.getLogger("mhi.notify").setLevel(logging.ERROR)  # not a line per 429 pause
    url = setup.bench_url(resolve_database_url(AppSettings()))
    version = asyncio.run(setup.prepare(url))
    pop = setup.population(args.people, SEED)
    batch = setup.events(pop, args.events, SEED, "run")
    print(f"== notifications: {args.events:,} events for {args.people:,} people, "
          f"{len(pop.devices):,} devices ({len(pop.devices) / args.people:.2f} each) "
          f"-> {batch.pushes:,} pushes ==")
    print(machine(version, url))
    print(f"events: {', '.join(f'{k} {v:,}' for k, v in batch.kinds.items())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mhi-bench-notify-") as tmp, \
            setup.fcm_local(Path(tmp) / "fcm-local.log") as fcm:
        messages = floor_messages(pop, FLOOR_DISTINCT)
        floors: dict[tuple[str, int, int], Floor] = {}
        print(f"\nfloor: firebase-admin send_each_async -> fcm-local for {args.floor_seconds:.0f}"
              f" s, {len(messages):,} distinct messages built beforehand, no database; "
              f"httpx: firebase-admin's own transport (the old floor), pooled: the worker's")
        print(f"{'transport':<10}{'senders':<9}{'batch':>6}{'accepted':>10}{'refused':>9}"
              f"{'seconds':>9}{'msgs/s':>9}{'client cpu':>12}{'ms/msg cpu':>11}{'fcm cpu':>9}"
              f"{'fcm-local/s':>13}")
        for size in args.send_batch:
            for senders in args.senders:
                for transport in args.transports:
                    floors[transport, senders, size] = asyncio.run(
                        floor(fcm, messages, args.floor_seconds, senders, size, transport))
                    print_floor(floors[transport, senders, size], size)
        print(f"\nend to end: events written in one transaction (not timed), then a running "
              f"worker until all {batch.pushes:,} pushes are finished (at most "
              f"{args.max_seconds:.0f} s)")
        print(f"{'worker':<20}{'snd':>3}{'batch':>6}{'pushes':>10}{'seconds':>9}{'pushes/s':>10}"
              f"{'floor/s':>9}{'ratio':>7}{'cpu s':>8}{'ms/push':>9}{'fcm cpu':>8}"
              f"{'db cpu':>8}")
        runs: list[Run] = []
        for count in args.processes:
            for size in args.send_batch:
                for senders in args.senders:
                    asyncio.run(setup.reset(url, pop))
                    fcm.clear()
                    if count == 1:
                        notify = NotifySettings(fcm_local_url=fcm.url, senders=senders,
                                                send_batch=size, digest_window_seconds=0)
                        run = asyncio.run(in_process(url, fcm, batch, notify,
                                                     "1 worker (in-proc)", args.max_seconds))
                    else:
                        run = processes(url, fcm, batch, count, senders, size, Path(tmp),
                                        args.max_seconds)
                    runs.append(run)
                    print_run(run, {s: f for (t, s, b), f in floors.items()
                                    if b == size and t == args.transports[-1]}, batch.pushes)
        print_summary(runs, floors, args.transports)
        for run in runs:
            print()
            print_phases(run)
        asyncio.run(setup.reset(url, pop))
        seconds, deliveries = asyncio.run(expansion(url, fcm, batch))
        print(f"\nexpansion alone (expand_once in a loop, {NotifySettings().expand_batch:,} "
              f"events a batch, nothing sent): {args.events:,} events -> {deliveries:,} "
              f"deliveries in {seconds:.1f} s: {args.events / seconds:,.0f} events/s, "
              f"{deliveries / seconds:,.0f} deliveries/s", flush=True)
        clean = True
        if args.faults:
            clean = faults(url, fcm, pop, batch if args.fault_events is None else
                           setup.events(pop, args.fault_events, SEED, "faults"), args)
    return 0 if clean else 1


def faults(url: str, fcm: setup.FcmProcess, pop: setup.Population, batch: setup.Events,
           args: argparse.Namespace) -> bool:
    """The run with injected faults and its audit; whether it was clean."""
    rng = random.Random(SEED)
    dead = {d.token for d in rng.sample(pop.devices, round(len(pop.devices) * UNREGISTERED_SHARE))}
    asyncio.run(setup.reset(url, pop))
    fcm.clear()
    fcm.faults(FAULTS)
    fcm.unregister(sorted(dead))
    notify = NotifySettings(fcm_local_url=fcm.url, senders=args.senders[0],
                            send_batch=args.send_batch[0], digest_window_seconds=0,
                            retry_base_seconds=0.2, max_attempts=8)
    rates = ", ".join(f"{code} {share:.2%}" for code, share in FAULTS["rates"].items())
    print(f"\nfaults: fcm-local answers {rates} (Retry-After {FAULTS['retry_after']} s), "
          f"{len(dead):,} tokens ({UNREGISTERED_SHARE:.0%}) unregistered up front; worker: "
          f"senders {notify.senders}, batch {notify.send_batch}, retry after "
          f"{notify.retry_base_seconds} s doubling, at most {notify.max_attempts} attempts",
          flush=True)
    try:
        run = asyncio.run(in_process(url, fcm, batch, notify, "faults", args.max_seconds))
        stats, counts = fcm.stats(), fcm.counts()
    finally:
        fcm.faults({"unregistered": []})
    audit = asyncio.run(setup.audit(url, pop, batch, dead, counts))
    print(f"  {'drained' if run.finished else 'NOT drained'} in {run.seconds:.1f} s "
          f"({run.sent / run.seconds:,.0f} pushes/s; a QUOTA_EXCEEDED answer pauses its send "
          f"loop for Retry-After); retries asked for: {run.retried or 0:,}")
    setup.print_audit(audit, run.states, stats)
    clean = audit.clean and run.finished
    print(f"  verdict: {'zero lost, zero doubled' if clean else 'FAILED'}")
    return clean


if __name__ == "__main__":
    sys.exit(main())
