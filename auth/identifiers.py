"""Kazakhstan's national identifiers: the IIN of a person and the BIN of an organization.

Both are 12 digits whose last digit is a check digit over the first 11:
``c = sum(d[i] * i for i in 1..11) % 11``; when that is 10 the second weights
``3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2`` are tried, and when it is 10 again no such number exists.

IIN: digits 1-6 are the birth date YYMMDD; digit 7 gives century and sex (1/2: 1800s
male/female, 3/4: 1900s, 5/6: 2000s); digits 8-11 are a serial.
BIN: digits 1-4 are the registration YYMM; digit 5 the kind of organization (4, 5 or 6);
digit 6 an attribute; digits 7-11 a serial.  Only the format and check digit of a BIN are
validated.

Identifiers are personal data: no error raised here ever repeats the value it rejects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "IinFacts",
    "InvalidIdentifier",
    "check_digit",
    "make_bin",
    "make_iin",
    "mask_iin",
    "parse_iin",
    "validate_bin",
    "validate_iin",
]

Sex = Literal["M", "F"]

_TWELVE_DIGITS = re.compile(r"[0-9]{12}")
_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# Digit 7 of an IIN -> (first year of the century, sex).
_CENTURY_SEX: dict[str, tuple[int, Sex]] = {
    "1": (1800, "M"),
    "2": (1800, "F"),
    "3": (1900, "M"),
    "4": (1900, "F"),
    "5": (2000, "M"),
    "6": (2000, "F"),
}
_BIN_KIND_DIGITS = (4, 5, 6)
_MASK = "\u2022"


class InvalidIdentifier(ValueError):
    """An IIN or BIN that cannot be accepted.

    ``code`` says why (``IIN_FORMAT``, ``IIN_CHECK_DIGIT``, ``IIN_DATE``, ``IIN_CENTURY``,
    ``BIN_FORMAT``, ``BIN_CHECK_DIGIT``); the message never contains the identifier.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IinFacts:
    """What an IIN itself says about its holder."""

    birth_date: date
    sex: Sex


def check_digit(first11: str) -> int | None:
    """The check digit for the first 11 digits of an IIN or BIN, or None if none exists.

    Raises ValueError when ``first11`` is not exactly 11 ASCII digits.
    """
    if len(first11) != 11 or not first11.isascii() or not first11.isdigit():
        raise ValueError("expected exactly 11 digits")
    digits = [int(char) for char in first11]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        value = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if value != 10:
            return value
    return None


def _normalized(value: str, prefix: str) -> str:
    """``value`` without surrounding whitespace, if it is 12 digits with a right check digit."""
    candidate = value.strip() if isinstance(value, str) else ""
    if _TWELVE_DIGITS.fullmatch(candidate) is None:
        raise InvalidIdentifier(f"{prefix}_FORMAT", f"{prefix} must be exactly 12 digits")
    expected = check_digit(candidate[:11])
    if expected is None or expected != int(candidate[11]):
        raise InvalidIdentifier(f"{prefix}_CHECK_DIGIT", f"{prefix} check digit is wrong")
    return candidate


def _facts(iin: str) -> IinFacts:
    """Birth date and sex of an IIN whose format and check digit are already valid."""
    century_sex = _CENTURY_SEX.get(iin[6])
    if century_sex is None:
        raise InvalidIdentifier("IIN_CENTURY", "IIN century and sex digit must be 1 to 6")
    century, sex = century_sex
    try:
        birth = date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        raise InvalidIdentifier("IIN_DATE", "IIN does not start with a real birth date") from None
    return IinFacts(birth_date=birth, sex=sex)


def validate_iin(value: str) -> str:
    """The IIN without surrounding whitespace; raises InvalidIdentifier if it cannot exist.

    Checked in order: format, check digit, century digit, birth date.
    """
    iin = _normalized(value, "IIN")
    _facts(iin)
    return iin


def parse_iin(value: str) -> IinFacts:
    """Birth date and sex encoded in a valid IIN (raises InvalidIdentifier otherwise)."""
    return _facts(validate_iin(value))


def _century_digit(birth_date: date, sex: Sex) -> str:
    """Digit 7 of an IIN for this birth date and sex."""
    for digit, (century, digit_sex) in _CENTURY_SEX.items():
        if century <= birth_date.year < century + 100 and digit_sex == sex:
            return digit
    raise ValueError("an IIN encodes birth years 1800 to 2099 and sex M or F only")


def _with_check_digit(first11: str) -> str | None:
    """``first11`` followed by its check digit, or None if no check digit exists."""
    digit = check_digit(first11)
    return None if digit is None else f"{first11}{digit}"


def make_iin(birth_date: date, sex: Sex, serial: int) -> str | None:
    """The IIN for a birth date, sex and serial (0-9999); None if that serial has no check digit.

    Raises ValueError for a serial or birth year that an IIN cannot encode.
    """
    if not 0 <= serial <= 9999:
        raise ValueError("an IIN serial is 0 to 9999")
    century = _century_digit(birth_date, sex)
    return _with_check_digit(f"{birth_date:%y%m%d}{century}{serial:04d}")


def validate_bin(value: str) -> str:
    """The BIN without surrounding whitespace; raises InvalidIdentifier if it cannot exist."""
    return _normalized(value, "BIN")


def make_bin(
    registered: date, serial: int, kind_digit: int = 4, attribute_digit: int = 0
) -> str | None:
    """The BIN for a registration month, kind (4, 5, 6), attribute (0-9) and serial (0-99999).

    Returns None when that combination has no check digit; raises ValueError for values a
    BIN cannot encode.
    """
    if kind_digit not in _BIN_KIND_DIGITS:
        raise ValueError("a BIN kind digit is 4, 5 or 6")
    if not 0 <= attribute_digit <= 9:
        raise ValueError("a BIN attribute digit is 0 to 9")
    if not 0 <= serial <= 99_999:
        raise ValueError("a BIN serial is 0 to 99999")
    return _with_check_digit(f"{registered:%y%m}{kind_digit}{attribute_digit}{serial:05d}")


def mask_iin(value: str) -> str:
    """The IIN with all but its last 4 digits hidden, e.g. ``••••••••2568``.

    Anything that is not 12 digits is hidden completely.
    """
    candidate = value.strip() if isinstance(value, str) else ""
    if _TWELVE_DIGITS.fullmatch(candidate) is None:
        return _MASK * 12
    return _MASK * 8 + candidate[8:]
