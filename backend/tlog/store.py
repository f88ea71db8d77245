"""The log as stored in PostgreSQL (schema ``tlog``): its size, tiles, entries and proofs.

The tree is stored as C2SP tiles of height 8, one row per tile (``tlog.tile``), so every stored
hash of ``backend.tlog.tlog`` is either in a tile's bottom row or computed from a few of its
hashes: storage is 32 bytes a leaf (plus 1/255 for the levels above) and the entry itself.

Every proof here is computed from tiles fetched in **one** statement (the library says which
stored hashes a computation needs, :func:`~backend.tlog.tiles.tile_keys_for_indexes` which
tiles hold them: ``O(log n)`` tiles of at most 8 KiB), then **verified** with the library's
checks against the root hash (the signed checkpoint's when one exists for that size) before it
is returned: the API never serves a proof that does not verify (``UnverifiedProof``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from backend.tlog.tiles import TileDataHashReader, tile_keys_for_indexes
from backend.tlog.tlog import (
    TILE_HEIGHT,
    Hash,
    TlogError,
    check_record,
    check_tree,
    prove_record,
    prove_record_indexes,
    prove_tree,
    prove_tree_indexes,
    record_hash,
    tree_hash,
    tree_hash_indexes,
)

TileKey = tuple[int, int]
"""A tile's ``(level, n)``."""


class Driver(Protocol):
    """What the log needs of an asyncpg connection (``$n`` parameters, rows by column name)."""

    async def execute(self, query: str, *args: object) -> str:
        """Run a statement; its status tag."""

    async def fetch(self, query: str, *args: object) -> list[Any]:
        """The rows of a query."""

    async def fetchval(self, query: str, *args: object) -> Any:
        """The first column of the first row."""

    async def copy_records_to_table(self, table_name: str, *, records: Iterable[Sequence[Any]],
                                    columns: Sequence[str], schema_name: str) -> str:
        """COPY rows into a table."""


async def driver_of(conn: AsyncConnection) -> Driver:
    """The asyncpg connection under a SQLAlchemy connection, inside the caller's transaction.

    SQLAlchemy's asyncpg adapter sends ``BEGIN`` only with its first statement, so statements
    sent straight to the driver after ``engine.begin()`` would each commit on their own: when
    the caller has begun and the driver is not yet in a transaction, one statement through
    SQLAlchemy starts it.
    """
    raw: Any = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.in_transaction() and not driver.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    typed: Driver = driver
    return typed


class UnverifiedProof(TlogError):
    """A stored proof did not verify: the log's storage is damaged or was tampered with."""


class NotInLog(TlogError):
    """A size, index or tile the log does not (yet) hold."""


async def tree_size(driver: Driver) -> int:
    """How many leaves the log holds (committed ones, as the caller's transaction sees them)."""
    size: int = await driver.fetchval(
        "SELECT coalesce(max(leaf_index) + 1, 0) FROM tlog.leaf")
    return size


