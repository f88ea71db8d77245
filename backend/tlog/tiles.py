"""Serving and reading the log as tiles: entry bundles and hash readers over tiles.

Pure functions, no storage. An *entry bundle* (C2SP ``tlog-tiles``) is the level ``-1``
tile: up to 256 entries, each a big-endian ``uint16`` length and the entry's bytes.

Two readers turn tiles into a :class:`~backend.tlog.tlog.HashReader`:

- :class:`TileDataHashReader` serves hashes from tiles already in memory, keyed by
  ``(level, n)``: the server fetches the tiles :func:`tile_keys_for_indexes` names in one
  query, then proves from them. It trusts its tiles (they are the log's own).
- :class:`TileHashReader` (Go's ``TileHashReader``) fetches tiles through a
  :class:`TileReader` and authenticates them against a trusted tree hash before it answers:
  a client (a mirror, a monitor) reading someone else's tiles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from backend.tlog.tlog import (
    HASH_SIZE,
    TILE_HEIGHT,
    Hash,
    Tile,
    TlogError,
    Tree,
    _sub_tree_index,
    _tile_for_index,
    hash_from_tile,
    node_hash,
    stored_hash_index,
    tile_hash,
)

MAX_ENTRY_SIZE = 0xFFFF
"""The largest entry an entry bundle can hold (its length is a ``uint16``)."""


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian ``uint16`` length and its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise TlogError(f"entry of {len(entry)} bytes does not fit an entry bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """The entries of an entry bundle; strict: no trailing bytes, and ``width`` of them if given."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise TlogError("entry bundle ends inside a length")
        size = int.from_bytes(data[at : at + 2], "big")
        at += 2
        if at + size > len(data):
            raise TlogError("entry bundle ends inside an entry")
        entries.append(bytes(data[at : at + size]))
        at += size
    if width is not None and len(entries) != width:
        raise TlogError(f"entry bundle holds {len(entries)} entries, not {width}")
    return entries


def entry_bundle_for_index(index: int, tree_size: int) -> Tile:
    """The entry bundle holding entry ``index`` as published for ``tree_size`` (full or partial)."""
    if not 0 <= index < tree_size:
        raise TlogError(f"entry {index} is not in a tree of size {tree_size}")
    n = index >> TILE_HEIGHT
    width = min(1 << TILE_HEIGHT, tree_size - (n << TILE_HEIGHT))
    return Tile(TILE_HEIGHT, -1, n, width)


def tile_at_size(tile: Tile, tree_size: int) -> Tile:
    """``tile`` as wide as it is in a tree of ``tree_size``; ``tile.w == 0`` if it does not exist.

    This is the width the log publishes for the tile's coordinates at that size (Go's
    ``tileParent(t, 0, n)``): full once complete, else the partial width.
    """
    level = max(tile.l, 0)
    hashes_at_level = tree_size >> (level * tile.h)
    start = tile.n << tile.h
    width = max(0, min(1 << tile.h, hashes_at_level - start))
    return replace(tile, w=width)


def tile_keys_for_indexes(h: int, indexes: Sequence[int]) -> list[tuple[int, int]]:
    """The ``(level, n)`` of the tiles of height ``h`` holding the stored hashes at ``indexes``.

    In first-seen order, without repeats: what a store fetches before serving the indexes with
    :class:`TileDataHashReader`.
    """
    keys: dict[tuple[int, int], None] = {}
    for index in indexes:
        tile = _tile_for_index(h, index)[0]
        keys[(tile.l, tile.n)] = None
    return list(keys)


