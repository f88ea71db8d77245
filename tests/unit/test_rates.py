"""The dated rate table (``backend.rates.book``) against domain.md's figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.rates import ContributionKind as K
from backend.rates import RateBase, RateBook, RateRule
from tests.unit.rates_fixture import KZT, domain_rate_book

BOOK = domain_rate_book()
HIGH_WAGE = 5_000_000 * KZT


@pytest.mark.parametrize(
    ("kind", "period", "expected_kzt"),
    [
        (K.EMPLOYER_DEDUCTION, date(2024, 3, 1), 25_500),
        (K.EMPLOYER_DEDUCTION, date(2025, 12, 1), 25_500),
        (K.EMPLOYER_DEDUCTION, date(2026, 1, 1), 102_000),
        (K.EMPLOYEE_CONTRIBUTION, date(2024, 3, 1), 17_000),
        (K.EMPLOYEE_CONTRIBUTION, date(2025, 7, 1), 17_000),
        (K.EMPLOYEE_CONTRIBUTION, date(2026, 5, 1), 34_000),
    ],
)
def test_capped_wage_maximum(kind: K, period: date, expected_kzt: int) -> None:
    """The wage kinds' maximum is the rate applied to the cap in MZP."""
    assert BOOK.max_amount(kind, period) == expected_kzt * KZT
    assert BOOK.monthly_amount(kind, period, HIGH_WAGE) == expected_kzt * KZT


@pytest.mark.parametrize(
    ("kind", "period", "expected_tiyn"),
    [
        (K.SELF_PAYMENT, date(2024, 1, 1), 4_250 * KZT),
        (K.SELF_PAYMENT, date(2026, 6, 1), 4_250 * KZT),
        (K.SELF_PAYMENT, date(2023, 6, 1), 3_500 * KZT),  # dated: MZP 70,000 in 2023
        (K.ENTREPRENEUR_CONTRIBUTION, date(2025, 2, 1), 5_950 * KZT),
        (K.ENTREPRENEUR_CONTRIBUTION, date(2026, 2, 1), 5_950 * KZT),
        (K.STATE_CONTRIBUTION, date(2025, 9, 1), 728_590),
        (K.STATE_CONTRIBUTION, date(2026, 1, 1), 728_590),
    ],
)
def test_fixed_amounts(kind: K, period: date, expected_tiyn: int) -> None:
    """MZP-based and average-wage-based amounts; max_amount is the same fixed amount."""
    assert BOOK.monthly_amount(kind, period) == expected_tiyn
    assert BOOK.max_amount(kind, period) == expected_tiyn


def test_wage_below_cap_is_a_plain_percentage() -> None:
    """2 % of a 300,000 KZT wage is 6,000 KZT; 3 % is 9,000 KZT."""
    wage = 300_000 * KZT
    assert BOOK.monthly_amount(K.EMPLOYEE_CONTRIBUTION, date(2025, 4, 1), wage) == 6_000 * KZT
    assert BOOK.monthly_amount(K.EMPLOYER_DEDUCTION, date(2025, 4, 1), wage) == 9_000 * KZT


def test_cap_moves_with_the_dated_rule() -> None:
    """A 1,500,000 KZT wage is capped at 850,000 in 2025 but not at 3,400,000 in 2026."""
    wage = 1_500_000 * KZT
    assert BOOK.monthly_amount(K.EMPLOYER_DEDUCTION, date(2025, 12, 1), wage) == 25_500 * KZT
    assert BOOK.monthly_amount(K.EMPLOYER_DEDUCTION, date(2026, 1, 1), wage) == 45_000 * KZT


def test_wage_kinds_need_a_wage() -> None:
    """A wage-based amount without (or with a negative) wage is an error."""
    with pytest.raises(ValueError, match="wage"):
        BOOK.monthly_amount(K.EMPLOYER_DEDUCTION, date(2025, 1, 1))
    with pytest.raises(ValueError, match="wage"):
        BOOK.monthly_amount(K.EMPLOYER_DEDUCTION, date(2025, 1, 1), -1)


def test_mzp_by_year() -> None:
    """MZP is looked up by year; an unknown year is a LookupError."""
    assert BOOK.mzp(2023) == 70_000 * KZT
    assert BOOK.mzp(2026) == 85_000 * KZT
    with pytest.raises(LookupError):
        BOOK.mzp(2030)


