#!/usr/bin/env python3
"""Check a proof file of the health insurance Fund's public log, with nothing but its keys.

    python mhi_verify.py PROOF_FILE --log-key KEY --witness-key KEY [--witness-key KEY ...]

prints ``yes`` and exits 0 when the file proves its entry, else ``no: <reason>`` and exits 1.

This script stands alone: Python 3.10+, its standard library and the ``cryptography``
package, and no code shared with the Fund's server. It is written from the published
specifications, so that anyone can read it and check it against them:

- the proof file: https://c2sp.org/tlog-proof (``c2sp.org/tlog-proof@v1``);
- the checkpoint and its signatures: https://c2sp.org/tlog-checkpoint,
  https://c2sp.org/signed-note (Ed25519), https://c2sp.org/tlog-cosignature (v1, Ed25519);
- the Merkle tree: RFC 9162, section 2.1 (leaf and node hashes, the inclusion proof and the
  algorithm of section 2.1.3.2 that checks it).

It says yes only if all of these hold:

1. the checkpoint is signed by the log key (``--log-key``, a verifier key
   ``<name>+<hex key ID>+<base64(0x01 ‖ Ed25519 public key)>``), and its origin line is that
   key's name;
2. at least ``--quorum`` (default 1) of the witness keys (``--witness-key``, verifier keys with
   type byte 0x04) have cosigned it, and no signature by a given key fails;
3. the entry in the ``extra`` line hashes (``SHA-256(0x00 ‖ entry)``) to a leaf that the
   inclusion proof places at ``index`` under the checkpoint's root hash;
4. when the file carries the record and its salt, the entry's ``commitment`` is
   ``base64(SHA-256(salt ‖ record))``.

``--show`` also prints the entry and the record (when present), after ``yes``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_FILE_BYTES = 1 << 20
MAX_PROOF_HASHES = 63
MAX_SIGNATURES = 100
TYPE_ED25519 = 0x01
TYPE_COSIGNATURE_V1 = 0x04


class Refused(Exception):
    """The reason the answer is no."""


# ---------------------------------------------------------------- encodings


def b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): padded, canonical, nothing else."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Refused(f"{what} is not base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise Refused(f"{what} is not canonical base64")
    return data


def decimal(text: str, what: str) -> int:
    """An ASCII decimal without leading zeros, below 2**63."""
    if not (text.isascii() and text.isdigit()) or (text[0] == "0" and text != "0"):
        raise Refused(f"{what} is not a decimal number")
    if len(text) > 19 or int(text) >= 1 << 63:
        raise Refused(f"{what} is too large")
    return int(text)


def valid_key_name(name: str) -> bool:
    """A key name is non-empty and has no spaces and no '+'."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True)
class Key:
    """A verifier key: name, key ID, signature type and Ed25519 public key."""

    name: str
    key_id: bytes
    sig_type: int
    public: bytes


