"""Medical providers, the service catalogue, and what the Fund paid for a person's care."""

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
from backend.models.enums import (
    OrgOwnership,
    Package,
    ProviderKind,
    QualityZone,
    ServiceCategory,
    Sex,
)


class Provider(Trilingual, Timestamped, Base):
    """A medical organisation under contract with the Fund."""

    __tablename__ = "provider"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    kind: Mapped[ProviderKind] = mapped_column(str_enum(ProviderKind, "provider_kind"))
    ownership: Mapped[OrgOwnership] = mapped_column(str_enum(OrgOwnership, "ownership", 8))
    quality_zone: Mapped[QualityZone] = mapped_column(str_enum(QualityZone, "quality_zone", 8))

    __table_args__ = (
        CheckConstraint("core.iin_check_digit_ok(bin)", name="bin_valid"),
        Index(None, "region_code"),
    )


class MedicalService(Trilingual, Base):
    """A service of the catalogue, with who it is meant for (used to spot impossible bills)."""

    __tablename__ = "medical_service"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    package: Mapped[Package] = mapped_column(str_enum(Package, "service_package", 8))
    category: Mapped[ServiceCategory] = mapped_column(
        str_enum(ServiceCategory, "service_category")
    )
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex, "service_sex", 1))
    min_age: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    max_age: Mapped[int] = mapped_column(SmallInteger, server_default="120")

    __table_args__ = (CheckConstraint("min_age <= max_age", name="age_range"),)


class ServicePayment(Timestamped, Base):
    """An amount the Fund paid a provider for a service given to a person.

    Partitioned by a hash of ``person_id`` as ``Contribution`` is (migration 0019); the
    sender's record id is unique through ``ServicePaymentKey``.
    """

    __tablename__ = "service_payment"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provider.id"))
    service_code: Mapped[str] = mapped_column(ForeignKey("medical_service.code"))
    care_date: Mapped[date] = mapped_column(Date)
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    package: Mapped[Package] = mapped_column(str_enum(Package, "payment_package", 8))
    paid_on: Mapped[date] = mapped_column(Date)
    practitioner_ref: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(128))
    withdrawal_of: Mapped[int | None] = mapped_column(BigInteger)
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    batch_id: Mapped[int | None] = mapped_column(BigInteger)  # no foreign key: migration 0021

    __table_args__ = (
        # A withdrawal (money withheld for a defect) is its own negative row pointing at the
        # payment it takes back from; history keeps both.
        CheckConstraint("amount_tiyn <> 0 AND (withdrawal_of IS NULL) = (amount_tiyn > 0)",
                        name="amount_sign"),
        ForeignKeyConstraint(["withdrawal_of", "person_id"],
                             ["service_payment.id", "service_payment.person_id"]),
        CheckConstraint("paid_on >= care_date", name="paid_after_care"),
        Index("ix_service_payment_withdrawal_of", "withdrawal_of",
              postgresql_where=text("withdrawal_of IS NOT NULL")),
        Index("ix_service_payment_flagged", id.desc(),
              postgresql_where=text("flags <> '{}'::text[]")),
        Index("ix_service_payment_practitioner_day", "provider_id", "practitioner_ref",
              "care_date", postgresql_where=text("practitioner_ref IS NOT NULL")),
        Index("ix_service_payment_person_care_date", "person_id", care_date.desc(), id.desc()),
        {"postgresql_partition_by": "HASH (person_id)"},
    )


class ServicePaymentKey(Base):
    """The sender's record id of every service payment, unique across the partitions (as
    ``ContributionKey`` is for contributions)."""

    __tablename__ = "service_payment_key"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[uuid.UUID]
