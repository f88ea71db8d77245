"""Kinds of contribution (one per payer category of domain.md)."""

from __future__ import annotations

from enum import StrEnum


class ContributionKind(StrEnum):
    """What a contribution is: who pays it and on what base."""

    EMPLOYER_DEDUCTION = "employer_deduction"
    EMPLOYEE_CONTRIBUTION = "employee_contribution"
    SELF_PAYMENT = "self_payment"
    ENTREPRENEUR_CONTRIBUTION = "entrepreneur_contribution"
    STATE_CONTRIBUTION = "state_contribution"
