"""Words a person reads, in Kazakh, Russian and English: months, dates, money, and messages.

Every string here exists in all three languages (a test walks the tables).  Dates are shown
as the person reads them ("3 November 2025", "3 ноября 2025 г.", "2025 жылғы 3 қараша").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final

LANGUAGES: Final = ("kk", "ru", "en")

Texts = Mapping[str, str]
"""One text in each language, keyed by language code."""

MONTHS: Final[Mapping[str, tuple[str, ...]]] = {
    "kk": ("қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
           "қыркүйек", "қазан", "қараша", "желтоқсан"),
    "ru": ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
           "сентябрь", "октябрь", "ноябрь", "декабрь"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}

# Russian dates take the genitive month: "3 ноября 2025 г."
_RU_GENITIVE: Final = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля",
                       "августа", "сентября", "октября", "ноября", "декабря")


def pick(texts: Texts, language: str) -> str:
    """The text in ``language``, falling back to Kazakh (the default language)."""
    return texts.get(language) or texts["kk"]


def format_month(month: date, language: str, *, genitive: bool = False) -> str:
    """A calendar month as a person reads it: "October 2025", "октябрь 2025 г."
    (``genitive``: "октября 2025 г.", for Russian after "после"; other languages ignore it)."""
    if language == "ru":
        name = (_RU_GENITIVE if genitive else MONTHS["ru"])[month.month - 1]
        return f"{name} {month.year} г."
    name = MONTHS[language if language in MONTHS else "kk"][month.month - 1]
    if language == "en":
        return f"{name} {month.year}"
    return f"{month.year} жылғы {name}"


def format_date(day: date, language: str) -> str:
    """A day as a person reads it: "3 November 2025", "3 ноября 2025 г."."""
    if language == "ru":
        return f"{day.day} {_RU_GENITIVE[day.month - 1]} {day.year} г."
    if language == "en":
        return f"{day.day} {MONTHS['en'][day.month - 1]} {day.year}"
    return f"{day.year} жылғы {day.day} {MONTHS['kk'][day.month - 1]}"


def format_money(tiyn: int, language: str) -> str:
    """An amount in tenge for reading: "12 400 ₸", "4 250,50 ₸" (ru, kk), "12,400 ₸" (en)."""
    sign = "-" if tiyn < 0 else ""
    whole, cents = divmod(abs(tiyn), 100)
    grouped = f"{whole:,}"
    if language == "en":
        fraction = f".{cents:02d}" if cents else ""
    else:
        grouped = grouped.replace(",", "\u00a0")
        fraction = f",{cents:02d}" if cents else ""
    return f"{sign}{grouped}{fraction}\u00a0₸"


class NamedInThree:
    """A mixin for read rows with ``name_kk``, ``name_ru`` and ``name_en``."""

    __slots__ = ()

    def name_in(self, language: str) -> str:
        """The name in ``language`` (kk, ru or en)."""
        name: str = getattr(self, f"name_{language}")
        return name
