"""Monthly contributions of the demo country, at the real dated rates.

Each function appends rows (tuples in ``CONTRIBUTION_COLUMNS`` order) for one person.  A row
exists only when its payment date is on or before ``as_of``: the demo never holds money from
the future.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.months import add_months
from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind as K

CONTRIBUTION_COLUMNS = (
    "person_id",
    "payer_id",
    "payer_kind",
    "kind",
    "period",
    "amount_tiyn",
    "paid_on",
    "payment_code",
    "source",
    "source_record_id",
)
Row = tuple[object, ...]


@dataclass
class Ledger:
    """Collects contribution rows and numbers them with the sender's record ids."""

    rates: RateBook
    as_of: date
    source: str = "demo-gfss"
    rows: list[Row] = field(default_factory=list)
    counter: int = 0
    _rules: dict[tuple[K, date], object] = field(default_factory=dict)
    _amounts: dict[tuple[int, int | None], int] = field(default_factory=dict)

    def amount(self, kind: K, period: date, wage_tiyn: int | None = None) -> int:
        """``RateBook.monthly_amount``, memoised per rule and wage (the loader's hot path)."""
        rule = self._rules.get((kind, period))
        if rule is None:
            rule = self._rules[(kind, period)] = self.rates.rule(kind, period)
        key = (id(rule), wage_tiyn)
        found = self._amounts.get(key)
        if found is None:
            found = self._amounts[key] = self.rates.monthly_amount(kind, period, wage_tiyn)
            if len(self._amounts) > 100_000:
                self._amounts.clear()
        return found

    def _add(
        self,
        person: uuid.UUID,
        payer: uuid.UUID | None,
        payer_kind: str | None,
        kind: K,
        period: date,
        amount: int,
        paid_on: date,
        code: int | None,
    ) -> None:
        if paid_on > self.as_of or amount <= 0:
            return
        self.counter += 1
        self.rows.append(
            (
                person,
                payer,
                payer_kind,
                kind.value,
                period,
                amount,
                paid_on,
                code,
                self.source,
                f"C{self.counter:010d}",
            )
        )

    def payroll(
        self,
        rng: random.Random,
        person: uuid.UUID,
        employer: uuid.UUID,
        wage_tiyn: int,
        periods: Iterable[date],
    ) -> None:
        """The employer's 3 % deduction (КНП 121) and the withheld 2 % (КНП 122) per month."""
        for period in periods:
            paid_on = _paid_on(rng, period)
            for kind, code in ((K.EMPLOYER_DEDUCTION, 121), (K.EMPLOYEE_CONTRIBUTION, 122)):
                amount = self.amount(kind, period, wage_tiyn)
                self._add(person, employer, "employer", kind, period, amount, paid_on, code)

    def state(
        self,
        rng: random.Random,
        person: uuid.UUID,
        payer: uuid.UUID,
        payer_kind: str,
        periods: Iterable[date],
    ) -> None:
        """The state's (or a local budget's) contribution for a preferential category."""
        for period in periods:
            amount = self.amount(K.STATE_CONTRIBUTION, period)
            self._add(
                person,
                payer,
                payer_kind,
                K.STATE_CONTRIBUTION,
                period,
                amount,
                _paid_on(rng, period),
                None,
            )

    def own(self, rng: random.Random, person: uuid.UUID, kind: K, periods: Iterable[date]) -> None:
        """A self-payer's or an entrepreneur's monthly payment, on time."""
        for period in periods:
            amount = self.amount(kind, period)
            self._add(person, None, None, kind, period, amount, _paid_on(rng, period), 122)

    def lump(self, person: uuid.UUID, kind: K, period: date, months: int, paid_on: date) -> None:
        """One payment worth ``months`` months (arrears plus current, or a prepayment)."""
        amount = self.amount(kind, period) * months
        self._add(person, None, None, kind, period, amount, paid_on, 122)


def _paid_on(rng: random.Random, period: date) -> date:
    """Payment for a month lands between the 5th and the 25th of the next month."""
    return add_months(period, 1) + timedelta(days=4 + int(rng.random() * 21))
