"""Status engine v1: a person's insurance status as a pure function of dated facts.

``compute_status`` derives the status on ``as_of`` from preferential-category memberships and
contributions; ``status_changes`` lists the days in a window on which it changes.  Money is
in tiyn, months are calendar months, and every rule below is named in the tests.

R0 Known facts only.  Contributions paid after ``as_of`` and memberships starting after it are
   ignored: a status never depends on later payments.
R1 State categories.  A membership valid on ``as_of`` makes the person INSURED
   (STATE_CATEGORY; facts ``category`` and, if it ends, ``until``).  ``guaranteed_until`` is
   None for an open-ended membership, otherwise the later of its end and the end of the
   contributions' grace (R3 promises that date whenever a paid month exists, so the two
   rules agree).  A temporary one-month status is a one-month membership.
R2 Covered months.  Employer, employee and state contributions cover the month they are for
   when that month's net amount is positive.  Self-payments and entrepreneurs' contributions
   are allocated instead (R5).
R3 Deadlines.  Month M is due by the 25th of M+1; the due month on day d is M-1 if
   d.day > 25, else M-2 (M being d's month).  With L the latest covered month: INSURED when
   L >= due month (PAID, or PREPAID when L is after as_of's month); CONDITIONALLY_INSURED
   (GRACE_PERIOD, facts ``last_paid_period`` and ``until``) while as_of <= the end of month
   L+G; then NOT_INSURED (CONTRIBUTIONS_STOPPED, ``lost_on`` = first day of L+G+1); and
   NOT_INSURED (NO_CONTRIBUTIONS) when no month is covered.  ``guaranteed_until`` is the
   end of L+G unless not insured.  The Fund's example: June paid, nothing after, is
   conditionally insured until 30 September and not insured from 1 October.
R4 Grace.  G = 3 months; from 2026-01-01, 6 months for a person who ever had one unbroken
   run of covered months holding 60 months paid with non-state money.  State-paid months
   do not count, but (a change to the brief) they do not break the run either: under R5 a
   state contribution for a month a self-payment held moves that month's worth to the end
   of the run, and a breaking month would let an added contribution shorten the grace.
R5 Self-payers.  The contributions of one kind for one period (prepayments apart) buy
   ``net // monthly amount`` months at that period's rate; the remainder stays as a credit
   that a top-up for the same period completes.  Each month's worth goes to the first
   uncovered month from 12 months before the period: arrears first, oldest first, then the
   period, then the following months.  A payment worth 12 months or more made since
   2022-09-05 is a prepayment and starts at its period, skipping arrears.
   Two changes to the brief, both forced by "adding a contribution never lowers the status":
   (1) arrears are every uncovered month of the 12, not only those after the first
   self-paid month.  With that bound a payment for March 2025 (paid in April) turns April and
   May into arrears, so a later 3-month payment for June covers April-June instead of
   June-August, and the person who paid more is not insured on 1 October 2025.  Without the
   bound this is also the Fund's rule: a status needs no debt in the last 12 months.
   (2) a remainder is not carried to the next payment of any period: then an added small
   payment moves a month's worth from one payment's window to an earlier payment's.
   With both, allocation is linear probing: covered months only grow as money is added,
   whatever the order of payments.
R6 Self-payer obligations.  When the latest contribution (by period) is a self-payment or
   an entrepreneur's and no category holds (R1), ``self_payment`` tells what is owed.  Take
   the 12 months ending with the later of the due month and L: a payment for the month after
   them pays their uncovered months first (R5).  Arrears are those uncovered months up to the
   due month (so at most 12, and none left behind by a prepayment); ``next_period`` is the
   first uncovered month of the 12 or after them (the oldest arrear, or L+1), due by the
   25th of the month after it, at the rate of its kind; ``arrears_tiyn`` sums their rates.
   The bound by the first self-paid month is dropped as in R5.  A month outside the years of
   the rate book (next year's MZP not published yet) is priced at the nearest year's rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta

from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.status.coverage import (
    ARREARS_MONTHS,
    DUE_DAY,
    SELF_KINDS,
    Coverage,
    compute_coverage,
    due_date,
    due_month,
    grace_months,
    month_end,
    month_index,
    month_label,
    month_start,
)
from backend.status.models import (
    ContributionFact,
    Membership,
    Reason,
    ReasonCode,
    SelfPayment,
    Status,
    StatusChange,
    StatusResult,
)

__all__ = [
    "compute_status", "covered_months", "month_amount", "next_change_day", "status_changes",
]

def compute_status(
    *,
    as_of: date,
    memberships: Sequence[Membership],
    contributions: Sequence[ContributionFact],
    rates: RateBook,
) -> StatusResult:
    """The status on ``as_of`` (rules R0-R6 of this module)."""
    known = _known(as_of, contributions)
    coverage = compute_coverage(known, rates)
    grace = grace_months(as_of, coverage)
    active = [membership for membership in memberships if membership.valid_on(as_of)]
    if active:
        return _state_category(active, coverage, grace)
    result = _from_contributions(as_of, coverage, grace)
    return replace(result, self_payment=_self_payment(as_of, known, coverage, rates))


def covered_months(
    *, as_of: date, contributions: Sequence[ContributionFact], rates: RateBook
) -> frozenset[int]:
    """The months (``coverage.month_index`` values) paid for as known on ``as_of`` (R0, R2,
    R5): a month paid off by a later payment counts, one paid after ``as_of`` does not."""
    return compute_coverage(_known(as_of, contributions), rates).covered


def _known(as_of: date, contributions: Sequence[ContributionFact]) -> list[ContributionFact]:
    """R0: only what was paid by ``as_of``."""
    return [fact for fact in contributions if fact.paid_on <= as_of]


def status_changes(
    *,
    since: date,
    until: date,
    memberships: Sequence[Membership],
    contributions: Sequence[ContributionFact],
    rates: RateBook,
) -> list[StatusChange]:
    """The days in ``[since, until]`` on which the status or its reason code changes.

    The first entry is the status on ``since``.  Only days on which something can change are
    evaluated: month starts, the 26th (a deadline passed), membership starts and the days
    after membership ends, and payment dates.
    """
    if until < since:
        raise ValueError("until is before since")
    changes: list[StatusChange] = []
    previous: tuple[Status, ReasonCode] | None = None
    for day in _candidate_days(since, until, memberships, contributions):
        result = compute_status(
            as_of=day, memberships=memberships, contributions=contributions, rates=rates
        )
        key = (result.status, result.reason.code)
        if key != previous:
            changes.append(StatusChange(on=day, result=result))
            previous = key
    return changes


def _candidate_days(
    since: date,
    until: date,
    memberships: Iterable[Membership],
    contributions: Iterable[ContributionFact],
) -> list[date]:
    """Every day in the window on which a rule's outcome can change, in order."""
    days = {since}
    for month in range(month_index(since), month_index(until) + 1):
        start = month_start(month)
        days.update((start, start.replace(day=DUE_DAY + 1)))
    for membership in memberships:
        days.add(membership.valid_from)
        if membership.valid_to is not None and membership.valid_to < until:
            days.add(membership.valid_to + timedelta(days=1))
    days.update(fact.paid_on for fact in contributions)
    return sorted(day for day in days if since <= day <= until)


