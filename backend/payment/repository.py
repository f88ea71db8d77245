"""SQL for the payee's dated details (``core.payee_account``), on the read path (``db.reads``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.db.reads import Fetcher


@dataclass(frozen=True, slots=True)
class PayeeRow:
    """The payee's details in force on a day (names in the three languages)."""

    valid_from: date
    payee_name_kk: str
    payee_name_ru: str
    payee_name_en: str
    bin: str
    iban: str
    bic: str
    bank_name_kk: str
    bank_name_ru: str
    bank_name_en: str
    knp: str
    source: str

    def payee_name(self, language: str) -> str:
        """The payee's name in ``language`` (kk, ru or en)."""
        name: str = getattr(self, f"payee_name_{language}")
        return name

    def bank_name(self, language: str) -> str:
        """The bank's name in ``language`` (kk, ru or en)."""
        name: str = getattr(self, f"bank_name_{language}")
        return name


PAYEE_ON = (
    "SELECT valid_from, payee_name_kk, payee_name_ru, payee_name_en, bin, iban, bic,"
    " bank_name_kk, bank_name_ru, bank_name_en, knp, source"
    " FROM core.payee_account WHERE valid_from <= $1 ORDER BY valid_from DESC LIMIT 1"
)


async def payee_on(db: Fetcher, day: date) -> PayeeRow | None:
    """The details in force on ``day`` (the latest ``valid_from`` not after it), if any."""
    rows = await db.fetch(PAYEE_ON, day)
    if not rows:
        return None
    row = rows[0]
    return PayeeRow(**{name: row[name] for name in PayeeRow.__dataclass_fields__})
