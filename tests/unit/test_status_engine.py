"""Status engine v1 (``backend.status.engine``): one class per rule R0-R6 with dated examples.

The hypothesis properties are in ``test_status_properties``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend.rates import ContributionKind as K
from backend.rates import RateBase, RateBook, RateRule
from backend.status import (
    ContributionFact,
    Membership,
    ReasonCode,
    Status,
    StatusResult,
    compute_status,
    status_changes,
)
from tests.unit.rates_fixture import KZT, domain_rate_book

RATES = domain_rate_book()
SELF_MONTH = 4_250 * KZT  # a self-payer's month in 2024-2026
WAGE_DEDUCTION = 25_500 * KZT


def month(year: int, number: int) -> date:
    """The first day of a month."""
    return date(year, number, 1)


def next_month(period: date, day: int = 10) -> date:
    """``day`` of the month after ``period``: when a contribution for it usually lands."""
    return (period.replace(day=28) + timedelta(days=4)).replace(day=day)


def months(first: date, last: date) -> list[date]:
    """Every month from ``first`` to ``last`` inclusive."""
    result = [first]
    while result[-1] < last:
        result.append(next_month(result[-1], 1))
    return result


def employer(period: date, paid_on: date | None = None, payer: str = "TOO Alpha",
             amount: int = WAGE_DEDUCTION, kind: K = K.EMPLOYER_DEDUCTION) -> ContributionFact:
    """An employer's contribution for ``period`` (paid on the 10th of the next month)."""
    return ContributionFact(period, kind, amount, paid_on or next_month(period), payer)


def payroll(first: date, last: date, kind: K = K.EMPLOYER_DEDUCTION) -> list[ContributionFact]:
    """A contribution of ``kind`` for every month from ``first`` to ``last``."""
    payer = None if kind is K.STATE_CONTRIBUTION else "TOO Alpha"
    return [ContributionFact(p, kind, WAGE_DEDUCTION, next_month(p), payer)
            for p in months(first, last)]


def own(period: date, worth: Decimal | int = 1, paid_on: date | None = None,
        kind: K = K.SELF_PAYMENT) -> ContributionFact:
    """A self-payment for ``period`` worth ``worth`` months at that period's rate."""
    amount = int(RATES.monthly_amount(kind, period) * Decimal(worth))
    return ContributionFact(period, kind, amount, paid_on or next_month(period))


def status(as_of: date, contributions: Sequence[ContributionFact] = (),
           memberships: Sequence[Membership] = (), rates: RateBook = RATES) -> StatusResult:
    """``compute_status`` with keyword plumbing."""
    return compute_status(as_of=as_of, memberships=memberships, contributions=contributions,
                          rates=rates)


class TestR0KnownFactsOnly:
    """R0: contributions paid and memberships starting after ``as_of`` are ignored."""

    def test_payment_counts_from_its_payment_date(self) -> None:
        facts = [employer(month(2025, 6), paid_on=date(2025, 7, 20))]
        assert status(date(2025, 7, 19), facts).reason.code is ReasonCode.NO_CONTRIBUTIONS
        assert status(date(2025, 7, 20), facts).reason.code is ReasonCode.PAID

    def test_membership_counts_from_its_start(self) -> None:
        pension = [Membership("pension", date(2025, 8, 1), None)]
        assert status(date(2025, 7, 31), memberships=pension).status is Status.NOT_INSURED
        assert status(date(2025, 8, 1), memberships=pension).status is Status.INSURED

    def test_later_payments_change_nothing(self) -> None:
        facts = payroll(month(2025, 1), month(2025, 5))
        later = [own(month(2025, 6), 12, paid_on=date(2025, 9, 1))]
        assert status(date(2025, 8, 31), facts + later) == status(date(2025, 8, 31), facts)


