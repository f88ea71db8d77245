"""The backup drill: a backup counts only once it has been restored.

A fresh PostgreSQL cluster of its own (the embedded binaries, a free port, the embedded
server's settings on its command line, WAL archiving and WAL summaries on; never the suite's
shared server) is migrated and given a small demo country.
Then, as in production:

1. a full backup (``pg_basebackup``);
2. wave 1 of writes: a batch of contributions through the ingestion pipeline (contributions,
   their outbox events, recomputed statuses, the batch record) and desk reads in the access log;
3. an incremental backup (``--incremental`` on the full one's manifest);
4. wave 2 of writes; everything queued for the verifiable log is appended (leaves, tiles),
   and its size and root hash kept; the target: a restore point named ``drill-target`` with every
   table's row count and content checksum at it (``backend.ops.sums.mark``), and the server's
   clock just after;
5. wave 3 of writes, after the target; the current WAL segment is archived;
6. ``pg_verifybackup`` on both backups (and on a copy with one changed byte, refused);
7. restore by **time** from full + incremental + the archive, and by **name** from the full
   backup and the archive alone, each into a fresh directory on a free port; each copy must
   hold exactly what was committed before the target: waves 1 and 2, not wave 3, and the
   log's tree rebuilt from its tiles must have the size and root it had at the target.

Every table of the schemas ``core``, ``auth``, ``notify``, ``stats``, ``public`` (and ``tlog``,
the verifiable log, when it exists) is compared, so a table added later is covered without an
edit here.  Two more tests run ``mhi backup`` as an operator would, and make a writer deadlock
with a mark.  The figures (sizes, times, the archive's lag) are printed: ``make drill`` shows them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.access import audit
from backend.db import migrate
from backend.db.admin import ensure_database
from backend.db.embedded import SERVER_OPTIONS
from backend.db.engine import create_engine
from backend.db.reads import Reads
from backend.demo.generator import generate
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import docs_of, ingest
from backend.models.audit import ActorKind
from backend.ops import backup, sums
from backend.rates.repository import load_rate_book
from backend.tlog.append import append_all
from backend.tlog.store import driver_of, root_hash, tree_size

TODAY = date(2026, 11, 23)
PEOPLE = int(os.environ.get("DRILL_PEOPLE", "300"))
"""The demo's size: 300 keeps the drill within ``make test``; ``make drill DRILL_PEOPLE=30000``
measures the figures at a size where copying dominates (loading that demo takes minutes)."""
PAYERS = 25  # people paid for in each wave
CORE = ("core.person", "core.contribution", "core.service_payment", "core.access_log",
        "core.ingestion_batch", "notify.outbox")
WRITTEN = ("core.contribution", "core.access_log", "core.ingestion_batch", "notify.outbox")
TARGET_NAME = "drill-target"
DESK = audit.Actor(ActorKind.STAFF, "drill-desk", "Drill Desk", "Drill clinic")
LOG_KEY = bytes(range(32))
"""The pseudonym key of the drill's verifiable log (only this throwaway cluster uses it)."""


async def table_sums(dsn: str) -> sums.Sums:
    """Each table's row count and content checksum on the server at ``dsn``."""
    conn = await asyncpg.connect(dsn)
    try:
        return await sums.table_sums(conn)
    finally:
        await conn.close()


async def log_root(engine: AsyncEngine) -> tuple[int, bytes]:
    """The verifiable log's size and root hash, as the tiles stored in the database give it."""
    async with engine.connect() as conn:
        driver = await driver_of(conn)
        size = await tree_size(driver)
        return size, bytes(await root_hash(driver, size))


