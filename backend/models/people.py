"""People and their preferential-category memberships."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Timestamped, str_enum
from backend.models.enums import Language, Sex


class Person(Timestamped, Base):
    """An insured (or not yet insured) person, identified inside the system by a UUID.

    The IIN is stored once, validated by its check digit and its agreement with the birth date
    and sex, both here (constraints) and at every door (``auth.identifiers``).
    """

    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    iin: Mapped[str] = mapped_column(String(12))
    """Unique through ``PersonIin`` (a key that a distribution by person can keep)."""
    last_name: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text)
    patronymic: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex", 1))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    language: Mapped[Language] = mapped_column(str_enum(Language, "language", 2))
    phone: Mapped[str | None] = mapped_column(String(12))
    death_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("core.iin_is_valid(iin)", name="iin_valid"),
        CheckConstraint(
            "substr(iin, 1, 6) = core.yymmdd(birth_date)", name="iin_matches_birth_date"
        ),
        CheckConstraint(
            "substr(iin, 7, 1) = core.iin_century_sex_digit(birth_date, sex)",
            name="iin_matches_century_and_sex",
        ),
        CheckConstraint(r"phone ~ '^\+7[0-9]{10}$'", name="phone_format"),
        CheckConstraint("death_date IS NULL OR death_date >= birth_date", name="death_after_birth"),
        Index(None, "region_code"),
        Index(None, "iin"),
    )


class PersonIin(Base):
    """The IIN's key: one row per person, kept by triggers on ``core.person`` (migration 0020).

    The IIN is unique here rather than on ``core.person``, whose keys must all hold the
    person's id once people are distributed by it (``backend.db.distribution``): this table
    stays on the coordinator, where IINs are resolved to people.
    """

    __tablename__ = "person_iin"

    iin: Mapped[str] = mapped_column(String(12), primary_key=True)
    person_id: Mapped[uuid.UUID]


class CategoryMembership(Timestamped, Base):
    """A period during which a person belongs to a preferential category (inclusive dates)."""

    __tablename__ = "category_membership"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"),
                                                 primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("preferential_category.code"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index(None, "person_id", "valid_from"),
    )