class TestR1StateCategories:
    """R1: a membership valid on ``as_of`` means insured by a state category."""

    def test_open_ended_category(self) -> None:
        result = status(date(2025, 3, 1), memberships=[Membership("pension", month(2020, 1), None)])
        assert result.status is Status.INSURED
        assert result.reason.code is ReasonCode.STATE_CATEGORY
        assert result.reason.facts == {"category": "pension"}
        assert result.guaranteed_until is None
        assert result.self_payment is None

    def test_category_with_an_end(self) -> None:
        child = [Membership("child", date(2007, 5, 14), date(2025, 5, 13))]
        result = status(date(2025, 3, 1), memberships=child)
        assert result.reason.facts == {"category": "child", "until": "2025-05-13"}
        assert result.guaranteed_until == date(2025, 5, 13)
        assert status(date(2025, 5, 14), memberships=child).status is Status.NOT_INSURED

    def test_after_the_category_state_contributions_give_grace(self) -> None:
        child = [Membership("child", date(2007, 6, 1), date(2025, 5, 31))]
        paid = payroll(month(2025, 1), month(2025, 5), K.STATE_CONTRIBUTION)
        june = status(date(2025, 6, 1), paid, child)
        assert (june.status, june.reason.code) == (Status.INSURED, ReasonCode.PAID)
        assert june.reason.facts == {"period": "2025-04", "kind": "state_contribution"}
        late = status(date(2025, 8, 26), paid, child)
        assert late.status is Status.CONDITIONALLY_INSURED
        assert late.guaranteed_until == date(2025, 8, 31)

    def test_temporary_one_month_status(self) -> None:
        temporary = [Membership("temporary_document", date(2025, 3, 10), date(2025, 4, 9))]
        result = status(date(2025, 3, 10), memberships=temporary)
        assert result.reason.facts["category"] == "temporary_document"
        assert result.guaranteed_until == date(2025, 4, 9)
        assert status(date(2025, 4, 10), memberships=temporary).status is Status.NOT_INSURED

    def test_longest_lasting_category_is_shown(self) -> None:
        both = [Membership("student", month(2024, 9), date(2025, 6, 30)),
                Membership("disability", month(2024, 1), None)]
        result = status(date(2025, 3, 1), memberships=both)
        assert result.reason.facts == {"category": "disability"}

    def test_guarantee_extends_to_the_contributions_grace(self) -> None:
        student = [Membership("student", month(2024, 9), date(2025, 6, 30))]
        prepaid = [own(month(2025, 1), 12, paid_on=date(2025, 1, 10))]
        result = status(date(2025, 3, 1), prepaid, student)
        assert result.reason.code is ReasonCode.STATE_CATEGORY
        assert result.guaranteed_until == date(2026, 3, 31)
        assert result.last_paid_period == month(2025, 12)


class TestR2CoveredMonths:
    """R2: direct kinds cover their period when its net amount is positive."""

    @pytest.mark.parametrize("kind", [K.EMPLOYER_DEDUCTION, K.EMPLOYEE_CONTRIBUTION,
                                      K.STATE_CONTRIBUTION])
    def test_each_direct_kind_covers_its_period(self, kind: K) -> None:
        result = status(date(2025, 7, 10), [employer(month(2025, 6), kind=kind)])
        assert result.last_paid_period == month(2025, 6)
        assert result.reason.facts["kind"] == kind.value

    def test_a_reversed_payment_covers_nothing(self) -> None:
        facts = [employer(month(2025, 6)),
                 employer(month(2025, 6), paid_on=date(2025, 7, 15), amount=-WAGE_DEDUCTION)]
        assert status(date(2025, 7, 20), facts).reason.code is ReasonCode.NO_CONTRIBUTIONS

    def test_the_largest_payer_is_named(self) -> None:
        facts = [employer(month(2025, 6), payer="TOO Alpha", amount=100_000),
                 employer(month(2025, 6), payer="TOO Beta", amount=900_000)]
        assert status(date(2025, 7, 20), facts).reason.facts["payer"] == "TOO Beta"

    def test_self_payments_cover_only_whole_months(self) -> None:
        facts = [*payroll(month(2024, 1), month(2025, 2)), own(month(2025, 3), Decimal("0.9"))]
        assert status(date(2025, 4, 20), facts).last_paid_period == month(2025, 2)