async def sources(engine: AsyncEngine) -> set[str]:
    """The ingestion sources whose contributions the database holds."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT DISTINCT source FROM core.contribution"))
        return {str(row[0]) for row in rows}


def embedded_settings() -> dict[str, str]:
    """The embedded server's own settings (the ``-c`` of its command line), which the
    drill's clusters get the same way: a copy must recover from a source whose
    ``max_connections`` came from a command line that the copy does not inherit."""
    settings = {}
    for option in SERVER_OPTIONS:
        name, _, value = option.removeprefix("-c ").partition("=")
        if name not in ("listen_addresses", "unix_socket_directories"):
            settings[name] = value.strip("'")
    return settings


@dataclass
class Drill:
    """The drill's cluster, backups and figures; the source stays up until the end."""

    tools: backup.Tools
    work: Path
    port: int = 0
    engine: AsyncEngine | None = None
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The backup root: ``wal/`` and the backups."""
        return self.work / "backups"

    @property
    def dsn(self) -> str:
        """The source's libpq URL."""
        return backup.conninfo(self.port, "mhi")

    async def start_source(self) -> AsyncEngine:
        """A new cluster that archives its WAL, migrated, with the demo country."""
        pgdata = self.work / "source"
        self.tools.own(self.root, self.root / backup.ARCHIVE)
        await asyncio.to_thread(backup.init_cluster, self.tools, pgdata)
        backup.append_settings(pgdata, backup.archiving_settings(self.root / backup.ARCHIVE))
        self.port = backup.free_port()
        await asyncio.to_thread(backup.start, self.tools, pgdata, self.port,
                                settings=embedded_settings())
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/mhi"
        await ensure_database(url)
        self.engine = create_engine(url, pool_size=2, max_overflow=2)
        await migrate.upgrade(self.engine)
        await generate(self.engine, people=PEOPLE, seed=1, as_of=TODAY, quiet=True)
        return self.engine

    async def write_wave(self, wave: int) -> None:
        """One batch of self-payments for ``PAYERS`` people (a month each, so every record is
        new), committed with its events and statuses, and a desk read of each of them."""
        assert self.engine is not None
        async with self.engine.connect() as conn:
            people = (await conn.execute(text(
                "SELECT id, iin FROM core.person ORDER BY iin LIMIT :n"), {"n": PAYERS})).all()
            rates = await load_rate_book(conn)
        period = f"2025-{wave:02d}"
        records = [{"recordId": f"drill-{wave}-{n}", "iin": iin, "kind": "self_payment",
                    "period": period, "amount": "4250.00", "paidOn": "2026-11-20",
                    "paymentCode": 122} for n, (_, iin) in enumerate(people)]
        result = await ingest(self.engine, Contributions(), source=f"drill-wave-{wave}",
                              today=TODAY, rates=rates, rows=docs_of(records))
        assert result.accepted == PAYERS, result.rejections[:3]
        await audit.record(Reads(self.engine), DESK, [row[0] for row in people],
                           purpose="profile", reason="consent", reference=f"drill-{wave}")

    async def take(self, *, incremental: bool) -> backup.BackupInfo:
        """A backup of the source; its time and size kept as figures."""
        kind = "incremental" if incremental else "full"
        info = await asyncio.to_thread(backup.take_backup, self.tools, self.dsn, self.root,
                                       incremental=incremental)
        self.figures[f"{kind} backup seconds"] = info.seconds
        self.figures[f"{kind} backup MiB"] = info.bytes / 2**20
        return info

    async def restore(self, label: str, links: list[backup.BackupInfo],
                      target: backup.Target) -> tuple[AsyncEngine, backup.Restored]:
        """A copy restored from ``links`` and the archive, running, and an engine on it."""
        done = await asyncio.to_thread(
            backup.restore, self.tools, [info.path(self.root) for info in links],
            self.root / backup.ARCHIVE, self.work / f"restored-{label}", target=target,
            port=backup.free_port(), timeout=600)
        self.figures[f"restore by {label} seconds"] = done.seconds
        self.figures[f"restore by {label}: combine seconds"] = done.combine_seconds
        self.figures[f"restore by {label}: recovery seconds"] = done.recovery_seconds
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{done.port}/mhi"
        return create_engine(url, pool_size=1, max_overflow=1), done


