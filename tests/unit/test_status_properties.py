"""Hypothesis properties of status engine v1 (``backend.status.engine``).

(a) adding a contribution never lowers the status rank nor the guarantee (this is what forced
the R4 and R5 changes documented in the engine); (b) R0: payments made after ``as_of`` never
matter; (c) ``status_changes`` agrees with ``compute_status`` day by day; and the order of the
contributions never matters (R5's allocation is linear probing).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.rates import ContributionKind as K
from backend.status import (
    ContributionFact,
    Membership,
    Status,
    StatusResult,
    compute_status,
    next_change_day,
    status_changes,
)
from tests.unit.rates_fixture import domain_rate_book

RATES = domain_rate_book()


def status(as_of: date, contributions: Sequence[ContributionFact],
           memberships: Sequence[Membership]) -> StatusResult:
    """``compute_status`` with keyword plumbing."""
    return compute_status(as_of=as_of, memberships=memberships, contributions=contributions,
                          rates=RATES)


FIRST_MONTH, LAST_MONTH = 2024 * 12, 2025 * 12 + 11  # a narrow range makes payments meet
KINDS = [K.SELF_PAYMENT] * 3 + list(K)  # self-payments (allocated, R5) are the interesting ones


def _month_date(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


@st.composite
def contributions(draw: st.DrawFn, paid_after: date | None = None) -> ContributionFact:
    """A positive contribution for a month of 2024-2025, mostly a self-payment."""
    kind = draw(st.sampled_from(KINDS))
    period = _month_date(draw(st.integers(FIRST_MONTH, LAST_MONTH)))
    if kind in (K.SELF_PAYMENT, K.ENTREPRENEUR_CONTRIBUTION):
        half = RATES.monthly_amount(kind, period) // 2
        amount = draw(st.integers(1, 30).map(lambda n: n * half) | st.integers(1, 30 * half))
    else:
        amount = draw(st.integers(1, 10_000_000))
    if paid_after is None:
        offset = draw(st.integers(-60, 120) | st.integers(-400, 400))
        paid_on = period + timedelta(days=offset)
    else:
        paid_on = paid_after + timedelta(days=draw(st.integers(1, 400)))
    payer = draw(st.sampled_from([None, "TOO Alpha", "TOO Beta"]))
    return ContributionFact(period, kind, amount, paid_on, payer)


@st.composite
def memberships(draw: st.DrawFn) -> Membership:
    """A category membership starting in 2024-2026, open-ended or not."""
    start = draw(st.dates(date(2024, 1, 1), date(2026, 12, 31)))
    length = draw(st.none() | st.integers(0, 500))
    end = None if length is None else start + timedelta(days=length)
    return Membership(draw(st.sampled_from(["child", "pension"])), start, end)


AS_OF = st.dates(date(2024, 1, 1), date(2026, 12, 31))
HISTORY = st.lists(contributions(), max_size=8)
CATEGORIES = st.lists(memberships(), max_size=1)


class TestProperties:
    """Hypothesis properties of the whole engine."""

    @settings(max_examples=400, deadline=None)
    @given(history=HISTORY, extra=contributions(), categories=CATEGORIES, as_of=AS_OF)
    def test_adding_a_contribution_never_lowers_the_status(
        self, history: list[ContributionFact], extra: ContributionFact,
        categories: list[Membership], as_of: date,
    ) -> None:
        """(a) Rank (not < conditional < insured) and guarantee never drop (R4, R5 changes)."""
        before = status(as_of, history, categories)
        after = status(as_of, [*history, extra], categories)
        assert after.status.rank >= before.status.rank
        if Status.NOT_INSURED not in (before.status, after.status):
            if before.guaranteed_until is None:  # open-ended category
                assert after.guaranteed_until is None
            elif after.guaranteed_until is not None:
                assert after.guaranteed_until >= before.guaranteed_until

    @settings(max_examples=200, deadline=None)
    @given(history=HISTORY, categories=CATEGORIES, as_of=AS_OF, data=st.data())
    def test_later_payments_are_ignored(
        self, history: list[ContributionFact], categories: list[Membership], as_of: date,
        data: st.DataObject,
    ) -> None:
        """(b) R0: contributions paid after ``as_of`` never change the result."""
        later = data.draw(st.lists(contributions(paid_after=as_of), min_size=1, max_size=4))
        assert status(as_of, [*history, *later], categories) == status(as_of, history, categories)

    @settings(max_examples=100, deadline=None)
    @given(history=HISTORY, categories=CATEGORIES,
           since=st.dates(date(2023, 6, 1), date(2026, 12, 31)), length=st.integers(0, 120))
    def test_changes_agree_with_daily_status(
        self, history: list[ContributionFact], categories: list[Membership], since: date,
        length: int,
    ) -> None:
        """(c) status_changes matches compute_status on every day of the window."""
        until = since + timedelta(days=length)
        changes = status_changes(since=since, until=until, memberships=categories,
                                 contributions=history, rates=RATES)
        assert changes[0].on == since
        keys = [(c.result.status, c.result.reason.code) for c in changes]
        assert all(a != b for a, b in itertools.pairwise(keys))
        for offset in range(length + 1):
            day = since + timedelta(days=offset)
            current = [c for c in changes if c.on <= day][-1].result
            daily = status(day, history, categories)
            assert (daily.status, daily.reason.code) == (current.status, current.reason.code)

    @settings(max_examples=100, deadline=None)
    @given(history=HISTORY, categories=CATEGORIES, as_of=AS_OF, data=st.data())
    def test_order_of_contributions_does_not_matter(
        self, history: list[ContributionFact], categories: list[Membership], as_of: date,
        data: st.DataObject,
    ) -> None:
        """R5's allocation is linear probing: the input order changes nothing."""
        shuffled = data.draw(st.permutations(history))
        assert status(as_of, shuffled, categories) == status(as_of, history, categories)


class TestStableUntil:
    """``next_change_day``: what the stored status relies on to skip recomputing."""

    @settings(max_examples=300, deadline=None)
    @given(history=HISTORY, categories=CATEGORIES, as_of=AS_OF)
    def test_the_status_holds_until_the_next_change_day(
        self, history: list[ContributionFact], categories: list[Membership], as_of: date
    ) -> None:
        known = [fact for fact in history if fact.paid_on <= as_of]  # no new record arrives
        stable_until = next_change_day(as_of, categories)
        assert stable_until > as_of
        today = status(as_of, known, categories)
        day = as_of + timedelta(days=1)
        while day < stable_until:
            later = status(day, known, categories)
            assert (later.status, later.reason.code) == (today.status, today.reason.code), day
            day += timedelta(days=1)

    def test_the_26th_and_the_first_are_change_days(self) -> None:
        assert next_change_day(date(2026, 11, 23), []) == date(2026, 11, 26)
        assert next_change_day(date(2026, 11, 26), []) == date(2026, 12, 1)
        ends = Membership("child", date(2020, 1, 1), date(2026, 11, 24))
        assert next_change_day(date(2026, 11, 23), [ends]) == date(2026, 11, 25)
