"""Reference data: regions, preferential categories, and the dated table of rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Identity,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, Trilingual, str_enum
from backend.models.enums import ContributionKind, PayerKind, RegionKind
from backend.rates.book import RateBase


class Region(Trilingual, Base):
    """One of the 17 oblasts and 3 cities of republican significance (ISO 3166-2:KZ)."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    kind: Mapped[RegionKind] = mapped_column(str_enum(RegionKind, "region_kind", 8))

    __table_args__ = (CheckConstraint("code ~ '^KZ-[0-9]{2}$'", name="code_format"),)


class PreferentialCategory(Trilingual, Base):
    """A group of people for whom the state or a local budget pays (a list kept as data)."""

    __tablename__ = "preferential_category"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    payer_kind: Mapped[PayerKind] = mapped_column(str_enum(PayerKind, "category_payer_kind", 16))
    confirmed_2026: Mapped[bool] = mapped_column(Boolean)


class MinimumWage(Base):
    """The minimum monthly wage (MZP) of a year, the base of most caps and fixed payments."""

    __tablename__ = "minimum_wage"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (CheckConstraint("amount_tiyn > 0", name="amount_positive"),)


class ContributionRate(Base):
    """A dated rule: how much one kind of contribution is for a month (see ``RateBook``)."""

    __tablename__ = "contribution_rate"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    kind: Mapped[ContributionKind] = mapped_column(
        str_enum(ContributionKind, "rate_contribution_kind")
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    base: Mapped[RateBase] = mapped_column(str_enum(RateBase, "rate_base", 16))
    base_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), server_default="1")
    cap_mzp: Mapped[int | None] = mapped_column(SmallInteger)
    base_amount_tiyn: Mapped[int | None] = mapped_column(BigInteger)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("kind", "valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        CheckConstraint(
            "(base = 'average_wage') = (base_amount_tiyn IS NOT NULL)", name="average_wage_base"
        ),
    )
