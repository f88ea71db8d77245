"""Proofs for a citizen: where their receipt, covered service or access-log entry sits in the
log, proven against the newest checkpoint the witnesses cosigned.

What the API serves (the ``proof`` field of the GraphQL types, the proof file of
``GET /log/proof/{kind}/{id}``) comes from :meth:`LogProofs.proofs`, and nothing leaves it
unverified.  For every record asked, in a constant number of statements whatever the count:

1. its leaf (index, entry, salt) and the newest *published* checkpoint (signed by the log and
   cosigned by a witness);
2. the checkpoint is opened with the log's key and a quorum of the witnesses' keys
   (:func:`~backend.tlog.checkpoint.open_checkpoint`): a note that does not open is refused;
3. the inclusion proof of every leaf below the checkpoint's size is computed from the tiles it
   needs (one statement for all of them) and checked with the library (``check_record``)
   against the **cosigned root** itself, not a root recomputed from the same storage;
4. the record is read again from its table and its salted commitment compared with the one
   the leaf states: a row edited after it was logged does not match.

A record not yet in a published checkpoint (still queued, or appended since) has no proof
(``None``); one whose proof fails any check raises :class:`ProofUnverified` (``LOG_MISMATCH``)
and is logged: the API never serves a proof that does not verify.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from backend.db.reads import Fetcher
from backend.errors import AppError
from backend.settings import TlogSettings
from backend.tlog.checkpoint import OpenedCheckpoint, open_checkpoint
from backend.tlog.leaves import commitment, load_records
from backend.tlog.note import Verifier, new_verifier
from backend.tlog.prooffile import ProofFileError, make_proof_file, verify_proof
from backend.tlog.store import read_tiles
from backend.tlog.tiles import TileDataHashReader, tile_keys_for_indexes
from backend.tlog.tlog import (
    TILE_HEIGHT,
    Hash,
    TlogError,
    check_record,
    prove_record,
    prove_record_indexes,
    record_hash,
)

log = logging.getLogger("mhi.tlog")

FAMILIES: dict[str, tuple[str, ...]] = {
    "contribution": ("contribution", "contribution_refund"),
    "service_payment": ("service_payment", "service_withdrawal"),
    "access": ("access",),
}
"""What the API calls a record (a receipt, a covered service, a look) and the leaf kinds it
may be: a refund is a receipt too, a withdrawal a covered service."""

OWNER_SQL = {
    "contribution": "SELECT 1 FROM core.contribution WHERE id = $1 AND person_id = $2",
    "service_payment": "SELECT 1 FROM core.service_payment WHERE id = $1 AND person_id = $2",
    "access": "SELECT 1 FROM core.access_log WHERE id = $1 AND person_id = $2",
}

_LEAVES = """
    SELECT l.kind, l.record_id, l.leaf_index, l.entry, l.salt FROM tlog.leaf l
    JOIN unnest($1::text[], $2::bigint[]) AS k(kind, record_id)
      ON l.kind = k.kind AND l.record_id = k.record_id"""
_PUBLISHED = """
    SELECT cosigned FROM tlog.checkpoint WHERE published_at IS NOT NULL
    ORDER BY size DESC LIMIT 1"""

MISMATCH: dict[str, str] = {
    "kk": "Бұл жазба Қордың ашық журналында тіркелгенмен сәйкес келмейді. "
          "1406 нөміріне хабарласыңыз.",
    "ru": "Эта запись не совпадает с тем, что Фонд внёс в открытый журнал. "
          "Сообщите по номеру 1406.",
    "en": "This record does not match what the Fund entered in its public log. "
          "Tell the Fund on 1406.",
}


class ProofUnverified(AppError):
    """A record, its leaf, the tiles or the checkpoint disagree: no proof is served."""

    code = "LOG_MISMATCH"
    status_code = 409

    def __init__(self) -> None:
        super().__init__(MISMATCH)


@dataclass(frozen=True)
class RecordRef:
    """A record as the API names it: ``family`` (a key of :data:`FAMILIES`) and its id."""

    family: str
    record_id: int


@dataclass(frozen=True)
class LeafProof:
    """A verified proof that a record's leaf is in the newest cosigned checkpoint."""

    kind: str
    record_id: int
    index: int
    size: int
    entry: bytes
    hashes: tuple[Hash, ...]
    checkpoint: str
    """The cosigned checkpoint note, verbatim (the log's signature and the witnesses')."""
    record: bytes
    salt: bytes

    def file_text(self) -> str:
        """The C2SP ``tlog-proof`` file, with the record and salt for its holder."""
        return make_proof_file(self.index, self.hashes, self.checkpoint, self.entry,
                               self.record, self.salt)


