"""Stored statuses: each person's status as last computed, and the history of its changes.

The status is a pure function of the facts (``backend.status``); it is stored so that a
change can be noticed (and announced) when facts arrive or time passes.  ``stable_until`` is
the first day on which the stored status could change with no new fact (a deadline, a month
start, a category's start or end): before it, money arriving for an INSURED person cannot
change the status (adding money never lowers it, and INSURED is the highest).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class PersonStatus(Base):
    """The status of a person as computed on ``as_of``."""

    __tablename__ = "person_status"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                                 primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    stable_until: Mapped[date] = mapped_column(Date)
    # The day the person becomes not insured if nothing new arrives (the day after
    # ``guaranteed_until``; None: not insured already, or an open-ended category), and whether
    # they pay for themselves: what the daily warnings job reads (``backend.status.warnings``).
    drops_on: Mapped[date | None] = mapped_column(Date)
    self_pays: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The engine's whole result on ``as_of`` (``backend.status.stored``), which readers show
    # while it is fresh; None: a write left it stale, and the worker's status pass recomputes
    # it (migration 0018).
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (
        Index(None, "stable_until"),
        Index("ix_person_status_drops_on", "drops_on",
              postgresql_where=text("drops_on IS NOT NULL")),
        Index("ix_person_status_self_pays", "person_id", postgresql_where=text("self_pays")),
        Index("ix_person_status_stale", "person_id", postgresql_where=text("detail IS NULL")),
    )


class StatusHistory(Base):
    """One change of a person's status: from what, to what, on which day, and why."""

    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                                 primary_key=True)
    changed_on: Mapped[date] = mapped_column(Date)
    old_status: Mapped[str | None] = mapped_column(Text)
    new_status: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (Index("ix_status_history_person", "person_id", changed_on.desc(),
                            id.desc()),)


class IngestionBatch(Base):
    """One batch or file an integrator sent, and what became of its records."""

    __tablename__ = "ingestion_batch"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    records: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    rejected: Mapped[int] = mapped_column(BigInteger)
