"""What the log's tests share: the library's own view of a log (every stored hash in a list,
as Go's tests keep them), reading what the server stored, and a real witness to cosign."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import TlogSettings, WitnessAddress
from backend.tlog.note import Ed25519Verifier, new_verifier
from backend.tlog.tlog import Hash, MemoryHashReader, stored_hashes, tree_hash
from backend.tlog.witness import create_app as create_witness_app
from backend.tlog.witness import open_witness

PSEUDONYM_KEY = bytes(range(32, 64))
"""The tests' ``TLOG_PSEUDONYM_KEY``."""


class LibraryLog:
    """A log kept entirely in memory by the library's functions (no tiles, no database)."""

    def __init__(self, entries: Sequence[bytes] = ()) -> None:
        self.stored: list[Hash] = []
        self.size = 0
        for entry in entries:
            self.add(entry)

    def add(self, entry: bytes) -> None:
        """Append one entry."""
        self.stored.extend(stored_hashes(self.size, entry, MemoryHashReader(self.stored)))
        self.size += 1

    def root(self, size: int | None = None) -> Hash:
        """The root hash of the first ``size`` entries (all by default)."""
        return tree_hash(self.size if size is None else size, MemoryHashReader(self.stored))


async def stored_entries(engine: AsyncEngine) -> list[bytes]:
    """Every leaf's entry, by index (and a check that the indexes have no gap)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT leaf_index, entry FROM tlog.leaf ORDER BY leaf_index"))).all()
    assert [row[0] for row in rows] == list(range(len(rows)))
    return [bytes(row[1]) for row in rows]


async def queue(engine: AsyncEngine) -> list[tuple[str, int]]:
    """The queue's records in queue order."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT kind, record_id FROM tlog.pending ORDER BY id"))
        return [(row[0], row[1]) for row in rows]


async def leaves_in_order(engine: AsyncEngine) -> list[tuple[str, int]]:
    """The logged records in the log's order."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT kind, record_id FROM tlog.leaf ORDER BY leaf_index"))
        return [(row[0], row[1]) for row in rows]


class LocalWitness:
    """A real witness (``backend.tlog.witness``) in a directory of its own, reached over HTTP
    through its ASGI app; ``log_keys`` are the logs it follows."""

    def __init__(self, directory: Path, log_keys: Sequence[str], name: str = "witness.test"
                 ) -> None:
        self.witness = open_witness(directory, name, log_keys)
        self.url = f"http://{name}"
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(
            app=create_witness_app(self.witness)))

    @property
    def address(self) -> WitnessAddress:
        """What ``TLOG_WITNESSES`` says of it."""
        return WitnessAddress(url=self.url, key=self.witness.verifier_key)

    @property
    def verifier(self) -> Ed25519Verifier:
        """Its cosignatures' verifier."""
        return new_verifier(self.witness.verifier_key)


def log_settings(directory: Path, *witnesses: WitnessAddress, **overrides: object
                 ) -> TlogSettings:
    """The log's settings for a test: keys made in ``directory``."""
    values: dict[str, object] = {"environment": "test", "origin": "mhi.test/log",
                                 "key_dir": directory, "witnesses": list(witnesses),
                                 **overrides}
    return TlogSettings.model_validate(values)