@dataclass(frozen=True)
class Trust:
    """The keys a checkpoint must carry: the log's, and ``quorum`` of the witnesses'."""

    log: Verifier
    witnesses: tuple[Verifier, ...]
    quorum: int = 1


def trust_of(settings: TlogSettings) -> Trust:
    """The log's verifier key and its witnesses' keys, as the worker publishes with them
    (``TLOG_WITNESSES``; in development, the local witness ``make run`` starts)."""
    from backend.cli.log import witnesses_of  # the worker's rule, kept in one place
    from backend.tlog.publish import log_signer

    return Trust(log_signer(settings).verifier(),
                 tuple(new_verifier(w.key) for w in witnesses_of(settings)))


class LogProofs:
    """The proof service of one process: the keys it trusts, and the last checkpoint opened
    (a new one is published every few seconds at most; opening one costs two signature
    checks)."""

    def __init__(self, settings: TlogSettings | None = None, trust: Trust | None = None
                 ) -> None:
        self._settings = settings
        self._given = trust
        self._opened: tuple[str, OpenedCheckpoint] | None = None

    @cached_property
    def trust(self) -> Trust:
        """The keys, read when the first proof is asked (so a process that never serves one
        never reads them)."""
        return self._given or trust_of(self._settings or TlogSettings())

    def open(self, note: str) -> OpenedCheckpoint:
        """The published checkpoint ``note`` opened with :attr:`trust`; ``ProofUnverified``
        when it does not carry the log's signature and a quorum of cosignatures."""
        if self._opened is not None and self._opened[0] == note:
            return self._opened[1]
        trust = self.trust
        try:
            opened = open_checkpoint(note, trust.log, trust.witnesses, trust.quorum)
        except ValueError as error:
            log.error("the published checkpoint does not open with the log's keys: %s", error)
            raise ProofUnverified() from error
        self._opened = (note, opened)
        return opened

    async def proofs(self, db: Fetcher, refs: Sequence[RecordRef]
                     ) -> list[LeafProof | ProofUnverified | None]:
        """The verified proof of each record in ``refs``: None when it is not in a published
        checkpoint yet (or there is no such record), a :class:`ProofUnverified` (returned,
        for that record alone) when its proof fails a check (module docstring).  A published
        checkpoint that does not open fails them all (raised)."""
        if not refs:
            return []
        pairs = [(kind, ref.record_id) for ref in refs for kind in FAMILIES[ref.family]]
        rows = await db.fetch(_LEAVES, [k for k, _ in pairs], [i for _, i in pairs])
        published = await db.fetch(_PUBLISHED) if rows else []
        if not published:
            return [None] * len(refs)
        note: str = published[0]["cosigned"]
        checkpoint = self.open(note).checkpoint
        leaves = {(row["kind"], row["record_id"]): row for row in rows
                  if row["leaf_index"] < checkpoint.size}
        if not leaves:
            return [None] * len(refs)
        hashes = await _inclusion(
            db, {row["leaf_index"]: bytes(row["entry"]) for row in leaves.values()},
            checkpoint.size, checkpoint.hash)
        records = await load_records(_ReadOnly(db), leaves)
        found: dict[tuple[str, int], LeafProof | ProofUnverified] = {}
        for key, row in leaves.items():
            entry, salt, index = bytes(row["entry"]), bytes(row["salt"]), row["leaf_index"]
            record = records.get(key)
            if record is None:  # a logged record was deleted: nothing to prove it with
                continue
            proof = hashes[index]
            if isinstance(proof, ProofUnverified):
                found[key] = proof
            elif _commitment_of(entry) != commitment(salt, record.record):
                log.error("%s %d no longer matches its leaf %d", key[0], key[1], index)
                found[key] = ProofUnverified()
            else:
                found[key] = LeafProof(key[0], key[1], index, checkpoint.size, entry,
                                       tuple(proof), note, record.record, salt)
        return [next((found[(kind, ref.record_id)] for kind in FAMILIES[ref.family]
                      if (kind, ref.record_id) in found), None) for ref in refs]

    async def proof_file(self, db: Fetcher, ref: RecordRef) -> str | None:
        """The proof file of one record, checked once more as a file (the server's own
        reading of the format, ``verify_proof``) before it is handed out."""
        proof = (await self.proofs(db, [ref]))[0]
        if proof is None:
            return None
        if isinstance(proof, ProofUnverified):
            raise proof
        text = proof.file_text()
        trust = self.trust
        try:
            verify_proof(text, trust.log, trust.witnesses, trust.quorum)
        except ProofFileError as error:
            log.error("the proof file of %s %d does not verify: %s", proof.kind,
                      proof.record_id, error)
            raise ProofUnverified() from error
        return text


