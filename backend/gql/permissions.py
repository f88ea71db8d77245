"""Who may resolve a field: one small permission class per kind of principal.

Every root field (``Query``, ``Mutation``) carries exactly one of these through ``guarded``;
a test walks the schema and fails when a root field has none, when a ``Public`` one can
reach a type that holds personal data, or when a type is in neither list below (so a new
type forces the decision).  A refused check raises the typed error (``UNAUTHENTICATED``,
``FORBIDDEN``, ``RATE_LIMITED``) rather than strawberry's generic one.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from auth.principals import Anonymous, Scope
from backend.gql.context import Context

# Types that hold a person's data: only reachable through a guarded root field.
PERSONAL_TYPES = frozenset({
    "AccessEvent", "AccessEventConnection", "AccessEventEdge", "Citizen", "Contribution",
    "ContributionConnection", "ContributionEdge", "ContributionMonth", "CoveredService",
    "CoveredServiceConnection", "CoveredServiceEdge", "DeskInsurance", "DeskPatient",
    "DeviceSession", "Eligibility", "InsuranceStatus", "MoneyFlowYear", "PatientWindow",
    "PatientWindowPayload", "SelfPaymentDue", "StatusChange", "StatusReason", "ConsentCode",
    "OnboardingCode", "OnboardingCodePayload", "ConsentSmsPayload", "OnboardingProgress",
    "NotificationCheck", "NotificationCheckPayload", "DeviceCheck", "DeskPushChoices",
    "KindTotal", "PayerTotal", "PackageTotal", "HowToPay", "PaymentOption",
    "ProviderTotal", "Payer", "SignOutPayload", "IngestPayload", "RecordIssue", "IssueCount",
    "Notification", "NotificationConnection", "NotificationEdge", "PushDevice",
    "NotificationPreferences", "NotificationSwitch", "QuietHours", "InboxPayload",
    # A parent's minor children (me.children) and the integrators' feed of the links.
    "Child", "GuardianshipPayload",
    # Reports about services ("I did not receive this"): the citizen's, and the reviewers'
    # view (no name, but a person's care and words: each read is in their access log).
    "DisputeCase", "DisputeCaseConnection", "DisputeCaseEdge", "DisputeStep",
    "ReportServicePayload", "DisputeReview", "DisputeReviewConnection", "DisputeReviewEdge",
    "DisputeReviewStep", "DisputeResolution",
    # A record's proof from the verifiable log: its entry names the person's pseudonym.
    "LogProof",
})
# Types anyone may read: reference data, help, page plumbing, sign-in results.
PUBLIC_TYPES = frozenset({
    "Query", "Mutation", "Money", "PageInfo", "Region", "PreferentialCategory",
    "MedicalService", "Provider", "HelpArticle", "HelpArticleConnection", "HelpArticleEdge",
    "UserError", "SignInCodePayload", "SignInPayload", "Session",
    # Flagged payments name no person (stats:read only): provider, service, day, flags.
    "ServiceAnomaly", "ServiceAnomalyConnection", "ServiceAnomalyEdge",
    # Flagged contributions likewise (stats:read only): kind, month, payer, flags.
    "ContributionAnomaly", "ContributionAnomalyConnection", "ContributionAnomalyEdge",
    # The Fund's news: the same for everyone it reaches; names no person.
    "Announcement",
    # The payee's published bank details (the State Corporation's): the same for everyone.
    "PayeeAccount",
    # Counts of reports about services per provider and region (stats:read): no person.
    "DisputeCounts", "ProviderDisputeCount", "ProviderDisputeCountConnection",
    "ProviderDisputeCountEdge", "RegionDisputeCount",
    # The public figures (issue 15): sums over rollups with small cells suppressed; no person.
    "PublicStats", "FundBalance", "MoneyFigure", "MoneyIn", "MoneyOut", "InsuredFigure",
    "InsuredPeople", "ProviderFigures", "ProviderFiguresConnection", "ProviderFiguresEdge",
})


class Public(BasePermission):
    """Anyone, signed in or not (help, reference data, the sign-in mutations)."""

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return True


class OwnNodesOnly(BasePermission):
    """``node``: each type's loader checks the principal (a person's rows: that person)."""

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return True


class SignedIn(BasePermission):
    """Any valid principal (signing out)."""

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        if isinstance(info.context.principal, Anonymous):
            info.context.require_citizen()  # raises UNAUTHENTICATED with the reason
        return True


class CitizenOnly(BasePermission):
    """The person themself, through the mobile app."""

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        info.context.require_citizen()
        return True


class StaffOnly(BasePermission):
    """A registry-desk worker (any clinic)."""

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        info.context.require_staff()
        return True


class StaffWithConsent(BasePermission):
    """A desk worker inside an open consent window of theirs (argument ``window_id``)."""

    async def has_permission(self, source: Any, info: Info[Context, None],
                             **kwargs: Any) -> bool:
        await info.context.consent_window(str(kwargs.get("window_id") or kwargs.get("id")))
        return True


class IntegratorScope(BasePermission):
    """An integrator whose token holds ``scope`` (spends one request of its budget)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def has_permission(self, source: Any, info: Info[Context, None],
                             **kwargs: Any) -> bool:
        await info.context.require_scope(self.scope)
        return True


def guarded(permission: BasePermission) -> list[FieldExtension]:
    """The field extension list that applies ``permission`` (no schema directive)."""
    return [PermissionExtension([permission], use_directives=False)]


def permission_of(extensions: list[FieldExtension]) -> BasePermission | None:
    """The permission a field carries (for the schema walk and the docs)."""
    for extension in extensions:
        if isinstance(extension, PermissionExtension) and extension.permissions:
            found: BasePermission = extension.permissions[0]
            return found
    return None

