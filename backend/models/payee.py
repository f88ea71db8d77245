"""Where a self-payer's money goes: the payee's published bank details, dated (they change)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, Identity, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class PayeeAccount(Base):
    """The account self-payers pay into, as the Fund publishes it, from ``valid_from`` on.

    The row in force on a day is the one with the latest ``valid_from`` not after it; a change
    of account is a new row, never an edit, so a receipt from last year still reads against the
    details of its day.  ``knp`` is the payment purpose code of self-payers' contributions;
    ``source`` cites where the details were taken from (demonstration rows say so there).
    """

    __tablename__ = "payee_account"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date)
    payee_name_kk: Mapped[str] = mapped_column(Text)
    payee_name_ru: Mapped[str] = mapped_column(Text)
    payee_name_en: Mapped[str] = mapped_column(Text)
    bin: Mapped[str] = mapped_column(String(12))
    iban: Mapped[str] = mapped_column(String(20))
    bic: Mapped[str] = mapped_column(String(11))
    bank_name_kk: Mapped[str] = mapped_column(Text)
    bank_name_ru: Mapped[str] = mapped_column(Text)
    bank_name_en: Mapped[str] = mapped_column(Text)
    knp: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("valid_from"),
        CheckConstraint("core.iin_check_digit_ok(bin)", name="bin_valid"),
        CheckConstraint("iban ~ '^KZ[0-9]{2}[0-9A-Z]{16}$'", name="iban_format"),
        CheckConstraint("bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$'", name="bic_format"),
        CheckConstraint("knp ~ '^[0-9]{3}$'", name="knp_format"),
        CheckConstraint("length(source) > 0", name="source_given"),
    )
