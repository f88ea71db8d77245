"""What the notification benchmark (``bench/notify.py``) stands on: its database, the people,
devices and events it pushes, fcm-local in a process of its own, CPU readings, and the audit
that proves a fault run lost and doubled nothing.

People are random UUIDs (``notify`` has no foreign key to ``core``); each has one device and
30 % a second one, in kk / ru / en.  Events are spread evenly over people (shuffled, so that
neighbours in the outbox belong to different people): 90 % ``contribution.received``, 5 %
``status.changed`` to CONDITIONALLY_INSURED (critical), 5 % back to INSURED, each with a unique
``dedupe_key`` and a payload shaped like the backend's own.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from backend.db import migrate
from backend.db.admin import ensure_database
from backend.db.engine import create_engine
from bench.home_screen import cpu_seconds
from bench.raw_floor import asyncpg_dsn

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "mhi_bench_notify"
SECOND_DEVICE_SHARE = 0.30
LANGUAGES = (("kk", 45), ("ru", 45), ("en", 10))
PLATFORMS = (("android", 70), ("ios", 30))
TOKEN_PAD = "A" * 140  # FCM registration tokens are ~150 characters
PAYERS: tuple[dict[str, str], ...] = (
    {"kk": "«Алатау Құрылыс» ЖШС", "ru": "ТОО «Алатау Курылыс»", "en": "Alatau Qurylys LLP"},
    {"kk": "«ҚазМұнайСервис» АҚ", "ru": "АО «КазМунайСервис»", "en": "KazMunaiService JSC"},
    {"kk": "Алматы қаласы әкімдігі", "ru": "Акимат города Алматы", "en": "Almaty City Akimat"},
)
NOTIFY_TABLES = ("notify.delivery", "notify.notification", "notify.outbox", "notify.device",
                 "notify.preference", "notify.quiet_hours")
DEVICE_COLUMNS = ("person_id", "token", "token_kind", "platform", "app_version", "language",
                  "time_zone")
OUTBOX_COLUMNS = ("person_id", "kind", "payload", "dedupe_key")
HEALTH_SECONDS = 30.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


# --- people, devices, events ---------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """One phone: its owner (an index into ``Population.people``) and what it registered."""

    person: int
    token: str
    platform: str
    language: str


@dataclass(frozen=True)
class Population:
    """People and their devices."""

    people: list[uuid.UUID]
    devices: list[Device]

    def per_person(self) -> list[int]:
        """How many devices each person has."""
        counts = [0] * len(self.people)
        for device in self.devices:
            counts[device.person] += 1
        return counts


def population(people: int, seed: int) -> Population:
    """``people`` people, each with one device and ``SECOND_DEVICE_SHARE`` of them two."""
    rng = random.Random(seed)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(people)]
    devices: list[Device] = []
    for person in range(people):
        language = _weighted(rng, LANGUAGES)
        for _ in range(2 if rng.random() < SECOND_DEVICE_SHARE else 1):
            n = len(devices) + 1
            devices.append(Device(person, f"bench-{n:07d}:{TOKEN_PAD}",
                                  _weighted(rng, PLATFORMS), language))
    return Population(ids, devices)


@dataclass(frozen=True)
class Events:
    """Outbox rows to enqueue and what they should become."""

    rows: list[tuple[uuid.UUID, str, str, str]]
    per_person: Counter[int]
    kinds: Counter[str]
    pushes: int  # one per (event, device of its person)


def _contribution(n: int, rng: random.Random) -> dict[str, Any]:
    return {"batch": 1, "contributions": [{
        "id": n, "kind": "employer_deduction", "period": "2026-10",
        "amountTiyn": rng.choice((425_000, 637_500, 1_275_000)), "paidOn": "2026-11-20",
        "payer": rng.choice(PAYERS)}]}


GRACE = {"oldStatus": "INSURED", "newStatus": "CONDITIONALLY_INSURED", "reason": "GRACE_PERIOD",
         "on": "2026-11-23", "changesOn": "2027-02-01"}
PAID = {"oldStatus": "CONDITIONALLY_INSURED", "newStatus": "INSURED", "reason": "PAID",
        "on": "2026-11-23", "changesOn": "2027-02-01"}


def events(pop: Population, count: int, seed: int, tag: str) -> Events:
    """``count`` events spread evenly over the people, in shuffled order."""
    rng = random.Random(seed)
    owners = [n % len(pop.people) for n in range(count)]
    rng.shuffle(owners)
    devices = pop.per_person()
    rows: list[tuple[uuid.UUID, str, str, str]] = []
    kinds: Counter[str] = Counter()
    for n, person in enumerate(owners, start=1):
        roll = rng.random()
        if roll < 0.90:
            kind, payload = "contribution.received", _contribution(n, rng)
        else:
            kind, payload = "status.changed", (GRACE if roll < 0.95 else PAID)
        kinds[kind if payload is not GRACE else "status.changed (critical)"] += 1
        rows.append((pop.people[person], kind, json.dumps(payload, ensure_ascii=False),
                     f"bench:{tag}:{n}"))
    per_person = Counter(owners)
    return Events(rows, per_person, kinds, sum(devices[p] * k for p, k in per_person.items()))


# --- the database --------------------------------------------------------------------------


def bench_url(base: str) -> str:
    """The benchmark's own database on the server of ``base``."""
    return make_url(base).set(database=DATABASE).render_as_string(hide_password=False)