def test_rule_lookup_by_any_day_of_the_month() -> None:
    """Any date in the month finds the rule in force on the month's first day."""
    first = BOOK.rule(K.EMPLOYER_DEDUCTION, date(2025, 12, 1))
    assert BOOK.rule(K.EMPLOYER_DEDUCTION, date(2025, 12, 31)) is first
    assert first.cap_mzp == 10
    assert BOOK.rule(K.EMPLOYER_DEDUCTION, date(2026, 1, 15)).cap_mzp == 40
    with pytest.raises(LookupError):
        BOOK.rule(K.EMPLOYER_DEDUCTION, date(2023, 12, 1))
    with pytest.raises(LookupError):
        BOOK.monthly_amount(K.STATE_CONTRIBUTION, date(2024, 5, 1))


def _single_rule_book(rule: RateRule, mzp_tiyn: int = 100) -> RateBook:
    """A book with one rule and one MZP for 2025."""
    return RateBook(minimum_wages={2025: mzp_tiyn}, rules=(rule,))


def test_rounding_is_half_up_to_whole_tiyn() -> None:
    """2 % of 25 tiyn is 0.5 tiyn -> 1; 2 % of 24 tiyn is 0.48 -> 0; 1.9 % of 50 -> 0.95 -> 1."""
    two = _single_rule_book(RateRule(K.EMPLOYEE_CONTRIBUTION, date(2025, 1, 1), None,
                                     Decimal(2), RateBase.WAGE))
    assert two.monthly_amount(K.EMPLOYEE_CONTRIBUTION, date(2025, 1, 1), 25) == 1
    assert two.monthly_amount(K.EMPLOYEE_CONTRIBUTION, date(2025, 1, 1), 24) == 0
    odd = _single_rule_book(RateRule(K.EMPLOYEE_CONTRIBUTION, date(2025, 1, 1), None,
                                     Decimal("1.9"), RateBase.WAGE))
    assert odd.monthly_amount(K.EMPLOYEE_CONTRIBUTION, date(2025, 1, 1), 50) == 1
    assert odd.max_amount(K.EMPLOYEE_CONTRIBUTION, date(2025, 1, 1)) is None


@given(wage=st.integers(min_value=0, max_value=10**13))
def test_wage_amount_is_exact_decimal_percentage(wage: int) -> None:
    """The capped wage amount equals exact rational arithmetic rounded half up."""
    amount = BOOK.monthly_amount(K.EMPLOYEE_CONTRIBUTION, date(2026, 3, 1), wage)
    base = min(wage, 20 * 85_000 * KZT)
    numerator = base * 2  # 2 % = base * 2 / 100, rounded half up
    assert amount == (numerator + 50) // 100


def test_rule_validation() -> None:
    """Floats, reversed ranges and a missing average-wage base are refused."""
    with pytest.raises(TypeError):
        RateRule(K.SELF_PAYMENT, date(2025, 1, 1), None, 5.0, RateBase.MZP)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before"):
        RateRule(K.SELF_PAYMENT, date(2025, 1, 1), date(2024, 1, 1), Decimal(5), RateBase.MZP)
    with pytest.raises(ValueError, match="base_amount_tiyn"):
        RateRule(K.STATE_CONTRIBUTION, date(2025, 1, 1), None, Decimal(2),
                 RateBase.AVERAGE_WAGE)


def test_book_rejects_overlapping_rules_and_is_immutable() -> None:
    """Two rules of a kind may not overlap; the book keeps its own copy of the wages."""
    open_rule = RateRule(K.SELF_PAYMENT, date(2024, 1, 1), None, Decimal(5), RateBase.MZP)
    later = RateRule(K.SELF_PAYMENT, date(2025, 1, 1), None, Decimal(5), RateBase.MZP)
    with pytest.raises(ValueError, match="overlapping"):
        RateBook(minimum_wages={}, rules=(open_rule, later))
    wages = {2025: 100}
    book = RateBook(minimum_wages=wages, rules=(later,))
    wages[2025] = 1
    assert book.mzp(2025) == 100
    with pytest.raises(TypeError):
        book.minimum_wages[2025] = 5  # type: ignore[index]