@dataclass
class Outcome:
    """What the drill saw: the state at the target, the source's at the end, the copies'."""

    at_target: sums.Sums
    at_end: sums.Sums
    log_at_target: tuple[int, bytes]
    log_at_end: tuple[int, bytes]
    restored_log: dict[str, tuple[int, bytes]]
    restored: dict[str, sums.Sums]
    restored_sources: dict[str, set[str]]
    time_chain: list[str]
    full: backup.BackupInfo
    incremental: backup.BackupInfo
    drill: Drill


async def run_drill(drill: Drill) -> Outcome:
    """Steps 1 to 7 of the module's docstring."""
    engine = await drill.start_source()
    full = await drill.take(incremental=False)
    await drill.write_wave(1)
    incremental = await drill.take(incremental=True)
    await drill.write_wave(2)
    appended = await append_all(engine, LOG_KEY)  # the log's leaves and tiles so far
    drill.figures["log append seconds"] = appended.seconds
    log_at_target = await log_root(engine)
    _, at_target = await sums.mark(drill.dsn, TARGET_NAME)
    async with engine.connect() as conn:
        moment: datetime = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
    await drill.write_wave(3)
    await append_all(engine, LOG_KEY)
    log_at_end = await log_root(engine)
    at_end = await table_sums(drill.dsn)
    drill.figures["tables compared"] = len(at_target)
    drill.figures["rows at the target"] = sum(value.rows for value in at_target.values())
    drill.figures["WAL archive lag seconds"] = await asyncio.to_thread(
        backup.wait_archived, drill.tools, drill.dsn)
    drill.figures["WAL archive MiB"] = backup.size_of(drill.root / backup.ARCHIVE) / 2**20
    for info in (full, incremental):
        seconds = await asyncio.to_thread(backup.verify, drill.tools, info.path(drill.root))
        drill.figures[f"verify {info.kind} seconds"] = seconds
    restored: dict[str, sums.Sums] = {}
    restored_sources: dict[str, set[str]] = {}
    restored_log: dict[str, tuple[int, bytes]] = {}
    plans = {"time": (backup.chain(drill.root, finished_before=moment),
                      backup.Target(time=moment)),
             "name": ([full], backup.Target(name=TARGET_NAME))}
    for label, (links, target) in plans.items():
        copy, done = await drill.restore(label, links, target)
        try:
            restored[label] = await table_sums(backup.conninfo(done.port, "mhi"))
            restored_sources[label] = await sources(copy)
            restored_log[label] = await log_root(copy)
        finally:
            await copy.dispose()
            await asyncio.to_thread(backup.stop, drill.tools, done.pgdata)
    return Outcome(at_target, at_end, log_at_target, log_at_end, restored_log, restored,
                   restored_sources, [info.name for info in plans["time"][0]], full,
                   incremental, drill)


@pytest.fixture(scope="module")
async def outcome() -> AsyncIterator[Outcome]:
    """The drill, run once for the module's tests; its cluster and files removed after."""
    tools = backup.Tools.embedded()
    work = Path(tempfile.mkdtemp(prefix="mhi-drill-"))
    tools.own(work)
    drill = Drill(tools, work)
    began = time.monotonic()
    try:
        result = await run_drill(drill)
        drill.figures["drill seconds"] = time.monotonic() - began
        print("\nbackup drill figures:\n" + json.dumps(
            {name: round(value, 2) for name, value in drill.figures.items()}, indent=2))
        yield result
    finally:
        if drill.engine is not None:
            await drill.engine.dispose()
        if drill.port:
            await asyncio.to_thread(backup.stop, tools, work / "source")
        shutil.rmtree(work, ignore_errors=True)