class TestR3Deadlines:
    """R3: due by the 25th of the next month, then 3 months of grace."""

    def test_funds_worked_example(self) -> None:
        """Last payment for June, nothing for July-September: not insured from 1 October."""
        june = payroll(month(2025, 1), month(2025, 6))
        assert status(date(2025, 8, 25), june).status is Status.INSURED
        grace = status(date(2025, 9, 30), june)
        assert grace.status is Status.CONDITIONALLY_INSURED
        assert grace.reason.code is ReasonCode.GRACE_PERIOD
        assert grace.reason.facts == {"last_paid_period": "2025-06", "until": "2025-09-30",
                                      "kind": "employer_deduction", "payer": "TOO Alpha"}
        assert grace.guaranteed_until == date(2025, 9, 30)
        lost = status(date(2025, 10, 1), june)
        assert (lost.status, lost.reason.code) == (Status.NOT_INSURED,
                                                   ReasonCode.CONTRIBUTIONS_STOPPED)
        assert lost.reason.facts["lost_on"] == "2025-10-01"
        assert lost.guaranteed_until is None
        assert lost.last_paid_period == month(2025, 6)

    def test_deadline_passes_after_the_25th(self) -> None:
        may = payroll(month(2025, 1), month(2025, 5))
        assert status(date(2025, 7, 25), may).status is Status.INSURED
        assert status(date(2025, 7, 26), may).status is Status.CONDITIONALLY_INSURED

    def test_paid_names_the_payer_and_month(self) -> None:
        """"Insured: your employer TOO Alpha paid for October 2025"."""
        result = status(date(2025, 11, 20), payroll(month(2025, 1), month(2025, 10)))
        assert (result.status, result.reason.code) == (Status.INSURED, ReasonCode.PAID)
        assert result.reason.facts == {"period": "2025-10", "kind": "employer_deduction",
                                       "payer": "TOO Alpha"}
        assert result.guaranteed_until == date(2026, 1, 31)

    def test_prepaid_when_the_latest_month_is_ahead(self) -> None:
        result = status(date(2025, 2, 1), [own(month(2025, 1), 12, paid_on=date(2025, 1, 10))])
        assert (result.status, result.reason.code) == (Status.INSURED, ReasonCode.PREPAID)
        assert result.reason.facts == {"period": "2025-12", "kind": "self_payment"}
        assert result.guaranteed_until == date(2026, 3, 31)

    def test_nothing_paid(self) -> None:
        result = status(date(2025, 2, 1))
        assert (result.status, result.reason.code) == (Status.NOT_INSURED,
                                                       ReasonCode.NO_CONTRIBUTIONS)
        assert result.guaranteed_until is None and result.last_paid_period is None


class TestR4Grace:
    """R4: 3 months of grace; 6 from 2026 after a run holding 60 months of own money."""

    def test_sixty_months_give_six_from_2026(self) -> None:
        run = payroll(month(2021, 1), month(2025, 12))
        result = status(date(2026, 4, 1), run)
        assert result.grace_months == 6
        assert result.status is Status.CONDITIONALLY_INSURED
        assert result.guaranteed_until == date(2026, 6, 30)
        assert status(date(2026, 7, 1), run).reason.facts["lost_on"] == "2026-07-01"

    def test_fifty_nine_months_are_not_enough(self) -> None:
        result = status(date(2026, 4, 1), payroll(month(2021, 2), month(2025, 12)))
        assert result.grace_months == 3
        assert result.reason.facts["lost_on"] == "2026-04-01"

    def test_long_grace_starts_on_1_january_2026(self) -> None:
        run = payroll(month(2020, 10), month(2025, 9))
        before = status(date(2025, 12, 31), run)
        assert (before.grace_months, before.guaranteed_until) == (3, date(2025, 12, 31))
        after = status(date(2026, 1, 1), run)
        assert (after.grace_months, after.guaranteed_until) == (6, date(2026, 3, 31))
        assert after.status is Status.CONDITIONALLY_INSURED

    def test_state_months_do_not_count(self) -> None:
        state = payroll(month(2021, 1), month(2025, 12), K.STATE_CONTRIBUTION)
        assert status(date(2026, 2, 1), state).grace_months == 3

    def test_state_months_inside_a_run_do_not_break_it(self) -> None:
        run = (payroll(month(2020, 1), month(2022, 6))
               + payroll(month(2022, 7), month(2022, 8), K.STATE_CONTRIBUTION)
               + payroll(month(2022, 9), month(2025, 2)))
        assert status(date(2026, 2, 1), run).grace_months == 6
        gap = payroll(month(2020, 1), month(2022, 6)) + payroll(month(2022, 9), month(2025, 2))
        assert status(date(2026, 2, 1), gap).grace_months == 3


    def test_a_state_month_never_shortens_the_grace(self) -> None:
        """A state month inside a prepaid run pushes a self-paid month to the run's end."""
        prepaid = [own(month(2023, 1), 61, paid_on=date(2023, 1, 10))]
        state = employer(month(2024, 6), kind=K.STATE_CONTRIBUTION)
        before = status(date(2026, 3, 1), prepaid)
        after = status(date(2026, 3, 1), [*prepaid, state])
        assert (before.grace_months, after.grace_months) == (6, 6)
        assert after.last_paid_period == month(2028, 2)


