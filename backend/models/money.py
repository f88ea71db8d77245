"""Payers and the contributions they send for people."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Timestamped, Trilingual, str_enum
from backend.models.enums import ContributionKind, PayerKind


class Payer(Trilingual, Timestamped, Base):
    """An employer (by BIN), the republican budget, or a local budget.

    A person who pays for themself is not a payer row: their contributions have no payer.
    """

    __tablename__ = "payer"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    kind: Mapped[PayerKind] = mapped_column(str_enum(PayerKind, "payer_kind", 16))
    bin: Mapped[str | None] = mapped_column(String(12), unique=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))

    __table_args__ = (
        CheckConstraint("(kind = 'employer') = (bin IS NOT NULL)", name="employer_has_bin"),
        CheckConstraint("bin IS NULL OR core.iin_check_digit_ok(bin)", name="bin_valid"),
        CheckConstraint(
            "(kind = 'local_budget') = (region_code IS NOT NULL) OR kind = 'employer'",
            name="local_budget_has_region",
        ),
    )


# Which payer kinds and payment codes (КНП) each contribution kind admits.
KIND_RULES = (
    "(kind = 'employer_deduction' AND payment_code = 121 AND payer_kind = 'employer')"
    " OR (kind = 'employee_contribution' AND payment_code = 122 AND payer_kind = 'employer')"
    " OR (kind IN ('self_payment', 'entrepreneur_contribution') AND payment_code = 122"
    " AND payer_kind IS NULL)"
    " OR (kind = 'state_contribution' AND payment_code IS NULL"
    " AND payer_kind IN ('state', 'local_budget'))"
)


class Contribution(Timestamped, Base):
    """Money received for one person for one calendar month.

    ``(source, source_record_id)`` is the sender's identity of the record: ingestion is
    idempotent on it, and ``ContributionKey`` keeps it unique.  ``payer_kind`` repeats the
    payer's kind so that the rules on kind, payer and payment code hold as a constraint on the
    row itself.

    Partitioned by a hash of ``person_id`` into 16 partitions (migration 0019,
    ``docs/scaling.md#partitioning``): the primary key holds ``person_id``, and a refund
    points at its original by ``(refund_of, person_id)``, the same person's row.
    """

    __tablename__ = "contribution"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), primary_key=True)
    payer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payer.id"))
    payer_kind: Mapped[PayerKind | None] = mapped_column(
        str_enum(PayerKind, "contribution_payer_kind", 16)
    )
    kind: Mapped[ContributionKind] = mapped_column(str_enum(ContributionKind, "contribution_kind"))
    period: Mapped[date] = mapped_column(Date)
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    payment_code: Mapped[int | None] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    refund_of: Mapped[int | None] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(BigInteger)  # no foreign key: migration 0021
    # Anomalies the ingestion found (AFTER_DEATH): stored, not refused, for the Fund to review.
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))

    __table_args__ = (
        ForeignKeyConstraint(["refund_of", "person_id"],
                             ["contribution.id", "contribution.person_id"]),
        CheckConstraint("extract(day FROM period) = 1", name="period_is_month"),
        # A refund is its own row, negative, pointing at what it returns; history keeps both.
        CheckConstraint("amount_tiyn <> 0 AND (refund_of IS NULL) = (amount_tiyn > 0)",
                        name="amount_sign"),
        Index("ix_contribution_refund_of", "refund_of",
              postgresql_where=text("refund_of IS NOT NULL")),
        Index("ix_contribution_flagged", id.desc(),
              postgresql_where=text("flags <> '{}'::text[]")),
        CheckConstraint("(payer_id IS NULL) = (payer_kind IS NULL)", name="payer_kind_matches"),
        CheckConstraint(KIND_RULES, name="kind_payer_code"),
        Index("ix_contribution_person_period", "person_id", period.desc(), id.desc()),
        {"postgresql_partition_by": "HASH (person_id)"},
    )


class ContributionKey(Base):
    """The sender's record id of every contribution, unique across the partitions.

    A table partitioned by person cannot hold a unique constraint on ``(source,
    source_record_id)``: this table is that constraint, kept by the database (statement
    triggers on ``core.contribution``, migration 0019), and the way from a record id to its
    row's partition (``id``, ``person_id``).
    """

    __tablename__ = "contribution_key"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[uuid.UUID]
