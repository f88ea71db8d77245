"""Schema stewardship: a breaking change must be announced in ``graphql/CHANGELOG.md``.

``graphql/released/schema.graphql`` is the SDL that clients last received; its second line
names the changelog section it shipped with.  graphql-core's ``find_breaking_changes``
compares it with the SDL the code exports now; every breaking change must be listed in a
changelog section written after that one, on a line that says **Breaking** and names the
schema coordinate (``Type.field``, or ``Type`` for a type-level change) in backticks.  A
test runs this on every CI run, so an unannounced break cannot land.

Releasing: copy ``graphql/schema.graphql`` over the released file and set its second line to
the newest changelog heading (``# released: <heading>``).
"""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLSchema, build_schema
from graphql.utilities import BreakingChange, find_breaking_changes

GRAPHQL_DIR = Path(__file__).resolve().parents[2] / "graphql"
RELEASED = GRAPHQL_DIR / "released" / "schema.graphql"
CHANGELOG = GRAPHQL_DIR / "CHANGELOG.md"
CURRENT = GRAPHQL_DIR / "schema.graphql"

_RELEASED_LINE = re.compile(r"^# released: (.+)$", re.MULTILINE)
_NAME = re.compile(r"@?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")


def released_heading(released_sdl: str) -> str:
    """The changelog heading that the released SDL shipped with."""
    match = _RELEASED_LINE.search(released_sdl)
    if match is None:
        raise ValueError("the released SDL does not say which changelog section it shipped with")
    return match.group(1).strip()


def unreleased_notes(changelog: str, heading: str) -> str:
    """The changelog text written since ``heading`` (the sections above it)."""
    marker = f"\n## {heading}\n"
    at = changelog.find(marker)
    if at < 0:
        raise ValueError(f"the changelog has no section '## {heading}'")
    return changelog[:at]


def coordinate(change: BreakingChange, old: GraphQLSchema) -> str:
    """The schema coordinate a change is about: ``Type.field`` where there is one, else the
    type (or ``@directive``) that the description names first."""
    names = _NAME.findall(change.description)
    for name in names:
        if "." in name:
            return str(name)
    for name in names:
        if name.startswith("@") or name in old.type_map:
            return str(name)
    return change.description


def unlisted_breaking_changes(released_sdl: str, current_sdl: str, changelog: str) -> list[str]:
    """Breaking changes from the released SDL to the current one that no **Breaking** line
    written since the release names; each as its coordinate and graphql-core's description."""
    old, new = build_schema(released_sdl), build_schema(current_sdl)
    notes = unreleased_notes(changelog, released_heading(released_sdl))
    breaking_lines = [line for line in _items(notes) if "breaking" in line.lower()]
    missing = []
    for change in find_breaking_changes(old, new):
        where = coordinate(change, old)
        named = re.compile(rf"`{re.escape(where)}[`(]")
        if not any(named.search(line) for line in breaking_lines):
            missing.append(f"{where}: {change.description}")
    return missing


def _items(notes: str) -> list[str]:
    """The changelog's list items, each joined into one line (items wrap over lines)."""
    items: list[str] = []
    for line in notes.splitlines():
        if line.startswith("- ") or not items:
            items.append(line)
        else:
            items[-1] += " " + line.strip()
    return items


def check() -> list[str]:
    """The unlisted breaking changes of this checkout."""
    return unlisted_breaking_changes(
        RELEASED.read_text(), CURRENT.read_text(), CHANGELOG.read_text())
