"""C2SP ``tlog-checkpoint``: the body of a signed tree head, and opening a cosigned one.

A checkpoint's text is the origin line, the tree size in decimal (no leading zeros), the root
hash in base64, and optional non-empty extension lines, each ending in a newline. It is
signed as a note (:mod:`backend.tlog.note`) by the log, whose key is named after the origin,
and cosigned by witnesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.tlog.note import Note, UnverifiedNoteError, Verifier, open_note
from backend.tlog.tlog import HASH_SIZE, Hash, TlogError, format_hash, parse_hash

MAX_TREE_SIZE = (1 << 63) - 1
"""The largest tree size a checkpoint may state (Go and the witness network use int64)."""


class CheckpointError(ValueError):
    """A checkpoint body that breaks the format, or a checkpoint without the signatures asked."""


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, the tree size, the root hash, and extension lines."""

    origin: str
    size: int
    hash: Hash
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a checkpoint that :meth:`text` could not write faithfully."""
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError("checkpoint size out of range")
        if len(self.hash) != HASH_SIZE:
            raise CheckpointError("checkpoint hash must be 32 bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise CheckpointError("checkpoint extension lines must be non-empty single lines")

    def text(self) -> str:
        """The checkpoint's note text, every line ending in a newline."""
        lines = [self.origin, str(self.size), format_hash(self.hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text strictly (no signatures: see :func:`open_checkpoint`).

    Every line ends in a newline; the size is decimal ASCII without leading zeros; the hash is
    the canonical base64 of 32 bytes; extension lines are non-empty.
    """
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs an origin, a size and a hash")
    origin, size_text, hash_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin is empty")
    if not (size_text.isascii() and size_text.isdigit()) or (
        size_text.startswith("0") and size_text != "0"
    ):
        raise CheckpointError("malformed checkpoint size")
    if len(size_text) > 19 or int(size_text) > MAX_TREE_SIZE:
        raise CheckpointError("checkpoint size out of range")
    try:
        root = parse_hash(hash_text)
    except TlogError:
        raise CheckpointError("malformed checkpoint hash") from None
    if any(not line for line in extensions):
        raise CheckpointError("empty checkpoint extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose log signature verified, with the note and the witnesses that cosigned."""

    checkpoint: Checkpoint
    note: Note
    witnesses: tuple[str, ...]


def open_checkpoint(
    msg: bytes | str,
    log: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> OpenedCheckpoint:
    """Open a signed checkpoint: the log's signature, then at least ``quorum`` cosignatures.

    The origin must be the log key's name. Signatures of keys not given are ignored; a given
    key's signature that fails refuses the checkpoint (:class:`~backend.tlog.note.NoteError`).
    Raises :class:`CheckpointError` for a bad body, a missing log signature, or too few
    witnesses.
    """
    try:
        note = open_note(msg, [log, *witnesses])
    except UnverifiedNoteError as exc:
        raise CheckpointError("checkpoint is not signed by the log") from exc
    signed = {(s.name, s.key_id) for s in note.sigs}
    if (log.name, log.key_id) not in signed:
        raise CheckpointError("checkpoint is not signed by the log")
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != log.name:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not the log's")
    cosigned = tuple(w.name for w in witnesses if (w.name, w.key_id) in signed)
    if len(cosigned) < quorum:
        raise CheckpointError(
            f"checkpoint has {len(cosigned)} witness cosignatures, {quorum} needed"
        )
    return OpenedCheckpoint(checkpoint, note, cosigned)
