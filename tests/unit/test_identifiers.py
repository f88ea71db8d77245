"""IIN and BIN (``auth.identifiers``): check digits, error codes, round trips."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth.identifiers import (
    IinFacts,
    InvalidIdentifier,
    check_digit,
    make_bin,
    make_iin,
    mask_iin,
    parse_iin,
    validate_bin,
    validate_iin,
)

Sex = Literal["M", "F"]


def _complete(first11: str) -> str:
    """``first11`` with its check digit (it must have one)."""
    digit = check_digit(first11)
    assert digit is not None
    return f"{first11}{digit}"


def _with_prefix(prefix: str, *, possible: bool = True) -> str:
    """A 12-digit number starting with ``prefix`` whose check digit exists (or, if not
    ``possible``, the first 11 digits of one whose check digit does not)."""
    for serial in range(10_000):
        first11 = f"{prefix}{serial:0{11 - len(prefix)}d}"
        if (check_digit(first11) is not None) == possible:
            return _complete(first11) if possible else first11
    raise AssertionError("no such serial")


def _wrong_check_digit(value: str) -> str:
    """``value`` with another last digit."""
    return value[:11] + str((int(value[11]) + 1) % 10)


FULLWIDTH = "".join(chr(0xFF10 + int(char)) for char in "790303402568")  # not ASCII
IMPOSSIBLE_IIN = _with_prefix("7903034", possible=False) + "0"


@pytest.mark.parametrize(
    ("value", "facts"),
    [
        ("061211600012", IinFacts(date(2006, 12, 11), "F")),
        ("790303402568", IinFacts(date(1979, 3, 3), "F")),
    ],
)
def test_valid_examples(value: str, facts: IinFacts) -> None:
    """Both examples of domain.md validate and parse."""
    assert validate_iin(value) == value
    assert validate_iin(f" {value}\n") == value
    assert parse_iin(value) == facts


def test_second_weights() -> None:
    """061211600012: the first weights give 10, the second give the check digit 2."""
    digits = [int(char) for char in "06121160001"]
    assert sum(d * i for i, d in enumerate(digits, start=1)) % 11 == 10
    assert check_digit("06121160001") == 2
    assert check_digit("79030340256") == 8


def test_check_digit_needs_11_ascii_digits() -> None:
    """Anything but 11 ASCII digits is a ValueError."""
    for bad in ("1234567890", "123456789012", "1234567890a", "١٢٣٤٥٦٧٨٩٠١"):
        with pytest.raises(ValueError, match="11 digits"):
            check_digit(bad)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("79030340256", "IIN_FORMAT"),
        ("7903034025680", "IIN_FORMAT"),
        ("79030340256a", "IIN_FORMAT"),
        ("7903 3402568", "IIN_FORMAT"),
        (FULLWIDTH, "IIN_FORMAT"),
        ("", "IIN_FORMAT"),
        ("790303402567", "IIN_CHECK_DIGIT"),
        (IMPOSSIBLE_IIN, "IIN_CHECK_DIGIT"),
        (_with_prefix("7903030"), "IIN_CENTURY"),
        (_with_prefix("7903037"), "IIN_CENTURY"),
        (_with_prefix("7902304"), "IIN_DATE"),
        (_with_prefix("7913014"), "IIN_DATE"),
        (_with_prefix("0102295"), "IIN_DATE"),
    ],
)
def test_iin_error_codes_never_echo_the_value(value: str, code: str) -> None:
    """Each rejection has its code, and neither message nor args contain the number."""
    with pytest.raises(InvalidIdentifier) as caught:
        validate_iin(value)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)
    if value:
        assert value not in str(caught.value)
        assert value not in repr(caught.value.args)
        assert value[:6] not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("12345", "BIN_FORMAT"),
        ("1005400000x5", "BIN_FORMAT"),
        (_wrong_check_digit(_with_prefix("100540")), "BIN_CHECK_DIGIT"),
    ],
)
def test_bin_error_codes_never_echo_the_value(value: str, code: str) -> None:
    """A BIN is checked for format and check digit only."""
    with pytest.raises(InvalidIdentifier) as caught:
        validate_bin(value)
    assert caught.value.code == code
    assert value not in str(caught.value)


@pytest.mark.parametrize(
    ("birth", "sex", "digit"),
    [
        (date(1800, 1, 1), "M", "1"),
        (date(1899, 12, 31), "F", "2"),
        (date(1900, 1, 1), "M", "3"),
        (date(1999, 12, 31), "F", "4"),
        (date(2000, 2, 29), "M", "5"),
        (date(2099, 12, 31), "F", "6"),
    ],
)
def test_make_then_parse_every_century(birth: date, sex: Sex, digit: str) -> None:
    """make_iin encodes the century and sex digit; parse_iin reads them back."""
    iin = next(value for serial in range(100) if (value := make_iin(birth, sex, serial)))
    assert iin[6] == digit
    assert parse_iin(iin) == IinFacts(birth, sex)


def test_make_iin_gives_none_when_no_check_digit_exists() -> None:
    """Some serials have no check digit; make_iin says so with None."""
    birth = date(1979, 3, 3)
    impossible = [s for s in range(10_000) if make_iin(birth, "F", s) is None]
    assert impossible
    assert check_digit(f"7903034{impossible[0]:04d}") is None


def test_make_iin_rejects_what_an_iin_cannot_encode() -> None:
    """Serial outside 0-9999, birth year outside 1800-2099."""
    for serial in (-1, 10_000):
        with pytest.raises(ValueError, match="serial"):
            make_iin(date(1990, 1, 1), "M", serial)
    for year in (1799, 2100):
        with pytest.raises(ValueError, match="1800 to 2099"):
            make_iin(date(year, 1, 1), "M", 1)


@given(
    birth=st.dates(date(1800, 1, 1), date(2099, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    serial=st.integers(0, 9999),
)
def test_every_made_iin_validates_and_parses_back(birth: date, sex: Sex, serial: int) -> None:
    """Property: make_iin's output (when not None) is valid and says what went in."""
    iin = make_iin(birth, sex, serial)
    if iin is None:
        assert check_digit(f"{birth:%y%m%d}{iin_digit(birth, sex)}{serial:04d}") is None
        return
    assert validate_iin(iin) == iin
    assert parse_iin(iin) == IinFacts(birth, sex)
    assert iin[7:11] == f"{serial:04d}"


