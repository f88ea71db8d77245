"""GraphQL types of cases as a citizen reads them: their own (``me.cases``, a covered service's
``case``) and their minor children's (``me.children { cases }``, each read in the child's
access log)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.care.types import CoveredServiceType, covered_services
from backend.disputes import repository, rules, texts
from backend.disputes.repository import DisputeRow, StepRow
from backend.errors import NotFound
from backend.family.looks import record_look
from backend.family.repository import children_of
from backend.gql.context import Context
from backend.gql.enums import mirrors
from backend.gql.nodes import Node, global_id
from backend.gql.pagination import Connection, dated_connection
from backend.gql.scalars import Money
from backend.i18n import format_money, pick
from backend.messages import message
from backend.models.disputes import (
    Answer,
    DisputeAction,
    DisputeActor,
    DisputeCategory,
    DisputeState,
)
from notifications.formatting import date_by

V = strawberry.enum_value
LOOK = "service_reports"
"""The access log's purpose for a look at someone's cases (a parent's, a reviewer's)."""


@strawberry.enum(name="DisputeState", description="Where a case stands.")
@mirrors(DisputeState)
class DisputeStateType(Enum):
    SUBMITTED = V("submitted", description="Received; waiting for a reviewer of the Fund.")
    IN_REVIEW = V("in_review", description="A reviewer of the Fund is checking it.")
    CONFIRMED = V("confirmed", description="The Fund found the report true and took the "
                                           "payment back from the provider.")
    NOT_CONFIRMED = V("not_confirmed", description="The Fund did not find the report true; "
                                                   "its explanation says why.")


@strawberry.enum(name="DisputeCategory", description="What a report says is wrong (from its "
                                                      "answers); it sets the deadline.")
@mirrors(DisputeCategory)
class DisputeCategoryType(Enum):
    NOT_RECEIVED = V("not_received", description="The care was not given at all (15 days).")
    ASKED_TO_PAY = V("asked_to_pay", description="The patient was asked to pay for care the "
                                                 "Fund paid for (15 days).")
    WRONG_DATE = V("wrong_date", description="The care was given on another day (30 days).")
    UNSURE = V("unsure", description="The patient does not remember it (30 days).")


@strawberry.enum(name="ReportAnswer", description="An answer to a question of a report.")
@mirrors(Answer)
class ReportAnswerType(Enum):
    YES = V("yes", description="Yes.")
    NO = V("no", description="No.")
    NOT_SURE = V("not_sure", description="I am not sure.")


@strawberry.enum(name="DisputeActor", description="Who changed a case.")
@mirrors(DisputeActor)
class DisputeActorType(Enum):
    CITIZEN = V("citizen", description="The patient, in the app.")
    GUARDIAN = V("guardian", description="The patient's parent or legal guardian, in the app.")
    INTEGRATOR = V("integrator", description="A reviewer of the Fund, through its system.")


@strawberry.enum(name="DisputeAction", description="What a change of a case did.")
@mirrors(DisputeAction)
class DisputeActionType(Enum):
    REPORTED = V("reported", description="The report was sent.")
    ASSIGNED = V("assigned", description="A reviewer was given the case (a submitted case "
                                         "goes into review).")
    CONFIRMED = V("confirmed", description="Resolved: confirmed.")
    NOT_CONFIRMED = V("not_confirmed", description="Resolved: not confirmed.")


@strawberry.type(name="DisputeStep", description="A day a case changed state.")
class DisputeStepType:
    at: datetime = strawberry.field(description="When.")
    state: DisputeStateType = strawberry.field(description="The state it moved to.")
    by: DisputeActorType = strawberry.field(
        description="Who moved it: you (or your parent), or the Fund.")


def reporter_of(row: DisputeRow) -> DisputeActorType:
    """Who reported: the patient, or a parent or guardian for them."""
    return DisputeActorType.CITIZEN if row.person_id == row.reported_by \
        else DisputeActorType.GUARDIAN


def _summary(row: DisputeRow, language: str, today: date) -> str:
    state = DisputeState(row.state)
    if state is DisputeState.CONFIRMED:
        if row.recovered_tiyn:
            return texts.summary("confirmed", language,
                                 amount=format_money(row.recovered_tiyn, language))
        return texts.summary("confirmed_nothing", language)
    if state is DisputeState.NOT_CONFIRMED:
        return texts.summary("not_confirmed", language)
    key = "overdue" if rules.overdue(state, row.due_on, today) else "open"
    return texts.summary(key, language, due=date_by(row.due_on, language))


@strawberry.type(name="DisputeCase",
                 description="A report that a covered service was not received as billed "
                             "(\"I did not receive this\"), and what the Fund made of it.")
class DisputeCaseType(Node):
    row: strawberry.Private[DisputeRow]
    state: DisputeStateType = strawberry.field(description="Where the case stands.")
    state_name: str = strawberry.field(description="The state in the reader's language.")
    category: DisputeCategoryType = strawberry.field(
        description="What the report says is wrong (it sets the deadline).")
    care_given: ReportAnswerType = strawberry.field(description="Was the care given at all?")
    date_correct: ReportAnswerType | None = strawberry.field(
        description="Was it given on the day billed? (null: not answered)")
    asked_to_pay: bool = strawberry.field(description="Was the patient asked to pay for it?")
    amount_asked: Money | None = strawberry.field(
        description="How much the patient was asked to pay, when they said.")
    comment: str | None = strawberry.field(description="The reporter's own words, if any.")
    reported_on: date = strawberry.field(description="The day the report was sent.")
    deadline: date = strawberry.field(description="The last day the Fund has to answer.")
    overdue: bool = strawberry.field(description="Still open after its deadline.")
    reporter: DisputeActorType = strawberry.field(
        description="CITIZEN: the patient reported it; GUARDIAN: a parent or guardian did.")
    summary: str = strawberry.field(
        description="Where it stands in one sentence, in the reader's language.")
    resolution: str | None = strawberry.field(
        description="The Fund's explanation in the reader's language (once resolved).")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    recovered: Money | None = strawberry.field(
        description="Confirmed: what the Fund took back from the provider (also listed among "
                    "the covered services as a withdrawal).")

    @classmethod
    def build(cls, row: DisputeRow, language: str, today: date) -> DisputeCaseType:
        """The case in ``language``, judged on ``today``."""
        state = DisputeState(row.state)
        return cls(
            id=global_id("DisputeCase", row.id), row=row, state=DisputeStateType(row.state),
            state_name=pick(texts.STATES[row.state], language),
            category=DisputeCategoryType(row.category),
            care_given=ReportAnswerType(row.care_given),
            date_correct=None if row.date_correct is None else ReportAnswerType(
                row.date_correct),
            asked_to_pay=row.asked_to_pay,
            amount_asked=None if row.amount_asked_tiyn is None else Money.of_tiyn(
                row.amount_asked_tiyn),
            comment=row.comment, reported_on=row.reported_on, deadline=row.due_on,
            overdue=rules.overdue(state, row.due_on, today), reporter=reporter_of(row),
            summary=_summary(row, language, today), resolution=row.resolution_in(language),
            resolved_at=row.resolved_at,
            recovered=None if row.recovered_tiyn is None else Money.of_tiyn(
                row.recovered_tiyn))

    @strawberry.field(description="The covered service the report is about.")
    async def service(self, info: Info[Context, None]) -> CoveredServiceType:
        payment = await info.context.loaders.payment.load(self.row.service_payment_id)
        if payment is None:
            raise NotFound(message("missing_reference"))
        [built] = await covered_services(info.context, [payment])
        return built

    @strawberry.field(description="The days the case changed state, oldest first.")
    async def history(self, info: Info[Context, None]) -> list[DisputeStepType]:
        steps = await info.context.loaders.case_steps.load(self.row.id) or []
        return [_step(step) for step in steps if step.from_state != step.to_state]

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[DisputeCaseType | None]:
        """Cases about the signed-in citizen's care, or their minor children's (a look in the
        child's access log); nobody else's."""
        citizen = info.context.require_citizen()
        keys = [int(value) if value.isdigit() else -1 for value in node_ids]
        found = await repository.by_ids(info.context.reads, keys)
        allowed = {key: row for key, row in found.items()
                   if await may_read(info, citizen.person_id, row.person_id)}
        return await _built(info, [allowed.get(key) for key in keys])


def _step(step: StepRow) -> DisputeStepType:
    return DisputeStepType(at=step.at, state=DisputeStateType(step.to_state),
                           by=DisputeActorType(step.actor_kind))


async def may_read(info: Info[Context, None], reader: uuid.UUID, patient: uuid.UUID) -> bool:
    """Whether ``reader`` may read ``patient``'s cases: their own, or a minor child's today
    (that look is recorded in the child's access log)."""
    if reader == patient:
        return True
    links = await children_of(info.context.reads, reader, info.context.today, child_id=patient)
    if not links:
        return False
    await record_look(info, child_id=patient, guardian_id=reader, link_id=links[0].link_id,
                      purpose=LOOK)
    return True


async def _built(info: Info[Context, None], rows: Sequence[DisputeRow | None]
                 ) -> list[DisputeCaseType | None]:
    language = await info.context.language()
    return [None if row is None else DisputeCaseType.build(row, language, info.context.today)
            for row in rows]


async def case_page(info: Info[Context, None], person_id: uuid.UUID, *, first: int | None,
                    after: str | None) -> Connection[DisputeCaseType]:
    """A page of the cases about ``person_id``'s care, newest report first (the caller has
    decided that the reader may see them)."""

    async def nodes(rows: Sequence[DisputeRow]) -> list[DisputeCaseType]:
        return [case for case in await _built(info, rows) if case is not None]

    return await dated_connection(
        info.context, kind="dispute_case", first=first, after=after,
        fetch=lambda db, limit, cursor: repository.page(db, person_id, limit=limit,
                                                        after=cursor),
        key=lambda row: (row.reported_on, row.id), nodes=nodes)


async def case_of_service(info: Info[Context, None], payment_id: int
                          ) -> DisputeCaseType | None:
    """The newest case of a covered service (its reader was decided by how the service was
    reached)."""
    row = await info.context.loaders.case_of_service.load(payment_id)
    if row is None:
        return None
    [built] = await _built(info, [row])
    return built


@strawberry.type(description="A report sent: the case it opened.")
class ReportServicePayload:
    case: DisputeCaseType = strawberry.field(description="The new case (state SUBMITTED).")
    reports_left_today: int = strawberry.field(
        description="How many more reports you may send today (yourself and your children "
                    "together).")
