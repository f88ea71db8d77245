"""A ``RateBook`` built from the figures of ``shared/domain.md``, for unit tests.

The figures live here, as test data, never in ``backend.rates``.  domain.md gives the
self-payer and entrepreneur rates for 2024-2026; their rows start in 2023 (MZP 70,000 KZT)
so that tests can show a dated rate.  The state's 2 % of 364,295 KZT (an average wage two
years earlier) is applied from 2025, the year domain.md names for that base.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from backend.rates.book import RateBase, RateBook, RateRule
from backend.rates.kinds import ContributionKind as K

KZT = 100  # tiyn per tenge


def domain_rate_book() -> RateBook:
    """MZP 2023-2026 and the rules of domain.md's table of who pays what."""
    end_2025 = date(2025, 12, 31)
    start_2024, start_2026 = date(2024, 1, 1), date(2026, 1, 1)
    return RateBook(
        minimum_wages={
            2023: 70_000 * KZT, 2024: 85_000 * KZT, 2025: 85_000 * KZT, 2026: 85_000 * KZT,
        },
        rules=(
            RateRule(K.EMPLOYER_DEDUCTION, start_2024, end_2025, Decimal(3), RateBase.WAGE,
                     cap_mzp=10),
            RateRule(K.EMPLOYER_DEDUCTION, start_2026, None, Decimal(3), RateBase.WAGE,
                     cap_mzp=40),
            RateRule(K.EMPLOYEE_CONTRIBUTION, start_2024, end_2025, Decimal(2), RateBase.WAGE,
                     cap_mzp=10),
            RateRule(K.EMPLOYEE_CONTRIBUTION, start_2026, None, Decimal(2), RateBase.WAGE,
                     cap_mzp=20),
            RateRule(K.SELF_PAYMENT, date(2023, 1, 1), None, Decimal(5), RateBase.MZP),
            RateRule(K.ENTREPRENEUR_CONTRIBUTION, date(2023, 1, 1), None, Decimal(5),
                     RateBase.MZP, base_multiplier=Decimal("1.4")),
            RateRule(K.STATE_CONTRIBUTION, date(2025, 1, 1), None, Decimal(2),
                     RateBase.AVERAGE_WAGE, base_amount_tiyn=364_295 * KZT),
        ),
    )
