"""The words of critical notices sent by SMS, in the person's language.

An SMS is not a push: it has no title, no link and no app around it, and every character
costs.  Kazakh and Russian are written in Cyrillic, so their texts go as UCS-2: 70 characters
make one segment, 134 two.  Each text here stays within two segments with the longest values
it can take (``tests/notifications/test_sms_texts.py`` checks it), names no one (the phone may
be shared), and says where to act: the app, or the Fund's call centre 1406.  Days are written
as DD.MM.YYYY, which reads the same in the three languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from notifications.formatting import parse_day

LANGUAGES: Final = ("kk", "ru", "en")
MAX_SEGMENTS: Final = 2

TEXTS: Final[dict[str, dict[str, str]]] = {
    # status.warning: cover ends on {day} unless a contribution arrives.
    "warning.self": {
        "kk": "МӘМС: жарна түспесе, {day} бастап сақтандырылмаған боласыз. Қалай төлеу керегі "
              "қосымшада, 1406.",
        "ru": "ОСМС: с {day} вы не будете застрахованы, если не поступит взнос. Как оплатить: "
              "приложение, 1406.",
        "en": "MHI: from {day} you will not be insured unless a contribution arrives. How to "
              "pay: see the app or call 1406.",
    },
    "warning.employee": {
        "kk": "МӘМС: жарна түспесе, {day} бастап сақтандырылмаған боласыз. Жұмыс берушіңізден "
              "нақтылаңыз. Анықтама: 1406.",
        "ru": "ОСМС: с {day} вы не будете застрахованы, если не поступит взнос. Уточните у "
              "работодателя. Справки: 1406.",
        "en": "MHI: from {day} you will not be insured unless a contribution arrives. Check "
              "with your employer. Info: 1406.",
    },
    # status.changed down to the grace period: insured only until {day} unless money comes.
    "grace": {
        "kk": "МӘМС: сіз шартты түрде сақтандырылғансыз. Жарна түспесе, {day} бастап "
              "сақтандырылмаған боласыз. Толығырақ: қосымша, 1406.",
        "ru": "ОСМС: вы застрахованы условно. Если взнос не поступит, с {day} вы не будете "
              "застрахованы. Подробнее: приложение, 1406.",
        "en": "MHI: you are conditionally insured. Unless a contribution arrives, from {day} "
              "you will not be insured. More: the app or 1406.",
    },
    "grace.undated": {
        "kk": "МӘМС: сіз шартты түрде сақтандырылғансыз: жарна түспесе, сақтандырудан "
              "айырыласыз. Толығырақ: қосымша, 1406.",
        "ru": "ОСМС: вы застрахованы условно: если взнос не поступит, страховка прекратится. "
              "Подробнее: приложение, 1406.",
        "en": "MHI: you are conditionally insured: unless a contribution arrives, your cover "
              "ends. More: the app or call 1406.",
    },
    # status.changed down to not insured, since {day}.
    "lost": {
        "kk": "МӘМС: {day} бастап сіз сақтандырылмағансыз. Қалай қалпына келтіру керегі "
              "қосымшада, 1406.",
        "ru": "ОСМС: с {day} вы не застрахованы. Как восстановить страховку: приложение, 1406.",
        "en": "MHI: from {day} you are not insured. How to get cover back: see the app or call "
              "1406.",
    },
}


def _day(value: object) -> str:
    day: date = parse_day(value)
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def sms_text(kind: str, payload: Mapping[str, Any], language: str) -> str:
    """The SMS of a critical event in ``language``; ValueError (or KeyError) for an event
    that has no SMS or a malformed payload."""
    if language not in LANGUAGES:
        raise ValueError(f"no SMS texts in {language!r}")
    if kind == "status.warning":
        self_payer = payload["selfPayer"]
        if not isinstance(self_payer, bool):
            raise ValueError(f"selfPayer must be true or false: {self_payer!r}")
        key = "warning.self" if self_payer else "warning.employee"
        return TEXTS[key][language].format(day=_day(payload["dropsOn"]))
    if kind == "status.changed":
        status = str(payload["newStatus"]).upper()
        if status == "CONDITIONALLY_INSURED":
            changes = payload.get("changesOn")
            if changes:
                return TEXTS["grace"][language].format(day=_day(changes))
            return TEXTS["grace.undated"][language]
        if status == "NOT_INSURED":
            return TEXTS["lost"][language].format(day=_day(payload["on"]))
    raise ValueError(f"no SMS for {kind} ({payload.get('newStatus', '')})")
