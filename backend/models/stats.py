"""Public rollups (PostgreSQL schema ``stats``): what the public figures read, never the raw rows.

Each rollup has a ``_delta`` twin with the same columns and no key.  Statement-level triggers on
the raw tables (migration 0014) write aggregated deltas in the same transaction as the data;
``backend.transparency.rollups.fold`` deletes a batch of deltas and adds them to the rollups.
So a rollup is current up to the deltas not yet folded (seconds), and a delta exists iff the
data it describes was committed.  ``docs/transparency.md`` says what each cell means.

Months are the month the money is *for* (a contribution's ``period``, a service payment's
``care_date`` month); corrections carry the month of the row they correct.  Statuses are upper
case (``INSURED``, ``CONDITIONALLY_INSURED``, ``NOT_INSURED``), as the API spells them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base

STATS = "stats"
"""The schema of the rollups."""


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, server_default=text("0"))


class MoneyIn(Base):
    """Contributions by the month they pay for, the person's region, kind and payer kind."""

    __tablename__ = "money_in"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    payer_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``employer``, ``state``, ``local_budget``, or ``self`` (a person paying for themself)."""
    amount_tiyn: Mapped[int] = _count()
    payments: Mapped[int] = _count()
    """Contributions not entirely refunded."""

    __table_args__ = ({"schema": STATS},)


class MoneyOut(Base):
    """Service payments by the month of care, provider, package and service category."""

    __tablename__ = "money_out"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    package: Mapped[str] = mapped_column(String(8), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5))
    """The provider's region."""
    amount_tiyn: Mapped[int] = _count()
    services: Mapped[int] = _count()
    """Service payments not entirely withdrawn."""

    __table_args__ = (
        Index("ix_money_out_region_code_month", "region_code", "month"),
        Index("ix_money_out_provider_id_month", "provider_id", "month"),
        {"schema": STATS},
    )


class CashDay(Base):
    """Money that moved on a day (``paid_on``): in (contributions), out (service payments)."""

    __tablename__ = "cash_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    in_tiyn: Mapped[int] = _count()
    out_tiyn: Mapped[int] = _count()

    __table_args__ = ({"schema": STATS},)


class CashMonth(Base):
    """``cash_day`` summed by month (``month`` is its first day), so a balance reads few rows."""

    __tablename__ = "cash_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    in_tiyn: Mapped[int] = _count()
    out_tiyn: Mapped[int] = _count()

    __table_args__ = ({"schema": STATS},)


class Insured(Base):
    """People by region and status at a month's end (a snapshot of ``insured_now``).

    ``final`` is false for a snapshot taken before the month ended (the demo's current month,
    ``mhi stats snapshot --provisional``); the month-end snapshot replaces it and is never
    replaced itself.
    """

    __tablename__ = "insured"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    people: Mapped[int] = _count()
    final: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = ({"schema": STATS},)


class InsuredNow(Base):
    """People by their current region and stored status (``core.person_status``)."""

    __tablename__ = "insured_now"

    region_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    people: Mapped[int] = _count()

    __table_args__ = ({"schema": STATS},)


class ProviderFlags(Base):
    """Service payments flagged by the ingestion checks, per month of care, provider and flag."""

    __tablename__ = "provider_flags"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    flag: Mapped[str] = mapped_column(Text, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5))
    """The provider's region."""
    services: Mapped[int] = _count()

    __table_args__ = (
        Index("ix_provider_flags_provider_id_month", "provider_id", "month"),
        {"schema": STATS},
    )


class Disputes(Base):
    """Cases about a provider's services by the month reported and their state now."""

    __tablename__ = "disputes"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5))
    """The provider's region (as copied onto the case)."""
    cases: Mapped[int] = _count()

    __table_args__ = (
        Index("ix_disputes_provider_id_month", "provider_id", "month"),
        {"schema": STATS},
    )


ROLLUPS: tuple[type[Base], ...] = (MoneyIn, MoneyOut, CashDay, CashMonth, InsuredNow,
                                   ProviderFlags, Disputes)
"""The rollups kept by deltas (``insured`` is a snapshot of ``insured_now``)."""


def _delta(table: Table, name: str) -> Table:
    """``table``'s twin for deltas: the same columns, nullable keys off, no key or default."""
    columns = [Column(c.name, c.type, nullable=False) for c in table.columns
               if c.name != "final"]
    return Table(name, Base.metadata, *columns, schema=STATS)


MONEY_IN_DELTA = _delta(MoneyIn.__table__, "money_in_delta")  # type: ignore[arg-type]
MONEY_OUT_DELTA = _delta(MoneyOut.__table__, "money_out_delta")  # type: ignore[arg-type]
CASH_DAY_DELTA = _delta(CashDay.__table__, "cash_day_delta")  # type: ignore[arg-type]
INSURED_NOW_DELTA = _delta(InsuredNow.__table__, "insured_now_delta")  # type: ignore[arg-type]
PROVIDER_FLAGS_DELTA = _delta(ProviderFlags.__table__,  # type: ignore[arg-type]
                              "provider_flags_delta")
DISPUTES_DELTA = _delta(Disputes.__table__, "disputes_delta")  # type: ignore[arg-type]



class MonthChange(Base):
    """A version per measure and month, bumped by every fold that changes the month's rollup
    rows: what tells the releaser a month is due (``backend.transparency.release``)."""

    __tablename__ = "month_change"

    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``money_in``, ``money_out``, ``flags``, ``cases`` or ``insured``."""
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))

    __table_args__ = ({"schema": STATS},)


class Release(Base):
    """A month of a measure as released: the version protected, and whether its total was
    withheld because of the other months (``privacy.months_to_hide``)."""

    __tablename__ = "release"

    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    hide_total: Mapped[bool] = mapped_column(Boolean)
    final: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Insured people: whether the month-end snapshot was released (else a provisional one)."""
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=text("now()"))

    __table_args__ = ({"schema": STATS},)


class ReleaseCell(Base):
    """One cell of a released month: its true values and whether it is withheld (a withheld
    cell's values are never served, except when the balance gives them away anyway)."""

    __tablename__ = "release_cell"

    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``total``, ``region``, ``kind``, ``payer_kind``, ``package``, ``category``, ``provider``
    or ``provider_id`` (flags and cases)."""
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The value of the dimension (empty for the total)."""
    count: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    hidden: Mapped[bool] = mapped_column(Boolean)
    like_total: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = ({"schema": STATS},)


class Edition(Base):
    """What readers of a measure need besides the cells, as of the last release: the month it
    was released for, the months with figures, the months whose totals are withheld, and
    whether later months hold money."""

    __tablename__ = "edition"

    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    """The last ended month when it was released: readers on a later day protect in process
    until the worker releases again."""
    months: Mapped[list[date]] = mapped_column(ARRAY(Date))
    withheld: Mapped[list[date]] = mapped_column(ARRAY(Date))
    later: Mapped[bool] = mapped_column(Boolean)
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=text("now()"))

    __table_args__ = ({"schema": STATS},)


RELEASE_TABLES = ("month_change", "release", "release_cell", "edition")

STATS_TABLES = ("money_in", "money_out", "cash_day", "cash_month", "insured", "insured_now",
                "provider_flags", "disputes", "money_in_delta", "money_out_delta",
                "cash_day_delta", "insured_now_delta", "provider_flags_delta", "disputes_delta",
                *RELEASE_TABLES)
"""Every table of the schema (what a test or the demo's ``clear`` empties with the raw rows)."""