async def read_tiles(driver: Driver, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
    """The stored data of the tiles at ``keys`` (at their current width), in one statement."""
    if not keys:
        return {}
    rows = await driver.fetch(
        "SELECT t.level, t.tile_index, t.hashes FROM tlog.tile t"
        " JOIN unnest($1::smallint[], $2::bigint[]) AS k(level, n)"
        " ON t.level = k.level AND t.tile_index = k.n",
        [level for level, _ in keys], [n for _, n in keys])
    return {(row["level"], row["tile_index"]): bytes(row["hashes"]) for row in rows}


async def read_hashes(driver: Driver, indexes: Sequence[int]) -> dict[int, Hash]:
    """The stored hashes at ``indexes`` (one statement for all their tiles)."""
    tiles = await read_tiles(driver, tile_keys_for_indexes(TILE_HEIGHT, indexes))
    return dict(zip(indexes, TileDataHashReader(tiles).read_hashes(indexes), strict=True))


async def root_hash(driver: Driver, size: int) -> Hash:
    """The root hash of the tree of the first ``size`` leaves."""
    return tree_hash(size, _Reader(await read_hashes(driver, tree_hash_indexes(size))))


class _Reader:
    """A ``HashReader`` over hashes fetched in advance; a missing one is a storage fault."""

    def __init__(self, hashes: dict[int, Hash]) -> None:
        self._hashes = hashes

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        try:
            return [self._hashes[i] for i in indexes]
        except KeyError as missing:
            raise UnverifiedProof(f"stored hash {missing} was not fetched") from None


@dataclass(frozen=True)
class InclusionProof:
    """Leaf ``index`` is in the tree of ``size`` leaves whose root is ``root``."""

    index: int
    size: int
    entry: bytes
    root: Hash
    hashes: list[Hash]


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``old`` leaves (root ``old_root``) is a prefix of the tree of ``new``."""

    old: int
    new: int
    old_root: Hash
    new_root: Hash
    hashes: list[Hash]


_PROOF_READ = """
    SELECT 'tile' AS what, t.level AS a, t.tile_index AS b, t.hashes AS data FROM tlog.tile t
    JOIN unnest($1::smallint[], $2::bigint[]) AS k(level, n)
      ON t.level = k.level AND t.tile_index = k.n
    UNION ALL
    SELECT 'leaf', 0, l.leaf_index, l.entry FROM tlog.leaf l WHERE l.leaf_index = $3
    UNION ALL
    SELECT 'root', 0, c.size, c.root_hash FROM tlog.checkpoint c WHERE c.size = ANY($4::bigint[])
    UNION ALL
    SELECT 'size', 0, coalesce(max(leaf_index) + 1, 0), NULL FROM tlog.leaf"""


@dataclass
class _Fetched:
    tiles: dict[TileKey, bytes]
    entry: bytes | None
    signed_roots: dict[int, Hash]
    size: int

    def hashes(self, indexes: Sequence[int]) -> dict[int, Hash]:
        try:
            read = TileDataHashReader(self.tiles).read_hashes(indexes)
        except TlogError as error:
            raise UnverifiedProof(f"the tiles are incomplete: {error}") from error
        return dict(zip(indexes, read, strict=True))


async def _fetch(driver: Driver, indexes: Sequence[int], leaf: int,
                 sizes: Sequence[int]) -> _Fetched:
    """Every tile holding ``indexes``, leaf ``leaf``'s entry, the signed roots of ``sizes`` and
    the log's size: one statement."""
    keys = tile_keys_for_indexes(TILE_HEIGHT, indexes)
    rows = await driver.fetch(_PROOF_READ, [k[0] for k in keys], [k[1] for k in keys],
                              leaf, list(sizes))
    fetched = _Fetched({}, None, {}, 0)
    for row in rows:
        if row["what"] == "tile":
            fetched.tiles[(row["a"], row["b"])] = bytes(row["data"])
        elif row["what"] == "leaf":
            fetched.entry = bytes(row["data"])
        elif row["what"] == "root":
            fetched.signed_roots[row["b"]] = bytes(row["data"])
        else:
            fetched.size = row["b"]
    return fetched


def _root(fetched: _Fetched, size: int, hashes: dict[int, Hash]) -> Hash:
    """The root of ``size`` from the tiles, which must equal the signed one if there is one."""
    root = tree_hash(size, _Reader(hashes))
    signed = fetched.signed_roots.get(size)
    if signed is not None and signed != root:
        raise UnverifiedProof(f"the tiles give another root for size {size} than was signed")
    return root


async def inclusion_proof(conn: AsyncConnection | Driver, index: int,
                          size: int) -> InclusionProof:
    """The proof that leaf ``index`` is in the tree of ``size`` leaves, verified.

    One statement reads the ``O(log size)`` tiles of the proof and of the root, the leaf's
    entry and the signed root of ``size`` if a checkpoint of that size exists.  The proof is
    checked (``check_record``) against the leaf's stored entry and that root; ``NotInLog`` if
    the log is smaller, ``UnverifiedProof`` if storage disagrees with itself.
    """
    driver = await driver_of(conn) if isinstance(conn, AsyncConnection) else conn
    if not 0 <= index < size:
        raise NotInLog(f"leaf {index} is not in a tree of size {size}")
    proof_indexes = prove_record_indexes(size, index)
    root_indexes = tree_hash_indexes(size)
    fetched = await _fetch(driver, [*proof_indexes, *root_indexes], index, [size])
    if size > fetched.size or fetched.entry is None:
        raise NotInLog(f"the log holds {fetched.size} leaves, not {size}")
    hashes = fetched.hashes([*proof_indexes, *root_indexes])
    root = _root(fetched, size, hashes)
    proof = prove_record(size, index, _Reader(hashes))
    try:
        check_record(proof, size, root, index, record_hash(fetched.entry))
    except TlogError as error:
        raise UnverifiedProof(f"leaf {index} does not verify in size {size}") from error
    return InclusionProof(index, size, fetched.entry, root, proof)


async def consistency_proof(conn: AsyncConnection | Driver, old: int,
                            new: int) -> ConsistencyProof:
    """The proof that the tree of ``old`` leaves is a prefix of the tree of ``new``, verified
    (``check_tree``) against both roots (the signed ones where checkpoints exist), all from
    one statement."""
    driver = await driver_of(conn) if isinstance(conn, AsyncConnection) else conn
    if not 0 <= old <= new:
        raise NotInLog(f"no consistency proof from {old} to {new}")
    proof_indexes = prove_tree_indexes(new, old) if old > 0 else []
    wanted = [*proof_indexes, *tree_hash_indexes(new), *tree_hash_indexes(old)]
    fetched = await _fetch(driver, wanted, -1, [old, new])
    if new > fetched.size:
        raise NotInLog(f"the log holds {fetched.size} leaves, not {new}")
    hashes = fetched.hashes(wanted)
    old_root, new_root = _root(fetched, old, hashes), _root(fetched, new, hashes)
    if old == 0:  # the empty tree is a prefix of every tree: nothing to prove
        return ConsistencyProof(old, new, old_root, new_root, [])
    proof = prove_tree(new, old, _Reader(hashes))
    try:
        check_tree(proof, new, new_root, old, old_root)
    except TlogError as error:
        raise UnverifiedProof(f"size {old} is not consistent with size {new}") from error
    return ConsistencyProof(old, new, old_root, new_root, proof)


async def read_tile(driver: Driver, level: int, n: int, width: int) -> bytes | None:
    """The first ``width`` hashes of tile ``(level, n)`` if it holds that many, else None."""
    data: bytes | None = await driver.fetchval(
        "SELECT substr(hashes, 1, 32 * $3) FROM tlog.tile"
        " WHERE level = $1 AND tile_index = $2 AND width >= $3", level, n, width)
    return None if data is None else bytes(data)


async def read_entries(driver: Driver, start: int, count: int) -> list[bytes]:
    """The entries of leaves ``start`` … ``start + count - 1`` (fewer if the log is shorter)."""
    rows = await driver.fetch(
        "SELECT entry FROM tlog.leaf WHERE leaf_index >= $1 AND leaf_index < $2"
        " ORDER BY leaf_index", start, start + count)
    return [bytes(row["entry"]) for row in rows]


async def leaf_of(driver: Driver, kind: str, record_id: int) -> tuple[int, bytes, bytes] | None:
    """The leaf of a record: ``(index, entry, salt)``, or None while it waits in the queue."""
    row = await driver.fetch(
        "SELECT leaf_index, entry, salt FROM tlog.leaf WHERE kind = $1 AND record_id = $2",
        kind, record_id)
    if not row:
        return None
    return row[0]["leaf_index"], bytes(row[0]["entry"]), bytes(row[0]["salt"])
