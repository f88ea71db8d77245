"""The month-by-month view of a person's contributions: every month, gaps included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from backend.contributions.repository import ContributionRow
from backend.status.coverage import due_date, month_index, month_start


class MonthState(StrEnum):
    """Whether a month is paid, as the month-by-month view shows it."""

    PAID = "paid"
    COVERED = "covered"
    MISSING = "missing"
    PENDING = "pending"


@dataclass(frozen=True)
class Month:
    """One calendar month: its state, due date, and the receipts for it (newest first)."""

    period: date
    state: MonthState
    due_date: date
    receipts: tuple[ContributionRow, ...]

    @property
    def total_tiyn(self) -> int:
        """Sum of the receipts."""
        return sum(row.amount_tiyn for row in self.receipts)


def window(today: date, months: int) -> tuple[date, date]:
    """The first and last month of the ``months`` months ending with ``today``'s month."""
    last = month_index(today)
    return month_start(last - months + 1), month_start(last)


def month_view(*, today: date, months: int, receipts: Sequence[ContributionRow],
               covered: frozenset[int]) -> list[Month]:
    """The ``months`` months up to ``today``'s, newest first.

    A month is PAID when receipts for it arrived and it counts as paid (``covered``: the
    engine's allocation); COVERED when it counts as paid through money for another month
    (arrears paid off, or a prepayment); MISSING when it is past its due date (the 25th of
    the next month) and unpaid; PENDING when unpaid and not yet due.
    """
    last = month_index(today)
    result = []
    for index in range(last, last - months, -1):
        period = month_start(index)
        mine = tuple(row for row in receipts if row.period == period)
        due = due_date(index)
        if index in covered:
            state = MonthState.PAID if mine else MonthState.COVERED
        else:
            state = MonthState.MISSING if today > due else MonthState.PENDING
        result.append(Month(period=period, state=state, due_date=due, receipts=mine))
    return result
