"""The seeded rate table reproduces the figures of domain.md (rates are data, not code)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.rates.kinds import ContributionKind as K
from backend.rates.repository import load_rate_book

KZT = 100


@pytest.mark.parametrize(
    ("kind", "period", "expected_kzt"),
    [
        (K.EMPLOYER_DEDUCTION, date(2025, 3, 1), 25_500),  # 3 % capped at 10 MZP
        (K.EMPLOYER_DEDUCTION, date(2026, 3, 1), 102_000),  # 3 % capped at 40 MZP
        (K.EMPLOYEE_CONTRIBUTION, date(2024, 6, 1), 17_000),  # 2 % capped at 10 MZP
        (K.EMPLOYEE_CONTRIBUTION, date(2026, 6, 1), 34_000),  # 2 % capped at 20 MZP
    ],
)
async def test_caps(session: AsyncSession, kind: K, period: date, expected_kzt: int) -> None:
    book = await load_rate_book(session)
    assert book.max_amount(kind, period) == expected_kzt * KZT
    assert book.monthly_amount(kind, period, wage_tiyn=10_000_000 * KZT) == expected_kzt * KZT


@pytest.mark.parametrize(
    ("kind", "period", "expected_tiyn"),
    [
        (K.SELF_PAYMENT, date(2025, 3, 1), 4_250 * KZT),
        (K.SELF_PAYMENT, date(2026, 3, 1), 4_250 * KZT),
        (K.ENTREPRENEUR_CONTRIBUTION, date(2026, 3, 1), 5_950 * KZT),
        (K.STATE_CONTRIBUTION, date(2026, 3, 1), 728_590),  # 2 % of 364,295 KZT
        (K.SELF_PAYMENT, date(2023, 3, 1), 3_500 * KZT),  # MZP 70,000 in 2023
    ],
)
async def test_fixed_amounts(session: AsyncSession, kind: K, period: date,
                             expected_tiyn: int) -> None:
    book = await load_rate_book(session)
    assert book.monthly_amount(kind, period) == expected_tiyn


async def test_wage_below_the_cap_pays_the_rate(session: AsyncSession) -> None:
    book = await load_rate_book(session)
    assert book.monthly_amount(K.EMPLOYER_DEDUCTION, date(2025, 5, 1),
                               wage_tiyn=300_000 * KZT) == 9_000 * KZT
