"""The dated rate table: how much each kind of contribution is for a given month.

A ``RateBook`` is built from data rows (the ``minimum_wage`` and ``contribution_rate``
tables); no figure lives in this module.  A rule applies to a month when it is in force on
that month's first day, so a contribution for March 2025 is judged by the rules of March 2025.

Money is integer tiyn (1 KZT = 100 tiyn).  Arithmetic is ``Decimal`` only, in a local context
wide enough to be exact, and an amount is rounded to whole tiyn with ROUND_HALF_UP once, at
the end.
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType

from backend.rates.kinds import ContributionKind

__all__ = ["ContributionKind", "RateBase", "RateBook", "RateRule"]

_HUNDRED = Decimal(100)
_PRECISION = 60


class RateBase(StrEnum):
    """What a rate is a percentage of."""

    WAGE = "wage"  # the person's wage, optionally capped at a multiple of MZP
    MZP = "mzp"  # the minimum monthly wage of the period's year
    AVERAGE_WAGE = "average_wage"  # a fixed amount: the average wage two years earlier


@dataclass(frozen=True)
class RateRule:
    """One dated rule for one kind of contribution.

    ``valid_to`` is inclusive (None: still in force).  The base of a month is
    ``base_multiplier`` times the wage (capped at ``cap_mzp`` MZP when set), the MZP, or
    ``base_amount_tiyn``; the amount is ``rate_percent`` % of that base.
    """

    kind: ContributionKind
    valid_from: date
    valid_to: date | None
    rate_percent: Decimal
    base: RateBase
    base_multiplier: Decimal = Decimal(1)
    cap_mzp: int | None = None
    base_amount_tiyn: int | None = None

    def __post_init__(self) -> None:
        """Reject rules that cannot be applied (floats included: money is never a float)."""
        for name in ("rate_percent", "base_multiplier"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"{name} must be a Decimal")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if self.rate_percent < 0 or self.base_multiplier <= 0:
            raise ValueError("rate must not be negative and multiplier must be positive")
        if self.cap_mzp is not None and self.cap_mzp <= 0:
            raise ValueError("cap_mzp must be positive")
        if (self.base is RateBase.AVERAGE_WAGE) != (self.base_amount_tiyn is not None):
            raise ValueError("base_amount_tiyn is required for, and only for, average_wage")

    def in_force_on(self, day: date) -> bool:
        """Whether the rule applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def _round_tiyn(value: Decimal) -> int:
    """``value`` rounded to whole tiyn, half up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class RateBook:
    """The minimum wage of each year and the dated rules of every contribution kind.

    ``minimum_wages`` maps a year to its MZP in tiyn.  Rules of one kind must not overlap.
    The book copies what it is given, so later changes to the source objects do not leak in.
    """

    minimum_wages: Mapping[int, int]
    rules: tuple[RateRule, ...]
    # Fixed-base amounts already worked out, by (kind, year, month): the status engine asks for
    # the same few months' amounts hundreds of times per person.  The book never changes, so
    # neither do they.
    _fixed: dict[tuple[ContributionKind, int, int], int] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Freeze the inputs and reject overlapping rules or non-positive wages."""
        if any(amount <= 0 for amount in self.minimum_wages.values()):
            raise ValueError("a minimum wage must be positive")
        object.__setattr__(self, "minimum_wages", MappingProxyType(dict(self.minimum_wages)))
        rules = tuple(sorted(self.rules, key=lambda rule: (rule.kind, rule.valid_from)))
        for before, after in itertools.pairwise(rules):
            if before.kind == after.kind and (
                before.valid_to is None or before.valid_to >= after.valid_from
            ):
                raise ValueError(f"overlapping rules for {after.kind.value}")
        object.__setattr__(self, "rules", rules)

    def mzp(self, year: int) -> int:
        """The minimum monthly wage of ``year`` in tiyn; LookupError if it is not known."""
        try:
            return self.minimum_wages[year]
        except KeyError:
            raise LookupError(f"no minimum wage for {year}") from None

    def rule(self, kind: ContributionKind, period: date) -> RateRule:
        """The rule for ``kind`` in force on the first day of ``period``'s month."""
        first_day = period.replace(day=1)
        for candidate in self.rules:
            if candidate.kind == kind and candidate.in_force_on(first_day):
                return candidate
        raise LookupError(f"no {kind.value} rule for {first_day:%Y-%m}")

    def monthly_amount(
        self, kind: ContributionKind, period: date, wage_tiyn: int | None = None
    ) -> int:
        """The contribution of ``kind`` due for ``period``'s month, in tiyn.

        WAGE: rate x multiplier x min(wage, cap_mzp x MZP), ``wage_tiyn`` required.
        MZP: rate x multiplier x MZP.  AVERAGE_WAGE: rate x multiplier x base amount.
        """
        if wage_tiyn is None:
            key = (kind, period.year, period.month)
            known = self._fixed.get(key)
            if known is None:
                known = self._fixed[key] = self._amount(kind, period, None)
            return known
        return self._amount(kind, period, wage_tiyn)

    def _amount(self, kind: ContributionKind, period: date, wage_tiyn: int | None) -> int:
        rule = self.rule(kind, period)
        if rule.base is RateBase.WAGE:
            if wage_tiyn is None or wage_tiyn < 0:
                raise ValueError(f"{kind.value} needs a non-negative wage")
            base = wage_tiyn
            if rule.cap_mzp is not None:
                base = min(base, rule.cap_mzp * self.mzp(period.year))
        elif rule.base is RateBase.MZP:
            base = self.mzp(period.year)
        else:
            base = rule.base_amount_tiyn or 0
        return self._percent_of(rule, base)

    def max_amount(self, kind: ContributionKind, period: date) -> int | None:
        """The largest contribution of ``kind`` for ``period``'s month, in tiyn.

        For a capped WAGE rule, the amount at the cap; None for an uncapped WAGE rule; for
        the fixed bases (MZP, AVERAGE_WAGE), the fixed amount itself.
        """
        rule = self.rule(kind, period)
        if rule.base is not RateBase.WAGE:
            return self.monthly_amount(kind, period)
        if rule.cap_mzp is None:
            return None
        return self._percent_of(rule, rule.cap_mzp * self.mzp(period.year))

    @staticmethod
    def _percent_of(rule: RateRule, base_tiyn: int) -> int:
        """``rule.rate_percent`` % of ``base_tiyn`` times the multiplier, in whole tiyn."""
        with decimal.localcontext() as context:
            context.prec = _PRECISION
            context.rounding = ROUND_HALF_UP
            exact = Decimal(base_tiyn) * rule.base_multiplier * rule.rate_percent / _HUNDRED
            return _round_tiyn(exact)
