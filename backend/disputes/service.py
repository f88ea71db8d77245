"""Changing a case: a citizen's report, a reviewer's assignment, the Fund's resolution.

Each change is one transaction: the case, a line of its history (``core.dispute_event``, with
the actor), and the ``dispute.updated`` event for the person who reported it
(``notify.outbox``, dedupe key ``dispute:<id>:<state>``, so a state is announced once) commit
together or not at all; a refused change raises ``Refusal`` and changes nothing.

Concurrency:

- One open case per service is the partial unique index's: two reports at once insert one
  case (``ON CONFLICT … DO NOTHING``); the other is told the case is already open.
- The daily limit is counted under a transaction-scoped advisory lock per reporter, so
  parallel reports by one citizen are counted one after another.
- Reporting takes the service payment ``FOR SHARE``; resolving takes it ``FOR NO KEY
  UPDATE`` (as ingestion does for a payment that a withdrawal names) before the case, so a
  report cannot slip in beside a confirmation, and a confirmed case's recovery and the
  ingestion's withdrawals of the same payment never take back more than it holds.
- A case is changed under ``SELECT … FOR UPDATE``: two reviewers resolving at once resolve it
  once; the second is told it is resolved.

A confirmed case takes the money back the way the Fund's withdrawals do: a negative
``service_payment`` row naming the payment (``withdrawal_of``) for what is left of it, with the
source ``disputes`` and the record id ``dispute:<id>``.  The citizen sees it among their
covered services as any withdrawal, and the money flow counts it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.reads import fetcher_of
from backend.disputes import rules
from backend.disputes.repository import DisputeRow, by_ids
from backend.disputes.rules import Answers, Refusal
from backend.ingest.pipeline import names_json
from backend.models.disputes import DisputeAction, DisputeActor, DisputeState
from notifications import outbox

RECOVERY_SOURCE = "disputes"
"""The ``service_payment.source`` of the withdrawals that confirmed cases make."""


@dataclass(frozen=True)
class Actor:
    """Who changes a case: a citizen or guardian (their person id and name), or an
    integrator client (its id, name and organization) with the reviewer who acted."""

    kind: DisputeActor
    id: str
    name: str
    organization: str = ""
    reviewer: str | None = None


_LOCK_REPORTER = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('dispute-report:' || :reporter, 0))")
_COUNT_TODAY = text(
    "SELECT count(*) FROM core.dispute WHERE reported_by = :reporter AND reported_on = :today")
_SERVICE = text(
    "SELECT s.id, s.person_id, s.provider_id, p.region_code, s.withdrawal_of"
    " FROM core.service_payment s JOIN core.provider p ON p.id = s.provider_id"
    " WHERE s.id = :service AND s.person_id = :patient FOR SHARE OF s")
_CONFIRMED = text(
    "SELECT 1 FROM core.dispute WHERE service_payment_id = :service AND state = 'confirmed'")
_INSERT = text(
    "INSERT INTO core.dispute (service_payment_id, person_id, reported_by, provider_id,"
    " region_code, care_given, date_correct, asked_to_pay, amount_asked_tiyn, comment,"
    " category, state, reported_on, due_on)"
    " VALUES (:service, :person, :reporter, :provider, :region, :care_given, :date_correct,"
    " :asked_to_pay, :amount, :comment, :category, 'submitted', :today, :due)"
    " ON CONFLICT (service_payment_id, person_id) WHERE state IN ('submitted', 'in_review')"
    " DO NOTHING"
    " RETURNING id")
# The line carries its case's person (the key a distribution by person needs: migration 0020).
_HISTORY = text(
    "INSERT INTO core.dispute_event (dispute_id, person_id, action, from_state, to_state,"
    " actor_kind, actor_id, actor_name, organization, reviewer, assignee)"
    " SELECT d.id, d.person_id, :action, :from_state, :to_state, :actor_kind, :actor_id,"
    " :actor_name, :organization, :reviewer, :assignee FROM core.dispute d WHERE d.id = :case")
_GUARDIAN_LOOK = text(
    "INSERT INTO core.access_log (person_id, actor_kind, actor_id, actor_name, organization,"
    " purpose, reason, reference)"
    " VALUES (:child, 'guardian', :parent, :name, '', 'service_report', 'guardianship',"
    " :link)")
# The event of a case's state, for the person who reported it: names (provider, service) so
# that the push needs no read of ``core``; the patient's first name when a parent reported
# for a child; ids, state, days and amounts for the payload builder (notifications).
_ANNOUNCE = "WITH " + outbox.cte("event", (  # noqa: S608 (constant fragments)
    "SELECT d.reported_by, 'dispute.updated', jsonb_build_object("  # noqa: S608
    "'caseId', d.id, 'serviceId', d.service_payment_id, 'state', upper(d.state),"
    " 'category', upper(d.category), 'careDate', s.care_date, 'dueOn', d.due_on,"
    " 'recoveredTiyn', d.recovered_tiyn,"
    " 'explanation', CASE WHEN d.resolution_kk IS NULL THEN NULL ELSE jsonb_build_object("
    "'kk', d.resolution_kk, 'ru', d.resolution_ru, 'en', d.resolution_en) END,"
    " 'provider', " + names_json("pr") + ", 'service', " + names_json("ms") + ","
    " 'patient', CASE WHEN d.person_id <> d.reported_by THEN pt.first_name END),"
    " 'dispute:' || d.id || ':' || d.state"
    " FROM core.dispute d JOIN core.service_payment s"
    " ON s.id = d.service_payment_id AND s.person_id = d.person_id"
    " JOIN core.provider pr ON pr.id = d.provider_id"
    " JOIN core.medical_service ms ON ms.code = s.service_code"
    " JOIN core.person pt ON pt.id = d.person_id WHERE d.id = :case"
)) + " SELECT count(*) FROM event"


async def _record(conn: AsyncConnection, case_id: int, action: DisputeAction,
                  before: DisputeState | None, after: DisputeState, actor: Actor,
                  assignee: str | None = None) -> None:
    """A line of the case's history, and the event when its state changed."""
    await conn.execute(_HISTORY, {
        "case": case_id, "action": action.value,
        "from_state": None if before is None else before.value, "to_state": after.value,
        "actor_kind": actor.kind.value, "actor_id": actor.id, "actor_name": actor.name,
        "organization": actor.organization, "reviewer": actor.reviewer,
        "assignee": assignee})
    if before is not after:
        await conn.execute(text(_ANNOUNCE), {"case": case_id})


