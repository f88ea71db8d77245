"""The witness: cosigns a log's checkpoints after checking that each extends the last one.

It speaks C2SP ``tlog-witness`` (https://c2sp.org/tlog-witness): the log posts
``/add-checkpoint`` with the size of the checkpoint it believes the witness cosigned last, a
consistency proof from there, and the new signed checkpoint; the witness checks the log's
signature, that the old size is the one it remembers, and the proof, saves the new checkpoint
in its own directory (:mod:`backend.tlog.witness_store`) and answers with its cosignature
(C2SP ``tlog-cosignature`` v1, Ed25519).  Anyone holding the log's checkpoint and the
witness's cosignature then knows that the witness saw no other history of the log: a log that
rewrites history must either leave the witness behind (no cosignature, so the app refuses its
checkpoints) or show it a fork, which it refuses and keeps as evidence.

The answers, in the order the spec asks for them:

==========  =========================================================================
400         a malformed request, or ``old`` larger than the checkpoint's size
404         the checkpoint's origin is not a log this witness follows
403         no valid signature from the log's key (or a bad one from it)
409         ``old`` is not the size the witness cosigned last (its size is the body,
            ``Content-Type: text/x.tlog.size``, so the log can retry with a proof from there)
422         the proof does not show the new tree extends the stored one, the same size
            comes with another root (a fork), or an empty tree with a non-empty root
200         the cosignature line(s); the checkpoint is saved before the answer
==========  =========================================================================

Requests for one log are decided one at a time: check the old size, check the proof and save
are one step under a lock (an ``asyncio.Lock`` per origin, and ``flock`` on the log's lock
file for another process on the same directory), so two requests cannot both extend from the
same old size and roll the other back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from backend.tlog.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from backend.tlog.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    MalformedNoteError,
    Note,
    NoteError,
    generate_key,
    new_signer,
    new_verifier,
    open_note,
    sign_line,
)
from backend.tlog.tlog import EMPTY_HASH, Hash, TlogError, check_tree, parse_hash
from backend.tlog.witness_store import WitnessStore

log = logging.getLogger("backend.tlog.witness")

MAX_BODY_BYTES: Final = 64 * 1024
"""A request larger than this is refused unread: a checkpoint and 63 hashes take ~4 KB."""
MAX_PROOF_LINES: Final = 63
"""The spec's limit on consistency proof lines."""
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
"""The media type of a 409's body: the witness's tree size and a newline."""