def next_change_day(as_of: date, memberships: Iterable[Membership]) -> date:
    """The first day after ``as_of`` on which the status can change with no new contribution:
    the next month start or deadline (the 26th), or a membership's start or the day after it
    ends (the same days ``status_changes`` looks at)."""
    next_month = month_start(month_index(as_of) + 1)
    deadline = as_of.replace(day=DUE_DAY + 1)
    days = [next_month, deadline] if as_of < deadline else [next_month]
    for membership in memberships:
        days.append(membership.valid_from)
        if membership.valid_to is not None:
            days.append(membership.valid_to + timedelta(days=1))
    return min(day for day in days if day > as_of)


def _state_category(active: Sequence[Membership], coverage: Coverage, grace: int) -> StatusResult:
    """R1: insured by a preferential category (the longest-lasting one that holds)."""
    chosen = max(
        active,
        key=lambda item: (item.valid_to is None, item.valid_to or date.min, item.category_code),
    )
    facts = {"category": chosen.category_code}
    guaranteed: date | None = None
    last = coverage.last
    if chosen.valid_to is not None:
        facts["until"] = chosen.valid_to.isoformat()
        guaranteed = chosen.valid_to
        if last is not None:
            guaranteed = max(guaranteed, month_end(last + grace))
    return StatusResult(
        status=Status.INSURED,
        reason=Reason(ReasonCode.STATE_CATEGORY, facts),
        guaranteed_until=guaranteed,
        last_paid_period=None if last is None else month_start(last),
        grace_months=grace,
        self_payment=None,
    )


