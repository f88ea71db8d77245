"""What a self-payer's payment made today buys, as the status engine will allocate it.

Three payments are offered, each as one transfer naming one month as its period:

- **restore**: what makes the person insured today: the unpaid months up to the month now due
  (the arrears of rule R6, oldest first).  None when the person is insured today.
- **keep**: what keeps them insured after the next deadline (the coming 25th): the same
  arrears and then the month that deadline is for.  None when that month is already paid.
- **prepay**: twelve months ahead from the current month (a prepayment, allowed since
  2022-09-05), which skips arrears.

Nothing here re-derives the rules.  The period to name is the one rule R6 of
``backend.status.engine`` promises pays the arrears first (the month after the 12-month window);
a payment for a month buys whole months at that month's rate (R5), so the amount is the number
of months times that rate; and the months an option lists are found by adding the payment to
the person's contributions and asking the engine which months became covered.  Across a change
of rates the amount can therefore differ from ``SelfPayment.arrears_tiyn``, which prices every
month at its own rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.status import ContributionFact, Membership, compute_status, covered_months
from backend.status.coverage import (
    ARREARS_MONTHS,
    PREPAYMENT_MONTHS,
    due_date,
    due_month,
    month_index,
    month_start,
)
from backend.status.engine import month_amount

__all__ = ["PaymentOption", "PaymentPlan", "keep_payment", "payment_plan"]


@dataclass(frozen=True)
class PaymentOption:
    """One transfer: name ``period`` as its month, pay ``amount_tiyn`` (by ``pay_by`` when
    set) and it covers ``months`` (in the order the Fund applies it: oldest first)."""

    period: date
    amount_tiyn: int
    months: tuple[date, ...]
    pay_by: date | None


@dataclass(frozen=True)
class PaymentPlan:
    """What a self-payer can pay today (see the module's docstring)."""

    kind: ContributionKind
    restore: PaymentOption | None
    keep: PaymentOption | None
    prepay: PaymentOption


def payment_plan(
    *,
    as_of: date,
    memberships: Sequence[Membership],
    contributions: Sequence[ContributionFact],
    rates: RateBook,
) -> PaymentPlan | None:
    """The plan for a person on ``as_of``; None unless the engine says they pay for themself."""
    start = _start(as_of, memberships, contributions, rates)
    if start is None:
        return None
    simulate, kind, due, last = start
    # R6: a payment for the month after the 12 months ending with max(due, L) pays their holes
    # first.  Restore and keep are only needed while L < due + 1, so that month is due + 1.
    period = due + 1
    restore = None
    if last is None or last < due:
        restore = simulate.payment(period, _holes(simulate.covered, period, due), pay_by=None)
    prepay = simulate.payment(month_index(as_of), PREPAYMENT_MONTHS, pay_by=None)
    if prepay is None:  # twelve months are never nothing
        raise AssertionError("a 12-month prepayment bought nothing")
    return PaymentPlan(kind=kind, restore=restore, keep=_keep(simulate, due, last),
                       prepay=prepay)


def keep_payment(
    *,
    as_of: date,
    memberships: Sequence[Membership],
    contributions: Sequence[ContributionFact],
    rates: RateBook,
) -> PaymentOption | None:
    """Only the plan's "keep" payment (what a reminder before the 25th asks for), without
    pricing the others; None for who does not pay for themself or owes nothing by then."""
    start = _start(as_of, memberships, contributions, rates)
    if start is None:
        return None
    simulate, _, due, last = start
    return _keep(simulate, due, last)


def _start(as_of: date, memberships: Sequence[Membership],
           contributions: Sequence[ContributionFact], rates: RateBook
           ) -> tuple[_Simulation, ContributionKind, int, int | None] | None:
    """What every option starts from: the simulation, the kind of money, the month now due
    and the last paid month; None unless the engine says the person pays for themself."""
    result = compute_status(as_of=as_of, memberships=memberships, contributions=contributions,
                            rates=rates)
    owed = result.self_payment
    if owed is None:
        return None
    known = [fact for fact in contributions if fact.paid_on <= as_of]
    covered = covered_months(as_of=as_of, contributions=known, rates=rates)
    last = None if result.last_paid_period is None else month_index(result.last_paid_period)
    return (_Simulation(as_of, known, covered, rates, owed.kind), owed.kind, due_month(as_of),
            last)


def _keep(simulate: _Simulation, due: int, last: int | None) -> PaymentOption | None:
    """The arrears and then the month the coming deadline is for (None when it is paid)."""
    if last is not None and last >= due + 1:
        return None
    period = due + 1
    return simulate.payment(period, _holes(simulate.covered, period, due + 1),
                            pay_by=due_date(due + 1))


def _holes(covered: frozenset[int], period: int, through: int) -> int:
    """How many months from the window of a payment for ``period`` up to ``through`` are
    unpaid (the window starts 12 months before the period: R5)."""
    return sum(1 for month in range(period - ARREARS_MONTHS, through + 1) if month not in covered)


@dataclass(frozen=True)
class _Simulation:
    """A person's known contributions, to which one more payment is added in thought."""

    as_of: date
    known: Sequence[ContributionFact]
    covered: frozenset[int]
    rates: RateBook
    kind: ContributionKind

    def payment(self, period: int, months: int, *, pay_by: date | None) -> PaymentOption | None:
        """``months`` months' worth for ``period``, paid today, and what the engine makes of
        it; None for nothing to pay."""
        if months <= 0:
            return None
        amount = months * month_amount(self.rates, self.kind, period)
        fact = ContributionFact(period=month_start(period), kind=self.kind, amount_tiyn=amount,
                                paid_on=self.as_of)
        after = covered_months(as_of=self.as_of, contributions=[*self.known, fact],
                               rates=self.rates)
        bought = tuple(month_start(month) for month in sorted(after - self.covered))
        return PaymentOption(period=month_start(period), amount_tiyn=amount, months=bought,
                             pay_by=pay_by)