def parse_key(text: str, want_type: int, what: str) -> Key:
    """Read ``<name>+<hex key ID>+<base64(type ‖ public key)>`` and check its key ID."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not valid_key_name(parts[0]) or len(parts[1]) != 8:
        raise Refused(f"{what} is not a verifier key")
    name, hex_id, data = parts
    try:
        key_id = bytes.fromhex(hex_id)
    except ValueError:
        raise Refused(f"{what} is not a verifier key") from None
    raw = b64decode(data, what)
    if len(raw) != 33 or raw[0] != want_type:
        raise Refused(f"{what} is not an Ed25519 key of type 0x{want_type:02x}")
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != key_id:
        raise Refused(f"{what} has a key ID that does not match the key")
    return Key(name, key_id, raw[0], raw[1:])


# ---------------------------------------------------------------- the proof file


@dataclass(frozen=True)
class ProofFile:
    """The parts of a tlog-proof file."""

    extra: bytes
    index: int
    path: list[bytes]
    note: str


def parse_proof_file(text: str) -> ProofFile:
    """Split a ``c2sp.org/tlog-proof@v1`` file into extra, index, proof and checkpoint note."""
    if "\r" in text:
        raise Refused("the file has Windows line endings: use the file as it was downloaded")
    head, sep, note = text.partition("\n\n")
    if not sep or not note:
        raise Refused("the file has no checkpoint")
    lines = head.split("\n")
    if lines[0] != PROOF_HEADER:
        raise Refused(f"the file does not start with {PROOF_HEADER}")
    if len(lines) < 3 or not lines[1].startswith("extra "):
        raise Refused("the file carries no entry (no extra line)")
    extra = b64decode(lines[1][len("extra ") :], "the extra line")
    if not lines[2].startswith("index "):
        raise Refused("the file has no index line")
    index = decimal(lines[2][len("index ") :], "the index")
    if len(lines) - 3 > MAX_PROOF_HASHES:
        raise Refused("the inclusion proof is too long")
    path = [b64decode(line, "an inclusion proof hash") for line in lines[3:]]
    if any(len(h) != 32 for h in path):
        raise Refused("an inclusion proof hash is not 32 bytes")
    return ProofFile(extra, index, path, note)


def no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object hook that refuses a key given twice (it could be read two ways)."""
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Refused("a JSON object repeats a key")
    return dict(pairs)


def parse_extra(data: bytes) -> tuple[bytes, bytes | None, bytes | None]:
    """The entry, record and salt in the extra data: JSON of base64 strings."""
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused("the extra data is not JSON") from None
    if not isinstance(doc, dict) or set(doc) not in ({"entry"}, {"entry", "record", "salt"}):
        raise Refused("the extra data must hold an entry, and a record with its salt or neither")
    if not all(isinstance(v, str) for v in doc.values()):
        raise Refused("the extra data's values must be base64 strings")
    entry = b64decode(doc["entry"], "the entry")
    if "record" not in doc:
        return entry, None, None
    return entry, b64decode(doc["record"], "the record"), b64decode(doc["salt"], "the salt")


# ---------------------------------------------------------------- the checkpoint note


@dataclass(frozen=True)
class SignatureLine:
    """One note signature line: key name, key ID, and the signature after the key ID."""

    name: str
    key_id: bytes
    signature: bytes


def split_note(note: str) -> tuple[str, list[SignatureLine]]:
    """A signed note's text (up to its last blank line) and its signature lines."""
    if any(c < " " and c != "\n" for c in note):
        raise Refused("the checkpoint note holds control characters")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise Refused("the checkpoint note has no signatures")
    text, block = note[: split + 1], note[split + 2 : -1]
    if not block:
        raise Refused("the checkpoint note has no signatures")
    lines = block.split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise Refused("the checkpoint note has too many signatures")
    sigs = []
    for line in lines:
        if not line.startswith("— "):
            raise Refused("the checkpoint note has a line that is not a signature")
        name, _, b64 = line[2:].partition(" ")
        raw = b64decode(b64, "a signature")
        if not valid_key_name(name) or len(raw) < 5:
            raise Refused("the checkpoint note has a malformed signature line")
        sigs.append(SignatureLine(name, raw[:4], raw[4:]))
    return text, sigs


