"""The Fund's reviewers: the queue of cases (``disputes``, scope ``disputes:read``), and
assigning and resolving them (``assignDispute``, ``resolveDispute``, scope ``disputes:write``),
through an integrator client on behalf of a named reviewer.

A reviewer reads the case and the payment it is about (provider, service, day, amount, the
sender's record id to find the claim in the Fund's own systems), never the patient's name or
IIN.  Each read is still a look at a person's care: it is written in the patient's access log
(purpose ``service_reports``, reason ``scope``).  Assigning a submitted case puts it in review
(there is no separate "start"); only a case in review is resolved, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from auth.principals import Integrator, Scope
from backend.access import audit
from backend.care.repository import ProviderRow
from backend.care.types import MedicalServiceType, ProviderType
from backend.disputes import repository, rules, service
from backend.disputes.mutations import refused
from backend.disputes.repository import QueueFilter, ReviewRow, StepRow
from backend.disputes.rules import Refusal
from backend.disputes.service import Actor
from backend.disputes.types import (
    LOOK,
    DisputeActionType,
    DisputeActorType,
    DisputeCategoryType,
    DisputeStateType,
    ReportAnswerType,
    reporter_of,
)
from backend.errors import BadUserInput, NotFound
from backend.gql.context import Context
from backend.gql.nodes import ID_LENGTH, global_id, parse_global_id
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from backend.gql.permissions import IntegratorScope, guarded
from backend.gql.scalars import Money
from backend.gql.strings import text_argument, text_field
from backend.inbox.mutations import TrilingualInput
from backend.messages import message
from backend.models.disputes import (
    ASSIGNEE_LENGTH,
    DisputeActor,
    DisputeCategory,
    DisputeState,
)

Ctx = Info[Context, None]
AnId = Annotated[strawberry.ID, text_argument(ID_LENGTH, "The case's global id "
                                                         "(DisputeCase).")]
Reviewer = Annotated[str, text_argument(rules.REVIEWER_LENGTH,
                                        "The Fund's reviewer acting (their name as the Fund "
                                        "gives it): kept in the case's history.")]


@strawberry.type(description="The Fund's explanation in the three languages of the app.")
class DisputeResolution:
    kk: str = strawberry.field(description="Kazakh.")
    ru: str = strawberry.field(description="Russian.")
    en: str = strawberry.field(description="English.")


@strawberry.type(description="One change of a case, with who made it.")
class DisputeReviewStep:
    at: datetime = strawberry.field(description="When.")
    action: DisputeActionType = strawberry.field(description="What it did.")
    from_state: DisputeStateType | None = strawberry.field(
        description="The state before (null: the report itself).")
    to_state: DisputeStateType = strawberry.field(description="The state after.")
    actor: DisputeActorType = strawberry.field(
        description="The patient, a parent or guardian, or an integrator client.")
    client_name: str | None = strawberry.field(
        description="The integrator client's name (null for a citizen's change).")
    organization: str | None = strawberry.field(
        description="The integrator's organization (null for a citizen's change).")
    reviewer: str | None = strawberry.field(description="The Fund's reviewer who acted.")
    assignee: str | None = strawberry.field(description="Whom the case was assigned to.")

    @classmethod
    def of(cls, step: StepRow) -> DisputeReviewStep:
        """A history line (a citizen's name is not shown)."""
        by_integrator = step.actor_kind == DisputeActor.INTEGRATOR.value
        return cls(at=step.at, action=DisputeActionType(step.action),
                   from_state=None if step.from_state is None else DisputeStateType(
                       step.from_state),
                   to_state=DisputeStateType(step.to_state),
                   actor=DisputeActorType(step.actor_kind),
                   client_name=step.actor_name if by_integrator else None,
                   organization=step.organization if by_integrator else None,
                   reviewer=step.reviewer, assignee=step.assignee)


@strawberry.type(description="A case as the Fund's reviewers see it: the report and the "
                             "payment it is about. No person is named.")
class DisputeReview:
    row: strawberry.Private[ReviewRow]
    id: strawberry.ID = strawberry.field(description="The case's global id (DisputeCase).")
    state: DisputeStateType = strawberry.field(description="Where the case stands.")
    category: DisputeCategoryType = strawberry.field(description="What the report says.")
    care_given: ReportAnswerType = strawberry.field(description="Was the care given at all?")
    date_correct: ReportAnswerType | None = strawberry.field(
        description="Was it given on the day billed? (null: not answered)")
    asked_to_pay: bool = strawberry.field(description="Was the patient asked to pay?")
    amount_asked: Money | None = strawberry.field(description="How much, when they said.")
    comment: str | None = strawberry.field(description="The reporter's words (plain text).")
    reporter: DisputeActorType = strawberry.field(
        description="CITIZEN (the patient) or GUARDIAN (a parent for a minor).")
    reported_on: date = strawberry.field(description="The day of the report.")
    deadline: date = strawberry.field(description="The last day to resolve it.")
    overdue: bool = strawberry.field(description="Open after its deadline.")
    assignee: str | None = strawberry.field(description="The reviewer it is assigned to.")
    region_code: str = strawberry.field(description="The provider's region (ISO 3166-2:KZ).")
    care_date: date = strawberry.field(description="The day of care billed.")
    amount_paid: Money = strawberry.field(description="What the Fund paid for it.")
    service_code: str = strawberry.field(description="The catalogue code billed.")
    source: str = strawberry.field(description="Who sent the payment record (client id).")
    record_id: str = strawberry.field(description="The sender's id of the payment record.")
    resolution: DisputeResolution | None = strawberry.field(
        description="The Fund's explanation (once resolved).")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    recovered: Money | None = strawberry.field(
        description="Confirmed: what was taken back from the provider (a withdrawal of the "
                    "payment, source 'disputes', record id 'dispute:<case number>').")

    @classmethod
    def build(cls, review: ReviewRow, today: date) -> DisputeReview:
        """The reviewer's view of one case."""
        row = review.case
        resolution = None if row.resolution_kk is None else DisputeResolution(
            kk=row.resolution_kk, ru=row.resolution_ru or "", en=row.resolution_en or "")
        return cls(
            row=review, id=global_id("DisputeCase", row.id), state=DisputeStateType(row.state),
            category=DisputeCategoryType(row.category),
            care_given=ReportAnswerType(row.care_given),
            date_correct=None if row.date_correct is None else ReportAnswerType(
                row.date_correct),
            asked_to_pay=row.asked_to_pay,
            amount_asked=None if row.amount_asked_tiyn is None else Money.of_tiyn(
                row.amount_asked_tiyn),
            comment=row.comment, reporter=reporter_of(row), reported_on=row.reported_on,
            deadline=row.due_on,
            overdue=rules.overdue(DisputeState(row.state), row.due_on, today),
            assignee=row.assignee, region_code=row.region_code, care_date=review.care_date,
            amount_paid=Money.of_tiyn(review.amount_tiyn), service_code=review.service_code,
            source=review.source, record_id=review.source_record_id, resolution=resolution,
            resolved_at=row.resolved_at,
            recovered=None if row.recovered_tiyn is None else Money.of_tiyn(
                row.recovered_tiyn))

    @strawberry.field(description="The provider billed.")
    async def provider(self, info: Ctx) -> ProviderType:
        found: ProviderRow | None = await info.context.loaders.provider.load(
            self.row.case.provider_id)
        if found is None:
            raise NotFound(message("missing_reference"))
        return ProviderType.build(found, await info.context.language())

    @strawberry.field(description="The service billed, from the catalogue.")
    async def service(self, info: Ctx) -> MedicalServiceType:
        found = await info.context.loaders.medical_service.load(self.row.service_code)
        if found is None:
            raise NotFound(message("missing_reference"))
        return MedicalServiceType.build(found, await info.context.language())

    @strawberry.field(description="Every change of the case, oldest first.")
    async def history(self, info: Ctx) -> list[DisputeReviewStep]:
        steps = await info.context.loaders.case_steps.load(self.row.case.id) or []
        return [DisputeReviewStep.of(step) for step in steps]


@strawberry.input(description="Which cases to list (every filter given must hold).")
class DisputeFilter:
    state: DisputeStateType | None = strawberry.field(default=None, description="One state.")
    category: DisputeCategoryType | None = strawberry.field(default=None,
                                                            description="One category.")
    provider_id: strawberry.ID | None = text_field(ID_LENGTH, "A Provider's global id.",
                                                   default=None)
    region_code: str | None = text_field(8, "The provider's region, e.g. KZ-75.", default=None)
    overdue: bool | None = strawberry.field(
        default=None, description="true: open past the deadline; false: the others.")
    assignee: str | None = text_field(ASSIGNEE_LENGTH, "Assigned to this reviewer.",
                                      default=None)

    def query(self) -> QueueFilter:
        """The repository's view (``BAD_USER_INPUT`` for a provider id that is not one)."""
        provider: uuid.UUID | None = None
        if self.provider_id is not None:
            type_name, key = parse_global_id(self.provider_id)
            try:
                provider = uuid.UUID(key)
            except ValueError:
                provider = None
            if type_name != "Provider" or provider is None:
                raise BadUserInput(message("invalid_id"))
        return QueueFilter(
            state=None if self.state is None else DisputeState[self.state.name].value,
            category=None if self.category is None else DisputeCategory[
                self.category.name].value,
            provider_id=provider, region_code=self.region_code, overdue=self.overdue,
            assignee=self.assignee)


async def _looked(info: Ctx, integrator: Integrator, people: Sequence[uuid.UUID],
                  scope: Scope) -> None:
    """The reviewer's look at these people's cases, in their access logs."""
    actor = audit.actor_of(integrator)
    if actor is not None:
        await audit.record(info.context.reads, actor, people, purpose=LOOK, reason="scope",
                           reference=scope.value)


async def queue(info: Ctx, where: DisputeFilter | None, first: int | None,
                after: str | None) -> Connection[DisputeReview]:
    """A keyset page of the reviewers' queue, the nearest deadline first."""
    integrator = await info.context.require_scope(Scope.DISPUTES_READ)
    size = page_size(first)
    key = decode_cursor("dispute_queue", after, 2, (str, int))
    cursor: tuple[date, int] | None = None
    if key is not None:
        try:
            cursor = (date.fromisoformat(key[0]), key[1])
        except ValueError:
            raise BadUserInput(message("bad_cursor")) from None
    today = info.context.today
    rows = await repository.queue(info.context.reads,
                                  (where or DisputeFilter()).query(), today=today,
                                  limit=size + 1, after=cursor)
    await _looked(info, integrator, [row.case.person_id for row in rows[:size]],
                  Scope.DISPUTES_READ)
    return build_connection(
        rows, size, kind="dispute_queue", has_previous=cursor is not None,
        key=lambda row: (row.case.due_on.isoformat(), row.case.id),
        nodes=[DisputeReview.build(row, today) for row in rows[:size]])


def _case_id(value: str) -> int:
    type_name, key = parse_global_id(value)
    if type_name != "DisputeCase" or not key.isdigit():
        raise refused(Refusal("DISPUTE_NOT_FOUND", "id"))
    return int(key)


async def _actor(info: Ctx, reviewer: str) -> tuple[Integrator, Actor]:
    integrator = await info.context.require_scope(Scope.DISPUTES_WRITE)
    name = rules.clean_line(reviewer, "reviewer", rules.REVIEWER_LENGTH)
    return integrator, Actor(DisputeActor.INTEGRATOR, integrator.client_id, integrator.name,
                             integrator.organization, name)


async def _answer(info: Ctx, integrator: Integrator, case_id: int) -> DisputeReview:
    review = (await repository.reviews_by_ids(info.context.reads, [case_id]))[case_id]
    await _looked(info, integrator, [review.case.person_id], Scope.DISPUTES_WRITE)
    return DisputeReview.build(review, info.context.today)


@strawberry.type
class DisputeReviewMutations:
    """The Fund's reviewers (integrators with disputes:write)."""

    @strawberry.mutation(
        description="Integrators (scope disputes:write): give a case to a reviewer. A "
                    "submitted case goes into review (the citizen is told); a case in review "
                    "changes hands. A resolved case cannot be assigned (BAD_USER_INPUT, "
                    "reason DISPUTE_RESOLVED).",
        extensions=guarded(IntegratorScope(Scope.DISPUTES_WRITE)))
    async def assign_dispute(
        self, info: Ctx, id: AnId,
        assignee: Annotated[str, text_argument(ASSIGNEE_LENGTH, "The reviewer who will "
                                                                "check the case.")],
        reviewer: Reviewer,
    ) -> DisputeReview:
        try:
            integrator, actor = await _actor(info, reviewer)
            case_id = _case_id(id)
            await service.assign(info.context.ingestion.engine, case_id=case_id,
                                 assignee=rules.clean_line(assignee, "assignee",
                                                           ASSIGNEE_LENGTH), actor=actor)
        except Refusal as refusal:
            raise refused(refusal, field=refusal.field) from None
        return await _answer(info, integrator, case_id)

    @strawberry.mutation(
        description="Integrators (scope disputes:write): resolve a case in review, confirmed "
                    "or not, with the Fund's explanation in kk, ru and en (the citizen reads "
                    "it). Confirmed: what is left of the payment is taken back from the "
                    "provider as a withdrawal. Only a case in review, and only once "
                    "(BAD_USER_INPUT, reason DISPUTE_NOT_IN_REVIEW or DISPUTE_RESOLVED).",
        extensions=guarded(IntegratorScope(Scope.DISPUTES_WRITE)))
    async def resolve_dispute(
        self, info: Ctx, id: AnId, confirmed: bool,
        explanation: Annotated[TrilingualInput, text_argument(
            rules.EXPLANATION_LENGTH, "Why, in each language (plain text).")],
        reviewer: Reviewer,
    ) -> DisputeReview:
        try:
            integrator, actor = await _actor(info, reviewer)
            case_id = _case_id(id)
            await service.resolve(
                info.context.ingestion.engine, case_id=case_id, confirmed=confirmed,
                explanation=rules.clean_explanation(
                    {"kk": explanation.kk, "ru": explanation.ru, "en": explanation.en}),
                actor=actor, today=info.context.today)
        except Refusal as refusal:
            raise refused(refusal, field=refusal.field) from None
        return await _answer(info, integrator, case_id)