async def connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection (named, so that CPU readings can leave it out)."""
    return await asyncpg.connect(asyncpg_dsn(url), server_settings={
        "application_name": "mhi-bench"})


async def prepare(url: str) -> str:
    """Create the database if missing and migrate it to head; the server's version."""
    await ensure_database(url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    conn = await connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def reset(url: str, pop: Population) -> None:
    """Empty every ``notify`` table and register the population's devices anew."""
    conn = await connect(url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(NOTIFY_TABLES)} RESTART IDENTITY")
        await conn.copy_records_to_table(
            "device", schema_name="notify", columns=list(DEVICE_COLUMNS),
            records=[(pop.people[d.person], d.token, "token", d.platform, "1.4.0", d.language,
                      "Asia/Almaty") for d in pop.devices])
        await conn.execute("VACUUM ANALYZE notify.device, notify.outbox, notify.delivery")
    finally:
        await conn.close()


async def enqueue(url: str, batch: Events) -> float:
    """Write the events in one transaction (with fresh statistics); seconds."""
    conn = await connect(url)
    started = time.perf_counter()
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("outbox", schema_name="notify",
                                             columns=list(OUTBOX_COLUMNS), records=batch.rows)
            await conn.execute("ANALYZE notify.outbox")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def pending(conn: asyncpg.Connection) -> bool:
    """Whether anything is left to do: an event not expanded, a delivery not finished."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM notify.outbox WHERE dispatched_at IS NULL)"
        " OR EXISTS (SELECT 1 FROM notify.delivery WHERE state = 'pending')"
        " OR EXISTS (SELECT 1 FROM notify.delivery WHERE state = 'sending')"))


async def states(conn: asyncpg.Connection) -> dict[str, int]:
    """Deliveries by state."""
    return {row[0]: int(row[1]) for row in await conn.fetch(
        "SELECT state, count(*) FROM notify.delivery GROUP BY state ORDER BY state")}


async def backend_cpu(conn: asyncpg.Connection) -> dict[int, float]:
    """CPU seconds so far of the database's backends (other than the benchmark's own)."""
    pids = [row[0] for row in await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name <> 'mhi-bench'")]
    return {pid: seconds for pid in pids if (seconds := cpu_seconds(pid)) is not None}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float | None:
    """CPU spent between two readings (None when ``/proc`` shows none of the processes)."""
    if not after:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# --- fcm-local -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FcmProcess:
    """fcm-local running in a child process."""

    url: str
    pid: int

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def clear(self) -> None:
        """Forget what was accepted (the faults stay)."""
        self._call("DELETE", "/admin/messages")

    def faults(self, faults: dict[str, Any]) -> None:
        """Replace the faults (``PUT /admin/faults``)."""
        self._call("PUT", "/admin/faults", faults)

    def unregister(self, tokens: Sequence[str]) -> None:
        """These tokens' apps are gone: UNREGISTERED from now on."""
        self._call("POST", "/admin/unregister", {"targets": list(tokens)})

    def counts(self) -> dict[str, int]:
        """Accepted messages per target."""
        return {str(k): int(v) for k, v in self._call("GET", "/admin/counts").items()}

    def stats(self) -> dict[str, Any]:
        """Accepted, errors by code, targets."""
        return dict(self._call("GET", "/admin/stats"))

    def cpu(self) -> float | None:
        """Its CPU seconds so far."""
        return cpu_seconds(self.pid)


@contextmanager
def fcm_local(log: Path, faults: dict[str, Any] | None = None) -> Iterator[FcmProcess]:
    """``python -m notifications.fcm_local`` on a free loopback port, until the block ends."""
    port = free_port()
    env = {**os.environ, "FCM_LOCAL_PORT": str(port), "PYTHONPATH": str(ROOT)}
    if faults:
        env["FCM_LOCAL_FAULTS"] = json.dumps(faults)
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "notifications.fcm_local"],
                                   cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(process, url, log)
        yield FcmProcess(url, process.pid)
    finally:
        stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"fcm-local exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"fcm-local did not answer /healthz within {HEALTH_SECONDS:.0f} s:\n"
             f"{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the audit of a fault run --------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """Lost, doubled and the unregistered devices after a fault run, from both sides."""

    expected: int  # (event, live device) pairs: pushes that must arrive exactly once
    accepted: int  # what fcm-local accepted in all
    sent_rows: int  # deliveries marked sent
    lost_rows: int  # pairs to live devices with no delivery row, or one not sent
    lost_fcm: int  # pushes short at fcm-local, per live device, against the events
    doubled_fcm: int  # pushes beyond one per event, per device, at fcm-local
    doubled_rows: int  # devices whose fcm-local count exceeds their sent deliveries
    phantom_rows: int  # devices with more deliveries marked sent than fcm-local accepted
    unregistered: int
    unregistered_reached: int  # of those, devices whose person had an event
    retired: int  # of those, devices retired UNREGISTERED
    unregistered_open: int  # their deliveries neither rejected nor cancelled
    unregistered_accepted: int  # what fcm-local accepted for them (must be 0)
    other_retired: int  # live devices retired all the same (must be 0)

    @property
    def clean(self) -> bool:
        """Nothing lost, nothing doubled, every unregistered token handled."""
        return not (self.lost_rows or self.lost_fcm or self.doubled_fcm or self.doubled_rows
                    or self.phantom_rows or self.unregistered_open
                    or self.unregistered_accepted or self.other_retired
                    or self.retired != self.unregistered_reached
                    or self.accepted != self.sent_rows)


LOST_SQL = """
SELECT count(*) FROM notify.outbox o
JOIN notify.device v ON v.person_id = o.person_id
LEFT JOIN notify.delivery d ON d.event_id = o.id AND d.device_id = v.id
WHERE v.token <> ALL($1::text[]) AND d.state IS DISTINCT FROM 'sent'
"""
PER_DEVICE_SQL = """
SELECT v.token, v.retired_reason, count(d.id) FILTER (WHERE d.state = 'sent'),
       count(d.id) FILTER (WHERE d.state NOT IN ('rejected', 'cancelled'))
