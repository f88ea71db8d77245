"""Words a person reads, in Kazakh, Russian and English: months, dates, money, and messages.

Every string here exists in all three languages (a test walks the tables).  Dates are shown
as the person reads them ("3 November 2025", "3 ноября 2025 г.", "2025 жылғы 3 қараша").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

# One way to write months, dates and money, shared with the push texts (notifications may
# not import backend; backend may import notifications).
from notifications.formatting import LANGUAGES, MONTHS, RU_GENITIVE, format_date
from notifications.formatting import format_amount as format_money

__all__ = ["LANGUAGES", "MONTHS", "NamedInThree", "Texts", "format_date", "format_money",
           "format_month", "pick"]

Texts = Mapping[str, str]
"""One text in each language, keyed by language code."""


def pick(texts: Texts, language: str) -> str:
    """The text in ``language``, falling back to Kazakh (the default language)."""
    return texts.get(language) or texts["kk"]


def format_month(month: date, language: str, *, genitive: bool = False) -> str:
    """A calendar month as a person reads it: "October 2025", "октябрь 2025 г."
    (``genitive``: "октября 2025 г.", for Russian after "после"; other languages ignore it)."""
    if language == "ru":
        name = (RU_GENITIVE if genitive else MONTHS["ru"])[month.month - 1]
        return f"{name} {month.year} г."
    name = MONTHS[language if language in MONTHS else "kk"][month.month - 1]
    if language == "en":
        return f"{name} {month.year}"
    return f"{month.year} жылғы {name}"


class NamedInThree:
    """A mixin for read rows with ``name_kk``, ``name_ru`` and ``name_en``."""

    __slots__ = ()

    def name_in(self, language: str) -> str:
        """The name in ``language`` (kk, ru or en)."""
        name: str = getattr(self, f"name_{language}")
        return name
