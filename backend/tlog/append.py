"""Appending the queue to the log: one appender at a time, in the queue's order, atomically.

``append`` runs in the caller's transaction:

1. take the log's advisory lock (``pg_advisory_xact_lock``; the worker only tries it, so a
   second worker skips a turn instead of waiting): one appender at a time, so leaf ``n`` is
   always written by whoever wrote ``n - 1`` before it committed;
2. delete up to ``limit`` rows from the head of ``tlog.pending`` (lowest ids first);
3. read their records (one statement per table) and make each leaf's entry
   (``backend.tlog.leaves``) with a fresh salt, in queue order: that is the log's order;
4. compute the new stored hashes with the library (``stored_hashes_for_record_hash``), from
   the right edge of the tree read in one statement, and rewrite the tiles they fall in (the
   partial tile of each level, and any new full ones);
5. COPY the leaves.

Nothing is visible until the caller commits, and a crash (or a rollback) at any step leaves
the queue, the leaves and the tiles as they were: a record is a leaf exactly when its queue
row is gone.  A queued record that was deleted before its turn is dropped from the queue
without a leaf (counted in ``AppendReport.gone``); the raw tables are append-only, so only
tests and repairs do that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.tlog import leaves
from backend.tlog.store import Driver, TileKey, driver_of, read_tiles, tree_size
from backend.tlog.tiles import TileDataHashReader, tile_keys_for_indexes
from backend.tlog.tlog import (
    HASH_SIZE,
    TILE_HEIGHT,
    Hash,
    MemoryHashReader,
    record_hash,
    stored_hash_index,
    stored_hashes_for_record_hash,
    tree_hash_indexes,
)

log = logging.getLogger("mhi.tlog")

APPEND_LOCK = 0x746C_6F67_0001
"""The advisory lock key of the appender (``tlog`` in ASCII, then 1)."""
APPEND_LIMIT = 20_000
"""Queue rows taken by one append (one transaction)."""
_TILE_WIDTH = 1 << TILE_HEIGHT
_TILE_BYTES = _TILE_WIDTH * HASH_SIZE


@dataclass
class AppendReport:
    """What an append did."""

    appended: int = 0
    gone: int = 0
    """Queue rows whose record no longer existed (no leaf)."""
    size: int = 0
    """The log's size afterwards (as the appender's transaction sees it)."""
    busy: bool = False
    """Another appender held the lock (``wait=False``): nothing was done."""
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.busy:
            return "another appender is at work"
        gone = f" ({self.gone:,} queued records were gone)" if self.gone else ""
        rate = f", {self.appended / self.seconds:,.0f}/s" if self.seconds and self.appended else ""
        return (f"appended {self.appended:,} leaves{gone} in {self.seconds:.2f} s{rate};"
                f" the log holds {self.size:,}")


@dataclass(frozen=True)
class _Taken:
    kind: str
    record_id: int


def _edge_keys(size: int) -> list[TileKey]:
    """The tiles at the tree's right edge whose bottom rows an append extends: each level's
    partial tile, and those holding the hashes of the tree's complete subtrees (the left
    siblings of what comes next)."""
    keys = dict.fromkeys(tile_keys_for_indexes(TILE_HEIGHT, tree_hash_indexes(size)))
    level = 0
    while (count := size >> (TILE_HEIGHT * level)) > 0:
        if count % _TILE_WIDTH:
            keys[(level, count // _TILE_WIDTH)] = None
        level += 1
    return list(keys)


def grow(size: int, edge: Mapping[TileKey, bytes], leaf_hashes: Sequence[Hash]) -> dict[
        TileKey, bytes]:
    """The tiles to write when leaves with ``leaf_hashes`` are appended to a tree of ``size``.

    ``edge`` holds the tiles of :func:`_edge_keys` as stored.  Each leaf's new stored hashes
    come from ``stored_hashes_for_record_hash`` (``backend.tlog.tlog``); those at a tile level
    (tree levels 0, 8, 16, …) extend that level's bottom row.  Returns every tile that changed,
    by ``(level, n)``, with its whole data (a partial tile is rewritten wider).
    """
    frontier = tree_hash_indexes(size)
    hashes = dict(zip(frontier, TileDataHashReader(edge).read_hashes(frontier), strict=True))
    reader = MemoryHashReader(hashes)
    rows: dict[int, list[Hash]] = {}
    for offset, leaf_hash in enumerate(leaf_hashes):
        n = size + offset
        base = stored_hash_index(0, n)
        for level, value in enumerate(stored_hashes_for_record_hash(n, leaf_hash, reader)):
            hashes[base + level] = value
            if level % TILE_HEIGHT == 0:
                rows.setdefault(level // TILE_HEIGHT, []).append(value)
    tiles: dict[TileKey, bytes] = {}
    for tile_level, new in rows.items():
        before = size >> (TILE_HEIGHT * tile_level)  # hashes already in this row
        first = before // _TILE_WIDTH
        kept = edge.get((tile_level, first), b"") if before % _TILE_WIDTH else b""
        if len(kept) != (before % _TILE_WIDTH) * HASH_SIZE:
            raise RuntimeError(f"tile {tile_level}/{first} holds {len(kept) // HASH_SIZE}"
                               f" hashes, not {before % _TILE_WIDTH}: storage is damaged")
        data = kept + b"".join(new)
        for start in range(0, len(data), _TILE_BYTES):
            tiles[(tile_level, first + start // _TILE_BYTES)] = data[start:start + _TILE_BYTES]
    return tiles


async def _write_tiles(driver: Driver, tiles: Mapping[TileKey, bytes]) -> None:
    """Insert new tiles and widen partial ones; a tile never narrows or changes a full one."""
    keys = sorted(tiles)
    status = await driver.execute(
        "INSERT INTO tlog.tile AS t (level, tile_index, width, hashes)"
        " SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::smallint[], $4::bytea[])"
        " ON CONFLICT (level, tile_index) DO UPDATE"
        " SET width = excluded.width, hashes = excluded.hashes"
        " WHERE t.width < excluded.width"
        " AND substr(excluded.hashes, 1, length(t.hashes)) = t.hashes",
        [k[0] for k in keys], [k[1] for k in keys],
        [len(tiles[k]) // HASH_SIZE for k in keys], [tiles[k] for k in keys])
    if int(status.split()[-1]) != len(keys):
        raise RuntimeError("a tile would have lost or changed hashes: storage is damaged")


async def append(conn: AsyncConnection, pseudonym_key: bytes, limit: int = APPEND_LIMIT, *,
                 wait: bool = True) -> AppendReport:
    """Append up to ``limit`` queued records as leaves, in the caller's transaction (commit it
    to publish them; roll it back and they are still queued).  ``wait=False``: return at once
    (``busy``) when another appender holds the lock."""
    started = time.monotonic()
    driver = await driver_of(conn)
    if wait:
        await driver.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
    elif not await driver.fetchval("SELECT pg_try_advisory_xact_lock($1)", APPEND_LOCK):
        return AppendReport(busy=True)
    size = await tree_size(driver)
    rows = await driver.fetch(
        "DELETE FROM tlog.pending WHERE id = ANY(ARRAY("
        " SELECT id FROM tlog.pending ORDER BY id LIMIT $1)) RETURNING id, kind, record_id",
        limit)
    report = AppendReport(size=size)
    if not rows:
        report.seconds = time.monotonic() - started
        return report
    taken = [_Taken(row["kind"], row["record_id"])
             for row in sorted(rows, key=lambda row: int(row["id"]))]
    records = await leaves.load_records(driver, [(t.kind, t.record_id) for t in taken])
    names: dict[str, str] = {}
    copied: list[tuple[int, str, int, bytes, bytes]] = []
    for item in taken:
        record = records.get((item.kind, item.record_id))
        if record is None:
            report.gone += 1
            continue
        person = names.get(record.iin)
        if person is None:
            person = names[record.iin] = leaves.pseudonym(pseudonym_key, record.iin)
        salt = leaves.new_salt()
        entry = leaves.entry_bytes(kind=item.kind, record_id=item.record_id, person=person,
                                   logged=record.logged, record=record.record, salt=salt)
        copied.append((size + len(copied), item.kind, item.record_id, entry, salt))
    if copied:
        edge = await read_tiles(driver, _edge_keys(size))
        tiles = grow(size, edge, [record_hash(leaf[3]) for leaf in copied])
        await _write_tiles(driver, tiles)
        await driver.copy_records_to_table(
            "leaf", records=copied, columns=["leaf_index", "kind", "record_id", "entry", "salt"],
            schema_name="tlog")
    if report.gone:
        log.warning("%d queued records no longer existed and were not logged", report.gone)
    report.appended = len(copied)
    report.size = size + len(copied)
    report.seconds = time.monotonic() - started
    return report


async def append_all(engine: AsyncEngine, pseudonym_key: bytes, limit: int = APPEND_LIMIT, *,
                     wait: bool = True) -> AppendReport:
    """Append until the queue is drained, one transaction per ``limit`` records (the worker's
    job with ``wait=False``, ``mhi log append``)."""
    started = time.monotonic()
    total = AppendReport()
    while True:
        async with engine.begin() as conn:
            batch = await append(conn, pseudonym_key, limit, wait=wait)
        if batch.busy:
            total.busy = not total.appended
            break
        total.appended += batch.appended
        total.gone += batch.gone
        total.size = batch.size
        if batch.appended + batch.gone < limit:
            break
    total.seconds = time.monotonic() - started
    return total


async def queued(driver: Driver) -> int:
    """How many records wait in the queue."""
    count: int = await driver.fetchval("SELECT count(*) FROM tlog.pending")
    return count
