"""C2SP tlog-tiles: paths, which tiles a tree has, entry bundles, and proofs read from tiles."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from backend.tlog.tiles import (
    TileDataHashReader,
    TileHashReader,
    encode_entry_bundle,
    entry_bundle_for_index,
    parse_entry_bundle,
    tile_at_size,
    tile_keys_for_indexes,
)
from backend.tlog.tlog import (
    BadTilePathError,
    Hash,
    HashReader,
    MemoryHashReader,
    Tile,
    TlogError,
    Tree,
    new_tiles,
    parse_tile_path,
    prove_record,
    prove_record_indexes,
    prove_tree,
    prove_tree_indexes,
    read_tile_data,
    record_hash,
    stored_hash_index,
    stored_hashes,
    tree_hash,
    tree_hash_indexes,
)


@pytest.mark.parametrize(
    ("path", "tile"),
    [
        ("tile/0/x001/x234/067", Tile(8, 0, 1234067, 256)),
        ("tile/0/x001/x234/067.p/1", Tile(8, 0, 1234067, 1)),
        ("tile/3/000.p/255", Tile(8, 3, 0, 255)),
        ("tile/63/999", Tile(8, 63, 999, 256)),
        ("tile/entries/x001/x234/067.p/5", Tile(8, -1, 1234067, 5)),
        ("tile/entries/000", Tile(8, -1, 0, 256)),
    ],
)
def test_c2sp_paths(path: str, tile: Tile) -> None:
    """The spec's path syntax: no height, N in groups of three, entries for level -1."""
    assert tile.path() == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    ["tile/8/0/001", "tile/0/001.p/256", "tile/0/001.p/0", "tile/0/001.p/012", "tile/00/001",
     "tile/64/001", "tile/0/1", "tile/0/x000/001", "tile/0/1234", "tile/data/001",
     "tile/entries", "tile/0", "tile/-1/001", "tile/0/001.p/", "tile//001", "tiles/0/001"],
)
def test_malformed_c2sp_paths(path: str) -> None:
    """Anything but the one canonical spelling is refused (a server maps paths to storage)."""
    with pytest.raises(BadTilePathError):
        parse_tile_path(path)


def test_c2sp_examples_of_which_tiles_exist() -> None:
    """The spec: size 70,000 has 273 full level-0 tiles, one of width 112, one full level-1
    tile, one of width 17 and one level-2 tile of width 1; size 256 a full tile and a
    level-1 tile of width 1."""
    tiles = new_tiles(8, 0, 70_000)
    level0 = [t for t in tiles if t.l == 0]
    assert [t.w for t in level0].count(256) == 273
    assert [t for t in level0 if t.w != 256] == [Tile(8, 0, 273, 112)]
    assert [t for t in tiles if t.l == 1] == [Tile(8, 1, 0, 256), Tile(8, 1, 1, 17)]
    assert [t for t in tiles if t.l == 2] == [Tile(8, 2, 0, 1)]
    assert new_tiles(8, 0, 256) == [Tile(8, 0, 0, 256), Tile(8, 1, 0, 1)]


def test_entry_bundles() -> None:
    """Big-endian uint16 lengths and the bytes; parsing is strict."""
    entries = [b"", b"a", bytes(300), bytes(range(256))]
    data = encode_entry_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert parse_entry_bundle(data, width=4) == entries
    with pytest.raises(TlogError):
        parse_entry_bundle(data, width=3)
    with pytest.raises(TlogError):
        parse_entry_bundle(data[:-1])
    with pytest.raises(TlogError):
        parse_entry_bundle(data + b"\x00")
    with pytest.raises(TlogError):
        encode_entry_bundle([bytes(65536)])
    assert parse_entry_bundle(encode_entry_bundle([bytes(65535)])) == [bytes(65535)]


def test_entry_bundle_for_index_and_tile_at_size() -> None:
    """An entry's bundle is full once 256 entries follow its start, else as wide as the tree."""
    assert entry_bundle_for_index(5, 300) == Tile(8, -1, 0, 256)
    assert entry_bundle_for_index(260, 300) == Tile(8, -1, 1, 44)
    with pytest.raises(TlogError):
        entry_bundle_for_index(300, 300)
    assert tile_at_size(Tile(8, 1, 0, 1), 70_000) == Tile(8, 1, 0, 256)
    assert tile_at_size(Tile(8, 1, 1, 1), 70_000) == Tile(8, 1, 1, 17)
    assert tile_at_size(Tile(8, 1, 2, 1), 70_000).w == 0