def ed25519_ok(public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``message`` by ``public``."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_by(key: Key, text: str, sigs: list[SignatureLine]) -> bool:
    """Whether ``key`` signed ``text``: some line of it verifies and none of it fails."""
    found = False
    for sig in sigs:
        if sig.name != key.name or sig.key_id != key.key_id:
            continue  # another key's signature: ignored, as signed-note says
        if key.sig_type == TYPE_COSIGNATURE_V1:
            if len(sig.signature) != 8 + 64:
                raise Refused(f"the cosignature of {key.name} is malformed")
            timestamp = int.from_bytes(sig.signature[:8], "big")
            if timestamp >= 1 << 63:
                raise Refused(f"the cosignature of {key.name} has an impossible time")
            message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
            signature = sig.signature[8:]
        else:
            message, signature = text.encode(), sig.signature
        if not ed25519_ok(key.public, signature, message):
            raise Refused(f"the signature of {key.name} does not verify")
        found = True
    return found


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """Origin, tree size and root hash of a checkpoint's text."""
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not lines[0] or any(not line for line in lines[3:]):
        raise Refused("the checkpoint is malformed")
    size = decimal(lines[1], "the checkpoint size")
    root = b64decode(lines[2], "the checkpoint root hash")
    if len(root) != 32:
        raise Refused("the checkpoint root hash is not 32 bytes")
    return lines[0], size, root


# ---------------------------------------------------------------- the Merkle proof


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 section 2.1.1: the hash of a leaf is SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 section 2.1.1: the hash of a node is SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_ok(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: whether ``path`` proves ``leaf`` at ``index`` under ``root``."""
    if index >= size or any(len(h) != 32 for h in [leaf, root, *path]):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# ---------------------------------------------------------------- the whole check


@dataclass(frozen=True)
class Verified:
    """What a file proved."""

    entry: bytes
    record: bytes | None
    witnesses: list[str]


def verify(text: str, log_key: Key, witness_keys: list[Key], quorum: int = 1) -> Verified:
    """Check a proof file's text; raise :class:`Refused` with the reason it does not prove."""
    proof = parse_proof_file(text)
    entry, record, salt = parse_extra(proof.extra)
    note_text, sigs = split_note(proof.note)
    origin, size, root = parse_checkpoint(note_text)
    if not signed_by(log_key, note_text, sigs):
        raise Refused("the checkpoint is not signed by the log key")
    if origin != log_key.name:
        raise Refused(f"the checkpoint is of the log {origin!r}, not {log_key.name!r}")
    cosigned = [w.name for w in witness_keys if signed_by(w, note_text, sigs)]
    if len(cosigned) < quorum:
        raise Refused(
            f"{len(cosigned)} of the given witnesses cosigned the checkpoint, {quorum} needed"
        )
    if not inclusion_ok(proof.index, size, leaf_hash(entry), proof.path, root):
        raise Refused("the inclusion proof does not lead from the entry to the checkpoint's root")
    if record is not None and salt is not None:
        try:
            leaf = json.loads(entry.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Refused("the entry is not JSON, so its commitment cannot be read") from None
        expected = base64.b64encode(hashlib.sha256(salt + record).digest()).decode("ascii")
        if not isinstance(leaf, dict) or leaf.get("commitment") != expected:
            raise Refused("the record and salt are not what the entry commits to")
    return Verified(entry, record, cosigned)


def main(argv: list[str] | None = None) -> int:
    """The command line: print yes (exit 0) or no: <reason> (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("proof_file", help="the .tlog-proof file")
    parser.add_argument("--log-key", required=True, help="the log's verifier key")
    parser.add_argument(
        "--witness-key", action="append", default=[], help="a witness's verifier key (repeat)"
    )
    parser.add_argument("--quorum", type=int, default=1, help="witness cosignatures needed")
    parser.add_argument("--show", action="store_true", help="also print the entry and record")
    args = parser.parse_args(argv)
    try:
        log_key = parse_key(args.log_key, TYPE_ED25519, "the log key")
        witness_keys = [
            parse_key(k, TYPE_COSIGNATURE_V1, "a witness key") for k in args.witness_key
        ]
        if args.quorum < 1:
            raise Refused("the quorum must be at least one witness")
        try:
            with open(args.proof_file, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise Refused(f"cannot read the file ({exc.strerror})") from None
        if len(data) > MAX_FILE_BYTES:
            raise Refused("the file is too large to be a proof")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("the file is not UTF-8 text") from None
        verified = verify(text, log_key, witness_keys, args.quorum)
    except Refused as reason:
        print(f"no: {reason}")
        return 1
    print("yes")
    if args.show:
        print("entry: " + verified.entry.decode("utf-8", "replace"))
        if verified.record is not None:
            print("record: " + verified.record.decode("utf-8", "replace"))
        print("witnesses: " + ", ".join(verified.witnesses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
