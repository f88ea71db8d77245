"""A primary and a hot standby made by PostgreSQL's own streaming replication, from the
embedded server's binaries: what the replica tests and ``bench/replica.py`` run against, and
how an operator can try the read replica on one machine (``docs/scaling.md``).

The primary is a fresh cluster (``initdb``, trust on loopback, whose ``pg_hba.conf`` already
lets ``127.0.0.1`` connect for replication) with ``wal_level = replica``; the standby is
``pg_basebackup -R`` of it (the ``-R`` writes ``standby.signal`` and ``primary_conninfo``),
started on a port of its own with ``hot_standby = on``.  Both run as the embedded server's
system user when this process is root (``backend.ops.backup.Tools``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backend.ops.backup import Tools, conninfo, free_port, init_cluster, start, stop

SMALL = {
    "shared_buffers": "32MB",
    "max_connections": "100",
    "synchronous_commit": "off",
    "fsync": "off",
    "full_page_writes": "off",
    "log_error_verbosity": "terse",
    "log_min_error_statement": "panic",
}
"""Settings for throwaway clusters: small and quick (nothing here must survive a crash)."""


@dataclass(frozen=True)
class ReplicaPair:
    """A running primary and its streaming hot standby."""

    root: Path
    primary_port: int
    standby_port: int
    tools: Tools

    @property
    def primary_data(self) -> Path:
        """The primary's data directory."""
        return self.root / "primary"

    @property
    def standby_data(self) -> Path:
        """The standby's data directory."""
        return self.root / "standby"

    def url(self, database: str, *, standby: bool = False) -> str:
        """The SQLAlchemy (asyncpg) URL of ``database`` on the primary or the standby."""
        port = self.standby_port if standby else self.primary_port
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"

    def sql(self, statement: str, *, standby: bool = False, database: str = "postgres") -> str:
        """One statement through ``psql`` on either server; its rows."""
        port = self.standby_port if standby else self.primary_port
        return self.tools.sql(conninfo(port, database), statement)

    def stop_standby(self) -> None:
        """Stop the standby (fast: its sessions are cut)."""
        stop(self.tools, self.standby_data)

    def start_standby(self) -> None:
        """Start the standby again on its port; it resumes streaming from where it was."""
        start(self.tools, self.standby_data, self.standby_port, timeout=120,
              settings={**SMALL, "hot_standby": "on"})

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Until the standby has replayed everything the primary had written when asked."""
        target = self.sql("SELECT pg_current_wal_insert_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn",
                            standby=True)
            if done == "t":
                return
            time.sleep(0.05)
        raise TimeoutError("the standby did not catch up")


@contextmanager
def replica_pair(*, settings: dict[str, str] | None = None) -> Iterator[ReplicaPair]:
    """Start a primary and a hot standby in a temporary folder; stop and remove both after.

    ``settings`` are added to both servers' (the bench gives them bigger buffers)."""
    tools = Tools.embedded()
    root = Path(tempfile.mkdtemp(prefix="mhi-replica-"))
    extra = {**SMALL, **(settings or {})}
    started: list[Path] = []
    try:
        if tools.user is not None:
            shutil.chown(root, tools.user, tools.user)
        pair = ReplicaPair(root, free_port(), 0, tools)
        init_cluster(tools, pair.primary_data)
        start(tools, pair.primary_data, pair.primary_port, timeout=120,
              settings={**extra, "wal_level": "replica", "max_wal_senders": "4"})
        started.append(pair.primary_data)
        tools.own(pair.standby_data)
        tools.run("pg_basebackup", "-d", conninfo(pair.primary_port), "-D",
                  str(pair.standby_data), "-R", "-X", "stream", "-c", "fast", timeout=300)
        pair = ReplicaPair(root, pair.primary_port, free_port(), tools)
        start(tools, pair.standby_data, pair.standby_port, timeout=120,
              settings={**extra, "hot_standby": "on"})
        started.append(pair.standby_data)
        yield pair
    finally:
        for pgdata in reversed(started):
            with contextlib.suppress(Exception):  # already stopped (a test stopped it)
                stop(tools, pgdata)
        shutil.rmtree(root, ignore_errors=True)