def test_the_restore_by_time_holds_exactly_what_was_committed_before_the_target(
        outcome: Outcome) -> None:
    restored = outcome.restored["time"]
    assert set(CORE) <= set(restored)
    assert restored == outcome.at_target
    assert {"drill-wave-1", "drill-wave-2"} <= outcome.restored_sources["time"]
    assert "drill-wave-3" not in outcome.restored_sources["time"]


def test_the_restore_to_a_named_point_from_the_full_backup_and_the_archive_matches_too(
        outcome: Outcome) -> None:
    assert outcome.restored["name"] == outcome.at_target
    assert "drill-wave-3" not in outcome.restored_sources["name"]


def test_the_restored_verifiable_log_has_the_root_it_had_at_the_target(
        outcome: Outcome) -> None:
    """The log's tree, rebuilt from the restored tiles, has the source's size and root hash at
    the target, in both copies; the source's log grew after it (wave 3 was appended)."""
    size, _ = outcome.log_at_target
    assert size > 0
    assert outcome.restored_log == {"time": outcome.log_at_target,
                                    "name": outcome.log_at_target}
    assert outcome.log_at_end[0] > size


def test_the_comparison_would_see_writes_after_the_target(outcome: Outcome) -> None:
    """Wave 3 changed every table it writes: a copy restored past the target would differ."""
    for table in WRITTEN:
        assert outcome.at_end[table] != outcome.at_target[table], table
        assert outcome.at_end[table].rows > outcome.at_target[table].rows, table


def test_the_time_restore_used_the_incremental_backup(outcome: Outcome) -> None:
    assert outcome.time_chain == [outcome.full.name, outcome.incremental.name]
    assert outcome.incremental.parent == outcome.full.name
    assert outcome.incremental.bytes < outcome.full.bytes


def test_a_damaged_backup_fails_verification(outcome: Outcome) -> None:
    """One changed byte in a copy of the incremental backup: ``pg_verifybackup`` says so."""
    drill = outcome.drill
    copy = drill.work / f"damaged-{uuid.uuid4().hex[:6]}"
    shutil.copytree(outcome.incremental.path(drill.root), copy)
    victim = next(path for path in sorted((copy / "base").rglob("*"))
                  if path.is_file() and path.stat().st_size > 0)
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    if drill.tools.user is not None:  # the copy is root's: let the tools' user read it
        for path in [copy, *copy.rglob("*")]:
            shutil.chown(path, drill.tools.user, drill.tools.user)
    with pytest.raises(backup.BackupError, match="checksum mismatch"):
        backup.verify(drill.tools, copy)


def mhi_backup(dsn: str, *args: str, status: int = 0) -> str:
    """``mhi backup ARGS`` as an operator runs it, on the server at ``dsn``; its output."""
    result = subprocess.run(  # noqa: S603 - the project's own script
        [str(Path(sys.executable).parent / "mhi"), "backup", *args], capture_output=True,
        text=True, timeout=600, check=False, env={**os.environ, "DATABASE_URL": dsn})
    assert result.returncode == status, result.stdout + result.stderr
    return result.stdout


@contextmanager
def plain_cluster() -> Iterator[tuple[backup.Tools, Path, int]]:
    """A new empty cluster (no archiving) on a free port, its work directory, and its port;
    every server started under the directory is stopped after, and the directory removed."""
    tools = backup.Tools.embedded()
    work = Path(tempfile.mkdtemp(prefix="mhi-backup-plain-"))
    tools.own(work)
    port = backup.free_port()
    try:
        backup.init_cluster(tools, work / "source")
        backup.start(tools, work / "source", port, settings=embedded_settings())
        yield tools, work, port
    finally:
        for pid in work.glob("*/postmaster.pid"):
            backup.stop(tools, pid.parent)
        shutil.rmtree(work, ignore_errors=True)


