"""The manifest of the app's operations (persisted operations): name → SHA-256 of the text.

The app sends the hash; a server that knows the manifest can refuse any other document.
``mhi export-schema`` writes ``mobile_contract/manifest.json``; a test keeps it current.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


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