class TestR5SelfPayers:
    """R5: self-payments pay arrears of the last 12 months first, then their period."""

    def test_on_time_payment_covers_its_month(self) -> None:
        facts = [*payroll(month(2024, 1), month(2025, 2)), own(month(2025, 3))]
        result = status(date(2025, 4, 10), facts)
        assert result.reason.facts == {"period": "2025-03", "kind": "self_payment"}

    def test_arrears_are_paid_first(self) -> None:
        facts = [*payroll(month(2024, 1), month(2024, 12)),
                 own(month(2025, 4), 3, paid_on=date(2025, 5, 10))]
        result = status(date(2025, 5, 10), facts)
        assert result.last_paid_period == month(2025, 3)
        assert (result.status, result.reason.code) == (Status.INSURED, ReasonCode.PAID)
        four = [*facts[:-1], own(month(2025, 4), 4, paid_on=date(2025, 5, 10))]
        assert status(date(2025, 5, 10), four).last_paid_period == month(2025, 4)

    def test_arrears_do_not_start_at_the_first_self_paid_month(self) -> None:
        """All unpaid months of the 12 are arrears, so an earlier payment only helps."""
        base = payroll(month(2024, 1), month(2025, 2))
        march = own(month(2025, 3), paid_on=date(2025, 4, 20))
        june = own(month(2025, 6), 3, paid_on=date(2025, 6, 20))
        assert status(date(2025, 6, 20), [*base, june]).last_paid_period == month(2025, 5)
        assert status(date(2025, 6, 20), [*base, march, june]).last_paid_period == month(2025, 6)

    def test_arrears_reach_back_12_months_at_most(self) -> None:
        facts = [*payroll(month(2022, 1), month(2023, 12)),
                 own(month(2025, 6), 5, paid_on=date(2025, 6, 20))]
        result = status(date(2025, 6, 20), facts)
        assert result.last_paid_period == month(2024, 10)  # 2024-06..10; 2024-01..05 not reached
        assert result.status is Status.NOT_INSURED

    def test_a_first_payment_pays_the_unpaid_last_12_months(self) -> None:
        result = status(date(2025, 7, 10), [own(month(2025, 6), 3)])
        assert result.last_paid_period == month(2024, 8)
        assert result.reason.facts["lost_on"] == "2024-12-01"

    def test_prepayment_of_12_months_skips_arrears(self) -> None:
        result = status(date(2025, 1, 10), [own(month(2025, 1), 12, paid_on=date(2025, 1, 10))])
        assert result.reason.code is ReasonCode.PREPAID
        assert result.last_paid_period == month(2025, 12)

    def test_no_prepayment_before_5_september_2022(self) -> None:
        book = RateBook(minimum_wages={2021: 42_500 * KZT, 2022: 60_000 * KZT},
                        rules=(RateRule(K.SELF_PAYMENT, month(2021, 1), None, Decimal(5),
                                        RateBase.MZP),))
        year = 12 * 3_000 * KZT
        early = ContributionFact(month(2022, 9), K.SELF_PAYMENT, year, date(2022, 9, 4))
        assert status(date(2022, 9, 4), [early], rates=book).last_paid_period == month(2022, 8)
        late = ContributionFact(month(2022, 9), K.SELF_PAYMENT, year, date(2022, 9, 5))
        result = status(date(2022, 9, 5), [late], rates=book)
        assert result.last_paid_period == month(2023, 8)
        assert result.status is Status.INSURED

    def test_remainder_is_completed_by_a_top_up_for_the_same_period(self) -> None:
        base = payroll(month(2024, 1), month(2025, 2))
        half = own(month(2025, 3), Decimal("1.5"), paid_on=date(2025, 4, 5))
        top_up = own(month(2025, 3), Decimal("0.5"), paid_on=date(2025, 4, 9))
        assert status(date(2025, 4, 10), [*base, half]).last_paid_period == month(2025, 3)
        assert status(date(2025, 4, 10), [*base, half, top_up]).last_paid_period == month(2025, 4)
        other = own(month(2025, 4), Decimal("0.5"), paid_on=date(2025, 4, 9))
        assert status(date(2025, 4, 10), [*base, half, other]).last_paid_period == month(2025, 3)

    def test_entrepreneur_rate(self) -> None:
        base = payroll(month(2024, 1), month(2025, 2))
        exact = ContributionFact(month(2025, 3), K.ENTREPRENEUR_CONTRIBUTION, 5_950 * KZT,
                                 date(2025, 4, 10))
        short = ContributionFact(month(2025, 3), K.ENTREPRENEUR_CONTRIBUTION,
                                 5_950 * KZT - 1, date(2025, 4, 10))
        assert status(date(2025, 4, 10), [*base, exact]).last_paid_period == month(2025, 3)
        assert status(date(2025, 4, 10), [*base, short]).last_paid_period == month(2025, 2)

    def test_months_the_state_paid_are_not_arrears(self) -> None:
        facts = [*payroll(month(2024, 6), month(2025, 5), K.STATE_CONTRIBUTION),
                 own(month(2025, 6))]
        assert status(date(2025, 7, 10), facts).last_paid_period == month(2025, 6)


