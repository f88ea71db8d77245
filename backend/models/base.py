"""Declarative base of the insurance domain (PostgreSQL schema ``core``)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, MetaData, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SCHEMA = "core"


class Base(DeclarativeBase):
    """Base of every ``core`` table."""

    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)


class Timestamped:
    """``created_at`` set by the database, in UTC."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Trilingual:
    """A name in Kazakh, Russian and English (every string a person reads exists in all three)."""

    name_kk: Mapped[str] = mapped_column(Text)
    name_ru: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)

    def name_in(self, language: str) -> str:
        """The name in ``language`` (kk, ru or en)."""
        name: str = getattr(self, f"name_{language}")
        return name


def str_enum(enum_cls: type[enum.Enum], name: str, length: int = 32) -> Enum:
    """A VARCHAR + CHECK column for a string enum (values, not names; easy to extend later)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )
