"""The witness's own storage: a directory of small files, never the app's database.

A witness must remember, for each log it follows, the latest checkpoint it cosigned, and that
memory must survive a crash at any instant: if it came back with an older checkpoint, it
would cosign a fork of what it has already vouched for.  So every file here is written
atomically: the new bytes go to a temporary file in the same directory, which is flushed and
fsynced, then renamed over the old file (``os.replace``, atomic on POSIX), and the directory
is fsynced so that the rename itself is on disk.  A crash before the rename leaves the old
file whole (and a stray ``.tmp`` file, which nothing reads); a crash after it, the new one.

Layout of the directory::

    witness.key                      the witness's Ed25519 private key (mode 0600), made once
    logs/<sha256(origin)>.checkpoint the latest cosigned checkpoint of each log: the note as
                                     the log signed it, with the witness's cosignature added
    logs/<sha256(origin)>.lock       taken (flock) while a request for that log is decided
    evidence/<sha256(origin)>/…      validly signed checkpoints that failed a consistency check
                                     (possible proof that the log misbehaved), kept for people
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

KEY_FILE: Final = "witness.key"
MAX_EVIDENCE_PER_LOG: Final = 1000
"""Refused checkpoints kept per log; after that they are only logged (a disk is finite)."""


def origin_hash(origin: str) -> str:
    """The name of a log in the witness's files and URLs: SHA-256 of the origin, lowercase hex
    (the monitoring path of C2SP tlog-witness, ``/<origin hash>/checkpoint``)."""
    return hashlib.sha256(origin.encode()).hexdigest()


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new name in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temporary(directory: Path, name: str, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new temporary file in ``directory``, flushed and fsynced."""
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return Path(temporary)


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path``'s content with ``data`` so that a crash at any point leaves either the
    old content or the new one, whole: temporary file, fsync, ``os.replace``, fsync of the
    directory.  Raises ``OSError`` (and leaves the old content) when any step fails."""
    temporary = _write_temporary(path.parent, path.name, data, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def create_once(path: Path, data: bytes, *, mode: int = 0o600) -> bytes:
    """Write ``data`` to ``path`` unless it exists, atomically and without ever replacing an
    existing file (two processes racing both end up with the winner's bytes); returns what
    ``path`` holds afterwards."""
    temporary = _write_temporary(path.parent, path.name, data, mode)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        os.unlink(temporary)
    fsync_directory(path.parent)
    return data


class WitnessStore:
    """The files of one witness under ``directory`` (created when missing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.logs = directory / "logs"
        self.evidence = directory / "evidence"
        for folder in (directory, self.logs, self.evidence):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def key_path(self) -> Path:
        """Where the witness's private key is kept."""
        return self.directory / KEY_FILE

    def read_key(self) -> str | None:
        """The private key's text, or ``None`` before it is made."""
        try:
            return self.key_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def create_key(self, text: str) -> str:
        """Keep ``text`` as the witness's key unless one exists; returns the key kept."""
        return create_once(self.key_path, (text + "\n").encode()).decode().strip()

    def checkpoint_path(self, origin: str) -> Path:
        """The file of the latest cosigned checkpoint of ``origin``."""
        return self.logs / f"{origin_hash(origin)}.checkpoint"

    def read_checkpoint(self, origin: str) -> bytes | None:
        """The latest cosigned checkpoint of ``origin`` (the signed note), or ``None``."""
        try:
            return self.checkpoint_path(origin).read_bytes()
        except FileNotFoundError:
            return None

    def read_checkpoint_by_hash(self, hashed: str) -> bytes | None:
        """As ``read_checkpoint``, by the origin's hash (the monitoring URL's)."""
        if len(hashed) != 64 or not all(c in "0123456789abcdef" for c in hashed):
            return None
        try:
            return (self.logs / f"{hashed}.checkpoint").read_bytes()
        except FileNotFoundError:
            return None

    def save_checkpoint(self, origin: str, note: bytes) -> None:
        """Make ``note`` the latest cosigned checkpoint of ``origin``, atomically."""
        write_atomically(self.checkpoint_path(origin), note)

    @contextlib.contextmanager
    def locked(self, origin: str) -> Iterator[None]:
        """Hold the log's lock file (``flock``): two witness processes sharing a directory
        still decide one request of a log at a time.  Blocks; call it from a thread."""
        path = self.logs / f"{origin_hash(origin)}.lock"
        with path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def keep_evidence(self, origin: str, request: bytes, reason: str) -> Path | None:
        """Keep a refused but validly signed request (with why it was refused), up to
        ``MAX_EVIDENCE_PER_LOG`` per log; returns the file, or ``None`` when full."""
        folder = self.evidence / origin_hash(origin)
        folder.mkdir(exist_ok=True)
        if sum(1 for _ in folder.glob("*.txt")) >= MAX_EVIDENCE_PER_LOG:
            return None
        path = folder / f"{time.time_ns()}.txt"
        write_atomically(path, f"refused: {reason}\n\n".encode() + request)
        return path
