"""The manifest of the app's operations (persisted operations): name → SHA-256 of the text,
and the safelist that production enforces with it.

The app sends the hash; the server knows the manifest and, in production, refuses any other
document from the app's audiences (``backend.gql.limits.GuardRails`` decides who).
``mhi export-schema`` writes ``mobile_contract/manifest.json``; a test keeps it current.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import DocumentNode, parse

from backend.errors import AppError
from backend.messages import message

log = logging.getLogger(__name__)


def manifest(paths: Iterable[Path]) -> dict[str, dict[str, str]]:
    """``{name: {"sha256": ..., "file": ...}}`` for each operation file, sorted by name."""
    entries = {}
    for path in sorted(paths):
        text = path.read_text(encoding="utf-8")
        entries[path.stem] = {
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "file": f"operations/{path.name}",
        }
    return entries


CONTRACT = Path(__file__).resolve().parents[2] / "mobile_contract"


class PersistedQueryNotFound(AppError):
    """A hash that is not one of the app's operations (or a document that is not its text)."""

    code = "PERSISTED_QUERY_NOT_FOUND"
    status_code = 400


class PersistedQueryRequired(AppError):
    """A document sent where only the app's operations, by hash, are accepted."""

    code = "PERSISTED_QUERY_REQUIRED"
    status_code = 400


@dataclass(frozen=True)
class PersistedOperation:
    """One of the app's operations: its text and parsed document (parsed once)."""

    text: str
    document: DocumentNode


class Safelist:
    """The app's operations by SHA-256, read from ``manifest.json`` and the files it names.

    Production accepts from the app's audiences (anonymous and citizens) only these, in the
    shape of Apollo's persisted queries: ``{"extensions": {"persistedQuery": {"version": 1,
    "sha256Hash": "..."}}}``, with or without the text (when sent, it must be the text of that
    hash).  Each document is parsed here, once, and validated on first use (the validation
    cache keeps the result per document text).
    """

    def __init__(self, operations: Mapping[str, PersistedOperation]) -> None:
        self._operations = dict(operations)
        self._by_text = {found.text: found for found in self._operations.values()}

    @classmethod
    def load(cls, contract: Path = CONTRACT) -> Safelist:
        """The safelist of ``contract/manifest.json``.  An operation whose file no longer has
        the listed hash is left out, loudly: the text the app hashed is gone, and the rest
        must still start (``tests/test_mobile_contract.py`` fails on a stale manifest)."""
        listed = json.loads((contract / "manifest.json").read_text(encoding="utf-8"))
        operations = {}
        for entry in listed.values():
            text = (contract / entry["file"]).read_text(encoding="utf-8")
            if hashlib.sha256(text.encode()).hexdigest() != entry["sha256"]:
                log.error("%s does not match manifest.json (run `make schema`): not served "
                          "by hash", entry["file"])
                continue
            operations[entry["sha256"]] = PersistedOperation(text, parse(text))
        return cls(operations)

    def __len__(self) -> int:
        return len(self._operations)

    def by_text(self, query: str) -> PersistedOperation | None:
        """The operation whose text is exactly ``query`` (None: not one of the app's)."""
        return self._by_text.get(query)

    def resolve(self, extensions: Mapping[str, Any] | None, query: str | None
                ) -> PersistedOperation | None:
        """The operation a request names by hash (None: it names none);
        ``PersistedQueryNotFound`` for an unknown hash or a text that is not the hash's."""
        asked = (extensions or {}).get("persistedQuery")
        if asked is None:
            return None
        sha = asked.get("sha256Hash") if isinstance(asked, dict) else None
        found = self._operations.get(sha) if isinstance(sha, str) else None
        if found is None or (asked.get("version", 1) != 1) or (query and query != found.text):
            raise PersistedQueryNotFound(message("persisted_query_not_found"))
        return found
