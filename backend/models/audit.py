"""The access audit: every read of a person's data by anyone other than that person."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, str_enum


class ActorKind(enum.StrEnum):
    """Who looked."""

    STAFF = "staff"
    INTEGRATOR = "integrator"
    ADMIN = "admin"
    GUARDIAN = "guardian"
    """A parent or legal guardian reading their minor child's data."""


class AccessLogEntry(Base):
    """One look at one person's data: who, for which organization, what, when and why.

    ``purpose`` is a stable key (``profile``, ``insurance_status``, ``devices``,
    ``onboarding_code``, ``eligibility``) that the API words in the person's language;
    ``reason`` is the ground the look stood on (``consent``, ``scope``) and ``reference`` its
    id (the consent window, the scope's name).
    """

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                                 primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind", 16))
    actor_id: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str] = mapped_column(Text)
    organization: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_access_log_person_at", "person_id", at.desc(), id.desc()),
        # Retention prunes entries past their legal retention by age (migration 0017).
        Index("ix_access_log_at", "at"),
    )
