"""The ``proof`` of a receipt, a covered service or an access-log entry, in GraphQL.

``LogProof`` is what an app needs to check, by itself, that the record is in the Fund's
public log as the witnesses saw it: the leaf's index and entry, the inclusion proof's hashes,
and the cosigned checkpoint they lead to (``docs/verifiable-log.md``).  The proof file (with
the record and its salt, to check the commitment too) is at ``fileUrl``.

A field's proofs are loaded per request by one DataLoader (:class:`RequestProofs`), so a page
of twenty receipts costs the same few statements as one.  ``null`` while the record is not in
a published checkpoint; ``LOG_MISMATCH`` when its proof does not verify (never served).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import NewType

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info
from strawberry.types.scalar import ScalarDefinition

from backend.db.reads import Reads
from backend.gql.context import Context
from backend.tlog.proofs import LeafProof, LogProofs, ProofUnverified, RecordRef

LogIndex = NewType("LogIndex", int)
"""A leaf index or a tree size (``Int`` is 32-bit; a country's log is not)."""
SCALARS: dict[object, ScalarDefinition] = {
    LogIndex: strawberry.scalar(
        name="LogIndex", serialize=int, parse_value=int,
        description="A leaf index or a tree size of the verifiable log: a JSON number that "
                    "may exceed 32 bits (exact up to 2^53)."),
}
"""The log's scalars, for the schema's ``scalar_map``."""

PROOF_PATH = "/log/proof/{family}/{record_id}"
"""Where a signed-in citizen downloads the proof file of one of their records."""


@strawberry.type(description="Where this record is in the Fund's public log, and the proof: "
                             "hash the entry as leaf `leafIndex` (SHA-256 of 0x00 and the "
                             "entry), combine it with `hashes` (RFC 9162) and you get the "
                             "root hash the checkpoint states; check the checkpoint's "
                             "signatures with the log's and a witness's keys.")
class LogProof:
    leaf_index: LogIndex = strawberry.field(description="The leaf's index in the log (from 0).")
    tree_size: LogIndex = strawberry.field(description="The size of the checkpoint's tree.")
    entry: str = strawberry.field(
        description="The leaf's entry as the log holds it (JSON: the record's kind, id, the "
                    "day it was stored, the person's pseudonym and the salted commitment "
                    "to the record; never the record itself).")
    hashes: list[str] = strawberry.field(
        description="The inclusion proof: base64 SHA-256 hashes, from the leaf's sibling up.")
    checkpoint: str = strawberry.field(
        description="The checkpoint (C2SP tlog-checkpoint) as a signed note: origin, size, "
                    "root hash, then the log's signature and the witnesses' cosignatures.")
    file_url: str = strawberry.field(
        description="Where to download this proof as a file to keep (C2SP tlog-proof, with "
                    "the record and its salt), with the same bearer token; check it with "
                    "the standalone verifier mhi_verify.py.")

    @classmethod
    def of(cls, family: str, proof: LeafProof) -> LogProof:
        """The GraphQL view of a verified proof."""
        return cls(leaf_index=LogIndex(proof.index), tree_size=LogIndex(proof.size),
                   entry=proof.entry.decode("utf-8"),
                   hashes=[base64.b64encode(h).decode("ascii") for h in proof.hashes],
                   checkpoint=proof.checkpoint,
                   file_url=PROOF_PATH.format(family=family, record_id=proof.record_id))


class RequestProofs:
    """One request's proofs: a DataLoader over the process's :class:`LogProofs`."""

    def __init__(self, service: LogProofs, reads: Reads) -> None:
        self.service = service
        self._reads = reads
        self.loader: DataLoader[RecordRef, LeafProof | None] = DataLoader(load_fn=self._load)

    async def _load(self, refs: Sequence[RecordRef]
                    ) -> Sequence[LeafProof | ProofUnverified | None]:
        """Each record's proof; a record whose proof fails is that field's ``LOG_MISMATCH``
        alone (the loader raises what it is given for that key)."""
        async with self._reads.connection() as db:
            return await self.service.proofs(db, refs)


async def proof_of(info: Info[Context, None], family: str, record_id: int) -> LogProof | None:
    """The ``proof`` field of a record the caller may already see (its type checked that)."""
    proofs = info.context.log_proofs
    if proofs is None:  # an app built without the log (a test's, a tool's)
        return None
    found = await proofs.loader.load(RecordRef(family, record_id))
    return None if found is None else LogProof.of(family, found)
