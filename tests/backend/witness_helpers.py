"""What the witness tests share: a log made with the library (its tree, its key, its signed
checkpoints and consistency proofs) and a witness behind httpx."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from backend.tlog.checkpoint import Checkpoint, OpenedCheckpoint, open_checkpoint
from backend.tlog.note import generate_key, new_signer, new_verifier, sign_note
from backend.tlog.tlog import MemoryHashReader, prove_tree, stored_hashes, tree_hash
from backend.tlog.witness import Witness, create_app, open_witness
from backend.tlog.witness_client import add_checkpoint_body
from backend.tlog.witness_store import origin_hash

ORIGIN = "test.mhi.local/log"


class Log:
    """A log in memory: stored hashes built with ``stored_hashes``, checkpoints signed with its
    own Ed25519 key (named after its origin)."""

    def __init__(self, origin: str = ORIGIN, *, seed: str = "leaf") -> None:
        skey, self.vkey = generate_key(origin)
        self.origin = origin
        self.signer = new_signer(skey)
        self.seed = seed
        self.hashes: list[bytes] = []
        self.size = 0

    def grow(self, leaves: int) -> Log:
        """Append ``leaves`` records (``<seed> <index>``)."""
        for _ in range(leaves):
            entry = f"{self.seed} {self.size}".encode()
            self.hashes += stored_hashes(self.size, entry, MemoryHashReader(self.hashes))
            self.size += 1
        return self

    def root(self, size: int | None = None) -> bytes:
        """The root hash at ``size`` (default: now)."""
        return tree_hash(self.size if size is None else size, MemoryHashReader(self.hashes))

    def checkpoint(self, size: int | None = None, *, root: bytes | None = None) -> bytes:
        """The signed checkpoint at ``size`` (or any ``root`` the log chooses to sign)."""
        size = self.size if size is None else size
        body = Checkpoint(self.origin, size, root if root is not None else self.root(size))
        return sign_note(body.text(), [self.signer]).encode()

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        """The consistency proof from ``old`` to ``new`` (empty from 0)."""
        new = self.size if new is None else new
        return prove_tree(new, old, MemoryHashReader(self.hashes)) if old else []

    def body(self, old: int, new: int | None = None) -> bytes:
        """An ``add-checkpoint`` request body from ``old`` to ``new``."""
        return add_checkpoint_body(old, self.proof(old, new), self.checkpoint(new))


def cosigned(log: Log, size: int, answer: bytes, witness_vkey: str) -> OpenedCheckpoint:
    """The log's checkpoint at ``size`` with the witness's answer appended, opened with the
    library as a client of the log would (log signature, and one cosignature needed)."""
    return open_checkpoint(log.checkpoint(size) + answer, new_verifier(log.vkey),
                           [new_verifier(witness_vkey)], quorum=1)


@contextlib.asynccontextmanager
async def witness_client(directory: Path, *logs: Log, clock: Callable[[], int] | None = None,
                         ) -> AsyncIterator[tuple[httpx.AsyncClient, Witness]]:
    """The witness kept in ``directory``, following ``logs``, through httpx (ASGI)."""
    witness = open_witness(directory, "test.mhi.local/witness", [log.vkey for log in logs],
                           clock)
    transport = httpx.ASGITransport(app=create_app(witness))
    async with httpx.AsyncClient(transport=transport, base_url="http://witness") as client:
        yield client, witness


def monitoring_path(origin: str = ORIGIN) -> str:
    """The witness's URL path of a log's latest cosigned checkpoint."""
    return f"/{origin_hash(origin)}/checkpoint"
