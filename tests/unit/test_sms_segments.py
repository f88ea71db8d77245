"""What an SMS costs: the segment counts that operators bill and handsets join."""

from __future__ import annotations

import pytest

from auth.sms_segments import Segments, segments


@pytest.mark.parametrize(("text", "expected"), [
    ("", Segments("GSM-7", 0, 1)),
    ("a" * 160, Segments("GSM-7", 160, 1)),
    ("a" * 161, Segments("GSM-7", 161, 2)),
    ("a" * 306, Segments("GSM-7", 306, 2)),
    ("a" * 307, Segments("GSM-7", 307, 3)),
    # The extension table (€, brackets) costs two septets a character.
    ("€" * 80, Segments("GSM-7", 160, 1)),
    ("€" * 81, Segments("GSM-7", 162, 2)),
    # One Cyrillic or Kazakh letter makes the whole text UCS-2.
    ("ә" * 70, Segments("UCS-2", 70, 1)),
    ("Сақтандыру" + "a" * 61, Segments("UCS-2", 71, 2)),
    ("ж" * 134, Segments("UCS-2", 134, 2)),
    ("ж" * 135, Segments("UCS-2", 135, 3)),
    # An emoji is a surrogate pair: two UTF-16 units.
    ("😀" * 35, Segments("UCS-2", 70, 1)),
    ("😀" * 36, Segments("UCS-2", 72, 2)),
])
def test_segments_are_counted_as_operators_bill_them(text: str, expected: Segments) -> None:
    assert segments(text) == expected


def test_a_two_unit_character_is_never_split_across_parts() -> None:
    # 152 septets then a '€' (2 septets) does not fit the first part's 153: it starts the
    # second, so 152 + 2 + 152 septets make three parts, not two.
    assert segments("a" * 152 + "€" + "a" * 152).count == 3
    assert segments("a" * 151 + "€" + "a" * 153).count == 2
