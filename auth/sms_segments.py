"""How many SMS segments a text costs: GSM-7 when every character is in the GSM 03.38 default
alphabet (or its extension table, which costs two septets), else UCS-2 (UTF-16 code units).

One message holds 160 septets or 70 UTF-16 units; a longer one is split into parts that each
lose a 6-byte concatenation header: 153 septets or 67 units a part.  Kazakh and Russian texts
are Cyrillic, so they are UCS-2: a short notice in them must stay within 70 characters to cost
one segment.  An extension character is never split across two parts, nor is a surrogate pair
(an emoji): the split below counts the way handsets and operators do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
SINGLE: Final = {"GSM-7": 160, "UCS-2": 70}
PART: Final = {"GSM-7": 153, "UCS-2": 67}

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class Segments:
    """What a text costs: its encoding, its length in septets (GSM-7) or UTF-16 units
    (UCS-2), and the number of segments."""

    encoding: Encoding
    units: int
    count: int


def _units(text: str, encoding: Encoding) -> list[int]:
    """Each character's cost in the encoding's units."""
    if encoding == "GSM-7":
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def encoding_of(text: str) -> Encoding:
    """GSM-7 if every character has a GSM-7 form, else UCS-2."""
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "UCS-2"


def segments(text: str) -> Segments:
    """The segments ``text`` is sent in (an empty text still costs one)."""
    encoding = encoding_of(text)
    costs = _units(text, encoding)
    total = sum(costs)
    if total <= SINGLE[encoding]:
        return Segments(encoding, total, 1)
    count, used = 1, 0
    for cost in costs:  # a character that does not fit whole starts the next part
        if used + cost > PART[encoding]:
            count, used = count + 1, 0
        used += cost
    return Segments(encoding, total, count)
