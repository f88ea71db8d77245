"""Go's ``sumdb/tlog`` tests (tlog_test.go, tile_test.go), ported to the Python port."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from backend.tlog.tiles import TileHashReader
from backend.tlog.tlog import (
    EMPTY_HASH,
    HASH_SIZE,
    BadTilePathError,
    Hash,
    MemoryHashReader,
    ProofError,
    Tile,
    TlogError,
    Tree,
    check_record,
    check_tree,
    hash_from_tile,
    new_tiles,
    parse_sumdb_tile_path,
    prove_record,
    prove_record_indexes,
    prove_tree,
    prove_tree_indexes,
    read_tile_data,
    record_hash,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    stored_hashes,
    tile_for_index,
    tree_hash,
    tree_hash_indexes,
)

TEST_H = 2


class OrderedStorage:
    """Go's testHashStorage: every stored hash in a list; insists on increasing indexes."""

    def __init__(self) -> None:
        self.hashes: list[Hash] = []

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        assert list(indexes) == sorted(set(indexes)), "indexes out of order"
        return [self.hashes[i] for i in indexes]


class TilesStorage:
    """Go's testTilesStorage: tiles in a dict, counting reads not yet saved."""

    def __init__(self, tiles: dict[Tile, bytes]) -> None:
        self.tiles = tiles
        self.unsaved = 0

    def height(self) -> int:
        return TEST_H

    def read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        self.unsaved += len(tiles)
        return [self.tiles.get(t, b"") for t in tiles]

    def save_tiles(self, tiles: Sequence[Tile], data: Sequence[bytes]) -> None:
        self.unsaved -= len(tiles)


def flip(proof: list[Hash], k: int) -> list[Hash]:
    """The proof with the first bit of hash ``k`` flipped."""
    bad = list(proof)
    bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
    return bad


def test_tree() -> None:
    """TestTree: append 100 leaves; after each, every proof and tile agrees with the hashes."""
    trees: list[Hash] = []
    leaf_hashes: list[Hash] = []
    storage = OrderedStorage()
    tiles: dict[Tile, bytes] = {}
    for i in range(100):
        data = f"leaf {i}".encode()
        hashes = stored_hashes(i, data, storage)
        leaf_hashes.append(record_hash(data))
        old_storage = len(storage.hashes)
        storage.hashes.extend(hashes)
        assert stored_hash_count(i + 1) == len(storage.hashes)
        th = tree_hash(i + 1, storage)

        for tile in new_tiles(TEST_H, i, i + 1):
            body = read_tile_data(tile, storage)
            old = Tile(tile.h, tile.l, tile.n, tile.w - 1)
            old_body = tiles.get(old, b"")
            assert len(old_body) == len(body) - HASH_SIZE
            assert body[: len(old_body)] == old_body, f"{tile} does not extend {old}"
            tiles[tile] = body
        for tile in new_tiles(TEST_H, 0, i + 1) + new_tiles(TEST_H, i // 2, i + 1):
            assert tiles[tile] == read_tile_data(tile, storage)

        # Every new hash is readable from its tile.
        for j in range(old_storage, len(storage.hashes)):
            tile = tile_for_index(TEST_H, j)
            assert tile in tiles, f"{tile} not yet stored (i={i})"
            assert hash_from_tile(tile, tiles[tile], j) == storage.hashes[j]

        trees.append(th)

        for j in range(i + 1):
            proof = prove_record(i + 1, j, storage)
            check_record(proof, i + 1, th, j, leaf_hashes[j])
            for k in range(len(proof)):
                with pytest.raises(ProofError):
                    check_record(flip(proof, k), i + 1, th, j, leaf_hashes[j])

        tiled = TilesStorage(tiles)
        thr = TileHashReader(Tree(i + 1, th), tiled)
        for j in range(i + 1):
            assert thr.read_hashes([stored_hash_index(0, j)]) == [leaf_hashes[j]]
            proof = prove_record(i + 1, j, thr)
            check_record(proof, i + 1, th, j, leaf_hashes[j])
        assert tiled.unsaved == 0

        with pytest.raises(TlogError):
            thr.read_hashes([(i + 1) * 2])
        assert tiled.unsaved == 0

        for j in range(i + 1):
            assert tree_hash(j + 1, thr) == trees[j]
            proof = prove_tree(i + 1, j + 1, thr)
            check_tree(proof, i + 1, th, j + 1, trees[j])
            for k in range(len(proof)):
                with pytest.raises(ProofError):
                    check_tree(flip(proof, k), i + 1, th, j + 1, trees[j])
        assert tiled.unsaved == 0


def test_split_stored_hash_index() -> None:
    """TestSplitStoredHashIndex: split undoes stored_hash_index."""
    for level in range(10):
        for n in range(100):
            assert split_stored_hash_index(stored_hash_index(level, n)) == (level, n)


def test_stored_hash_index_matches_gos_loop_at_large_sizes() -> None:
    """The closed form (2n - popcount n) agrees with Go's loop, also far beyond 2**32."""

    def go_index(level: int, n: int) -> int:
        for _ in range(level):
            n = 2 * n + 1
        i = 0
        while n > 0:
            i += n
            n >>= 1
        return i + level

    for level in (0, 1, 7, 8, 30):
        for n in (0, 1, 2, 3, 255, 256, 10**7, 2**40 + 12345):
            assert stored_hash_index(level, n) == go_index(level, n)
            assert split_stored_hash_index(go_index(level, n)) == (level, n)


TILE_PATHS: list[tuple[str, Tile | None]] = [
    ("tile/4/0/001", Tile(4, 0, 1, 16)),
    ("tile/4/0/001.p/5", Tile(4, 0, 1, 5)),
    ("tile/3/5/x123/x456/078", Tile(3, 5, 123456078, 8)),
    ("tile/3/5/x123/x456/078.p/2", Tile(3, 5, 123456078, 2)),
    ("tile/1/0/x003/x057/500", Tile(1, 0, 3057500, 2)),
    ("tile/3/5/123/456/078", None),
    ("tile/3/-1/123/456/078", None),
    ("tile/1/data/x003/x057/500", Tile(1, -1, 3057500, 2)),
]


@pytest.mark.parametrize(("path", "tile"), TILE_PATHS)
def test_tile_path(path: str, tile: Tile | None) -> None:
    """TestTilePath: Go's sumdb tile paths, both ways."""
    if tile is None:
        with pytest.raises(BadTilePathError):
            parse_sumdb_tile_path(path)
    else:
        assert tile.sumdb_path() == path
        assert parse_sumdb_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    ["tile/4/0/001.p/0", "tile/4/0/001.p/16", "tile/4/0/01", "tile/04/0/001", "tile/4/0/x000/001",
     "tile/31/0/001", "tile/4/64/001", "tile/4/0/+01", "tile/4/0/001.p/+5", "tile/4/0", "", "x"],
)
def test_malformed_sumdb_tile_paths(path: str) -> None:
    """Non-canonical spellings (leading zeros, empty or full partial widths) are refused."""
    with pytest.raises(BadTilePathError):
        parse_sumdb_tile_path(path)