async def _case(conn: AsyncConnection, case_id: int) -> DisputeRow:
    found = await by_ids(await fetcher_of(conn), [case_id])
    return found[case_id]


async def report(engine: AsyncEngine, *, reporter: Actor, patient: uuid.UUID, service_id: int,
                 answers: Answers, today: date, daily_limit: int,
                 guardianship: int | None = None) -> DisputeRow:
    """Open a case about ``service_id`` (a payment for ``patient``'s care) for ``reporter``
    (the patient, or the parent or guardian by the link ``guardianship``, whose look is
    written in the child's access log).  ``Refusal``: ``SERVICE_NOT_FOUND``,
    ``SERVICE_NOT_REPORTABLE`` (a withdrawal, not care), ``ALREADY_CONFIRMED``,
    ``CASE_ALREADY_OPEN``, ``DAILY_LIMIT``, or what ``rules.category_of`` refuses."""
    category = rules.category_of(answers)
    reporter_id = uuid.UUID(reporter.id)
    async with engine.begin() as conn:
        await conn.execute(_LOCK_REPORTER, {"reporter": reporter.id})
        service = (await conn.execute(_SERVICE, {"service": service_id,
                                                 "patient": patient})).first()
        if service is None or service.person_id != patient:
            raise Refusal("SERVICE_NOT_FOUND", "serviceId")
        if service.withdrawal_of is not None:
            raise Refusal("SERVICE_NOT_REPORTABLE", "serviceId")
        if (await conn.execute(_CONFIRMED, {"service": service_id})).first() is not None:
            raise Refusal("ALREADY_CONFIRMED", "serviceId")
        sent = (await conn.execute(_COUNT_TODAY, {"reporter": reporter_id,
                                                  "today": today})).scalar_one()
        if sent >= daily_limit:
            raise Refusal("DAILY_LIMIT")
        values: dict[str, Any] = {
            "service": service_id, "person": patient, "reporter": reporter_id,
            "provider": service.provider_id, "region": service.region_code,
            "care_given": answers.care_given.value,
            "date_correct": None if answers.date_correct is None else answers.date_correct.value,
            "asked_to_pay": answers.asked_to_pay, "amount": answers.amount_asked_tiyn,
            "comment": answers.comment, "category": category.value, "today": today,
            "due": rules.due_on(category, today)}
        case_id = (await conn.execute(_INSERT, values)).scalar()
        if case_id is None:
            raise Refusal("CASE_ALREADY_OPEN", "serviceId")
        await _record(conn, case_id, DisputeAction.REPORTED, None, DisputeState.SUBMITTED,
                      reporter)
        if guardianship is not None:
            await conn.execute(_GUARDIAN_LOOK, {"child": patient, "parent": reporter.id,
                                                "name": reporter.name,
                                                "link": str(guardianship)})
        return await _case(conn, case_id)


