"""Cases a citizen opens about a covered service ("I did not receive this"), and their history.

A case is about one service payment (a positive row of ``core.service_payment``); ``person_id``
is the patient, ``reported_by`` the citizen who reported it (the patient, or their parent or
legal guardian).  The provider and its region are copied onto the case, so the statistics
group cases without touching the payments.  At most one case per service is open (submitted
or in review): a partial unique index says so whatever door a report comes through.

``dispute_event`` is the case's history: one row per change with who made it (a citizen, a
guardian, an integrator client and the reviewer's name).  It is append-only: a trigger
refuses ``UPDATE`` and ``DELETE`` (migration 0013).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Timestamped, str_enum


class DisputeState(enum.StrEnum):
    """Where a case stands: submitted → in review → confirmed or not confirmed."""

    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"


OPEN_STATES = (DisputeState.SUBMITTED, DisputeState.IN_REVIEW)
RESOLVED_STATES = (DisputeState.CONFIRMED, DisputeState.NOT_CONFIRMED)


class DisputeCategory(enum.StrEnum):
    """What the answers say is wrong (``backend.disputes.rules.category_of``)."""

    NOT_RECEIVED = "not_received"
    """The care was not given at all: a bill for nothing."""
    ASKED_TO_PAY = "asked_to_pay"
    """The care was given, but the patient was asked to pay for what the Fund paid."""
    WRONG_DATE = "wrong_date"
    """The care was given on another day than the bill says."""
    UNSURE = "unsure"
    """The patient does not remember receiving it."""


class Answer(enum.StrEnum):
    """An answer to one of the questions of a report."""

    YES = "yes"
    NO = "no"
    NOT_SURE = "not_sure"


class DisputeActor(enum.StrEnum):
    """Who changed a case."""

    CITIZEN = "citizen"
    """The patient, in the app."""
    GUARDIAN = "guardian"
    """The patient's parent or legal guardian, in the app."""
    INTEGRATOR = "integrator"
    """A reviewer of the Fund, through an integrator client with ``disputes:write``."""


class DisputeAction(enum.StrEnum):
    """What a change did."""

    REPORTED = "reported"
    ASSIGNED = "assigned"
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"


_OPEN = ", ".join(f"'{state.value}'" for state in OPEN_STATES)
_RESOLVED = ", ".join(f"'{state.value}'" for state in RESOLVED_STATES)
COMMENT_LENGTH = 500
ASSIGNEE_LENGTH = 100


