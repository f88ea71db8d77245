"""A citizen's monitor: every leaf of the public log under their pseudonym must be a record the
app still shows them.

The log only grows: a look at someone's data (or a receipt, or a payment for care) deleted
from the database keeps its leaf.  The app's proofs tell the person their pseudonym (every
entry carries it) and the records it shows; the public log's entry bundles tell which leaves
carry that pseudonym.  A leaf the app no longer accounts for is a record that was removed:
:func:`unaccounted` lists them (kind, id, the day it was stored), which is what a person
needs to ask the Fund about it.

:func:`download_entries` reads the entries over HTTP as C2SP ``tlog-tiles`` serves them and
authenticates them against a cosigned checkpoint (the entries must give its root), so a log
cannot hide a leaf from one monitor while showing it to the witnesses.  It keeps every stored
hash in memory: a monitor of a whole national log would keep them on disk, and read only the
bundles added since its last run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from backend.tlog.checkpoint import Checkpoint
from backend.tlog.tiles import parse_entry_bundle
from backend.tlog.tlog import TILE_HEIGHT, Hash, MemoryHashReader, Tile, stored_hashes, tree_hash


class MonitorError(RuntimeError):
    """The log's entries could not be read, or do not give the checkpoint's root."""


@dataclass(frozen=True)
class LoggedRecord:
    """A leaf of the person's: the record it stands for, and where it is in the log."""

    index: int
    kind: str
    record_id: int
    logged: str
    """The day (UTC) the record was stored, as the leaf says it."""


def person_of(entry: bytes | str) -> str:
    """The pseudonym a leaf's entry names (any of a person's proofs gives theirs)."""
    leaf = json.loads(entry)
    person: str = leaf["person"]
    return person


def leaves_of(entries: Sequence[bytes], pseudonym: str) -> list[LoggedRecord]:
    """The leaves among ``entries`` (the log's, from index 0) that carry ``pseudonym``."""
    found = []
    for index, entry in enumerate(entries):
        leaf = json.loads(entry)
        if leaf.get("person") == pseudonym:
            found.append(LoggedRecord(index, leaf["kind"], int(leaf["id"]), leaf["logged"]))
    return found


def unaccounted(entries: Sequence[bytes], pseudonym: str,
                shown: Iterable[tuple[str, int]],
                pruned_through: Mapping[str, str] | None = None) -> list[LoggedRecord]:
    """The person's leaves for which the app shows no record: ``shown`` is the
    ``(kind, id)`` of every record the app lists (read from their proofs' entries).

    ``pruned_through``: per leaf kind, the last day (``YYYY-MM-DD``, UTC) whose records
    retention may have deleted (the day of ``core.retention_horizon``'s ``before`` for the
    access log, ``backend.ops.retention.pruned_through``): a missing record logged on or
    before it was pruned after its legal retention, not removed.  A leaf says only its day,
    so the horizon's own day counts as pruned."""
    seen = set(shown)
    through = pruned_through or {}
    return [leaf for leaf in leaves_of(entries, pseudonym)
            if (leaf.kind, leaf.record_id) not in seen
            and not (leaf.kind in through and leaf.logged <= through[leaf.kind])]


async def download_entries(client: httpx.AsyncClient, checkpoint: Checkpoint,
                           prefix: str = "/log/") -> list[bytes]:
    """Every entry of the tree ``checkpoint`` states, from the log's entry bundles, checked
    against its root (``MonitorError`` if they do not give it)."""
    entries: list[bytes] = []
    for n in range(-(-checkpoint.size // (1 << TILE_HEIGHT))):
        width = min(1 << TILE_HEIGHT, checkpoint.size - (n << TILE_HEIGHT))
        path = Tile(TILE_HEIGHT, -1, n, width).path()
        answer = await client.get(prefix + path)
        if answer.status_code != 200:
            raise MonitorError(f"{path}: HTTP {answer.status_code}")
        entries.extend(parse_entry_bundle(answer.content, width))
    if _root(entries) != checkpoint.hash:
        raise MonitorError("the log's entries do not give the checkpoint's root")
    return entries


def _root(entries: Sequence[bytes]) -> Hash:
    stored: list[Hash] = []
    for n, entry in enumerate(entries):
        stored.extend(stored_hashes(n, entry, MemoryHashReader(stored)))
    return tree_hash(len(entries), MemoryHashReader(stored))