def _payer_facts(coverage: Coverage, month: int) -> dict[str, str]:
    """``kind`` and (when someone else paid) ``payer`` of a covered month."""
    payer = coverage.payers[month]
    facts = {"kind": payer.kind.value}
    if payer.name is not None:
        facts["payer"] = payer.name
    if payer.payer_id is not None:
        facts["payer_id"] = str(payer.payer_id)
    return facts


def _from_contributions(as_of: date, coverage: Coverage, grace: int) -> StatusResult:
    """R3: the status from the latest covered month, the deadline and the grace."""
    last = coverage.last
    if last is None:
        return StatusResult(
            Status.NOT_INSURED, Reason(ReasonCode.NO_CONTRIBUTIONS), None, None, grace, None
        )
    facts = _payer_facts(coverage, last)
    grace_end = month_end(last + grace)
    paid = month_start(last)
    if last >= due_month(as_of):
        code = ReasonCode.PREPAID if last > month_index(as_of) else ReasonCode.PAID
        reason = Reason(code, {"period": month_label(last), **facts})
        return StatusResult(Status.INSURED, reason, grace_end, paid, grace, None)
    facts["last_paid_period"] = month_label(last)
    if as_of <= grace_end:
        facts["until"] = grace_end.isoformat()
        reason = Reason(ReasonCode.GRACE_PERIOD, facts)
        return StatusResult(Status.CONDITIONALLY_INSURED, reason, grace_end, paid, grace, None)
    facts["lost_on"] = month_start(last + grace + 1).isoformat()
    reason = Reason(ReasonCode.CONTRIBUTIONS_STOPPED, facts)
    return StatusResult(Status.NOT_INSURED, reason, None, paid, grace, None)


def _self_payment(
    as_of: date, known: Sequence[ContributionFact], coverage: Coverage, rates: RateBook
) -> SelfPayment | None:
    """R6: what a self-payer owes next, when their latest contribution is their own."""
    if not known:
        return None
    latest_period = max(fact.period for fact in known)
    latest = [fact for fact in known if fact.period == latest_period]
    if any(fact.kind not in SELF_KINDS for fact in latest):
        return None
    kind = max(latest, key=lambda fact: (fact.paid_on, fact.kind.value)).kind
    due = due_month(as_of)
    anchor = due if coverage.last is None else max(due, coverage.last)
    window_start = anchor - ARREARS_MONTHS + 1
    arrears = [month for month in range(window_start, due + 1) if month not in coverage.covered]
    next_month = coverage.first_uncovered(window_start)
    return SelfPayment(
        monthly_amount_tiyn=month_amount(rates, kind, next_month),
        next_period=month_start(next_month),
        next_due_date=due_date(next_month),
        arrears_periods=tuple(month_start(month) for month in arrears),
        arrears_tiyn=sum(month_amount(rates, kind, month) for month in arrears),
        kind=kind,
    )


def month_amount(rates: RateBook, kind: ContributionKind, month: int) -> int:
    """The amount of ``kind`` for a month; outside the published years, the nearest year's."""
    period = month_start(month)
    try:
        return rates.monthly_amount(kind, period)
    except LookupError:
        if not rates.minimum_wages:
            raise
        year = min(rates.minimum_wages, key=lambda known: (abs(known - period.year), known))
        if year == period.year:
            raise
        return rates.monthly_amount(kind, date(year, 12 if year < period.year else 1, 1))
