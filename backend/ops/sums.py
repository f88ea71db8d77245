"""Row counts and content checksums of every table at one instant: what a restore must match.

A table's checksum is the sum of a 64-bit hash (the first 16 hex digits of ``md5``) of each
row's text, all columns: it changes with any value of any row, it is computed in one pass with
no sort and in constant memory (``md5(string_agg(...))`` builds the whole table as one string,
which stops at 1 GB), and it does not depend on the rows' physical order, which a restore may
change.  The count beside it tells a lost row from a changed one.

On a live server the instant is made exact by ``mark``: the tables are locked against writers
(``SHARE`` mode, a few milliseconds once the running writers commit), a snapshot is exported,
the restore point is written, and the locks go; the sums are then read in that snapshot while
writers carry on.  Every transaction the snapshot sees committed before the restore point, and
none of those it misses committed before it (they were waiting for the lock), so a copy
recovered to the restore point must give the same figures.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SCHEMAS = ("public", "core", "auth", "notify", "stats", "tlog")
"""The schemas compared: the application's (``tlog`` once the verifiable log exists) and
``public``, which holds Alembic's version."""

_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY 1
"""


@dataclass(frozen=True)
class TableSum:
    """A table's row count and content checksum."""

    rows: int
    checksum: str


Sums = dict[str, TableSum]


async def tables(conn: asyncpg.Connection) -> list[str]:
    """The tables compared, schema-qualified and quoted (partitions through their parent)."""
    return [str(row[0]) for row in await conn.fetch(_TABLES, list(SCHEMAS))]


def sums_sql(names: list[str]) -> str:
    """One statement that reads every table once (so all in the same snapshot)."""
    # The names come from the catalog, quoted by format('%I.%I').
    row_hash = "('x' || left(md5(t::text), 16))::bit(64)::bigint"
    parts = [f"SELECT {index} AS n, count(*) AS rows,"  # noqa: S608
             f" coalesce(sum({row_hash}), 0)::text AS checksum FROM {name} t"
             for index, name in enumerate(names)]
    return " UNION ALL ".join(parts)


async def table_sums(conn: asyncpg.Connection) -> Sums:
    """Each table's count and checksum, as ``conn``'s snapshot sees them."""
    names = await tables(conn)
    if not names:
        return {}
    rows = await conn.fetch(sums_sql(names))
    return {names[row["n"]]: TableSum(int(row["rows"]), str(row["checksum"])) for row in rows}


async def mark(dsn: str, name: str, *, lock_timeout_ms: int = 500,
               attempts: int = 20) -> tuple[str, Sums]:
    """Write the restore point ``name`` on the server at ``dsn`` with the sums that a copy
    recovered to it must show (see the module's docstring); its LSN and the sums.

    The locks are taken one table after another, so a writer holding one table and waiting for
    another the mark holds would deadlock with it.  The mark waits ``lock_timeout_ms`` for each
    lock, less than the server's ``deadlock_timeout`` (1 s by default): it gives up first,
    releases everything and tries again, so the writer is never the one aborted."""
    writer = await asyncpg.connect(dsn)
    reader = await asyncpg.connect(dsn)
    try:
        await writer.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        for attempt in range(attempts):
            try:
                return await _mark_once(writer, reader, name)
            except asyncpg.LockNotAvailableError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")
    finally:
        await reader.close()
        await writer.close()


async def _mark_once(writer: asyncpg.Connection, reader: asyncpg.Connection,
                     name: str) -> tuple[str, Sums]:
    async with writer.transaction():
        names = await tables(writer)
        if names:
            await writer.execute(f"LOCK TABLE {', '.join(names)} IN SHARE MODE")
        snapshot = await writer.fetchval("SELECT pg_export_snapshot()")
        lsn = str(await writer.fetchval("SELECT pg_create_restore_point($1)", name))
        reading = reader.transaction(isolation="repeatable_read", readonly=True)
        await reading.start()
        await reader.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    try:
        rows = await reader.fetch(sums_sql(names)) if names else []
        return lsn, {names[row["n"]]: TableSum(int(row["rows"]), str(row["checksum"]))
                     for row in rows}
    finally:
        await reading.rollback()


def differences(expected: Sums, found: Sums) -> list[str]:
    """One line per table whose count or checksum differs, or that only one side has."""
    lines = []
    for name in sorted(set(expected) | set(found)):
        want, got = expected.get(name), found.get(name)
        if want != got:
            lines.append(f"{name}: expected {_said(want)}, found {_said(got)}")
    return lines


def _said(value: TableSum | None) -> str:
    return "no table" if value is None else f"{value.rows} rows, checksum {value.checksum}"


def save(path: Path, lsn: str, sums: Sums) -> None:
    """Keep the sums of a restore point in a JSON file."""
    body = {"lsn": lsn, "tables": {name: [value.rows, value.checksum]
                                   for name, value in sums.items()}}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def load(path: Path) -> Sums:
    """The sums saved by ``save``."""
    body = json.loads(path.read_text(encoding="utf-8"))
    return {name: TableSum(int(rows), str(checksum))
            for name, (rows, checksum) in body["tables"].items()}