def test_mhi_backup_configures_backs_up_verifies_and_restores_a_named_point() -> None:
    """The commands of ``infra/README.md`` on a plain cluster: configure (then restart),
    base, incremental, mark, verify, restore; the copy has the rows before the mark only, and
    says so by comparing itself with the mark's sums; the source, written since, does not.
    Then a new full backup, and prune keeps it alone with the WAL from its start."""
    with plain_cluster() as (tools, work, port):
        source, copy, root = work / "source", work / "copy", work / "backups"
        copy_port = backup.free_port()
        dsn = backup.conninfo(port)
        said = mhi_backup(dsn, "configure", "--into", str(root))
        assert "restart the server for archive_mode" in said
        backup.stop(tools, source)
        backup.start(tools, source, port, settings=embedded_settings())
        tools.sql(dsn, "CREATE TABLE note (id int PRIMARY KEY); INSERT INTO note VALUES (1)")
        assert "full backup" in mhi_backup(dsn, "base", "--into", str(root))
        tools.sql(dsn, "INSERT INTO note VALUES (2)")
        assert "incremental backup" in mhi_backup(dsn, "incremental", "--into", str(root))
        tools.sql(dsn, "INSERT INTO note VALUES (3)")
        assert "archived" in mhi_backup(dsn, "mark", "--name", "before-4", "--into", str(root))
        tools.sql(dsn, "INSERT INTO note VALUES (4)")
        assert mhi_backup(dsn, "verify", "--into", str(root)).count("verified") == 2
        said = mhi_backup(dsn, "restore", "--into", str(root), "--to", str(copy),
                          "--port", str(copy_port), "--target-name", "before-4")
        assert backup.conninfo(copy_port) in said
        assert "matches before-4.json: 1 table, 3 rows" in said
        restored = tools.sql(backup.conninfo(copy_port),
                             "SELECT string_agg(id::text, ',' ORDER BY id) FROM note")
        assert restored == "1,2,3"
        said = mhi_backup(dsn, "compare", "--sums", str(root / "marks" / "before-4.json"),
                          status=1)
        assert "differs: public.note: expected 3 rows" in said
        archived = sorted(path.name for path in (root / "wal").iterdir())
        assert "full backup" in mhi_backup(dsn, "base", "--into", str(root))
        said = mhi_backup(dsn, "prune", "--keep", "1", "--into", str(root))
        assert "removed 2 backups" in said
        (newest,) = backup.chain(root)
        label = (newest.path(root) / "backup_label").read_text(encoding="utf-8")
        start = label.split("(file ", 1)[1].split(")", 1)[0]
        kept = sorted(path.name for path in (root / "wal").iterdir()
                      if len(path.name) == 24)  # segments (.backup files are a few bytes)
        assert archived[0] < start and archived[0] not in kept
        assert kept and all(name >= start for name in kept)
        assert mhi_backup(dsn, "verify", "--into", str(root)).count("verified") == 1


async def test_a_mark_among_writers_gives_way_and_aborts_none_of_them() -> None:
    """A writer holds ``b_second`` and then wants ``a_first``, which the mark has locked
    while it waits for ``b_second``: a deadlock, unless the mark gives way first (its lock
    timeout is below the deadlock timeout).  The writer commits, and the mark, tried again,
    counts its rows."""
    with plain_cluster() as (_, _, port):
        dsn = backup.conninfo(port)
        writer = await asyncpg.connect(dsn)
        try:
            await writer.execute("CREATE TABLE a_first (id int PRIMARY KEY);"
                                 " CREATE TABLE b_second (id int PRIMARY KEY)")
            writing = writer.transaction()
            await writing.start()
            await writer.execute("INSERT INTO b_second VALUES (1)")
            marking = asyncio.create_task(sums.mark(dsn, "among-writers"))
            while not await writer.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = 'b_second'::regclass"):
                assert not marking.done(), marking
                await asyncio.sleep(0.01)
            await writer.execute("INSERT INTO a_first VALUES (1)")
            await writing.commit()
            _, found = await marking
        finally:
            await writer.close()
    assert (found["public.a_first"].rows, found["public.b_second"].rows) == (1, 1)
