"""Which months a person's contributions cover (rules R2, R4 and R5 of ``engine``).

Months are handled as integers (``year * 12 + month - 1``) and turned back into dates only
at the edges.  Direct kinds (employer, employee, state) cover the month they are declared
for when that month's net amount is positive (R2).  Self-payments and entrepreneurs'
contributions are allocated (R5): every month's worth goes to the first month not yet covered
from its start, which is 12 months before its period (arrears first, oldest first), or the
period itself for a 12-month prepayment made since 2022-09-05.

This first-free-month-from-a-start rule is linear probing: the set of covered months does
not depend on the order in which payments are allocated, and an added payment only ever
adds months.  That is what makes the engine's monotonicity properties hold.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.status.models import ContributionFact

SELF_KINDS = frozenset({ContributionKind.SELF_PAYMENT, ContributionKind.ENTREPRENEUR_CONTRIBUTION})
ARREARS_MONTHS = 12
PREPAYMENT_MONTHS = 12
PREPAYMENT_SINCE = date(2022, 9, 5)
LONG_GRACE_SINCE = date(2026, 1, 1)
LONG_GRACE_RUN = 60
SHORT_GRACE, LONG_GRACE = 3, 6
# A guard against absurd amounts: no single allocation runs past a century of months.
MAX_MONTHS_PER_GROUP = 1200
DUE_DAY = 25


def month_index(day: date) -> int:
    """The month of ``day`` as an integer."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    """The first day of month ``index``."""
    return date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> date:
    """The last day of month ``index``."""
    return month_start(index + 1) - timedelta(days=1)


def month_label(index: int) -> str:
    """Month ``index`` as ``YYYY-MM``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def due_date(index: int) -> date:
    """The deadline of month ``index``: the 25th of the next month (R3)."""
    return month_start(index + 1).replace(day=DUE_DAY)


def due_month(day: date) -> int:
    """The latest month whose payment deadline (the 25th of the next month) has passed (R3)."""
    return month_index(day) - (1 if day.day > DUE_DAY else 2)


@dataclass(frozen=True)
class MonthPayer:
    """Who paid for a covered month: the kind of money and the payer's name (None: self) and
    id (None: self, or not known to the caller)."""

    kind: ContributionKind
    name: str | None
    payer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Coverage:
    """The months a set of contributions covers.

    ``own`` is the subset paid by non-state money (R4); ``payers`` says who paid each
    covered month.
    """

    covered: frozenset[int]
    own: frozenset[int]
    payers: Mapping[int, MonthPayer]

    @property
    def last(self) -> int | None:
        """The latest covered month, if any (L of rule R3)."""
        return max(self.covered, default=None)

    def first_uncovered(self, start: int) -> int:
        """The first month at or after ``start`` that is not covered."""
        month = start
        while month in self.covered:
            month += 1
        return month

    def has_long_run(self) -> bool:
        """Whether one unbroken run of covered months holds 60 own months (R4)."""
        run_own = 0
        previous: int | None = None
        for month in sorted(self.covered):
            run_own = run_own if previous == month - 1 else 0
            run_own += int(month in self.own)
            if run_own >= LONG_GRACE_RUN:
                return True
            previous = month
        return False


def grace_months(as_of: date, coverage: Coverage) -> int:
    """G of rule R4: 3 months, or 6 from 2026 after a 60-month run of own payments."""
    if as_of >= LONG_GRACE_SINCE and coverage.has_long_run():
        return LONG_GRACE
    return SHORT_GRACE


def _payer_key(fact: ContributionFact) -> tuple[int, date, str, str, str]:
    """Orders the contributions of one month: the largest (then latest) names the payer; a
    tie is broken by the payer's id before the name, so that every language names the same
    payer."""
    return (fact.amount_tiyn, fact.paid_on, fact.kind.value, _id_key(fact),
            fact.payer_name or "")


def _id_key(fact: ContributionFact) -> str:
    return "" if fact.payer_id is None else str(fact.payer_id)


def _is_prepayment(fact: ContributionFact, rates: RateBook) -> bool:
    """Whether a self-payment is a prepayment: 12 months' worth or more, since 2022-09-05."""
    if fact.paid_on < PREPAYMENT_SINCE:
        return False
    monthly = rates.monthly_amount(fact.kind, fact.period)
    return monthly > 0 and fact.amount_tiyn >= PREPAYMENT_MONTHS * monthly


GroupKey = tuple[int, ContributionKind, bool]  # (period month, kind, is a prepayment)


def compute_coverage(contributions: Iterable[ContributionFact], rates: RateBook) -> Coverage:
    """The months ``contributions`` cover (R2 for direct kinds, R5 for self kinds)."""
    direct_net: dict[int, int] = defaultdict(int)
    own_net: dict[int, int] = defaultdict(int)
    best: dict[int, ContributionFact] = {}
    groups: dict[GroupKey, list[ContributionFact]] = defaultdict(list)
    for fact in contributions:
        month = month_index(fact.period)
        if fact.kind in SELF_KINDS:
            groups[(month, fact.kind, _is_prepayment(fact, rates))].append(fact)
            continue
        direct_net[month] += fact.amount_tiyn
        if fact.kind is not ContributionKind.STATE_CONTRIBUTION:
            own_net[month] += fact.amount_tiyn
        champion = best.get(month)
        if fact.amount_tiyn > 0 and (champion is None or _payer_key(fact) > _payer_key(champion)):
            best[month] = fact
    direct = {month for month, net in direct_net.items() if net > 0}
    payers = {month: MonthPayer(best[month].kind, best[month].payer_name, best[month].payer_id)
              for month in direct}
    allocated = _allocate(groups, direct, rates)
    payers.update(allocated)
    own = {month for month in direct if own_net.get(month, 0) > 0} | allocated.keys()
    return Coverage(covered=frozenset(payers), own=frozenset(own), payers=payers)


def _allocate(
    groups: Mapping[GroupKey, Sequence[ContributionFact]], direct: set[int], rates: RateBook
) -> dict[int, MonthPayer]:
    """R5: give each group's whole months to the first free months from its start.

    A group is every self-kind contribution of one kind for one period, prepayments apart;
    its net amount buys ``net // monthly amount`` months and the remainder stays with it as
    a credit (a top-up for the same period completes it).  Groups go in the order of their
    first payment; the set of months covered does not depend on that order.
    """
    occupied = set(direct)
    allocated: dict[int, MonthPayer] = {}
    ordered = sorted(
        groups.items(),
        key=lambda item: (min(fact.paid_on for fact in item[1]), *item[0]),
    )
    for (period, kind, prepaid), facts in ordered:
        monthly = rates.monthly_amount(kind, month_start(period))
        net = sum(fact.amount_tiyn for fact in facts)
        if monthly <= 0 or net < monthly:
            continue
        count = min(net // monthly, MAX_MONTHS_PER_GROUP)
        latest = max(facts, key=lambda fact: (fact.paid_on, _id_key(fact),
                                              fact.payer_name or ""))
        payer = MonthPayer(kind, latest.payer_name, latest.payer_id)
        month = period if prepaid else period - ARREARS_MONTHS
        while count > 0:
            if month not in occupied:
                occupied.add(month)
                allocated[month] = payer
                count -= 1
            month += 1
    return allocated
