"""The status reason as a sentence in the reader's language, from its code and facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from backend.i18n import Texts, format_date, format_month, pick
from backend.status.models import Reason, ReasonCode, Status

STATUS_NAMES: Mapping[Status, Texts] = {
    Status.INSURED: {"kk": "Сақтандырылған", "ru": "Застрахован", "en": "Insured"},
    Status.CONDITIONALLY_INSURED: {
        "kk": "Шартты түрде сақтандырылған", "ru": "Условно застрахован",
        "en": "Conditionally insured",
    },
    Status.NOT_INSURED: {"kk": "Сақтандырылмаған", "ru": "Не застрахован",
                         "en": "Not insured"},
}

_TEMPLATES: Mapping[str, Texts] = {
    "state_category": {
        "kk": "Сақтандырылғансыз: сіз үшін мемлекет төлейді («{category}» санаты).",
        "ru": "Вы застрахованы: за вас платит государство (категория «{category}»).",
        "en": "Insured: the state pays for you (category “{category}”).",
    },
    "state_category_until": {
        "kk": "Сақтандырылғансыз: сіз үшін мемлекет төлейді («{category}» санаты, "
              "соңғы күні: {until}).",
        "ru": "Вы застрахованы: до {until} за вас платит государство "
              "(категория «{category}»).",
        "en": "Insured: the state pays for you until {until} (category “{category}”).",
    },
    "paid": {
        "kk": "Сақтандырылғансыз: {period} үшін жарна төленді, төлеуші — {payer}.",
        "ru": "Вы застрахованы: взносы за {period} оплачены, плательщик — {payer}.",
        "en": "Insured: {payer} paid for {period}.",
    },
    "paid_self": {
        "kk": "Сақтандырылғансыз: {period} үшін өз жарнаңыз түсті.",
        "ru": "Вы застрахованы: поступил ваш взнос за {period}.",
        "en": "Insured: your own payment for {period} has arrived.",
    },
    "prepaid": {
        "kk": "Сақтандырылғансыз: жарна алдын ала төленген, соңғы төленген ай — {period}.",
        "ru": "Вы застрахованы: взносы оплачены вперёд, последний оплаченный месяц — "
              "{period}.",
        "en": "Insured: paid in advance up to {period}.",
    },
    "grace_period": {
        "kk": "Шартты түрде сақтандырылғансыз (соңғы күні: {until}): соңғы төленген ай — "
              "{last_paid_period}, одан кейін жарна түскен жоқ.",
        "ru": "Вы условно застрахованы до {until}: после {last_paid_period_genitive} взносы "
              "не поступали.",
        "en": "Conditionally insured until {until}: no payment since {last_paid_period}.",
    },
    "contributions_stopped": {
        "kk": "Сақтандырылмағансыз (сақтандыру тоқтаған күн: {lost_on}): соңғы төленген "
              "ай — {last_paid_period}.",
        "ru": "Вы не застрахованы с {lost_on}: последний взнос был за {last_paid_period}.",
        "en": "Not insured since {lost_on}: the last payment was for {last_paid_period}.",
    },
    "no_contributions": {
        "kk": "Сақтандырылмағансыз: сіз үшін жарна түскен жоқ.",
        "ru": "Вы не застрахованы: взносы за вас не поступали.",
        "en": "Not insured: no contributions have been received for you.",
    },
}


def reason_text(reason: Reason, language: str, *, category_name: str | None = None) -> str:
    """The reason as one sentence, with months, dates and names in ``language``."""
    facts = reason.facts
    values: dict[str, str] = {"category": category_name or facts.get("category", "")}
    for key in ("period", "last_paid_period"):
        if key in facts:
            month = date.fromisoformat(facts[key] + "-01")
            values[key] = format_month(month, language)
            values[f"{key}_genitive"] = format_month(month, language, genitive=True)
    for key in ("until", "lost_on"):
        if key in facts:
            values[key] = format_date(date.fromisoformat(facts[key]), language)
    values["payer"] = facts.get("payer", "")
    template = reason.code.value
    if reason.code is ReasonCode.STATE_CATEGORY and "until" in facts:
        template = "state_category_until"
    elif reason.code is ReasonCode.PAID and "payer" not in facts:
        template = "paid_self"
    text = pick(_TEMPLATES[template], language).format(**values)
    return text.replace("г..", "г.")  # a Russian date that ends the sentence
