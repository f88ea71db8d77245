"""The demo's one open case: the first cast member (Айгерім Ахметова) has reported her latest
covered service as never received, so ``make run`` shows a case waiting for the Fund (her
service's ``case``, ``me.cases``, and the reviewers' queue)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.demo.cast import CAST
from backend.disputes import rules
from backend.models.disputes import Answer, DisputeCategory

COMMENT = "Бұл күні емханаға бармадым, бұл қабылдау туралы білмеймін."
""""I did not go to the clinic that day; I know nothing about this visit.\""""
_OPEN = text(
    "WITH latest AS (SELECT s.id, s.person_id, s.provider_id, p.region_code"
    " FROM core.service_payment s JOIN core.provider p ON p.id = s.provider_id"
    " WHERE s.person_id = :person AND s.withdrawal_of IS NULL"
    " ORDER BY s.care_date DESC, s.id DESC LIMIT 1),"
    " opened AS (INSERT INTO core.dispute (service_payment_id, person_id, reported_by,"
    " provider_id, region_code, care_given, asked_to_pay, comment, category, state,"
    " reported_on, due_on)"
    " SELECT id, person_id, person_id, provider_id, region_code, :care_given, false, :comment,"
    " :category, 'submitted', :today, :due FROM latest RETURNING id, person_id)"
    " INSERT INTO core.dispute_event (dispute_id, person_id, action, to_state, actor_kind,"
    " actor_id, actor_name)"
    " SELECT id, person_id, 'reported', 'submitted', 'citizen', person_id::text, :name"
    " FROM opened")


async def open_cast_case(conn: AsyncConnection, as_of: date) -> None:
    """The first cast member's case about her latest covered service, reported ``as_of``
    (none when she has no care in this demo)."""
    reporter = CAST[0]
    category = DisputeCategory.NOT_RECEIVED
    await conn.execute(_OPEN, {
        "person": reporter.id, "care_given": Answer.NO.value, "comment": COMMENT,
        "category": category.value, "today": as_of, "due": rules.due_on(category, as_of),
        "name": f"{reporter.first_name} {reporter.last_name}"})
