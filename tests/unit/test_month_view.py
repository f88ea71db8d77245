"""The month-by-month view: every month shown, and each in the right state."""

from __future__ import annotations

from datetime import date

from backend.contributions.repository import ContributionRow
from backend.contributions.service import MonthState, month_view, window
from backend.status.coverage import month_index

TODAY = date(2026, 11, 23)


def receipt(period: date, tiyn: int = 425_000) -> ContributionRow:
    return ContributionRow(id=1, payer_id=None, kind="self_payment", period=period,
                           amount_tiyn=tiyn, paid_on=period, payment_code=122)


def test_window_is_the_months_ending_with_todays() -> None:
    assert window(TODAY, 12) == (date(2025, 12, 1), date(2026, 11, 1))


def test_each_state() -> None:
    covered = frozenset(month_index(date(2026, m, 1)) for m in (5, 6, 8))
    receipts = [receipt(date(2026, 8, 1)), receipt(date(2026, 8, 1), 100), receipt(
        date(2026, 5, 1))]
    view = {month.period: month for month in month_view(
        today=TODAY, months=12, receipts=receipts, covered=covered)}
    assert len(view) == 12
    assert view[date(2026, 8, 1)].state is MonthState.PAID
    assert view[date(2026, 8, 1)].total_tiyn == 425_100
    assert view[date(2026, 6, 1)].state is MonthState.COVERED  # paid off by a later payment
    assert view[date(2026, 7, 1)].state is MonthState.MISSING
    assert view[date(2026, 10, 1)].state is MonthState.PENDING  # due 25 November
    assert view[date(2026, 9, 1)].state is MonthState.MISSING  # was due 25 October
    assert view[date(2026, 10, 1)].due_date == date(2026, 11, 25)