class Store:
    """Stored hashes in a list."""

    def __init__(self) -> None:
        self.hashes: list[Hash] = []

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        return [self.hashes[i] for i in indexes]


def build(n: int, h: int = 8) -> tuple[Store, dict[tuple[int, int], bytes]]:
    """A log of ``n`` leaves and its tiles of height ``h`` at that size, by (level, n)."""
    store = Store()
    for i in range(n):
        store.hashes.extend(stored_hashes(i, b"leaf %d" % i, store))
    tiles = {(t.l, t.n): read_tile_data(t, store) for t in new_tiles(h, 0, n)}
    return store, tiles


def test_proofs_from_tiles_equal_proofs_from_stored_hashes() -> None:
    """A server keeping only tiles fetches tile_keys_for_indexes and proves the same."""
    store, tiles = build(70_000 // 100 + 3)  # 703 leaves: two full tiles, partials, level 1
    size = 703
    cases: list[tuple[list[int], Callable[[HashReader], list[Hash]]]] = [
        (tree_hash_indexes(size), lambda r: [tree_hash(size, r)]),
        (prove_record_indexes(size, 0), lambda r: prove_record(size, 0, r)),
        (prove_record_indexes(size, 700), lambda r: prove_record(size, 700, r)),
        (prove_record_indexes(size, 300), lambda r: prove_record(size, 300, r)),
        (prove_tree_indexes(size, 257), lambda r: prove_tree(size, 257, r)),
    ]
    for indexes, compute in cases:
        keys = tile_keys_for_indexes(8, indexes)
        assert len(keys) <= 4
        only = TileDataHashReader({k: tiles[k] for k in keys})
        assert compute(only) == compute(store)


def test_tile_data_reader_refuses_missing_or_short_tiles() -> None:
    """A tile not fetched, or narrower than the hash needs, is an error, never a wrong hash."""
    _, tiles = build(300)
    with pytest.raises(TlogError):
        TileDataHashReader({}).read_hashes([0])
    short = {(0, 1): tiles[(0, 1)][:32]}
    with pytest.raises(TlogError):
        TileDataHashReader(short).read_hashes([stored_hash_index(0, 290)])


class Reader:
    """Go's testTilesStorage: tiles of height 2 by Tile."""

    def __init__(self, tiles: dict[Tile, bytes]) -> None:
        self.tiles = tiles

    def height(self) -> int:
        return 2

    def read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        return [self.tiles[t] for t in tiles]

    def save_tiles(self, tiles: Sequence[Tile], data: Sequence[bytes]) -> None:
        pass


def test_tile_hash_reader_authenticates_every_tile_it_uses() -> None:
    """At size 7 (height 2) the tree hash needs two hashes of one tile; a tampered full tile
    below it must still be caught. Go's loop starts its parent checks at len(stx) and would
    skip that tile; ours starts after the distinct tiles."""
    store = Store()
    for i in range(7):
        store.hashes.extend(stored_hashes(i, b"leaf %d" % i, store))
    tiles = {t: read_tile_data(t, store) for t in new_tiles(2, 0, 7)}
    tree = Tree(7, tree_hash(7, store))
    good = TileHashReader(tree, Reader(tiles))
    assert good.read_hashes([stored_hash_index(0, 0)]) == [record_hash(b"leaf 0")]

    forged = dict(tiles)
    first = Tile(2, 0, 0, 4)
    forged[first] = record_hash(b"forged") + tiles[first][32:]
    with pytest.raises(TlogError, match="inconsistent tile"):
        TileHashReader(tree, Reader(forged)).read_hashes([stored_hash_index(0, 0)])


def test_memory_reader_over_tiles_agrees_with_the_list() -> None:
    """MemoryHashReader over a dict of prefetched hashes is what the async store uses."""
    store, _ = build(20)
    indexes = prove_record_indexes(20, 13)
    fetched = MemoryHashReader({i: store.hashes[i] for i in indexes})
    assert prove_record(20, 13, fetched) == prove_record(20, 13, store)
