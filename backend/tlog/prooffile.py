"""Proof files: C2SP ``tlog-proof`` (``c2sp.org/tlog-proof@v1``) with our entry in ``extra``.

A proof file is text::

    c2sp.org/tlog-proof@v1
    extra <base64 of the extra data>
    index <leaf index>
    <base64 inclusion proof hash, one per line, from the leaf's sibling up>

    <the cosigned checkpoint, verbatim: body, blank line, signature lines>

The spec leaves ``extra`` opaque and application-defined ("additional data necessary to
reconstruct the record hash"); ours is the RFC 8785 JSON object

    {"entry": "<base64 leaf entry>", "record": "<base64 record>", "salt": "<base64 salt>"}

(``record`` and ``salt`` together or not at all). The leaf hash is ``SHA-256(0x00 ‖ entry)``;
the entry is the leaf JSON whose ``commitment`` is ``base64(SHA-256(salt ‖ record))``, so the
file alone lets its holder check the record the Fund committed to. A generic tlog-proof tool
reads the file; only the meaning of ``extra`` is ours.

:func:`verify_proof` is the server's own check before it serves a file (the citizen's check is
``mobile_contract/verifier/mhi_verify.py``, which shares no code with this).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend.tlog.checkpoint import Checkpoint, OpenedCheckpoint, open_checkpoint
from backend.tlog.note import Verifier
from backend.tlog.tlog import Hash, TlogError, check_record, format_hash, parse_hash, record_hash

HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every proof file."""

FILE_EXTENSION = ".tlog-proof"
"""The file extension the spec recommends."""

MAX_PROOF_HASHES = 63
"""An inclusion proof in a tree of at most 2**63 leaves has at most 63 hashes."""


class ProofFileError(ValueError):
    """A proof file that breaks the format, or one that does not prove what it claims."""


@dataclass(frozen=True)
class ProofFile:
    """A ``tlog-proof``: extra data, leaf index, inclusion proof, and the signed checkpoint."""

    index: int
    hashes: tuple[Hash, ...]
    checkpoint: str
    extra: bytes | None = None

    def text(self) -> str:
        """The proof file's text."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines.extend(format_hash(h) for h in self.hashes)
        return "\n".join(lines) + "\n\n" + self.checkpoint


@dataclass(frozen=True)
class Extra:
    """Our ``extra``: the leaf's entry and, for its holder, the record and salt it commits to."""

    entry: bytes
    record: bytes | None = None
    salt: bytes | None = None

    def encode(self) -> bytes:
        """The canonical JSON bytes that go (base64) in the ``extra`` line."""
        if (self.record is None) != (self.salt is None):
            raise ProofFileError("record and salt go together")
        fields = {"entry": self.entry, "record": self.record, "salt": self.salt}
        doc = {k: base64.b64encode(v).decode("ascii") for k, v in fields.items() if v is not None}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")


def _b64(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ProofFileError(f"malformed {what}") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise ProofFileError(f"malformed {what}")
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object hook refusing repeated keys (two parsers could read them differently)."""
    if len({k for k, _ in pairs}) != len(pairs):
        raise ProofFileError("a JSON object repeats a key")
    return dict(pairs)


def parse_extra(data: bytes) -> Extra:
    """Read our ``extra`` JSON strictly: an object of base64 strings, no other keys."""
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProofFileError("extra is not JSON") from None
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise ProofFileError("extra must be an object of base64 strings")
    if set(doc) not in ({"entry"}, {"entry", "record", "salt"}):
        raise ProofFileError("extra holds an entry, and a record with its salt or neither")
    return Extra(
        _b64(doc["entry"], "entry"),
        _b64(doc["record"], "record") if "record" in doc else None,
        _b64(doc["salt"], "salt") if "salt" in doc else None,
    )


def parse_proof(text: str) -> ProofFile:
    """Parse a proof file strictly (its checkpoint is kept as text, not yet verified)."""
    head, sep, checkpoint = text.partition("\n\n")
    if not sep or not checkpoint:
        raise ProofFileError("proof file has no checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofFileError(f"proof file does not start with {HEADER}")
    at = 1
    extra = None
    if at < len(lines) and lines[at].startswith("extra "):
        extra = _b64(lines[at][len("extra ") :], "extra")
        at += 1
    if at >= len(lines) or not lines[at].startswith("index "):
        raise ProofFileError("proof file has no index line")
    index_text = lines[at][len("index ") :]
    if not (index_text.isascii() and index_text.isdigit()) or (
        index_text.startswith("0") and index_text != "0"
    ) or len(index_text) > 19:
        raise ProofFileError("malformed index")
    hash_lines = lines[at + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise ProofFileError("too many proof hashes")
    try:
        hashes = tuple(parse_hash(line) for line in hash_lines)
    except TlogError:
        raise ProofFileError("malformed proof hash") from None
    return ProofFile(int(index_text), hashes, checkpoint, extra)


def make_proof_file(
    index: int,
    hashes: Sequence[Hash],
    checkpoint: str,
    entry: bytes,
    record: bytes | None = None,
    salt: bytes | None = None,
) -> str:
    """The text of a proof file for leaf ``index`` with our ``extra`` (see the module doc)."""
    extra = Extra(entry, record, salt).encode()
    return ProofFile(index, tuple(hashes), checkpoint, extra).text()


@dataclass(frozen=True)
class VerifiedProof:
    """What a verified proof file proves: this entry is leaf ``index`` of this checkpoint."""

    index: int
    entry: bytes
    record: bytes | None
    checkpoint: Checkpoint
    witnesses: tuple[str, ...]


def commitment(salt: bytes, record: bytes) -> str:
    """``base64(SHA-256(salt ‖ record))``: what a leaf's ``commitment`` field says."""
    return base64.b64encode(hashlib.sha256(salt + record).digest()).decode("ascii")


def verify_proof(
    text: str,
    log: Verifier,
    witnesses: Sequence[Verifier],
    quorum: int = 1,
) -> VerifiedProof:
    """Check a proof file as a citizen's verifier does; raise :class:`ProofFileError` if not.

    The checkpoint carries the log's signature and ``quorum`` witness cosignatures; the entry
    is leaf ``index`` of it; with a record and salt, the entry's ``commitment`` is theirs.
    """
    proof = parse_proof(text)
    if proof.extra is None:
        raise ProofFileError("proof file carries no entry")
    extra = parse_extra(proof.extra)
    try:
        opened: OpenedCheckpoint = open_checkpoint(proof.checkpoint, log, witnesses, quorum)
    except ValueError as exc:
        raise ProofFileError(f"checkpoint: {exc}") from exc
    cp = opened.checkpoint
    if proof.index >= cp.size:
        raise ProofFileError("index is not in the checkpoint's tree")
    try:
        check_record(list(proof.hashes), cp.size, cp.hash, proof.index, record_hash(extra.entry))
    except TlogError:
        raise ProofFileError("inclusion proof does not lead to the checkpoint's root") from None
    if extra.record is not None and extra.salt is not None:
        try:
            leaf = json.loads(extra.entry.decode("utf-8"), object_pairs_hook=_unique_keys)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ProofFileError("entry is not JSON") from None
        if not isinstance(leaf, dict) or leaf.get("commitment") != commitment(
            extra.salt, extra.record
        ):
            raise ProofFileError("record and salt do not match the entry's commitment")
    return VerifiedProof(proof.index, extra.entry, extra.record, cp, opened.witnesses)
