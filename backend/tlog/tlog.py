"""A tamper-evident Merkle log: a port of Go's ``golang.org/x/mod/sumdb/tlog``.

This is ``tlog.go`` and ``tile.go`` in Python, function for function, so that our proofs are
the proofs that Go's sumdb, Certificate Transparency (RFC 6962 / RFC 9162) and the C2SP
``tlog-tiles`` tools compute. Hashes are 32-byte ``bytes``.

The log stores the hash of every complete subtree at a *stored hash index* (Crosby and
Wallach's dense ordering): ``stored_hashes(n, ...)`` says what to store when record ``n`` is
appended; ``tree_hash``, ``prove_record`` and ``prove_tree`` read at most ``O(log n)`` of them
through a :class:`HashReader`.

A ``HashReader`` is synchronous. An async store first asks which indexes a computation needs
(:func:`tree_hash_indexes`, :func:`prove_record_indexes`, :func:`prove_tree_indexes`,
:func:`stored_hashes_indexes`), fetches them in one query, and then runs the computation with
a :class:`MemoryHashReader` over what it fetched.

Tiles (``tile.go``) group the stored hashes for serving: a tile of height ``h`` at level
``l`` holds up to ``2**h`` consecutive hashes of tree level ``h*l``. :meth:`Tile.path` writes
the C2SP ``tlog-tiles`` path (height 8, no height element); :meth:`Tile.sumdb_path` writes
Go's ``tile/<H>/<L>/<N>`` form, which Go's tests use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

HASH_SIZE = 32
"""The size of a hash in bytes (SHA-256)."""

Hash = bytes
"""A 32-byte SHA-256 hash identifying a record or a tree."""

EMPTY_HASH: Hash = hashlib.sha256(b"").digest()
"""The root hash of the empty tree (RFC 9162 §2.1.1): SHA-256 of the empty string."""

TILE_HEIGHT = 8
"""The tile height of C2SP ``tlog-tiles``: a full tile holds 256 hashes."""


class TlogError(ValueError):
    """Invalid input to a log computation, or a reader that broke its contract."""


class ProofError(TlogError):
    """A proof does not prove what it claims (Go's ``invalid transparency proof``)."""

    def __init__(self, message: str = "invalid transparency proof") -> None:
        super().__init__(message)


class HashReader(Protocol):
    """Reads stored hashes by their stored hash index (Go's ``tlog.HashReader``)."""

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        """The hashes at ``indexes``, in order; raises if any is unavailable."""
        ...


class _Indexable(Protocol):
    def __getitem__(self, index: int, /) -> Hash: ...


class MemoryHashReader:
    """A :class:`HashReader` over hashes already in memory: a list or a dict by index.

    A list holds every stored hash in index order (as Go's tests store them); a dict holds
    just the ones a computation needs, fetched in advance by an async caller.
    """

    def __init__(self, hashes: _Indexable | Mapping[int, Hash]) -> None:
        """Serve hashes from ``hashes`` (indexed by stored hash index)."""
        self._hashes = hashes

    def read_hashes(self, indexes: Sequence[int]) -> list[Hash]:
        """The stored hashes at ``indexes``; :class:`TlogError` names a missing one."""
        out: list[Hash] = []
        for index in indexes:
            try:
                out.append(self._hashes[index])
            except (KeyError, IndexError):
                raise TlogError(f"tlog: stored hash {index} is not available") from None
        return out


class Tree(NamedTuple):
    """A tree size and its root hash (Go's ``tlog.Tree``)."""

    n: int
    hash: Hash


def format_hash(h: Hash) -> str:
    """The standard base64 form of a hash, as checkpoints and proofs write it."""
    return base64.b64encode(h).decode("ascii")


def parse_hash(text: str) -> Hash:
    """Parse the base64 form of a hash (Go's ``ParseHash``); strict: 44 characters, canonical."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise TlogError("malformed hash") from None
    if len(data) != HASH_SIZE or format_hash(data) != text:
        raise TlogError("malformed hash")
    return data


def _maxpow2(n: int) -> tuple[int, int]:
    """The largest power of two ``k`` smaller than ``n`` (1 when ``n <= 2``), and ``log2 k``."""
    level = max(0, (n - 1).bit_length() - 1)
    return 1 << level, level


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def record_hash(data: bytes) -> Hash:
    """The leaf hash of a record: ``SHA-256(0x00 ‖ data)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    """The hash of an interior node: ``SHA-256(0x01 ‖ left ‖ right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def stored_hash_index(level: int, n: int) -> int:
    """Where the ``n``-th hash of tree level ``level`` is stored in the dense linear order.

    Level ``L``'s ``n``-th hash is stored right after level ``L-1``'s ``(2n+1)``-th.
    """
    n = ((n + 1) << level) - 1  # the last leaf of that subtree
    # Level 0's n-th hash is stored at n + n/2 + n/4 + ... = 2n - popcount(n).
    return 2 * n - n.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The inverse of :func:`stored_hash_index`: ``(level, n)`` of a stored hash index."""
    # stored_hash_index(0, n) < 2n, so the n we want is in [index/2, index/2 + log2(index)].
    n = index // 2
    index_n = stored_hash_index(0, n)
    if index_n > index:
        raise AssertionError("tlog: bad math in split_stored_hash_index")
    while True:
        # Each new record n adds 1 + trailing_zeros(n + 1) hashes.
        x = index_n + 1 + _trailing_zeros(n + 1)
        if x > index:
            break
        n += 1
        index_n = x
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """How many hashes are stored for a tree of ``n`` records."""
    if n == 0:
        return 0
    # The hashes up to the last leaf's, and those of the subtrees that leaf completes.
    return stored_hash_index(0, n - 1) + 1 + _trailing_zeros(n)


def stored_hashes_indexes(n: int) -> list[int]:
    """The stored hash indexes that :func:`stored_hashes` reads to append record ``n``."""
    m = _trailing_zeros(n + 1)
    # Each trailing 1 bit of n completes a subtree whose left sibling is already stored.
    return [stored_hash_index(i, (n >> i) - 1) for i in reversed(range(m))]


def stored_hashes(n: int, data: bytes, reader: HashReader) -> list[Hash]:
    """The hashes to store, from ``stored_hash_index(0, n)`` on, when appending record ``n``.

    At most ``1 + log2 n`` of them, just under two on average; reads up to ``log2 n`` earlier
    hashes from ``reader``.
    """
    return stored_hashes_for_record_hash(n, record_hash(data), reader)


def stored_hashes_for_record_hash(n: int, h: Hash, reader: HashReader) -> list[Hash]:
    """Like :func:`stored_hashes`, given the record's hash instead of its data."""
    indexes = stored_hashes_indexes(n)
    old = _read(reader, indexes)
    hashes = [h]
    for left in reversed(old):
        h = node_hash(left, h)
        hashes.append(h)
    return hashes


def _read(reader: HashReader, indexes: list[int]) -> list[Hash]:
    if not indexes:
        return []
    hashes = reader.read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise TlogError(f"tlog: read_hashes({len(indexes)} indexes) = {len(hashes)} hashes")
    return list(hashes)


def tree_hash_indexes(n: int) -> list[int]:
    """The stored hash indexes :func:`tree_hash` reads for a tree of ``n`` records."""
    if n < 0:
        raise TlogError("tlog: invalid inputs in tree_hash")
    return _sub_tree_index(0, n, [])


def tree_hash(n: int, reader: HashReader) -> Hash:
    """The root hash of the tree of ``n`` records, from at most ``1 + log2 n`` stored hashes."""
    if n == 0:
        return EMPTY_HASH
    indexes = tree_hash_indexes(n)
    h, rest = _sub_tree_hash(0, n, _read(reader, indexes))
    if rest:
        raise AssertionError("tlog: bad index math in tree_hash")
    return h


def _sub_tree_index(lo: int, hi: int, need: list[int]) -> list[int]:
    """Append the stored indexes needed for the hash of records ``[lo, hi)``."""
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        if lo & (k - 1):
            raise AssertionError("tlog: bad math in _sub_tree_index")
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def _sub_tree_hash(lo: int, hi: int, hashes: list[Hash]) -> tuple[Hash, list[Hash]]:
    """The hash of records ``[lo, hi)`` from the hashes of :func:`_sub_tree_index`, and the rest.

    The range splits into complete subtrees of decreasing size, left to right; their stored
    hashes fold from the right.
    """
    num_tree = 0
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        if lo & (k - 1):
            raise AssertionError("tlog: bad math in _sub_tree_hash")
        num_tree += 1
        lo += k
    if len(hashes) < num_tree:
        raise AssertionError("tlog: bad index math in _sub_tree_hash")
    h = hashes[num_tree - 1]
    for i in range(num_tree - 2, -1, -1):
        h = node_hash(hashes[i], h)
    return h, hashes[num_tree:]


def prove_record_indexes(t: int, n: int) -> list[int]:
    """The stored hash indexes :func:`prove_record` reads to prove record ``n`` in tree ``t``."""
    if t < 0 or n < 0 or n >= t:
        raise TlogError("tlog: invalid inputs in prove_record")
    return _leaf_proof_index(0, t, n, [])


def prove_record(t: int, n: int, reader: HashReader) -> list[Hash]:
    """The inclusion proof of record ``n`` in the tree of size ``t`` (RFC 9162 audit path)."""
    indexes = prove_record_indexes(t, n)
    if not indexes:
        return []
    proof, rest = _leaf_proof(0, t, n, _read(reader, indexes))
    if rest:
        raise AssertionError("tlog: bad index math in prove_record")
    return proof


def _leaf_proof_index(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if not lo <= n < hi:
        raise AssertionError("tlog: bad math in _leaf_proof_index")
    if lo + 1 == hi:
        return need
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        _leaf_proof_index(lo, lo + k, n, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _leaf_proof_index(lo + k, hi, n, need)
    return need


def _leaf_proof(lo: int, hi: int, n: int, hashes: list[Hash]) -> tuple[list[Hash], list[Hash]]:
    """The proof that leaf ``n`` is in the subtree ``[lo, hi)``: the hashes of paths not taken."""
    if not lo <= n < hi:
        raise AssertionError("tlog: bad math in _leaf_proof")
    if lo + 1 == hi:
        return [], hashes  # the verifier knows the leaf's hash
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        proof, hashes = _leaf_proof(lo, lo + k, n, hashes)
        th, hashes = _sub_tree_hash(lo + k, hi, hashes)
    else:
        th, hashes = _sub_tree_hash(lo, lo + k, hashes)
        proof, hashes = _leaf_proof(lo + k, hi, n, hashes)
    return [*proof, th], hashes


def check_record(proof: Sequence[Hash], t: int, th: Hash, n: int, h: Hash) -> None:
    """Check that ``proof`` proves record ``n`` with hash ``h`` in the tree ``t`` with hash ``th``.

    Raises :class:`ProofError` when it does not, :class:`TlogError` on impossible inputs.
    """
    if t < 0 or n < 0 or n >= t:
        raise TlogError("tlog: invalid inputs in check_record")
    _check_sizes([*proof, th, h])
    if _run_record_proof(list(proof), 0, t, n, h) != th:
        raise ProofError()


def _check_sizes(hashes: Sequence[Hash]) -> None:
    """Go's Hash is 32 bytes by its type; here a shorter or longer one is refused."""
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofError("invalid transparency proof: a hash is not 32 bytes")


def _run_record_proof(proof: list[Hash], lo: int, hi: int, n: int, leaf: Hash) -> Hash:
    """The hash of subtree ``[lo, hi)`` implied by ``proof`` and the leaf hash."""
    if not lo <= n < hi:
        raise AssertionError("tlog: bad math in _run_record_proof")
    if lo + 1 == hi:
        if proof:  # no unnecessary hashes
            raise ProofError()
        return leaf
    if not proof:
        raise ProofError()
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        return node_hash(_run_record_proof(proof[:-1], lo, lo + k, n, leaf), proof[-1])
    return node_hash(proof[-1], _run_record_proof(proof[:-1], lo + k, hi, n, leaf))


def prove_tree_indexes(t: int, n: int) -> list[int]:
    """The stored hash indexes :func:`prove_tree` reads to prove tree ``n`` a prefix of ``t``."""
    if t < 1 or n < 1 or n > t:
        raise TlogError("tlog: invalid inputs in prove_tree")
    return _tree_proof_index(0, t, n, [])


def prove_tree(t: int, n: int, reader: HashReader) -> list[Hash]:
    """The consistency proof that the tree of size ``t`` extends the tree of size ``n``."""
    indexes = prove_tree_indexes(t, n)
    if not indexes:
        return []
    proof, rest = _tree_proof(0, t, n, _read(reader, indexes))
    if rest:
        raise AssertionError("tlog: bad index math in prove_tree")
    return proof


def _tree_proof_index(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if not lo < n <= hi:
        raise AssertionError("tlog: bad math in _tree_proof_index")
    if n == hi:
        return need if lo == 0 else _sub_tree_index(lo, hi, need)
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        _tree_proof_index(lo, lo + k, n, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _tree_proof_index(lo + k, hi, n, need)
    return need


def _tree_proof(lo: int, hi: int, n: int, hashes: list[Hash]) -> tuple[list[Hash], list[Hash]]:
    """The part of the consistency proof about subtree ``[lo, hi)``, and the unused hashes."""
    if not lo < n <= hi:
        raise AssertionError("tlog: bad math in _tree_proof")
    if n == hi:
        if lo == 0:
            return [], hashes  # exactly the old tree: the verifier knows its hash
        th, hashes = _sub_tree_hash(lo, hi, hashes)
        return [th], hashes
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        proof, hashes = _tree_proof(lo, lo + k, n, hashes)
        th, hashes = _sub_tree_hash(lo + k, hi, hashes)
    else:
        th, hashes = _sub_tree_hash(lo, lo + k, hashes)
        proof, hashes = _tree_proof(lo + k, hi, n, hashes)
    return [*proof, th], hashes


def check_tree(proof: Sequence[Hash], t: int, th: Hash, n: int, h: Hash) -> None:
    """Check that ``proof`` proves the tree ``t`` (hash ``th``) extends tree ``n`` (hash ``h``).

    Raises :class:`ProofError` when it does not, :class:`TlogError` on impossible inputs.
    """
    if t < 1 or n < 1 or n > t:
        raise TlogError("tlog: invalid inputs in check_tree")
    _check_sizes([*proof, th, h])
    h2, th2 = _run_tree_proof(list(proof), 0, t, n, h)
    if th2 != th or h2 != h:
        raise ProofError()


def _run_tree_proof(
    proof: list[Hash], lo: int, hi: int, n: int, old: Hash
) -> tuple[Hash, Hash]:
    """The hashes of subtree ``[lo, hi)`` in the old and the new tree implied by ``proof``."""
    if not lo < n <= hi:
        raise AssertionError("tlog: bad math in _run_tree_proof")
    if n == hi:
        if lo == 0:
            if proof:
                raise ProofError()
            return old, old
        if len(proof) != 1:
            raise ProofError()
        return proof[0], proof[0]
    if not proof:
        raise ProofError()
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        oh, th = _run_tree_proof(proof[:-1], lo, lo + k, n, old)
        return oh, node_hash(th, proof[-1])
    oh, th = _run_tree_proof(proof[:-1], lo + k, hi, n, old)
    return node_hash(proof[-1], oh), node_hash(proof[-1], th)


# ---------------------------------------------------------------------------------------
# Tiles (tile.go)


_PATH_BASE = 1000


@dataclass(frozen=True, order=True)
class Tile:
    """A tile: ``w`` consecutive hashes of tree level ``h*l`` starting at ``n * 2**h``.

    A full tile has ``w == 2**h``; level ``-1`` holds the records themselves (C2SP's entry
    bundles) instead of hashes.
    """

    h: int
    l: int  # noqa: E741 -- Go's field name; the tile's level in the tiling
    n: int
    w: int

    def path(self) -> str:
        """The C2SP ``tlog-tiles`` path: ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>...``."""
        if self.h != TILE_HEIGHT:
            raise TlogError(f"C2SP tiles have height {TILE_HEIGHT}, not {self.h}")
        level = "entries" if self.l == -1 else str(self.l)
        return f"tile/{level}/{self._n_path()}"

    def sumdb_path(self) -> str:
        """Go sumdb's path, with the height: ``tile/<H>/<L>/<N>[.p/<W>]``, ``data`` for -1."""
        level = "data" if self.l == -1 else str(self.l)
        return f"tile/{self.h}/{level}/{self._n_path()}"

    def _n_path(self) -> str:
        n = self.n
        text = f"{n % _PATH_BASE:03d}"
        while n >= _PATH_BASE:
            n //= _PATH_BASE
            text = f"x{n % _PATH_BASE:03d}/{text}"
        if self.w != 1 << self.h:
            text += f".p/{self.w}"
        return text


class BadTilePathError(TlogError):
    """A path that is not the canonical path of any tile."""

    def __init__(self, path: str) -> None:
        super().__init__(f"malformed tile path {path!r}")


def _small_int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else None


def _parse_n_w(path: str, fields: list[str], h: int) -> tuple[int, int]:
    w = 1 << h
    if len(fields) >= 2 and fields[-2].endswith(".p"):
        ww = _small_int(fields[-1])
        if ww is None or ww <= 0 or ww >= w:
            raise BadTilePathError(path)
        w = ww
        fields = [*fields[:-2], fields[-2][: -len(".p")]]
    if not fields:
        raise BadTilePathError(path)
    n = 0
    for field in fields:
        nn = _small_int(field.removeprefix("x"))
        if nn is None or nn >= _PATH_BASE:
            raise BadTilePathError(path)
        n = n * _PATH_BASE + nn
    return n, w


def parse_tile_path(path: str) -> Tile:
    """Parse a C2SP ``tlog-tiles`` path (``tile/<L>/<N>[.p/<W>]``, ``tile/entries/...``).

    Only the canonical spelling is accepted: the result's :meth:`Tile.path` is ``path``.
    """
    f = path.split("/")
    if len(f) < 3 or f[0] != "tile":
        raise BadTilePathError(path)
    level = -1 if f[1] == "entries" else _small_int(f[1])
    if level is None or level > 63:
        raise BadTilePathError(path)
    n, w = _parse_n_w(path, f[2:], TILE_HEIGHT)
    tile = Tile(TILE_HEIGHT, level, n, w)
    if tile.path() != path:
        raise BadTilePathError(path)
    return tile


def parse_sumdb_tile_path(path: str) -> Tile:
    """Parse Go sumdb's tile path ``tile/<H>/<L>/<N>[.p/<W>]`` (Go's ``ParseTilePath``)."""
    f = path.split("/")
    if len(f) < 4 or f[0] != "tile":
        raise BadTilePathError(path)
    h = _small_int(f[1])
    level = -1 if f[2] == "data" else _small_int(f[2])
    if h is None or level is None or h < 1 or h > 30 or level > 63:
        raise BadTilePathError(path)
    n, w = _parse_n_w(path, f[3:], h)
    tile = Tile(h, level, n, w)
    if tile.sumdb_path() != path:
        raise BadTilePathError(path)
    return tile


def _tile_for_index(h: int, index: int) -> tuple[Tile, int, int]:
    """The least tile of height ``h`` holding stored hash ``index``, and the byte range in its
    data from which that hash is computed (with :func:`tile_hash`)."""
    level, n = split_stored_hash_index(index)
    tile_level = level // h
    level -= tile_level * h  # now the level within the tile
    tile_n = n << level >> h
    n -= tile_n << h >> level  # now n within the tile at that level
    tile = Tile(h, tile_level, tile_n, (n + 1) << level)
    return tile, (n << level) * HASH_SIZE, ((n + 1) << level) * HASH_SIZE


def tile_for_index(h: int, index: int) -> Tile:
    """The tile of height ``h`` and least width that stores the hash at stored ``index``."""
    if h <= 0:
        raise TlogError(f"tile_for_index: invalid height {h}")
    return _tile_for_index(h, index)[0]


def tile_hash(data: bytes) -> Hash:
    """The hash of the subtree whose leaves are the ``2**k`` hashes concatenated in ``data``."""
    count = len(data) // HASH_SIZE
    if count == 0 or len(data) % HASH_SIZE or count & (count - 1):
        raise AssertionError("tlog: bad math in tile_hash")
    # Level by level rather than Go's recursion: the same hashes, a third of the time here.
    level = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    sha256 = hashlib.sha256
    while len(level) > 1:
        level = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)
        ]
    return bytes(level[0])


def hash_from_tile(tile: Tile, data: bytes, index: int) -> Hash:
    """The hash at stored ``index``, from ``data`` of ``tile`` (the least tile for it or wider)."""
    if not (1 <= tile.h <= 30 and 0 <= tile.l < 64 and 1 <= tile.w <= 1 << tile.h):
        raise TlogError(f"invalid tile {tile}")
    if len(data) < tile.w * HASH_SIZE:
        raise TlogError(f"data len {len(data)} too short for tile {tile}")
    least, start, end = _tile_for_index(tile.h, index)
    if tile.l != least.l or tile.n != least.n or tile.w < least.w:
        raise TlogError(f"index {index} is in {least} not {tile}")
    return tile_hash(data[start:end])


def new_tiles(h: int, old_tree_size: int, new_tree_size: int) -> list[Tile]:
    """The tiles of height ``h`` to publish when the tree grows from the old size to the new.

    Level 0 to the top, each level's new full tiles then its partial one, if any.
    """
    if h <= 0:
        raise TlogError(f"new_tiles: invalid height {h}")
    tiles: list[Tile] = []
    level = 0
    while new_tree_size >> (h * level) > 0:
        old_n = old_tree_size >> (h * level)
        new_n = new_tree_size >> (h * level)
        if old_n != new_n:
            tiles.extend(Tile(h, level, n, 1 << h) for n in range(old_n >> h, new_n >> h))
            n = new_n >> h
            if w := new_n - (n << h):
                tiles.append(Tile(h, level, n, w))
        level += 1
    return tiles


def read_tile_data_indexes(tile: Tile) -> list[int]:
    """The stored hash indexes whose hashes make up ``tile``'s data, in order."""
    start = tile.n << tile.h
    return [stored_hash_index(tile.h * tile.l, start + i) for i in range(tile.w or 1 << tile.h)]


def read_tile_data(tile: Tile, reader: HashReader) -> bytes:
    """``tile``'s data (its hashes concatenated), read from stored hashes."""
    return b"".join(_read(reader, read_tile_data_indexes(tile)))