class WitnessRefusal(Exception):
    """Why the witness did not cosign: an HTTP status, a reason, and (409) its size."""

    def __init__(self, status: int, reason: str, size: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.size = size


@dataclass(frozen=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request body, parsed: the old size, the proof, the signed note."""

    old: int
    proof: list[Hash]
    note: bytes


def _decimal(text: str) -> int | None:
    """A size written as the spec wants it: ASCII digits, no leading zero (except ``0``)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    if text.startswith("0") and text != "0":
        return None
    return int(text)


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse ``old <size>``, the proof's base64 lines, an empty line and the checkpoint note.

    Raises :class:`WitnessRefusal` (400) for anything else."""
    head, separator, note = body.partition(b"\n\n")
    if not separator:
        raise WitnessRefusal(400, "the request needs an empty line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "the old size and proof lines must be ASCII") from None
    first = lines[0]
    old = _decimal(first[4:]) if first.startswith("old ") else None
    if old is None:
        raise WitnessRefusal(400, "the first line must be `old <size>`")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    try:
        proof = [parse_hash(line) for line in lines[1:]]
    except TlogError:
        raise WitnessRefusal(400, "a consistency proof line is not a base64 hash") from None
    return AddCheckpoint(old, proof, note)


def _checkpoint_text(note: bytes) -> str:
    """The text of a signed note (before its signatures), for finding the origin."""
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "the checkpoint is not UTF-8") from None
    split = text.rfind("\n\n")
    if split < 0:
        raise WitnessRefusal(400, "the checkpoint has no signatures")
    return text[: split + 1]


@dataclass
class Witness:
    """One witness: its cosigning key, the logs it follows (origin → the log's verifiers) and
    its storage.  ``add_checkpoint`` is the whole protocol; the ASGI app only moves bytes."""

    signer: Ed25519Signer
    logs: Mapping[str, tuple[Ed25519Verifier, ...]]
    store: WitnessStore
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @property
    def verifier_key(self) -> str:
        """The witness's verifier key (``<name>+<id>+<base64(0x04 ‖ key)>``): what a client of
        the log trusts to check this witness's cosignatures."""
        return self.signer.verifier().vkey

    async def add_checkpoint(self, body: bytes) -> str:
        """Decide one ``add-checkpoint`` request; return the cosignature line(s) or raise
        :class:`WitnessRefusal`.  Requests for the same log wait for each other."""
        request = parse_add_checkpoint(body)
        text = _checkpoint_text(request.note)
        try:
            origin = parse_checkpoint(text).origin
        except CheckpointError as error:
            raise WitnessRefusal(400, f"malformed checkpoint: {error}") from None
        if origin not in self.logs:
            raise WitnessRefusal(404, "this witness does not follow that log")
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            return await asyncio.to_thread(self._decide, origin, request, body)

    def latest(self, origin: str) -> Checkpoint | None:
        """The latest checkpoint cosigned for ``origin`` (``None``: never), as stored."""
        stored = self.store.read_checkpoint(origin)
        if stored is None:
            return None
        try:
            return parse_checkpoint(_checkpoint_text(stored))
        except (WitnessRefusal, CheckpointError) as error:
            # Never mistake a damaged file for a fresh log: that would cosign any fork.
            raise RuntimeError(f"the stored checkpoint of {origin!r} is unreadable") from error

    def _open(self, origin: str, note_bytes: bytes) -> tuple[Note, Checkpoint]:
        """The note verified with the log's keys, and its checkpoint (404/403/400 else)."""
        try:
            note = open_note(note_bytes, self.logs[origin])
        except MalformedNoteError:
            raise WitnessRefusal(400, "malformed signed note") from None
        except NoteError as error:  # unverified, or a known key's signature failed
            raise WitnessRefusal(403, f"the log's signature does not verify: {error}") from None
        try:
            return note, parse_checkpoint(note.text)
        except CheckpointError as error:
            raise WitnessRefusal(400, f"malformed checkpoint: {error}") from None

    def _decide(self, origin: str, request: AddCheckpoint, body: bytes) -> str:
        """The checks and the save, under the log's file lock (runs in a thread)."""
        note, checkpoint = self._open(origin, request.note)
        if request.old > checkpoint.size:
            raise WitnessRefusal(400, "old size is larger than the checkpoint's size")
        with self.store.locked(origin):
            stored = self.latest(origin)
            size = stored.size if stored else 0
            if request.old != size:
                raise WitnessRefusal(409, f"this witness cosigned size {size}", size)
            try:
                self._check_consistency(request, checkpoint, stored)
            except WitnessRefusal as refusal:
                self._keep_evidence(origin, checkpoint.size, body, refusal.reason)
                raise
            line = sign_line(note.text, self.signer)
            signatures = "".join(signature.line() for signature in note.sigs)
            self.store.save_checkpoint(origin, f"{note.text}\n{signatures}{line}".encode())
        log.info("cosigned %s at size %d", origin, checkpoint.size)
        return line

    def _keep_evidence(self, origin: str, size: int, body: bytes, reason: str) -> None:
        """Keep and log a validly signed request that failed a consistency check: possible
        proof that the log misbehaved.  A full disk loses the copy, not the refusal."""
        try:
            kept = self.store.keep_evidence(origin, body, reason)
        except OSError as error:
            kept, reason = None, f"{reason} (not kept: {error})"
        log.warning("refused a validly signed checkpoint of %s (size %d): %s; kept as %s",
                    origin, size, reason, kept)

    @staticmethod
    def _check_consistency(request: AddCheckpoint, new: Checkpoint,
                           stored: Checkpoint | None) -> None:
        """422 unless ``new`` extends ``stored`` by ``request.proof``."""
        if new.size == 0 and new.hash != EMPTY_HASH:
            raise WitnessRefusal(422, "an empty tree must have the empty tree's root")
        if request.old == 0 or stored is None:
            if request.proof:
                raise WitnessRefusal(422, "from size 0 the consistency proof must be empty")
            return
        if request.old == new.size and new.hash != stored.hash:
            raise WitnessRefusal(422, f"a different root for size {new.size}: a fork")
        try:
            check_tree(request.proof, new.size, new.hash, stored.size, stored.hash)
        except TlogError:
            raise WitnessRefusal(422, "the consistency proof does not verify") from None


def parse_log_keys(keys: Iterable[str]) -> dict[str, tuple[Ed25519Verifier, ...]]:
    """The logs a witness follows, from the logs' verifier keys: each key's name is its log's
    origin (as :func:`backend.tlog.checkpoint.open_checkpoint` requires); a log may have
    several keys.  Raises ``ValueError`` for a key that is not a log's Ed25519 key."""
    logs: dict[str, tuple[Ed25519Verifier, ...]] = {}
    for text in keys:
        verifier = new_verifier(text.strip())
        if verifier.alg != ALG_ED25519:
            raise ValueError(f"{verifier.name}: not a log's signing key (a cosigner's?)")
        logs[verifier.name] = (*logs.get(verifier.name, ()), verifier)
    return logs


def load_signer(store: WitnessStore, name: str,
                clock: Callable[[], int] | None = None) -> Ed25519Signer:
    """The witness's cosigning key from its directory, made on the first call (named
    ``name``; an existing key keeps its own name)."""
    text = store.read_key()
    if text is None:
        skey, _ = generate_key(name, ALG_COSIGNATURE_V1)
        text = store.create_key(skey)
    signer = new_signer(text, clock or (lambda: int(time.time())))
    if signer.verifier().alg != ALG_COSIGNATURE_V1:
        raise ValueError(f"{store.key_path} is not a cosignature (0x04) key")
    return signer


def open_witness(directory: Path, name: str, log_keys: Iterable[str],
                 clock: Callable[[], int] | None = None) -> Witness:
    """The witness kept in ``directory`` (its key made there once) following ``log_keys``."""
    store = WitnessStore(directory)
    return Witness(load_signer(store, name, clock), parse_log_keys(log_keys), store)


def _refused(refusal: WitnessRefusal) -> Response:
    if refusal.status == 409:
        # Exactly this media type (the spec's), without the charset Starlette adds to text/*.
        return Response(f"{refusal.size}\n", 409, headers={"Content-Type": SIZE_CONTENT_TYPE})
    return PlainTextResponse(refusal.reason + "\n", refusal.status)


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) past ``MAX_BODY_BYTES`` without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WitnessRefusal(413, "request too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise WitnessRefusal(413, "request too large")
    return bytes(body)


def create_app(witness: Witness) -> Starlette:
    """The witness's HTTP interface: ``POST /add-checkpoint``, the monitoring
    ``GET /<origin hash>/checkpoint``, and ``GET /`` (who it is and what it follows)."""

    async def add_checkpoint(request: Request) -> Response:
        try:
            line = await witness.add_checkpoint(await _read_body(request))
        except WitnessRefusal as refusal:
            return _refused(refusal)
        except (OSError, RuntimeError):
            log.exception("could not read or save a checkpoint; nothing was cosigned")
            return PlainTextResponse("the witness could not read or save its state; nothing "
                                     "was cosigned\n", 500)
        return PlainTextResponse(line)

    async def checkpoint(request: Request) -> Response:
        stored = witness.store.read_checkpoint_by_hash(request.path_params["origin_hash"])
        if stored is None:
            return PlainTextResponse("this witness has cosigned no checkpoint of that log\n",
                                     404)
        return PlainTextResponse(stored.decode(), headers={"Cache-Control": "no-store"})

    async def index(request: Request) -> Response:
        lines = ["MHI witness (C2SP tlog-witness: POST /add-checkpoint)",
                 f"verifier key: {witness.verifier_key}", "logs:"]
        for origin in sorted(witness.logs):
            latest = witness.latest(origin)
            size = "nothing cosigned yet" if latest is None else f"size {latest.size}"
            path = witness.store.checkpoint_path(origin).stem
            lines.append(f"  {origin}  {size}  /{path}/checkpoint")
        return PlainTextResponse("\n".join(lines) + "\n")

    return Starlette(routes=[
        Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
        Route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"]),
        Route("/", index, methods=["GET"]),
    ])