class Dispute(Timestamped, Base):
    """One report about one covered service, and what the Fund made of it."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    service_payment_id: Mapped[int] = mapped_column(BigInteger)
    """The patient's own payment: ``(service_payment_id, person_id)`` is its key (0019)."""
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), primary_key=True)
    # No foreign key: a parent reporting for a child may live on another shard (migration 0020).
    reported_by: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provider.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    care_given: Mapped[Answer] = mapped_column(str_enum(Answer, "dispute_care_given", 8))
    date_correct: Mapped[Answer | None] = mapped_column(
        str_enum(Answer, "dispute_date_correct", 8))
    asked_to_pay: Mapped[bool] = mapped_column(Boolean)
    amount_asked_tiyn: Mapped[int | None] = mapped_column(BigInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    category: Mapped[DisputeCategory] = mapped_column(
        str_enum(DisputeCategory, "dispute_category", 16))
    state: Mapped[DisputeState] = mapped_column(str_enum(DisputeState, "dispute_state", 16))
    reported_on: Mapped[date] = mapped_column(Date)
    """The day in Kazakhstan the report arrived (the daily limit counts by it)."""
    due_on: Mapped[date] = mapped_column(Date)
    """The last day the Fund has to resolve it (``reported_on`` + the category's days)."""
    assignee: Mapped[str | None] = mapped_column(String(ASSIGNEE_LENGTH))
    resolution_kk: Mapped[str | None] = mapped_column(Text)
    resolution_ru: Mapped[str | None] = mapped_column(Text)
    resolution_en: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recovered_tiyn: Mapped[int | None] = mapped_column(BigInteger)
    """What a confirmed case took back from the provider (0: nothing was left to take)."""
    recovery_id: Mapped[int | None] = mapped_column(BigInteger)
    """The withdrawal row that took it back (``service_payment.withdrawal_of`` the service)."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"comment IS NULL OR char_length(comment) <= {COMMENT_LENGTH}",
                        name="comment_length"),
        CheckConstraint("amount_asked_tiyn IS NULL OR (asked_to_pay AND amount_asked_tiyn > 0)",
                        name="amount_asked"),
        CheckConstraint("state = 'submitted' OR assignee IS NOT NULL", name="assigned"),
        CheckConstraint(
            f"(state IN ({_RESOLVED})) = (resolved_at IS NOT NULL AND resolution_kk IS NOT NULL"
            " AND resolution_ru IS NOT NULL AND resolution_en IS NOT NULL)",
            name="resolution"),
        CheckConstraint("(recovered_tiyn IS NOT NULL) = (state = 'confirmed')"
                        " AND (recovery_id IS NOT NULL) = (coalesce(recovered_tiyn, 0) > 0)",
                        name="recovery"),
        CheckConstraint("due_on >= reported_on", name="due_after_report"),
        ForeignKeyConstraint(["service_payment_id", "person_id"],
                             ["service_payment.id", "service_payment.person_id"]),
        ForeignKeyConstraint(["recovery_id", "person_id"],
                             ["service_payment.id", "service_payment.person_id"]),
        # One open case per service, whoever reports it and however many try at once.
        Index("ix_dispute_open_service", "service_payment_id", "person_id", unique=True,
              postgresql_where=text(f"state IN ({_OPEN})")),
        Index("ix_dispute_service", "service_payment_id", id.desc()),
        Index("ix_dispute_person_reported", "person_id", reported_on.desc(), id.desc()),
        Index("ix_dispute_reporter_day", "reported_by", "reported_on"),
        Index("ix_dispute_queue", "due_on", "id"),
        Index("ix_dispute_state_queue", "state", "due_on", "id"),
        Index("ix_dispute_provider", "provider_id", "due_on", "id"),
    )


class DisputeEvent(Base):
    """One change of a case, with its actor: the case's append-only history."""

    __tablename__ = "dispute_event"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dispute_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    """The case's person (its key under a distribution by person: migration 0020)."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    action: Mapped[DisputeAction] = mapped_column(
        str_enum(DisputeAction, "dispute_action", 16))
    from_state: Mapped[DisputeState | None] = mapped_column(
        str_enum(DisputeState, "dispute_from_state", 16))
    to_state: Mapped[DisputeState] = mapped_column(
        str_enum(DisputeState, "dispute_to_state", 16))
    actor_kind: Mapped[DisputeActor] = mapped_column(
        str_enum(DisputeActor, "dispute_actor", 16))
    actor_id: Mapped[str] = mapped_column(Text)
    """The person's id (citizen, guardian) or the integrator's client id."""
    actor_name: Mapped[str] = mapped_column(Text)
    """The person's name, or the integrator client's name."""
    organization: Mapped[str] = mapped_column(Text, server_default="")
    reviewer: Mapped[str | None] = mapped_column(String(ASSIGNEE_LENGTH))
    """The Fund's reviewer who acted through the integrator (their name as the Fund gives it)."""
    assignee: Mapped[str | None] = mapped_column(String(ASSIGNEE_LENGTH))

    __table_args__ = (
        ForeignKeyConstraint(["dispute_id", "person_id"], ["dispute.id", "dispute.person_id"],
                             name="fk_dispute_event_dispute_id_dispute"),
        Index("ix_dispute_event_dispute", "dispute_id", "id"),
    )
