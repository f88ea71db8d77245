"""Published RFC 6962 / RFC 9162 vectors (transparency-dev/merkle) against both implementations:
the server's library (a port of Go's sumdb/tlog) and the standalone verifier (RFC 9162's
iterative algorithm)."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.tlog.tlog import (
    EMPTY_HASH,
    MemoryHashReader,
    TlogError,
    check_record,
    check_tree,
    node_hash,
    prove_record,
    prove_tree,
    record_hash,
    stored_hash_index,
    stored_hashes,
    tree_hash,
)
from tests.unit.tlog_fixtures import load_verifier

VECTORS = Path(__file__).parent / "tlog_vectors" / "transparency-dev-merkle"
V = load_verifier()


def load(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """Every vector file of a kind, by its path under the vectors folder."""
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [(str(f.relative_to(VECTORS)), json.loads(f.read_text())) for f in files]


def b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def hashes(values: list[str] | None) -> list[bytes]:
    return [b64(v) for v in values or []]


INCLUSION = load("inclusion")
CONSISTENCY = load("consistency")


def test_the_vectors_are_there() -> None:
    """The copied vectors are all present (so the tests below cannot pass on nothing)."""
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    assert sum(not v["wantErr"] for _, v in INCLUSION) >= 5
    assert sum(not v["wantErr"] for _, v in CONSISTENCY) >= 5


@pytest.mark.parametrize(("name", "vector"), INCLUSION, ids=[n for n, _ in INCLUSION])
def test_inclusion_vector(name: str, vector: dict[str, Any]) -> None:
    """Both implementations accept exactly the inclusion proofs the vectors call valid."""
    index, size = vector["leafIdx"], vector["treeSize"]
    root, leaf, proof = b64(vector["root"]), b64(vector["leafHash"]), hashes(vector["proof"])
    try:
        check_record(proof, size, root, index, leaf)
        library = True
    except TlogError:
        library = False
    standalone = V.inclusion_ok(index, size, leaf, proof, root)
    assert library is standalone is (not vector["wantErr"]), name


@pytest.mark.parametrize(("name", "vector"), CONSISTENCY, ids=[n for n, _ in CONSISTENCY])
def test_consistency_vector(name: str, vector: dict[str, Any]) -> None:
    """The library accepts exactly the consistency proofs the vectors call valid.

    One deliberate difference: transparency-dev accepts two equal sizes with equal roots
    without looking at the roots; we refuse a root that is not 32 bytes (its vector uses the
    12-byte "don't care 2"), as Go's sumdb can hold no such hash.
    """
    size1, size2 = vector["size1"], vector["size2"]
    want = not vector["wantErr"] and all(
        len(b64(vector[k])) == 32 for k in ("root1", "root2")
    )
    try:
        check_tree(hashes(vector["proof"]), size2, b64(vector["root2"]), size1,
                   b64(vector["root1"]))
        ok = True
    except TlogError:
        ok = False
    assert ok is want, name


def test_only_one_consistency_vector_differs() -> None:
    """The difference above concerns a single vector, not a class of them."""
    differing = [
        name for name, v in CONSISTENCY
        if not v["wantErr"] and any(len(b64(v[k])) != 32 for k in ("root1", "root2"))
    ]
    assert differing == ["consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"]


REFERENCE = json.loads((VECTORS / "reference_tree.json").read_text())


def test_reference_tree_roots_and_stored_hashes() -> None:
    """Appending the reference leaves gives its root at every size, and its subtree hashes."""
    stored: list[bytes] = []
    leaves = [bytes.fromhex(x) for x in REFERENCE["leafInputsHex"]]
    roots = [bytes.fromhex(x) for x in REFERENCE["rootHashesHex"]]
    assert tree_hash(0, MemoryHashReader(stored)) == roots[0] == EMPTY_HASH
    for n, leaf in enumerate(leaves):
        stored.extend(stored_hashes(n, leaf, MemoryHashReader(stored)))
        assert tree_hash(n + 1, MemoryHashReader(stored)) == roots[n + 1]
    for level, row in enumerate(REFERENCE["nodeHashesHex"]):
        for i, hex_hash in enumerate(row):
            assert stored[stored_hash_index(level, i)] == bytes.fromhex(hex_hash)
    # Our own proofs on the reference tree check against its published roots, both ways.
    reader = MemoryHashReader(stored)
    for t in range(1, 9):
        for n in range(t):
            proof = prove_record(t, n, reader)
            check_record(proof, t, roots[t], n, record_hash(leaves[n]))
            assert V.inclusion_ok(n, t, record_hash(leaves[n]), proof, roots[t])
        for m in range(1, t + 1):
            check_tree(prove_tree(t, m, reader), t, roots[t], m, roots[m])


def test_rfc6962_hasher_vectors() -> None:
    """The leaf and node hashes of transparency-dev's rfc6962 tests, in both implementations."""
    for case in REFERENCE["hasher"]:
        want = bytes.fromhex(case["hex"])
        if "leaf" in case:
            assert record_hash(case["leaf"].encode()) == want == V.leaf_hash(case["leaf"].encode())
        elif "left" in case:
            left, right = case["left"].encode(), case["right"].encode()
            assert node_hash(left, right) == want == V.node_hash(left, right)
        else:
            assert hashlib.sha256(b"").digest() == want == EMPTY_HASH


# Go's sumdb/note test vector (note_test.go) and the example of c2sp.org/signed-note.
NOTE_VECTORS = [
    (
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n\n"
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
        "fqdngotpRZb6KE6RyyBwJnAM=\n",
    ),
    (
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXpp"
        "zi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
    ),
]


@pytest.mark.parametrize(("vkey", "note"), NOTE_VECTORS)
def test_standalone_verifier_reads_published_signed_notes(vkey: str, note: str) -> None:
    """The verifier's own note code accepts the published notes and refuses them altered."""
    key = V.parse_key(vkey, 1, "key")
    text, sigs = V.split_note(note)
    assert V.signed_by(key, text, sigs)
    altered = note.replace("is", "iz", 1)
    with pytest.raises(V.Refused, match="does not verify"):
        V.signed_by(key, *V.split_note(altered))
    name, key_id, data = vkey.split("+", 2)
    other_id = f"{name}+{int(key_id, 16) ^ 1:08x}+{data}"
    with pytest.raises(V.Refused, match="key ID that does not match"):
        V.parse_key(other_id, 1, "key")


@functools.cache
def store_of_3000() -> MemoryHashReader:
    """Stored hashes of a 3000-leaf log, built once."""
    hashes: list[bytes] = []
    for i in range(3000):
        hashes.extend(stored_hashes(i, b"%d" % i, MemoryHashReader(hashes)))
    return MemoryHashReader(hashes)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_both_implementations_agree_on_random_proofs(data: st.DataObject) -> None:
    """For random sizes up to 3000, a proof verifies in both; any changed hash or index fails."""
    reader = store_of_3000()
    t = data.draw(st.integers(1, 3000), label="size")
    n = data.draw(st.integers(0, t - 1), label="index")
    root, leaf = tree_hash(t, reader), record_hash(b"%d" % n)
    proof = prove_record(t, n, reader)
    check_record(proof, t, root, n, leaf)
    assert V.inclusion_ok(n, t, leaf, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="hash")
        bad = [*proof]
        bad[k] = bytes([bad[k][0] ^ 0x80]) + bad[k][1:]
        assert not V.inclusion_ok(n, t, leaf, bad, root)
        with pytest.raises(TlogError):
            check_record(bad, t, root, n, leaf)
    other = data.draw(st.integers(0, t - 1).filter(lambda x: x != n), label="other") if t > 1 else n
    if other != n:
        assert not V.inclusion_ok(other, t, leaf, proof, root)
    m = data.draw(st.integers(1, t), label="old size")
    check_tree(prove_tree(t, m, reader), t, root, m, tree_hash(m, reader))