async def owns(db: Fetcher, ref: RecordRef, person_id: object) -> bool:
    """Whether the record is the person's own (a refund, a withdrawal, a look included)."""
    return bool(await db.fetch(OWNER_SQL[ref.family], ref.record_id, person_id))


def _commitment_of(entry: bytes) -> object:
    try:
        leaf = json.loads(entry)
    except ValueError:
        return None
    return leaf.get("commitment") if isinstance(leaf, dict) else None


async def _inclusion(db: Fetcher, entries: dict[int, bytes], size: int, root: Hash
                     ) -> dict[int, list[Hash] | ProofUnverified]:
    """The inclusion proofs of the leaves ``entries`` (by index) in the tree of ``size``, from
    the tiles they need (one statement), each checked from the leaf's entry to ``root``: the
    cosigned one, so a changed entry, tile or checkpoint is caught here (for the leaves whose
    proof it touches: the others still verify, and are served)."""
    wanted = sorted({i for n in entries for i in prove_record_indexes(size, n)})
    tiles = await read_tiles(_ReadOnly(db), tile_keys_for_indexes(TILE_HEIGHT, wanted))
    reader = TileDataHashReader(tiles)
    proofs: dict[int, list[Hash] | ProofUnverified] = {}
    for index, entry in entries.items():
        try:
            proof = prove_record(size, index, reader)
            check_record(proof, size, root, index, record_hash(entry))
        except TlogError as error:
            log.error("leaf %d does not verify in the cosigned checkpoint of size %d: %s",
                      index, size, error)
            proofs[index] = ProofUnverified()
            continue
        proofs[index] = proof
    return proofs


class _ReadOnly:
    """The log's ``Driver`` over a read connection (``Reads``): what the store's and the
    leaves' readers use is ``fetch``; nothing here writes."""

    def __init__(self, db: Fetcher) -> None:
        self._db = db

    async def fetch(self, query: str, *args: object) -> list[Any]:
        """The rows of a query."""
        return list(await self._db.fetch(query, *args))

    async def fetchval(self, query: str, *args: object) -> Any:
        """The first column of the first row."""
        rows = await self._db.fetch(query, *args)
        return rows[0][0] if rows else None

    async def execute(self, query: str, *args: object) -> str:
        """Never used: proofs only read."""
        raise NotImplementedError("proofs only read")

    async def copy_records_to_table(self, table_name: str, *, records: Any, columns: Any,
                                    schema_name: str) -> str:
        """Never used: proofs only read."""
        raise NotImplementedError("proofs only read")