FROM notify.device v LEFT JOIN notify.delivery d ON d.device_id = v.id GROUP BY v.id
"""


async def audit(url: str, pop: Population, batch: Events, dead: set[str],
                counts: dict[str, int]) -> Audit:
    """Compare fcm-local's count per device with the events and with the deliveries."""
    conn = await connect(url)
    try:
        lost_rows = int(await conn.fetchval(LOST_SQL, sorted(dead)))
        rows = await conn.fetch(PER_DEVICE_SQL)
    finally:
        await conn.close()
    owner = {d.token: d.person for d in pop.devices}
    lost_fcm = doubled_fcm = doubled_rows = phantom_rows = 0
    retired = unregistered_open = other_retired = 0
    sent_rows = 0
    for token, reason, sent, open_ in rows:
        got = counts.get(token, 0)
        sent_rows += sent
        doubled_rows += got > sent
        phantom_rows += sent > got
        if token in dead:
            retired += reason == "UNREGISTERED"
            unregistered_open += open_
            continue
        other_retired += reason is not None
        want = batch.per_person.get(owner[token], 0)
        lost_fcm += max(0, want - got)
        doubled_fcm += max(0, got - want)
    live = [d for d in pop.devices if d.token not in dead]
    return Audit(
        expected=sum(batch.per_person.get(d.person, 0) for d in live),
        accepted=sum(counts.values()), sent_rows=sent_rows, lost_rows=lost_rows,
        lost_fcm=lost_fcm, doubled_fcm=doubled_fcm, doubled_rows=doubled_rows,
        phantom_rows=phantom_rows, unregistered=len(dead),
        unregistered_reached=sum(1 for d in pop.devices
                                 if d.token in dead and batch.per_person.get(d.person, 0)),
        retired=retired, unregistered_open=unregistered_open,
        unregistered_accepted=sum(counts.get(token, 0) for token in dead),
        other_retired=other_retired)


def print_audit(audit: Audit, states: dict[str, int], stats: dict[str, Any]) -> None:
    """The fault run's proof, one check a line."""
    errors = ", ".join(f"{code} {n:,}" for code, n in sorted(stats["errors"].items()))
    print(f"  fcm-local answered: accepted {stats['accepted']:,}; errors {errors}")
    print(f"  deliveries by state: {', '.join(f'{k} {v:,}' for k, v in states.items())}")
    rows = (
        ("pushes due to live devices (event × device)", audit.expected, None),
        ("accepted by fcm-local in all", audit.accepted, None),
        ("deliveries marked sent", audit.sent_rows, None),
        ("lost: live (event, device) not sent in the db", audit.lost_rows, 0),
        ("lost: live device got fewer than its events", audit.lost_fcm, 0),
        ("doubled: device got more than its events", audit.doubled_fcm, 0),
        ("doubled: fcm-local count > sent rows (devices)", audit.doubled_rows, 0),
        ("sent rows > fcm-local count (devices)", audit.phantom_rows, 0),
        ("accepted − sent rows", audit.accepted - audit.sent_rows, 0),
        ("unregistered tokens", audit.unregistered, None),
        ("  reached (their person had an event)", audit.unregistered_reached, None),
        ("  retired UNREGISTERED", audit.retired, audit.unregistered_reached),
        ("  their deliveries not rejected/cancelled", audit.unregistered_open, 0),
        ("  accepted by fcm-local for them", audit.unregistered_accepted, 0),
        ("live devices retired all the same", audit.other_retired, 0),
    )
    print(f"  {'check':<50}{'count':>10}{'want':>8}")
    for name, value, want in rows:
        verdict = "" if want is None else f"{want:>8,}  {'ok' if value == want else 'FAIL'}"
        print(f"  {name:<50}{value:>10,}{verdict}")
