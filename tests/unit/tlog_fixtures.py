"""A small log in memory, signed and cosigned, that writes proof files: for the tlog tests."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from backend.tlog.checkpoint import Checkpoint
from backend.tlog.note import ALG_COSIGNATURE_V1, Ed25519Signer, sign_note
from backend.tlog.prooffile import make_proof_file
from backend.tlog.tlog import (
    Hash,
    MemoryHashReader,
    prove_record,
    stored_hashes,
    tree_hash,
)

ORIGIN = "mhi.example.kz/log"
VERIFIER_PATH = Path(__file__).parents[2] / "mobile_contract" / "verifier" / "mhi_verify.py"


def seed(label: str) -> bytes:
    """A fixed Ed25519 seed per label, so failures reproduce."""
    return hashlib.sha256(label.encode()).digest()


LOG = Ed25519Signer(ORIGIN, seed("log"))
WITNESS_1 = Ed25519Signer("w1.example.kz", seed("w1"), ALG_COSIGNATURE_V1, lambda: 1_780_000_000)
WITNESS_2 = Ed25519Signer("w2.example.kz", seed("w2"), ALG_COSIGNATURE_V1, lambda: 1_780_000_001)


def load_verifier() -> ModuleType:
    """The standalone verifier, loaded from its file as its users run it (not a package)."""
    spec = importlib.util.spec_from_file_location("mhi_verify", VERIFIER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mhi_verify"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def leaf_entry(i: int, salt: bytes, record: bytes) -> bytes:
    """A leaf entry shaped like the server's: canonical JSON with the record's commitment."""
    commitment = base64.b64encode(hashlib.sha256(salt + record).digest()).decode()
    doc = {"commitment": commitment, "id": str(1000 + i), "kind": "contribution",
           "logged": "2026-12-07", "person": "AbCdEfGhIjKlMnOpQrStUv", "v": 1}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def record_of(i: int) -> bytes:
    """A record: what the leaf commits to."""
    doc = {"amount": f"{5000 + i}.00 KZT", "month": "2026-11", "payer": "123456789012"}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class MemoryLog:
    """Entries appended with stored hashes, as the server does, in a list."""

    entries: list[bytes] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    salts: list[bytes] = field(default_factory=list)
    hashes: list[Hash] = field(default_factory=list)

    def append(self, entry: bytes, record: bytes = b"", salt: bytes = b"") -> int:
        """Append an entry; its index."""
        n = len(self.entries)
        self.hashes.extend(stored_hashes(n, entry, MemoryHashReader(self.hashes)))
        self.entries.append(entry)
        self.records.append(record)
        self.salts.append(salt)
        return n

    def checkpoint(self, cosigners: tuple[Ed25519Signer, ...] = (WITNESS_1,)) -> str:
        """The current checkpoint, signed by the log and cosigned by ``cosigners``."""
        size = len(self.entries)
        root = tree_hash(size, MemoryHashReader(self.hashes))
        return sign_note(Checkpoint(ORIGIN, size, root).text(), [LOG, *cosigners])

    def proof_file(self, index: int, checkpoint: str | None = None, *, with_record: bool = True,
                   size: int | None = None) -> str:
        """The proof file of entry ``index`` at the current size (or ``size``)."""
        size = len(self.entries) if size is None else size
        checkpoint = checkpoint or self.checkpoint()
        hashes = prove_record(size, index, MemoryHashReader(self.hashes))
        if not with_record:
            return make_proof_file(index, hashes, checkpoint, self.entries[index])
        return make_proof_file(index, hashes, checkpoint, self.entries[index],
                               self.records[index], self.salts[index])


def sample_log(n: int = 13) -> MemoryLog:
    """A log of ``n`` contribution leaves with records and salts."""
    log = MemoryLog()
    for i in range(n):
        salt = seed(f"salt {i}")[:16]
        log.append(leaf_entry(i, salt, record_of(i)), record_of(i), salt)
    return log