class TestR6SelfPayerObligations:
    """R6: what a self-payer owes next."""

    def test_up_to_date_self_payer(self) -> None:
        facts = [*payroll(month(2024, 1), month(2024, 12)),
                 *(own(p) for p in months(month(2025, 1), month(2025, 3)))]
        owed = status(date(2025, 4, 12), facts).self_payment
        assert owed is not None
        assert (owed.next_period, owed.next_due_date) == (month(2025, 4), date(2025, 5, 25))
        assert (owed.monthly_amount_tiyn, owed.arrears_periods, owed.arrears_tiyn) == (
            SELF_MONTH, (), 0)

    def test_arrears_capped_at_12_months(self) -> None:
        owed = status(date(2025, 12, 10), [own(month(2024, 1), paid_on=date(2024, 1, 20))])
        assert owed.self_payment is not None
        assert owed.self_payment.arrears_periods == tuple(months(month(2024, 11),
                                                                 month(2025, 10)))
        assert owed.self_payment.arrears_tiyn == 12 * SELF_MONTH
        assert owed.self_payment.next_period == month(2024, 11)
        assert owed.self_payment.next_due_date == date(2024, 12, 25)

    def test_arrears_are_priced_at_their_own_year(self) -> None:
        facts = [*payroll(month(2022, 6), month(2023, 5)), own(month(2023, 6))]
        owed = status(date(2024, 3, 1), facts).self_payment
        assert owed is not None
        assert owed.arrears_periods == tuple(months(month(2023, 7), month(2024, 1)))
        assert owed.arrears_tiyn == 6 * 3_500 * KZT + 4_250 * KZT
        assert owed.monthly_amount_tiyn == 3_500 * KZT

    def test_entrepreneur_owes_the_entrepreneur_rate(self) -> None:
        facts = [*payroll(month(2024, 1), month(2025, 2)),
                 own(month(2025, 3), kind=K.ENTREPRENEUR_CONTRIBUTION)]
        owed = status(date(2025, 4, 10), facts).self_payment
        assert owed is not None and owed.monthly_amount_tiyn == 5_950 * KZT

    def test_prepayment_leaves_no_arrears_and_next_year_uses_latest_rates(self) -> None:
        owed = status(date(2026, 2, 1), [own(month(2026, 1), 12, paid_on=date(2026, 1, 5))])
        assert owed.self_payment is not None
        assert (owed.self_payment.next_period, owed.self_payment.arrears_periods) == (
            month(2027, 1), ())
        assert owed.self_payment.monthly_amount_tiyn == SELF_MONTH

    def test_nothing_owed_when_someone_else_pays_last(self) -> None:
        facts = [own(month(2025, 1)), employer(month(2025, 2))]
        assert status(date(2025, 3, 20), facts).self_payment is None
        pension = [Membership("pension", month(2025, 3), None)]
        assert status(date(2025, 3, 20), facts[:1], pension).self_payment is None


class TestStatusChanges:
    """status_changes: the days on which the status or its reason code changes."""

    def test_funds_worked_example_timeline(self) -> None:
        changes = status_changes(since=date(2025, 7, 1), until=date(2025, 10, 31),
                                 memberships=[], contributions=[employer(month(2025, 6))],
                                 rates=RATES)
        assert [(c.on, c.result.status, c.result.reason.code) for c in changes] == [
            (date(2025, 7, 1), Status.NOT_INSURED, ReasonCode.NO_CONTRIBUTIONS),
            (date(2025, 7, 10), Status.INSURED, ReasonCode.PAID),
            (date(2025, 8, 26), Status.CONDITIONALLY_INSURED, ReasonCode.GRACE_PERIOD),
            (date(2025, 10, 1), Status.NOT_INSURED, ReasonCode.CONTRIBUTIONS_STOPPED),
        ]

    def test_category_ends(self) -> None:
        child = [Membership("child", date(2007, 5, 14), date(2025, 5, 13))]
        changes = status_changes(since=date(2025, 5, 1), until=date(2025, 6, 30),
                                 memberships=child, contributions=[], rates=RATES)
        assert [(c.on, c.result.reason.code) for c in changes] == [
            (date(2025, 5, 1), ReasonCode.STATE_CATEGORY),
            (date(2025, 5, 14), ReasonCode.NO_CONTRIBUTIONS),
        ]

    def test_window_must_not_be_reversed(self) -> None:
        with pytest.raises(ValueError, match="before"):
            status_changes(since=date(2025, 2, 1), until=date(2025, 1, 1), memberships=[],
                           contributions=[], rates=RATES)