def test_empty_tree() -> None:
    """TestEmptyTree: the empty tree's hash is SHA-256 of nothing, read from no storage."""
    assert tree_hash(0, MemoryHashReader({})) == hashlib.sha256(b"").digest() == EMPTY_HASH


@pytest.mark.parametrize(
    ("old", "new", "want"),
    [(1, 1, 0), (100, 101, 1), (1023, 1025, 3), (1024, 1030, 1), (1030, 2000, 1),
     (1030, 10000, 10), (49516517, 49516586, 3)],
)
def test_new_tiles_for_size(old: int, new: int, want: int) -> None:
    """TestNewTilesForSize: how many tiles of height 10 a growth publishes."""
    assert len(new_tiles(10, old, new)) == want


def test_index_lists_are_what_the_computations_read() -> None:
    """An async caller fetches the *_indexes lists, then proves from a dict with only those."""
    storage = OrderedStorage()
    for i in range(300):
        storage.hashes.extend(stored_hashes(i, b"%d" % i, storage))
    for t in (1, 2, 7, 64, 255, 256, 257, 300):
        only = MemoryHashReader({x: storage.hashes[x] for x in tree_hash_indexes(t)})
        assert tree_hash(t, only) == tree_hash(t, storage)
        for n in {0, t // 3, t - 1}:
            only = MemoryHashReader({x: storage.hashes[x] for x in prove_record_indexes(t, n)})
            assert prove_record(t, n, only) == prove_record(t, n, storage)
        for n in {1, t // 2 or 1, t}:
            only = MemoryHashReader({x: storage.hashes[x] for x in prove_tree_indexes(t, n)})
            assert prove_tree(t, n, only) == prove_tree(t, n, storage)


def test_missing_hash_is_an_error_not_a_wrong_answer() -> None:
    """A reader without a needed hash raises instead of proving from something else."""
    with pytest.raises(TlogError, match="not available"):
        tree_hash(3, MemoryHashReader({}))


@pytest.mark.parametrize(("t", "n"), [(0, 0), (5, 5), (5, -1), (-1, 0)])
def test_invalid_record_proof_inputs(t: int, n: int) -> None:
    """Go's 'invalid inputs': a record outside the tree."""
    with pytest.raises(TlogError):
        prove_record_indexes(t, n)
    with pytest.raises(TlogError):
        check_record([], t, EMPTY_HASH, n, EMPTY_HASH)


@pytest.mark.parametrize(("t", "n"), [(0, 0), (5, 6), (5, 0), (1, 0)])
def test_invalid_tree_proof_inputs(t: int, n: int) -> None:
    """Go's 'invalid inputs': sizes below one, or an old tree larger than the new."""
    with pytest.raises(TlogError):
        prove_tree_indexes(t, n)
    with pytest.raises(TlogError):
        check_tree([], t, EMPTY_HASH, n, EMPTY_HASH)