_LOCK_CASE = text("SELECT state FROM core.dispute WHERE id = :case FOR UPDATE")
_ASSIGN = text("UPDATE core.dispute SET state = :state, assignee = :assignee,"
               " updated_at = now() WHERE id = :case")


async def assign(engine: AsyncEngine, *, case_id: int, assignee: str, actor: Actor
                 ) -> DisputeRow:
    """Give a case to ``assignee`` (a submitted case goes into review; a case in review
    changes hands).  ``Refusal``: ``DISPUTE_NOT_FOUND``, ``DISPUTE_RESOLVED``."""
    async with engine.begin() as conn:
        state = (await conn.execute(_LOCK_CASE, {"case": case_id})).scalar()
        if state is None:
            raise Refusal("DISPUTE_NOT_FOUND", "id")
        before = DisputeState(state)
        after = rules.check_assignment(before)
        await conn.execute(_ASSIGN, {"case": case_id, "state": after.value,
                                     "assignee": assignee})
        await _record(conn, case_id, DisputeAction.ASSIGNED, before, after, actor, assignee)
        return await _case(conn, case_id)


# The case's payment by its key (id, person): one partition of core.service_payment (0019).
_SERVICE_OF_CASE = text(
    "SELECT service_payment_id, person_id FROM core.dispute WHERE id = :case")
_LOCK_PAYMENT = text(
    "SELECT s.amount_tiyn + coalesce((SELECT sum(w.amount_tiyn) FROM core.service_payment w"
    " WHERE w.withdrawal_of = s.id AND w.person_id = s.person_id), 0) AS left_tiyn"
    " FROM core.service_payment s WHERE s.id = :service AND s.person_id = :person"
    " FOR NO KEY UPDATE OF s")
_RECOVER = text(
    "INSERT INTO core.service_payment (person_id, provider_id, service_code, care_date,"
    " amount_tiyn, package, paid_on, practitioner_ref, source, source_record_id,"
    " withdrawal_of)"
    " SELECT person_id, provider_id, service_code, care_date, -CAST(:amount AS bigint),"
    " package, GREATEST(:today, care_date), practitioner_ref, :source, :record, id"
    " FROM core.service_payment WHERE id = :service AND person_id = :person RETURNING id")
_RESOLVE = text(
    "UPDATE core.dispute SET state = :state, resolution_kk = :kk, resolution_ru = :ru,"
    " resolution_en = :en, resolved_at = now(), recovered_tiyn = :recovered,"
    " recovery_id = :recovery, updated_at = now() WHERE id = :case")


async def resolve(engine: AsyncEngine, *, case_id: int, confirmed: bool,
                  explanation: dict[str, str], actor: Actor, today: date) -> DisputeRow:
    """Resolve a case in review: confirmed (what is left of the payment is taken back from
    the provider) or not, with the Fund's explanation in kk, ru and en.  ``Refusal``:
    ``DISPUTE_NOT_FOUND``, ``DISPUTE_RESOLVED``, ``DISPUTE_NOT_IN_REVIEW``."""
    async with engine.begin() as conn:
        payment = (await conn.execute(_SERVICE_OF_CASE, {"case": case_id})).first()
        if payment is None:
            raise Refusal("DISPUTE_NOT_FOUND", "id")
        service_id, person_id = payment
        left = int((await conn.execute(_LOCK_PAYMENT, {"service": service_id,
                                                       "person": person_id})).scalar_one())
        before = DisputeState((await conn.execute(_LOCK_CASE, {"case": case_id})).scalar_one())
        after = rules.check_resolution(before, confirmed)
        recovered: int | None = None
        recovery: int | None = None
        if confirmed:
            recovered = max(left, 0)
            if recovered:
                recovery = (await conn.execute(_RECOVER, {
                    "amount": recovered, "today": today, "source": RECOVERY_SOURCE,
                    "record": f"dispute:{case_id}", "service": service_id,
                    "person": person_id})).scalar_one()
        await conn.execute(_RESOLVE, {"case": case_id, "state": after.value, **explanation,
                                      "recovered": recovered, "recovery": recovery})
        action = DisputeAction.CONFIRMED if confirmed else DisputeAction.NOT_CONFIRMED
        await _record(conn, case_id, action, before, after, actor)
        return await _case(conn, case_id)
