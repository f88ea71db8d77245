"""GraphQL types of insurance status: now, why, until when, what is owed, and history."""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, mirrors
from backend.gql.scalars import Money, YearMonth
from backend.i18n import pick
from backend.messages import message
from backend.payment.types import HowToPay, how_to_pay
from backend.reference.types import CategoryType
from backend.status import Reason, status_changes
from backend.status.coverage import month_index, month_start
from backend.status.models import ReasonCode, Status
from backend.status.texts import STATUS_NAMES, reason_text

V = strawberry.enum_value


@strawberry.enum(name="InsuranceStatusCode", description="Whether the insurance package is open.")
@mirrors(Status)
class InsuranceStatusCode(Enum):
    INSURED = V("insured", description="Insured: the insurance package is open.")
    CONDITIONALLY_INSURED = V("conditionally_insured",
                              description="Payments stopped; care continues during the grace "
                                          "period.")
    NOT_INSURED = V("not_insured", description="Not insured: only the guaranteed volume.")


@strawberry.enum(name="StatusReasonCode", description="The rule that decided the status.")
@mirrors(ReasonCode)
class StatusReasonCode(Enum):
    STATE_CATEGORY = V("state_category", description="The state pays for a preferential "
                                                     "category the person belongs to.")
    PAID = V("paid", description="The month now due is paid.")
    PREPAID = V("prepaid", description="Months ahead are paid in advance.")
    GRACE_PERIOD = V("grace_period", description="No payment lately; within the grace period.")
    CONTRIBUTIONS_STOPPED = V("contributions_stopped",
                              description="The grace period after the last payment is over.")
    NO_CONTRIBUTIONS = V("no_contributions", description="No contribution has ever arrived.")


@strawberry.type(description="Why the status is what it is: a sentence and the facts behind it.")
class StatusReason:
    code: StatusReasonCode = strawberry.field(description="The rule that decided.")
    text: str = strawberry.field(description="The reason as a sentence in the reader's language.")
    category: CategoryType | None = strawberry.field(
        description="The preferential category the state pays for, if that is the reason.")
    period: YearMonth | None = strawberry.field(
        description="The paid month that keeps the person insured.")
    last_paid_period: YearMonth | None = strawberry.field(
        description="The latest paid month, once payments have stopped.")
    payer_name: str | None = strawberry.field(
        description="Who paid that month (absent when the person paid themself).")
    contribution_kind: ContributionKindType | None = strawberry.field(
        description="What kind of contribution paid that month.")
    until: date | None = strawberry.field(description="Last day the reason holds, if known.")
    lost_on: date | None = strawberry.field(description="First day without insurance.")


@strawberry.type(description="What a person who pays for themself owes next.")
class SelfPaymentDue:
    person_id: strawberry.Private[uuid.UUID]
    language: strawberry.Private[str]
    monthly_amount: Money = strawberry.field(description="One month's payment.")
    next_period: YearMonth = strawberry.field(
        description="The month the next payment pays for (the oldest unpaid month first).")
    next_due_date: date = strawberry.field(description="Pay by this day to stay on time.")
    arrears_periods: list[YearMonth] = strawberry.field(
        description="Unpaid months (at most 12, oldest first) that the next money pays first.")
    arrears: Money = strawberry.field(description="Total owed for those months.")

    @strawberry.field(description="How to pay: the payee's details of the day, what to quote, "
                                  "and what restores cover, keeps it, or prepays a year.")
    async def how_to_pay(self, info: Info[Context, None]) -> HowToPay:
        return await how_to_pay(info, self.person_id, self.language)


@strawberry.type(description="A day on which the status (or its reason) changed.")
class StatusChange:
    on: date = strawberry.field(description="The day of the change.")
    status: InsuranceStatusCode = strawberry.field(description="Status from that day.")
    reason: StatusReason = strawberry.field(description="Why, from that day.")


