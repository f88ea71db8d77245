"""The citizen's door to a case: ``reportService`` ("I did not receive this"), for their own
care or a minor child's.

A refused report changes nothing and is a GraphQL error with a code of the catalogue:
``NOT_FOUND`` (no such service, or not the reader's or their child's: the two are not told
apart), ``BAD_USER_INPUT`` with ``extensions.reason`` (``NOTHING_WRONG``,
``SERVICE_NOT_REPORTABLE``, ``CASE_ALREADY_OPEN``, ``ALREADY_CONFIRMED``,
``COMMENT_FORBIDDEN``, ``COMMENT_TOO_LONG``, ``AMOUNT_INVALID``) and ``extensions.field``, or
``RATE_LIMITED`` over the daily limit (``retryAfter``: the seconds until midnight in
Kazakhstan).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from backend.care import repository as care
from backend.disputes import rules, service, texts
from backend.disputes.repository import reports_on
from backend.disputes.rules import Answers, Refusal
from backend.disputes.service import Actor
from backend.disputes.types import DisputeCaseType, ReportAnswerType, ReportServicePayload
from backend.errors import AppError, BadUserInput, NotFound, RateLimited
from backend.family.repository import children_of
from backend.gql.context import Context
from backend.gql.nodes import ID_LENGTH, parse_global_id
from backend.gql.permissions import CitizenOnly, guarded
from backend.gql.strings import text_argument, text_field
from backend.models.disputes import COMMENT_LENGTH, Answer, DisputeActor

ALMATY = ZoneInfo("Asia/Almaty")
Ctx = Info[Context, None]


@strawberry.input(description="What the patient says about the service: the Fund's questions "
                               "(as openIMIS asks them) and, if they like, a few words.")
class ReportServiceInput:
    care_given: ReportAnswerType = strawberry.field(
        description="Was the care given at all? (NO: the bill is for nothing.)")
    date_correct: ReportAnswerType | None = strawberry.field(
        default=None, description="Was it given on the day billed? (Leave out when the care "
                                  "was not given.)")
    asked_to_pay: bool = strawberry.field(
        default=False, description="Were you asked to pay for it (the Fund paid already)?")
    amount_asked: str | None = text_field(
        16, "How much you were asked to pay, in tenge (\"5000\" or \"5000.50\"); only with "
            "askedToPay.", default=None)
    comment: str | None = text_field(
        COMMENT_LENGTH, "Anything else, in your own words: plain text (line breaks allowed, "
                        "no control characters).", default=None)

    def answers(self) -> Answers:
        """The service's view, checked (``Refusal`` for a bad amount or comment)."""
        return Answers(
            care_given=Answer[self.care_given.name],
            date_correct=None if self.date_correct is None else Answer[self.date_correct.name],
            asked_to_pay=self.asked_to_pay,
            amount_asked_tiyn=rules.parse_amount(self.amount_asked, self.asked_to_pay),
            comment=rules.clean_comment(self.comment))


def refused(refusal: Refusal, **values: object) -> AppError:
    """The typed error of a refusal (``extensions.reason`` and ``field`` say which)."""
    words = texts.refusal(refusal.reason, **values)
    error: AppError = (NotFound(words) if refusal.reason.endswith("_NOT_FOUND")
                       else BadUserInput(words))
    error.reason = refusal.reason
    error.field = refusal.field  # type: ignore[attr-defined]
    return error


def seconds_to_midnight(now: datetime | None = None) -> int:
    """Whole seconds until the next day begins in Kazakhstan (the daily limit's window)."""
    moment = (now or datetime.now(ALMATY)).astimezone(ALMATY)
    midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(),
                                ALMATY)
    return max(1, math.ceil((midnight - moment).total_seconds()))


async def _patient(info: Ctx, reader: uuid.UUID, payment_id: int) -> tuple[uuid.UUID, int | None]:
    """Whose care the payment is, and the guardianship link when it is a minor child's of
    ``reader``; ``NOT_FOUND`` when it is neither the reader's nor such a child's."""
    owner = await care.owner_of(info.context.reads, payment_id)
    if owner == reader:
        return reader, None
    if owner is not None:
        links = await children_of(info.context.reads, reader, info.context.today,
                                  child_id=owner)
        if links:
            return owner, links[0].link_id
    raise refused(Refusal("SERVICE_NOT_FOUND", "serviceId"))


def _payment_id(value: str) -> int:
    type_name, key = parse_global_id(value)
    if type_name != "CoveredService" or not key.isdigit():
        raise refused(Refusal("SERVICE_NOT_FOUND", "serviceId"))
    return int(key)


@strawberry.type
class DisputeMutations:
    """A citizen's report about a covered service."""

    @strawberry.mutation(
        description="\"I did not receive this\": report a covered service of yours, or of "
                    "your minor child's, that was not given as billed. Opens a case the Fund "
                    "reviews within its category's days; you are told of every change. One "
                    "open case per service; a few reports a day.",
        extensions=guarded(CitizenOnly()))
    async def report_service(
        self, info: Ctx,
        service_id: Annotated[strawberry.ID, text_argument(ID_LENGTH, "The CoveredService's "
                                                                      "global id.")],
        input: ReportServiceInput,
    ) -> ReportServicePayload:
        context = info.context
        citizen = context.require_citizen()
        language = await context.language()  # now known, for any refusal below
        payment_id = _payment_id(service_id)
        limit = context.dispute_daily_limit
        try:
            answers = input.answers()
            patient, link = await _patient(info, citizen.person_id, payment_id)
            person = await context.loaders.person.load(citizen.person_id)
            name = "" if person is None else f"{person.first_name} {person.last_name}"
            kind = DisputeActor.CITIZEN if link is None else DisputeActor.GUARDIAN
            row = await service.report(
                context.ingestion.engine, reporter=Actor(kind, str(citizen.person_id), name),
                patient=patient, service_id=payment_id, answers=answers, today=context.today,
                daily_limit=limit, guardianship=link)
        except Refusal as refusal:
            if refusal.reason == "DAILY_LIMIT":
                limited = RateLimited(texts.refusal("DAILY_LIMIT", limit=limit),
                                      seconds_to_midnight())
                limited.reason = refusal.reason
                raise limited from None
            raise refused(refusal, max=COMMENT_LENGTH) from None
        sent = await reports_on(context.reads, citizen.person_id, context.today)
        return ReportServicePayload(
            case=DisputeCaseType.build(row, language, context.today),
            reports_left_today=max(0, limit - sent))
