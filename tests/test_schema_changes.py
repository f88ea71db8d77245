"""A breaking schema change cannot land unless graphql/CHANGELOG.md announces it."""

from __future__ import annotations

import re

import pytest

from backend.gql import stewardship

RELEASED = stewardship.RELEASED.read_text()
CHANGELOG = stewardship.CHANGELOG.read_text()
HEADING = stewardship.released_heading(RELEASED)


def _without_field(sdl: str, type_name: str, field: str) -> str:
    """``sdl`` with one field (and its description) cut from a type."""
    body = re.search(rf"\ntype {type_name}\b[^{{]*\{{(.*?)\n\}}", sdl, re.DOTALL)
    assert body is not None
    lines = body.group(1).split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{field}"))
    start = at
    while start > 0 and lines[start - 1].strip().startswith('"""'):
        start -= 1
    kept = "\n".join(lines[:start] + lines[at + 1:])
    return sdl[:body.start(1)] + kept + sdl[body.end(1):]


def _with_entry(text: str) -> str:
    """The changelog with a new newest section holding ``text``."""
    title, _, rest = CHANGELOG.partition("\n## ")
    return f"{title}\n## Unreleased\n{text}\n\n## {rest}"


def test_every_breaking_change_since_the_release_is_announced() -> None:
    assert stewardship.check() == []


def test_a_removed_field_fails_the_check() -> None:
    broken = _without_field(RELEASED, "Query", "helpVersion")
    assert stewardship.unlisted_breaking_changes(RELEASED, broken, CHANGELOG) == [
        "Query.helpVersion: Field Query.helpVersion was removed."]


def test_a_changed_argument_fails_until_announced() -> None:
    broken = RELEASED.replace("helpArticle(slug: String!", "helpArticle(slug: Int!", 1)
    assert broken != RELEASED
    [missing] = stewardship.unlisted_breaking_changes(RELEASED, broken, CHANGELOG)
    assert missing.startswith("Query.helpArticle:")
    announced = _with_entry("- **Breaking**: `Query.helpArticle(slug:)` takes a number.")
    assert stewardship.unlisted_breaking_changes(RELEASED, broken, announced) == []


def test_an_announcement_must_say_breaking_and_come_after_the_release() -> None:
    broken = _without_field(RELEASED, "Query", "helpVersion")
    not_breaking = _with_entry("- Removed `Query.helpVersion`.")
    assert stewardship.unlisted_breaking_changes(RELEASED, broken, not_breaking) != []
    # The same words in the released section (or older) do not announce a new break.
    old_section = CHANGELOG.replace(
        f"## {HEADING}\n", f"## {HEADING}\n- **Breaking**: `Query.helpVersion` removed.\n", 1)
    assert stewardship.unlisted_breaking_changes(RELEASED, broken, old_section) != []
    announced = _with_entry("- **Breaking**: `Query.helpVersion` was removed.")
    assert stewardship.unlisted_breaking_changes(RELEASED, broken, announced) == []


def test_a_removed_type_is_named_by_its_type() -> None:
    broken = re.sub(r'"""[^"]*"""\nenum DevicePlatform \{.*?\n\}\n', "", RELEASED,
                    flags=re.DOTALL)
    broken = broken.replace("platform: DevicePlatform!", "platform: String!")
    missing = stewardship.unlisted_breaking_changes(RELEASED, broken, CHANGELOG)
    assert "DevicePlatform: DevicePlatform was removed." in missing


def test_a_released_sdl_must_name_its_section() -> None:
    with pytest.raises(ValueError):
        stewardship.released_heading("type Query { a: Int }")
