"""Insurance status: a pure function of categories and contribution history."""

from backend.status.engine import (
    compute_status,
    covered_months,
    next_change_day,
    status_changes,
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
    "ContributionFact",
    "Membership",
    "Reason",
    "ReasonCode",
    "SelfPayment",
    "Status",
    "StatusChange",
    "StatusResult",
    "compute_status",
    "covered_months",
    "next_change_day",
    "status_changes",
]
