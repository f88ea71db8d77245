"""Guardianship: who may read a minor's data as their parent or legal guardian."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Timestamped, str_enum


class GuardianshipKind(enum.StrEnum):
    """How the adult stands to the child."""

    PARENT = "parent"
    GUARDIAN = "guardian"


class Guardianship(Timestamped, Base):
    """A link from an adult (``guardian_id``) to a child, as an integrator sent it.

    The link is data fed under the scope ``guardianship:write``; it is idempotent on the
    sender's record id (``source``, ``source_record_id``).  It holds from ``valid_from`` to
    ``valid_until`` (inclusive; open when NULL) unless the sender withdrew it (``ended_at``,
    ``ended_reason``).  Whatever these say, it ends on the child's 18th birthday: that rule is
    applied when the link is read (the child's birth date), so no job has to end it.
    """

    __tablename__ = "guardianship"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No foreign keys to ``core.person``: the link stays on the coordinator when people are
    # distributed (``backend.db.distribution``, migration 0020); the feed resolves both IINs to
    # people in the link's own transaction, and people are never deleted.
    guardian_id: Mapped[uuid.UUID]
    child_id: Mapped[uuid.UUID]
    kind: Mapped[GuardianshipKind] = mapped_column(
        str_enum(GuardianshipKind, "guardianship_kind", 16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    source_record_id: Mapped[str] = mapped_column(String(128))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("source", "source_record_id"),
        CheckConstraint("guardian_id <> child_id", name="not_self"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_range"),
        CheckConstraint("(ended_at IS NULL) = (ended_reason IS NULL)", name="ended_with_reason"),
        Index(None, "guardian_id"),
        Index(None, "child_id"),
    )
