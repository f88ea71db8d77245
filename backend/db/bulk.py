"""Bulk loading into empty tables the way ``pg_restore`` does it.

Inside one transaction: set aside the tables' foreign keys, unique constraints and secondary
indexes (primary keys and CHECK constraints stay, so every row is still checked on the way in),
load with COPY, then build the indexes once and validate the foreign keys with one join each.
Definitions are read back from the catalog, so what comes back is exactly what the migrations
made; on a partitioned table (``core.contribution``, ``core.service_payment``) an index is set
aside and rebuilt on every partition with its parent.  If anything fails, the transaction
rolls back and the tables are as they were.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.db.partitions import NAME_PARTITION_INDEXES


@dataclass(frozen=True)
class _Saved:
    drop: str
    create: str


_CONSTRAINTS = text("""
    SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype,
           pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c
    WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype IN ('f', 'u')
      AND c.conparentid = 0  -- not the clones a key to a partitioned table makes per partition
    ORDER BY c.contype DESC, c.conname
""")
_INDEXES = text("""
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
      AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    ORDER BY 1
""")


async def _saved(conn: AsyncConnection, tables: Sequence[str]) -> list[_Saved]:
    names = list(tables)
    saved = [
        _Saved(
            f'ALTER TABLE {row.tbl} DROP CONSTRAINT "{row.conname}"',
            f'ALTER TABLE {row.tbl} ADD CONSTRAINT "{row.conname}" {row.definition}',
        )
        for row in await conn.execute(_CONSTRAINTS, {"tables": names})
    ]
    saved += [
        # A partitioned table's index reads back as ``ON ONLY`` (the parent's alone): built
        # without ONLY, it is built on every partition as the migration made it.
        _Saved(f"DROP INDEX {row.name}", row.definition.replace(" ON ONLY ", " ON ", 1))
        for row in await conn.execute(_INDEXES, {"tables": names})
    ]
    return saved


@asynccontextmanager
async def deferred_indexes(conn: AsyncConnection, tables: Sequence[str]) -> AsyncIterator[None]:
    """Within the caller's transaction: load ``tables`` without their indexes, then rebuild."""
    saved = await _saved(conn, tables)
    for item in saved:
        await conn.execute(text(item.drop))
    yield
    await conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for item in reversed(saved):
        await conn.execute(text(item.create))
    await conn.execute(text(NAME_PARTITION_INDEXES))  # rebuilt on partitions: named again
