"""Money, days, months, names and length limits for push and inbox texts, in kk, ru and en.

Amounts are tiyn (1 tenge = 100 tiyn).  Russian dates take the genitive month ("3 ноября
2026 г."), periods the nominative ("октябрь 2026"); Kazakh puts the year first ("2026 жылғы
3 қараша") and has the locative, ablative and dative of each month for "on", "since" and
"up to".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

LANGUAGES: Final = ("kk", "ru", "en")
NBSP: Final = "\u00a0"
ELLIPSIS: Final = "…"

MONTHS: Final[Mapping[str, tuple[str, ...]]] = {
    "kk": ("қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
           "қыркүйек", "қазан", "қараша", "желтоқсан"),
    "ru": ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
           "сентябрь", "октябрь", "ноябрь", "декабрь"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
RU_GENITIVE: Final = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля",
                      "августа", "сентября", "октября", "ноября", "декабря")
# "on 3 November": 2026 жылғы 3 қарашада
KK_LOCATIVE: Final = ("қаңтарда", "ақпанда", "наурызда", "сәуірде", "мамырда", "маусымда",
                      "шілдеде", "тамызда", "қыркүйекте", "қазанда", "қарашада", "желтоқсанда")
# "since 3 November": 2026 жылғы 3 қарашадан (бастап)
KK_ABLATIVE: Final = ("қаңтардан", "ақпаннан", "наурыздан", "сәуірден", "мамырдан",
                      "маусымнан", "шілдеден", "тамыздан", "қыркүйектен", "қазаннан",
                      "қарашадан", "желтоқсаннан")

# "up to November": қарашаға (дейін)
KK_DATIVE: Final = ("қаңтарға", "ақпанға", "наурызға", "сәуірге", "мамырға", "маусымға",
                    "шілдеге", "тамызға", "қыркүйекке", "қазанға", "қарашаға", "желтоқсанға")

_PERIOD: Final = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def check_language(language: str) -> str:
    """``language`` itself when it is one of ``LANGUAGES``; ValueError otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    return language


def format_amount(tiyn: int, language: str) -> str:
    """Tenge as the whole app writes it: "12 400 ₸", "12 400,50 ₸" (kk, ru: no-break spaces),
    "12,400.50 ₸" (en); a no-break space before ₸ in every language."""
    check_language(language)
    sign = "-" if tiyn < 0 else ""
    whole, cents = divmod(abs(tiyn), 100)
    grouped = f"{whole:,}"
    if language == "en":
        return f"{sign}{grouped}" + (f".{cents:02d}" if cents else "") + f"{NBSP}₸"
    fraction = f",{cents:02d}" if cents else ""
    return f"{sign}{grouped.replace(',', NBSP)}{fraction}{NBSP}₸"


def format_date(day: date, language: str) -> str:
    """A day: "2026 жылғы 3 қараша", "3 ноября 2026 г.", "3 November 2026"."""
    check_language(language)
    if language == "ru":
        return f"{day.day} {RU_GENITIVE[day.month - 1]} {day.year} г."
    if language == "en":
        return f"{day.day} {MONTHS['en'][day.month - 1]} {day.year}"
    return f"{day.year} жылғы {day.day} {MONTHS['kk'][day.month - 1]}"


def date_on(day: date, language: str) -> str:
    """A day as an adverbial of time: "2026 жылғы 3 қарашада", "3 ноября 2026 г.",
    "on 3 November 2026"."""
    if language == "kk":
        return f"{day.year} жылғы {day.day} {KK_LOCATIVE[day.month - 1]}"
    if language == "en":
        return f"on {format_date(day, language)}"
    return format_date(day, language)


def date_since(day: date, language: str) -> str:
    """"Since" a day: "2026 жылғы 3 қарашадан бастап", "с 3 ноября 2026 г.",
    "since 3 November 2026"."""
    if language == "kk":
        return f"{day.year} жылғы {day.day} {KK_ABLATIVE[day.month - 1]} бастап"
    if language == "en":
        return f"since {format_date(day, language)}"
    return f"с {format_date(day, language)}"


def date_by(day: date, language: str) -> str:
    """"By" a day (a deadline): "2026 жылғы 8 желтоқсанға дейін", "до 8 декабря 2026 г.",
    "by 8 December 2026"."""
    if language == "kk":
        return f"{day.year} жылғы {day.day} {KK_DATIVE[day.month - 1]} дейін"
    if language == "en":
        return f"by {format_date(day, language)}"
    return f"до {format_date(day, language)}"


def format_period(period: str, language: str) -> str:
    """A month "YYYY-MM": "2026 жылғы қазан", "октябрь 2026", "October 2026"."""
    check_language(language)
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period YYYY-MM: {period!r}")
    year, month = match.group(1), MONTHS[language][int(match.group(2)) - 1]
    if language == "kk":
        return f"{year} жылғы {month}"
    return f"{month} {year}"


def parse_day(value: object) -> date:
    """A payload's "YYYY-MM-DD" as a date."""
    if not isinstance(value, str):
        raise ValueError(f"not a date YYYY-MM-DD: {value!r}")
    return date.fromisoformat(value)


def name_in(names: Mapping[str, Any] | None, language: str, *, limit: int = 60) -> str:
    """A three-language name in ``language`` (another language when that one is empty),
    clipped to ``limit`` characters; "" when there is none."""
    if not names:
        return ""
    for candidate in (language, *LANGUAGES):
        value = names.get(candidate)
        if isinstance(value, str) and value.strip():
            return clip(" ".join(value.split()), limit)
    return ""


def plural(count: int, forms: Sequence[str], language: str) -> str:
    """"5 services": ``forms`` is (one, few, many) for ru, (one, other) for en, (one,) for kk
    (a Kazakh noun after a numeral stays singular)."""
    if language == "ru":
        if count % 10 == 1 and count % 100 != 11:
            form = forms[0]
        elif 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
            form = forms[1]
        else:
            form = forms[2]
    elif language == "en":
        form = forms[0] if count == 1 else forms[1]
    else:
        form = forms[0]
    return f"{count} {form}"


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:—-") + ELLIPSIS


def fit_list(head: str, items: Sequence[str], more: str, end: str, limit: int) -> str:
    """``head`` + as many ``items`` ("; "-joined) as fit in ``limit`` characters, then
    ``more`` (with ``{n}``, the number left out) and ``end``."""
    for shown in range(len(items), 0, -1):
        left = len(items) - shown
        listed = "; ".join(items[:shown])
        if left:
            listed += "; " + more.format(n=left)
        text = head + listed + end
        if len(text) <= limit:
            return text
    return clip(head + (items[0] if items else "") + end, limit)


def tidy(text: str) -> str:
    """Collapse the doubled full stop after a Russian "г." that ends a sentence."""
    return text.replace("г..", "г.")