def iin_digit(birth: date, sex: Sex) -> int:
    """The century and sex digit, computed independently of the module."""
    return (birth.year - 1800) // 100 * 2 + (1 if sex == "M" else 2)


@given(
    registered=st.dates(date(1990, 1, 1), date(2089, 12, 31)),
    serial=st.integers(0, 99_999),
    kind=st.sampled_from([4, 5, 6]),
    attribute=st.integers(0, 9),
)
def test_every_made_bin_validates(registered: date, serial: int, kind: int,
                                  attribute: int) -> None:
    """Property: make_bin's output (when not None) is a valid BIN with the parts put in."""
    value = make_bin(registered, serial, kind, attribute)
    if value is None:
        return
    assert validate_bin(value) == value
    assert value[:6] == f"{registered:%y%m}{kind}{attribute}"
    assert value[6:11] == f"{serial:05d}"


def test_make_bin_defaults_and_limits() -> None:
    """Kind 4 and attribute 0 by default; impossible parts are ValueErrors."""
    value = next(v for s in range(100) if (v := make_bin(date(2010, 5, 1), s)))
    assert value.startswith("100540")
    for kwargs in ({"kind_digit": 3}, {"attribute_digit": 10}, {"serial": 100_000}):
        arguments = {"registered": date(2010, 5, 1), "serial": 1, **kwargs}
        with pytest.raises(ValueError, match="BIN"):
            make_bin(**arguments)  # type: ignore[arg-type]


def test_mask_shows_only_the_last_four_digits() -> None:
    """``••••••••2568``; anything malformed is hidden whole."""
    assert mask_iin("790303402568") == "••••••••2568"
    assert mask_iin(" 790303402568 ") == "••••••••2568"
    assert mask_iin("79030340256") == "•" * 12
    assert mask_iin("secret-value") == "•" * 12