class TileDataHashReader:
    """A hash reader over tile data in memory: ``{(level, n): data}`` for tiles of height ``h``.

    Each tile's width is its data's length over 32 (full or partial). A stored hash missing
    from the given tiles raises :class:`~backend.tlog.tlog.TlogError`.
    """

    def __init__(self, tiles: Mapping[tuple[int, int], bytes], h: int = TILE_HEIGHT) -> None:
        """Serve hashes from ``tiles`` of height ``h``."""
        self._tiles = tiles
        self._h = h

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        """The stored hashes at ``indexes``, computed from the tiles that hold them."""
        out: list[Hash] = []
        for index in indexes:
            least = _tile_for_index(self._h, index)[0]
            data = self._tiles.get((least.l, least.n))
            if data is None or len(data) % HASH_SIZE or len(data) < least.w * HASH_SIZE:
                raise TlogError(f"stored hash {index} is not in the tiles at hand")
            tile = replace(least, w=len(data) // HASH_SIZE)
            out.append(hash_from_tile(tile, data, index))
        return out


class TileReader(Protocol):
    """Reads tiles from a log (Go's ``tlog.TileReader``)."""

    def height(self) -> int:
        """The height of the tiles this reader serves."""
        ...

    def read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        """The data of each tile, each exactly ``tile.w * 32`` bytes."""
        ...

    def save_tiles(self, tiles: Sequence[Tile], data: Sequence[bytes]) -> None:
        """Called with tiles once they are authenticated, so that they may be cached."""
        ...


def _tile_parent(tile: Tile, k: int, n: int) -> Tile | None:
    """``tile``'s ``k``-th parent tile in the tiles of a tree of size ``n``, if any."""
    level = tile.l + k
    number = tile.n >> (k * tile.h)
    parent = tile_at_size(Tile(tile.h, level, number, 1 << tile.h), n)
    return parent if parent.w else None


class TileHashReader:
    """A hash reader that loads tiles of ``tree`` and authenticates them against its hash.

    Every hash it returns is proven to be in the tree (Go's ``TileHashReader``).
    """

    def __init__(self, tree: Tree, reader: TileReader) -> None:
        """Read hashes of ``tree`` from the tiles served by ``reader``."""
        self._tree = tree
        self._reader = reader

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        """The hashes at ``indexes``, from tiles checked against the tree hash."""
        h = self._reader.height()
        n = self._tree.n
        order: dict[Tile, int] = {}
        tiles: list[Tile] = []

        def add(tile: Tile) -> int:
            order[tile] = len(tiles)
            tiles.append(tile)
            return order[tile]

        # The tiles needed to recompute the tree hash: if it matches, they are authentic.
        stx = _sub_tree_index(0, n, [])
        stx_order: list[int] = []
        for x in stx:
            tile = _tile_parent(_tile_for_index(h, x)[0], 0, n)
            if tile is None:
                raise AssertionError(f"bad math in TileHashReader: {n} {x}")
            stx_order.append(order[tile] if tile in order else add(tile))
        # Go starts the parent checks below at len(stx), which skips a child tile whenever two
        # of these hashes share a tile (size 7 at height 2); start after the distinct ones.
        first_child = len(tiles)

        # The tiles holding the indexes, and the parents that authenticate them.
        index_order: list[int] = []
        for x in indexes:
            if x >= stored_hash_index(0, n):
                raise TlogError("indexes not in tree")
            least = _tile_for_index(h, x)[0]
            k = 0
            while (parent := _tile_parent(least, k, n)) is None or parent not in order:
                k += 1
            found = order[parent]
            for kk in range(k - 1, -1, -1):  # walk back down: children after parents
                child = _tile_parent(least, kk, n)
                if child is None or child.w != 1 << h:
                    raise AssertionError(f"bad math in TileHashReader: {n} {x} {child}")
                found = add(child)
            index_order.append(found)

        data = self._reader.read_tiles(tiles)
        if len(data) != len(tiles):
            raise TlogError(f"TileReader returned {len(data)} tiles, want {len(tiles)}")
        for tile, body in zip(tiles, data, strict=True):
            if len(body) != tile.w * HASH_SIZE:
                raise TlogError(f"TileReader returned {len(body)} bytes for {tile}")

        th = hash_from_tile(tiles[stx_order[-1]], data[stx_order[-1]], stx[-1])
        for i in range(len(stx) - 2, -1, -1):
            th = node_hash(hash_from_tile(tiles[stx_order[i]], data[stx_order[i]], stx[i]), th)
        if th != self._tree.hash:
            raise TlogError("downloaded inconsistent tile")

        for i in range(first_child, len(tiles)):
            tile = tiles[i]
            parent = _tile_parent(tile, 1, n)
            if parent is None or parent not in order:
                raise AssertionError(f"bad math in TileHashReader: lost parent of {tile}")
            j = order[parent]
            expected = hash_from_tile(parent, data[j], stored_hash_index(parent.l * h, tile.n))
            if expected != tile_hash(data[i]):
                raise TlogError("downloaded inconsistent tile")

        self._reader.save_tiles(tiles, data)
        return [
            hash_from_tile(tiles[j], data[j], x) for j, x in zip(index_order, indexes, strict=True)
        ]