async def build_reason(info: Info[Context, None], reason: Reason, language: str) -> StatusReason:
    """A ``StatusReason`` with its sentence and the category's name in ``language``."""
    facts = reason.facts
    category: CategoryType | None = None
    if "category" in facts:
        row = await info.context.loaders.category.load(facts["category"])
        category = (CategoryType.build(row, language) if row is not None
                    else CategoryType(code=facts["category"], name=facts["category"]))
    return StatusReason(
        code=StatusReasonCode(reason.code.value),
        text=reason_text(reason, language, category_name=category.name if category else None),
        category=category,
        period=_month(facts.get("period")),
        last_paid_period=_month(facts.get("last_paid_period")),
        payer_name=facts.get("payer"),
        contribution_kind=ContributionKindType(facts["kind"]) if "kind" in facts else None,
        until=date.fromisoformat(facts["until"]) if "until" in facts else None,
        lost_on=date.fromisoformat(facts["lost_on"]) if "lost_on" in facts else None,
    )


def _month(label: str | None) -> YearMonth | None:
    return None if label is None else YearMonth(date.fromisoformat(label + "-01"))


@strawberry.type(description="Insurance status on a day, derived from categories and payments.")
class InsuranceStatus:
    person_id: strawberry.Private[uuid.UUID]
    language: strawberry.Private[str]
    as_of: date = strawberry.field(description="The day the status is judged on (Almaty time).")
    status: InsuranceStatusCode = strawberry.field(description="The status on that day.")
    status_name: str = strawberry.field(description="The status in the reader's language.")
    reason: StatusReason = strawberry.field(description="Why, with the facts behind it.")
    guaranteed_until: date | None = strawberry.field(
        description="Last day the person stays at least conditionally insured if nothing new "
                    "arrives (absent: not insured, or an open-ended category).")
    last_paid_period: YearMonth | None = strawberry.field(
        description="The latest month covered by contributions.")
    grace_months: int = strawberry.field(
        description="Months of care after the last paid month (3; 6 after 60 paid in a row).")
    self_payment: SelfPaymentDue | None = strawberry.field(
        description="For people who pay for themselves: the next payment and any arrears.")

    @strawberry.field(description="Days the status changed, newest first, over recent months.")
    async def history(self, info: Info[Context, None], months: int = 24) -> list[StatusChange]:
        if not 1 <= months <= 60:
            raise BadUserInput(message("range", name="months", low=1, high=60))
        facts = await info.context.loaders.status_facts.load((self.person_id, self.language))
        since = month_start(month_index(self.as_of) - months)
        changes = status_changes(
            since=since, until=self.as_of, memberships=facts.memberships,
            contributions=facts.contributions, rates=await info.context.rates(),
        )
        return [
            StatusChange(
                on=change.on,
                status=InsuranceStatusCode(change.result.status.value),
                reason=await build_reason(info, change.result.reason, self.language),
            )
            for change in reversed(changes)
        ]


async def insurance_status(info: Info[Context, None], person_id: uuid.UUID) -> InsuranceStatus:
    """The status of ``person_id`` today, in the reader's language."""
    context = info.context
    language = await context.language()
    result = context.loaders.known_status(person_id, language, context.today)
    if result is None:
        result = await context.loaders.status(context.today, context.rates).load(
            (person_id, language))
    due = result.self_payment
    return InsuranceStatus(
        person_id=person_id,
        language=language,
        as_of=context.today,
        status=InsuranceStatusCode(result.status.value),
        status_name=pick(STATUS_NAMES[result.status], language),
        reason=await build_reason(info, result.reason, language),
        guaranteed_until=result.guaranteed_until,
        last_paid_period=(None if result.last_paid_period is None
                          else YearMonth(result.last_paid_period)),
        grace_months=result.grace_months,
        self_payment=None if due is None else SelfPaymentDue(
            person_id=person_id,
            language=language,
            monthly_amount=Money.of_tiyn(due.monthly_amount_tiyn),
            next_period=YearMonth(due.next_period),
            next_due_date=due.next_due_date,
            arrears_periods=[YearMonth(period) for period in due.arrears_periods],
            arrears=Money.of_tiyn(due.arrears_tiyn),
        ),
    )
