"""Language for people who are not signed in: Accept-Language, else Kazakh."""

from __future__ import annotations

import pytest

from backend.gql.context import language_from_header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "kk"),
        ("", "kk"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("de-DE,en;q=0.5,ru;q=0.7", "ru"),  # German is not offered: best of the rest
        ("en-GB", "en"),
        ("kk;q=0.2, ru;q=0.1", "kk"),
        ("fr, de", "kk"),  # nothing we speak: Kazakh
        ("ru;q=0, en;q=0.3", "en"),  # q=0 means "not this one"
        ("ru;q=abc, en;q=0.3", "en"),  # a malformed quality counts as refusal
    ],
)
def test_language_from_header(header: str | None, expected: str) -> None:
    assert language_from_header(header) == expected
