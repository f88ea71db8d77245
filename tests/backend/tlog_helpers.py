"""What the log's tests share: the library's own view of a log (every stored hash in a list,
as Go's tests keep them), and reading what the server stored."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.tlog.tlog import Hash, MemoryHashReader, stored_hashes, tree_hash

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
