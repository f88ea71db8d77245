"""The status engine's inputs (facts) and outputs (a status with a readable reason).

Everything here is a frozen dataclass or a string enum: no database, no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from backend.rates.kinds import ContributionKind

__all__ = [
    "ContributionFact",
    "Membership",
    "Reason",
    "ReasonCode",
    "SelfPayment",
    "Status",
    "StatusChange",
    "StatusResult",
]


class Status(StrEnum):
    """Whether the insurance package is open to the person."""

    INSURED = "insured"
    CONDITIONALLY_INSURED = "conditionally_insured"
    NOT_INSURED = "not_insured"

    @property
    def rank(self) -> int:
        """0 for not insured, 1 for conditionally insured, 2 for insured."""
        return _RANKS[self]


_RANKS = {
    Status.NOT_INSURED: 0,
    Status.CONDITIONALLY_INSURED: 1,
    Status.INSURED: 2,
}


class ReasonCode(StrEnum):
    """Why the status is what it is (one code per rule outcome)."""

    STATE_CATEGORY = "state_category"
    PAID = "paid"
    PREPAID = "prepaid"
    GRACE_PERIOD = "grace_period"
    CONTRIBUTIONS_STOPPED = "contributions_stopped"
    NO_CONTRIBUTIONS = "no_contributions"


@dataclass(frozen=True)
class Reason:
    """A reason code and the facts a UI needs to write it as a sentence.

    Keys (all values are strings): ``category``; ``period`` and ``last_paid_period``
    (``YYYY-MM``); ``kind`` (a ``ContributionKind`` value) and ``payer`` (a payer's name,
    absent when the person paid themself); ``until`` and ``lost_on`` (ISO dates).
    """

    code: ReasonCode
    facts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Membership:
    """Belonging to a preferential category from ``valid_from`` to ``valid_to`` (inclusive).

    ``valid_to`` None is open-ended.  The category code is data (``temporary_document`` for
    the one-month status granted after uploading a supporting document, for example).
    """

    category_code: str
    valid_from: date
    valid_to: date | None

    def __post_init__(self) -> None:
        """Reject a membership that ends before it starts."""
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")

    def valid_on(self, day: date) -> bool:
        """Whether the membership holds on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class ContributionFact:
    """Money received for one person for one month (``period``, the month's first day).

    ``payer_name`` None means the person paid themself.  A negative amount is a correction.
    ``payer_id`` (when the caller knows it) orders two equal payments of one month by payer
    before their names do, so the payer a reason names does not depend on the language; and
    the reason carries it (fact ``payer_id``), so a stored status can name the payer later
    in any language (``backend.status.stored``).
    """

    period: date
    kind: ContributionKind
    amount_tiyn: int
    paid_on: date
    payer_name: str | None = None
    payer_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        """Reject a period that is not the first day of a month."""
        if self.period.day != 1:
            raise ValueError("period must be the first day of a month")


@dataclass(frozen=True)
class SelfPayment:
    """What a self-payer (or entrepreneur) owes next.

    ``next_period`` is the month the next payment will pay for (the oldest arrear, if any),
    due by ``next_due_date``; ``arrears_periods`` are unpaid months the next payment pays
    first, oldest first, and ``arrears_tiyn`` their total; ``kind`` is the person's own kind of
    contribution (a self-payment or an entrepreneur's), which prices the months.
    """

    monthly_amount_tiyn: int
    next_period: date
    next_due_date: date
    arrears_periods: tuple[date, ...]
    arrears_tiyn: int
    kind: ContributionKind


@dataclass(frozen=True)
class StatusResult:
    """The derived status on a day, why, and until when it is guaranteed.

    ``guaranteed_until`` is the last day the status stays at least conditionally insured if
    nothing new happens (None: not insured, or an open-ended category).  ``last_paid_period``
    is the latest month covered by contributions; ``grace_months`` the grace that applies.
    """

    status: Status
    reason: Reason
    guaranteed_until: date | None
    last_paid_period: date | None
    grace_months: int
    self_payment: SelfPayment | None


@dataclass(frozen=True)
class StatusChange:
    """The status (or its reason code) became ``result`` on day ``on``."""

    on: date
    result: StatusResult
