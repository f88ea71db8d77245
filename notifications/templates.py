"""Push and inbox texts of every event kind, in Kazakh, Russian and English.

Every string a person reads is in one table per kind below (``CONTRIBUTION_RECEIVED`` …
``DIGEST``), each entry in all three languages, so that a translator reviews a kind at once.
Placeholders in braces are filled with amounts, days, months and names already in the
reader's language (``formatting``).  Titles stay within 60 characters, bodies within 240.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from notifications.formatting import (
    KK_ABLATIVE,
    KK_DATIVE,
    LANGUAGES,
    MONTHS,
    RU_GENITIVE,
    check_language,
    clip,
    date_by,
    date_on,
    date_since,
    fit_list,
    format_amount,
    format_date,
    format_period,
    name_in,
    parse_day,
    plural,
    tidy,
)
from notifications.payloads import dispute_state, month_text, parse_reminder

__all__ = ["LANGUAGES", "Rendered", "format_amount", "format_date", "format_period", "render",
           "render_digest"]

TITLE_LIMIT: Final = 60
BODY_LIMIT: Final = 240

Table = Mapping[str, Mapping[str, str]]
"""Message key -> language -> text."""

COMMON: Final[Table] = {
    "more": {"kk": "…тағы {n}", "ru": "…и ещё {n}", "en": "…and {n} more"},
    "flagged": {
        "kk": "Егер бұл көмекті алмаған болсаңыз, Қорға 1406 нөмірі бойынша хабарлаңыз.",
        "ru": "Если вы не получали эту помощь, сообщите в Фонд по номеру 1406.",
        "en": "If you did not receive this care, tell the Fund on 1406.",
    },
    "and": {"kk": " және ", "ru": " и ", "en": " and "},
}

CONTRIBUTION_RECEIVED: Final[Table] = {
    "title": {"kk": "{period} үшін сақтандыру төленді",
              "ru": "Страхование за {period} оплачено",
              "en": "Insurance paid for {period}"},
    "title_periods": {"kk": "Сақтандыру жарналары түсті", "ru": "Поступили страховые взносы",
                      "en": "Insurance payments received"},
    "payer": {"kk": "{payer} {period} үшін {amount} сақтандыру жарнасын төледі.",
              "ru": "Поступил взнос {amount} за {period}. Плательщик: {payer}.",
              "en": "{payer} paid {amount} for your insurance for {period}."},
    "self": {"kk": "{period} үшін {amount} жарнаңыз түсті.",
             "ru": "Поступил ваш взнос {amount} за {period}.",
             "en": "Your payment of {amount} for {period} has arrived."},
    "unknown": {"kk": "{period} үшін {amount} жарна түсті.",
                "ru": "Поступил взнос {amount} за {period}.",
                "en": "A payment of {amount} for {period} has arrived."},
    "several": {"kk": "{count} жарна түсті, барлығы {total}: ",
                "ru": "Поступило взносов: {count}, всего {total}: ",
                "en": "{count} payments arrived, {total} in all: "},
    "item_payer": {"kk": "{period} — {amount} ({payer})", "ru": "{period} — {amount} ({payer})",
                   "en": "{period} — {amount} ({payer})"},
    "item_self": {"kk": "{period} — {amount} (өзіңіз)", "ru": "{period} — {amount} (вы)",
                  "en": "{period} — {amount} (you)"},
    "item_unknown": {"kk": "{period} — {amount}", "ru": "{period} — {amount}",
                     "en": "{period} — {amount}"},
}

CONTRIBUTION_REFUNDED: Final[Table] = {
    "title": {"kk": "{period} үшін жарна қайтарылды", "ru": "Возврат взноса за {period}",
              "en": "Payment for {period} refunded"},
    "payer": {"kk": "{payer} {period} үшін төлеген {amount} жарна қайтарылды. "
                    "Бұл сома енді сақтандыруыңызға есептелмейді.",
              "ru": "Возвращён взнос {amount} за {period}, плательщик: {payer}. "
                    "Эта сумма больше не учитывается в вашем страховании.",
              "en": "{amount} paid by {payer} for {period} was refunded and no longer counts "
                    "toward your insurance."},
    "self": {"kk": "{period} үшін төлеген {amount} жарнаңыз қайтарылды. "
                   "Бұл сома енді сақтандыруыңызға есептелмейді.",
             "ru": "Возвращён ваш взнос {amount} за {period}. "
                   "Эта сумма больше не учитывается в вашем страховании.",
             "en": "Your payment of {amount} for {period} was refunded and no longer counts "
                   "toward your insurance."},
    "unknown": {"kk": "{period} үшін {amount} жарна қайтарылды. "
                      "Бұл сома енді сақтандыруыңызға есептелмейді.",
                "ru": "Возвращён взнос {amount} за {period}. "
                      "Эта сумма больше не учитывается в вашем страховании.",
                "en": "A payment of {amount} for {period} was refunded and no longer counts "
                      "toward your insurance."},
}

SERVICE_PAID: Final[Table] = {
    "title": {"kk": "Қор сізге көрсетілген көмекті төледі",
              "ru": "Фонд оплатил помощь, оказанную вам",
              "en": "The Fund paid for your care"},
    "one": {"kk": "Қор {on} сізге көрсетілген көмек үшін {amount} төледі: {service}, "
                  "{provider}.",
            "ru": "Фонд заплатил {amount} за помощь, оказанную вам {on}: {service}, "
                  "{provider}.",
            "en": "The Fund paid {provider} {amount} for your care {on}: {service}."},
    "several": {"kk": "Қор сізге көрсетілген {services} үшін барлығы {total} төледі: ",
                "ru": "Фонд оплатил за вас {services}, всего {total}: ",
                "en": "The Fund paid {total} in all for {services}: "},
    "item": {"kk": "{day} — {provider}, {amount}", "ru": "{day} — {provider}, {amount}",
             "en": "{day} — {provider}, {amount}"},
    "services": {"kk": "қызмет", "ru": "услугу|услуги|услуг", "en": "service|services"},
    "provider": {"kk": "медициналық ұйым", "ru": "медицинская организация",
                 "en": "a medical organisation"},
    "service": {"kk": "медициналық қызмет", "ru": "медицинская услуга",
                "en": "medical care"},
}

DIGEST: Final[Table] = {
    "title": {"kk": "Қор бүгін сізге көрсетілген көмекті төледі",
              "ru": "Фонд сегодня оплатил вашу медпомощь",
              "en": "The Fund paid for your care today"},
    "named": {"kk": "Бүгін Қор сізге көрсетілген {services} үшін барлығы {total} төледі: "
                    "{providers}.",
              "ru": "Сегодня Фонд оплатил за вас {services} на сумму {total}: {providers}.",
              "en": "The Fund paid for {services} for you today, {total} in all, at "
                    "{providers}."},
    "clinics": {"kk": "Бүгін Қор {clinics} медициналық ұйымда сізге көрсетілген {services} "
                      "үшін барлығы {total} төледі.",
                "ru": "Сегодня Фонд оплатил за вас {services} в {clinics} на сумму {total}.",
                "en": "The Fund paid for {services} for you today, {total} in all, at "
                      "{clinics}."},
    "clinic_forms": {"kk": "", "ru": "клинике|клиниках|клиниках", "en": "clinic|clinics"},
}

SERVICE_WITHDRAWN: Final[Table] = {
    "title": {"kk": "Қор медициналық ұйымға төлемді ұстап қалды",
              "ru": "Фонд удержал оплату у клиники",
              "en": "The Fund withheld a payment"},
    "body": {"kk": "Ақау анықталғандықтан, Қор {on} сізге көрсетілген көмек үшін төленген "
                   "{amount} соманы ұстап қалды: {service}, {provider}.",
             "ru": "Выявлен дефект, и Фонд удержал {amount} из оплаты за помощь, оказанную "
                   "вам {on}: {service}, {provider}.",
             "en": "The Fund took back {amount} from {provider} for your care {on} "
                   "({service}) because it found a defect."},
}

STATUS_CHANGED: Final[Table] = {
    "INSURED": {"kk": "Сіз сақтандырылғансыз", "ru": "Вы застрахованы",
                "en": "You are insured"},
    "CONDITIONALLY_INSURED": {"kk": "Сіз шартты түрде сақтандырылғансыз",
                              "ru": "Вы условно застрахованы",
                              "en": "You are conditionally insured"},
    "NOT_INSURED": {"kk": "Сіз сақтандырылмағансыз", "ru": "Вы не застрахованы",
                    "en": "You are not insured"},
    "PAID": {"kk": "{since} сақтандырылғансыз: сіз үшін жарналар түсті.",
             "ru": "{since} вы застрахованы: за вас поступили взносы.",
             "en": "{since} you are insured: contributions for you have arrived."},
    "PREPAID": {"kk": "{since} сақтандырылғансыз: жарналар алдын ала төленген.",
                "ru": "{since} вы застрахованы: взносы оплачены вперёд.",
                "en": "{since} you are insured: your insurance is paid in advance."},
    "STATE_CATEGORY": {"kk": "{since} сақтандырылғансыз: сіз үшін мемлекет төлейді.",
                       "ru": "{since} вы застрахованы: за вас платит государство.",
                       "en": "{since} you are insured: the state pays for you."},
    "GRACE_PERIOD": {"kk": "{since} шартты түрде сақтандырылғансыз: соңғы уақытта сіз үшін "
                           "жарна түскен жоқ.",
                     "ru": "{since} вы условно застрахованы: взносы за вас в последнее время "
                           "не поступали.",
                     "en": "{since} you are conditionally insured: no contribution has "
                           "arrived for you lately."},
    "CONTRIBUTIONS_STOPPED": {"kk": "{since} сақтандырылмағансыз: жарналар тоқтап, шартты "
                                    "сақтандыру мерзімі аяқталды.",
                              "ru": "{since} вы не застрахованы: взносы прекратились, и срок "
                                    "условного страхования истёк.",
                              "en": "{since} you are not insured: contributions stopped and "
                                    "the grace period has ended."},
    "NO_CONTRIBUTIONS": {"kk": "{since} сақтандырылмағансыз: сіз үшін жарна түскен жоқ.",
                         "ru": "{since} вы не застрахованы: взносы за вас не поступали.",
                         "en": "{since} you are not insured: no contributions have been "
                               "received for you."},
    "OTHER": {"kk": "Сақтандыру мәртебеңіз {on} өзгерді.",
              "ru": "Ваш статус страхования изменился {on}.",
              "en": "Your insurance status changed {on}."},
    "loss": {"kk": "Жарна түспесе, {changes} сақтандырылған мәртебеңізден айырыласыз.",
             "ru": "Если взнос не поступит, {changes} вы потеряете статус застрахованного.",
             "en": "You will lose insured status {changes} unless a payment arrives."},
    "loss_undated": {"kk": "Жарна түспесе, сақтандырылған мәртебеңізден айырыласыз.",
                     "ru": "Если взнос не поступит, вы потеряете статус застрахованного.",
                     "en": "You will lose insured status unless a payment arrives."},
}

DESK_CHECK: Final[Table] = {
    "title": {"kk": "Хабарламалар жұмыс істейді", "ru": "Уведомления работают",
              "en": "Notifications work"},
    "body": {"kk": "Бұл — {clinic} тіркеу бөлімінен жіберілген сынақ хабарламасы. "
                   "Сізге ештеңе істеудің қажеті жоқ.",
             "ru": "Это проверочное уведомление из регистратуры ({clinic}). "
                   "Делать ничего не нужно.",
             "en": "This is a test from the registry desk at {clinic}. "
                   "You do not need to do anything."},
    "unnamed": {"kk": "Бұл — тіркеу бөлімінен жіберілген сынақ хабарламасы. "
                      "Сізге ештеңе істеудің қажеті жоқ.",
                "ru": "Это проверочное уведомление из регистратуры. Делать ничего не нужно.",
                "en": "This is a test from a registry desk. You do not need to do anything."},
}

STATUS_WARNING: Final[Table] = {
    "title": {"kk": "Сақтандыруыңыз {days} кейін аяқталады",
              "ru": "Ваша страховка закончится через {days}",
              "en": "Your insurance ends in {days}"},
    # "after 14 days": a Kazakh noun after a numeral stays singular, in the ablative.
    "days": {"kk": "күннен", "ru": "день|дня|дней", "en": "day|days"},
    "ends": {"kk": "Жарна түспесе, {since} сіз сақтандырылмаған боласыз.",
             "ru": "{since} вы не будете застрахованы, если не поступит взнос.",
             "en": "From {day} you will not be insured unless a contribution arrives."},
    "self": {"kk": "Қалай төлеуге болатынын қосымшадан қараңыз.",
             "ru": "Откройте приложение, чтобы узнать, как оплатить.",
             "en": "Open the app to see how to pay."},
    "employee": {"kk": "Жұмыс берушіңізден жарналарыңыздың төленгенін нақтылаңыз.",
                 "ru": "Уточните у работодателя, перечислены ли за вас взносы.",
                 "en": "Check with your employer that your contributions are paid."},
}

PAYMENT_REMINDER: Final[Table] = {
    # "by 25 December": Kazakh "no later than" takes the ablative; Russian the genitive.
    "title": {"kk": "{day} кешіктірмей {amount} төлеңіз",
              "ru": "Оплатите {amount} не позднее {day}",
              "en": "Pay {amount} by {day}"},
    "pays": {"kk": "Бұл сома {months} үшін сақтандыруды төлейді.",
             "ru": "Эта сумма оплатит страхование за {months}.",
             "en": "This pays your insurance for {months}."},
    # Three months or more: "5 unpaid months from July to November 2026" (arrears may skip a
    # month that was paid, so the range is of unpaid months, not every month in it).
    "range": {"kk": "{first} {last} дейінгі {count}",
              "ru": "{count} с {first} по {last}",
              "en": "{count} from {first} to {last}"},
    "count": {"kk": "төленбеген ай",
              "ru": "неоплаченный месяц|неоплаченных месяца|неоплаченных месяцев",
              "en": "unpaid month|unpaid months"},
    # Only when the month to name is not the one month paid.
    "period": {"kk": "Төлем кезеңі: {period}.", "ru": "Период платежа: {period}.",
               "en": "Payment period: {period}."},
    "details": {"kk": "Төлем деректемелері қосымшада.",
                "ru": "Реквизиты для оплаты — в приложении.",
                "en": "Open the app for the payment details."},
}

DISPUTE_UPDATED: Final[Table] = {
    # Titles by the case's new state.
    "SUBMITTED": {"kk": "Өтінішіңіз қабылданды", "ru": "Ваше обращение принято",
                  "en": "Your report was received"},
    "IN_REVIEW": {"kk": "Қор өтінішіңізді тексеріп жатыр", "ru": "Фонд проверяет обращение",
                  "en": "The Fund is checking your report"},
    "CONFIRMED": {"kk": "Өтінішіңіз расталды", "ru": "Ваше обращение подтвердилось",
                  "en": "Your report was confirmed"},
    "NOT_CONFIRMED": {"kk": "Өтінішіңіз расталмады", "ru": "Обращение не подтвердилось",
                      "en": "Your report was not confirmed"},
    # Bodies: {about} is the service, the clinic and the day; {due} the Fund's last day.
    "about": {"kk": "{on} {provider} көрсеткен «{service}» қызметі",
              "ru": "«{service}» ({provider}, {on})",
              "en": "{service} at {provider} {on}"},
    "received": {"kk": "{about} туралы өтінішіңіз қабылданды. Қор {due} жауап береді.",
                 "ru": "Обращение об услуге {about} принято. Фонд ответит {due}.",
                 "en": "We received your report about {about}. The Fund will answer {due}."},
    "checking": {"kk": "Қор {about} туралы өтінішіңізді тексеруді бастады. Жауап {due} "
                       "беріледі.",
                 "ru": "Фонд начал проверку обращения об услуге {about}. Ответ — {due}.",
                 "en": "The Fund has started checking your report about {about}. It will "
                       "answer {due}."},
    "recovered": {"kk": "Қор {about} туралы өтінішіңізді растап, медициналық ұйымнан "
                        "{amount} қайтарып алды.",
                  "ru": "Фонд подтвердил обращение об услуге {about} и вернул у клиники "
                        "{amount}.",
                  "en": "The Fund confirmed your report about {about} and took {amount} back "
                        "from the clinic."},
    "confirmed": {"kk": "Қор {about} туралы өтінішіңізді растады.",
                  "ru": "Фонд подтвердил обращение об услуге {about}.",
                  "en": "The Fund confirmed your report about {about}."},
    "not_confirmed": {"kk": "Қор {about} туралы өтінішіңізді растамады.",
                      "ru": "Фонд не подтвердил обращение об услуге {about}.",
                      "en": "The Fund did not confirm your report about {about}."},
    # A parent's report about a child's care: the child's first name leads the body.
    "patient": {"kk": "{name}: ", "ru": "{name}: ", "en": "{name}: "},
}

STATUSES: Final = ("INSURED", "CONDITIONALLY_INSURED", "NOT_INSURED")
WARNED_STATUSES: Final = ("INSURED", "CONDITIONALLY_INSURED")
REASONS: Final = ("PAID", "PREPAID", "STATE_CATEGORY", "GRACE_PERIOD", "CONTRIBUTIONS_STOPPED",
                  "NO_CONTRIBUTIONS")

TABLES: Final[Mapping[str, Table]] = {
    "common": COMMON, "contribution.received": CONTRIBUTION_RECEIVED,
    "contribution.refunded": CONTRIBUTION_REFUNDED, "service.paid": SERVICE_PAID,
    "service.digest": DIGEST, "service.withdrawn": SERVICE_WITHDRAWN,
    "status.changed": STATUS_CHANGED, "desk.check": DESK_CHECK,
    "status.warning": STATUS_WARNING, "payment.reminder": PAYMENT_REMINDER,
    "dispute.updated": DISPUTE_UPDATED,
}
"""Every table, by kind, for review and for the test that every entry has all languages."""


@dataclass(frozen=True)
class Rendered:
    """A push or inbox item's text in one language."""

    title: str
    body: str


def _text(table: Table, key: str, language: str, **values: object) -> str:
    return table[key][language].format(**values)


def _forms(table: Table, key: str, language: str) -> list[str]:
    return table[key][language].split("|")


def _payer(item: Mapping[str, Any], language: str) -> tuple[str, str]:
    """("payer" | "self" | "unknown", the payer's name): null is the person themself; a
    payload without the key does not say who paid."""
    if "payer" not in item:
        return "unknown", ""
    name = name_in(item["payer"], language)
    if item["payer"] is None:
        return "self", ""
    return ("payer", name) if name else ("unknown", "")


def _done(title: str, body: str) -> Rendered:
    return Rendered(tidy(clip(title, TITLE_LIMIT)), tidy(clip(body, BODY_LIMIT)))


def _contribution_received(payload: Mapping[str, Any], language: str) -> Rendered:
    table = CONTRIBUTION_RECEIVED
    contributions = payload["contributions"]
    if not contributions:
        raise ValueError("contribution.received without contributions")
    groups: dict[tuple[str, str, str], int] = {}
    for item in contributions:
        key = (str(item["period"]), *_payer(item, language))
        groups[key] = groups.get(key, 0) + int(item["amountTiyn"])
    periods = sorted({period for period, _, _ in groups})
    if len(periods) == 1:
        title = _text(table, "title", language, period=format_period(periods[0], language))
    else:
        title = table["title_periods"][language]
    lines = [_text(table, who if len(groups) == 1 else f"item_{who}", language,
                   period=format_period(period, language), payer=name,
                   amount=format_amount(amount, language))
             for (period, who, name), amount in groups.items()]
    if len(groups) == 1:
        return _done(title, lines[0])
    total = sum(groups.values())
    head = _text(table, "several", language, count=len(contributions),
                 total=format_amount(total, language))
    return _done(title, fit_list(head, lines, COMMON["more"][language], ".", BODY_LIMIT))


def _contribution_refunded(payload: Mapping[str, Any], language: str) -> Rendered:
    table = CONTRIBUTION_REFUNDED
    period = format_period(str(payload["period"]), language)
    who, name = _payer(payload, language)
    body = _text(table, who, language, period=period, payer=name,
                 amount=format_amount(abs(int(payload["amountTiyn"])), language))
    return _done(_text(table, "title", language, period=period), body)


def _names(item: Mapping[str, Any], language: str) -> tuple[str, str]:
    """(provider, service) in ``language``, or words for "a clinic", "care" without them."""
    provider = name_in(item.get("provider"), language, limit=50)
    service = name_in(item.get("service"), language, limit=50)
    return (provider or SERVICE_PAID["provider"][language],
            service or SERVICE_PAID["service"][language])


def _with_flag(body_for: Callable[[int], str], flagged: bool, language: str) -> str:
    """The body (made for a length budget), then the "tell 1406" line when flagged."""
    if not flagged:
        return body_for(BODY_LIMIT)
    line = COMMON["flagged"][language]
    return f"{clip(body_for(BODY_LIMIT - len(line) - 1), BODY_LIMIT - len(line) - 1)} {line}"


def _service_paid(payload: Mapping[str, Any], language: str) -> Rendered:
    table = SERVICE_PAID
    payments = payload["payments"]
    if not payments:
        raise ValueError("service.paid without payments")
    flagged = any(item.get("flags") for item in payments)
    if len(payments) == 1:
        item = payments[0]
        provider, service = _names(item, language)
        one = _text(table, "one", language, provider=provider, service=service,
                    on=date_on(parse_day(item["careDate"]), language),
                    amount=format_amount(int(item["amountTiyn"]), language))
        return _done(table["title"][language], _with_flag(lambda _: one, flagged, language))
    groups: dict[tuple[str, str], int] = {}
    for item in payments:
        key = (str(item["careDate"]), _names(item, language)[0])
        groups[key] = groups.get(key, 0) + int(item["amountTiyn"])
    lines = [_text(table, "item", language, day=format_date(parse_day(day), language),
                   provider=provider, amount=format_amount(amount, language))
             for (day, provider), amount in sorted(groups.items())]
    head = _text(table, "several", language,
                 services=plural(len(payments), _forms(table, "services", language), language),
                 total=format_amount(sum(groups.values()), language))
    more = COMMON["more"][language]
    body = _with_flag(lambda limit: fit_list(head, lines, more, ".", limit), flagged, language)
    return _done(table["title"][language], body)


def _service_withdrawn(payload: Mapping[str, Any], language: str) -> Rendered:
    table = SERVICE_WITHDRAWN
    provider, service = _names(payload, language)
    body = _text(table, "body", language, provider=provider, service=service,
                 on=date_on(parse_day(payload["careDate"]), language),
                 amount=format_amount(abs(int(payload["amountTiyn"])), language))
    return _done(table["title"][language], body)


def _status_changed(payload: Mapping[str, Any], language: str) -> Rendered:
    table = STATUS_CHANGED
    status = str(payload["newStatus"]).upper()
    if status not in STATUSES:
        raise ValueError(f"unknown status {payload['newStatus']!r}")
    on = parse_day(payload["on"])
    reason = str(payload.get("reason") or "").upper()
    if reason in REASONS:
        body = _text(table, reason, language, since=date_since(on, language))
        body = body[:1].upper() + body[1:]
    else:
        body = _text(table, "OTHER", language, on=date_on(on, language))
    if status == "CONDITIONALLY_INSURED":
        changes = payload.get("changesOn")
        loss = (_text(table, "loss", language, changes=date_on(parse_day(changes), language))
                if changes else table["loss_undated"][language])
        body = f"{body} {loss}"
    return _done(table[status][language], body)


def _announcement(payload: Mapping[str, Any], language: str) -> Rendered:
    title = name_in(payload["title"], language, limit=TITLE_LIMIT)
    body = name_in(payload["body"], language, limit=BODY_LIMIT)
    if not title or not body:
        raise ValueError("announcement without a title or body")
    return _done(title, body)


def _desk_check(payload: Mapping[str, Any], language: str) -> Rendered:
    clinic = name_in(payload.get("clinic"), language)
    body = (_text(DESK_CHECK, "body", language, clinic=clinic) if clinic
            else DESK_CHECK["unnamed"][language])
    return _done(DESK_CHECK["title"][language], body)


def _status_warning(payload: Mapping[str, Any], language: str) -> Rendered:
    """"Your insurance ends in 14 days": the day cover ends unless a contribution arrives, and
    what to do (a self-payer pays; an employee checks with the employer)."""
    table = STATUS_WARNING
    drops_on = parse_day(payload["dropsOn"])
    days = payload["daysLeft"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"daysLeft must be a positive integer: {days!r}")
    if str(payload["status"]).upper() not in WARNED_STATUSES:
        raise ValueError(f"no warning for status {payload['status']!r}")
    self_payer = payload["selfPayer"]
    if not isinstance(self_payer, bool):
        raise ValueError(f"selfPayer must be true or false: {self_payer!r}")
    title = _text(table, "title", language,
                  days=plural(days, _forms(table, "days", language), language))
    ends = _text(table, "ends", language, since=date_since(drops_on, language),
                 day=format_date(drops_on, language))
    ends = ends[:1].upper() + ends[1:]
    act = table["self" if self_payer else "employee"][language]
    return _done(title, f"{ends} {act}")


def _paid_months(months: Sequence[tuple[int, int]], language: str) -> str:
    """The months a payment covers, for "for …": "November 2026", "October and November
    2026", "December 2025 and January 2026", "5 unpaid months from July to November 2026"
    (Russian: "с июля по ноябрь 2026"; Kazakh: "2026 жылғы шілдеден қарашаға дейінгі …")."""
    def period(month: tuple[int, int]) -> str:
        return format_period(month_text(month), language)

    first, last = months[0], months[-1]
    same_year = first[0] == last[0]
    and_ = COMMON["and"][language]
    if len(months) == 1:
        return period(first)
    if len(months) == 2:
        if not same_year:
            return f"{period(first)}{and_}{period(last)}"
        if language == "kk":
            return f"{period(first)}{and_}{MONTHS['kk'][last[1] - 1]}"
        return f"{MONTHS[language][first[1] - 1]}{and_}{period(last)}"
    year = "" if same_year else f" {first[0]}"
    if language == "kk":
        kk_year = f"{first[0]} жылғы "
        start = f"{kk_year}{KK_ABLATIVE[first[1] - 1]}"
        end = ("" if same_year else f"{last[0]} жылғы ") + KK_DATIVE[last[1] - 1]
    elif language == "ru":
        start, end = f"{RU_GENITIVE[first[1] - 1]}{year}", period(last)
    else:
        start, end = f"{MONTHS['en'][first[1] - 1]}{year}", period(last)
    count = plural(len(months), _forms(PAYMENT_REMINDER, "count", language), language)
    return _text(PAYMENT_REMINDER, "range", language, first=start, last=end, count=count)


def _payment_reminder(payload: Mapping[str, Any], language: str) -> Rendered:
    """"Pay 8,500 ₸ by 25 December": the amount, the day (the year is the coming one), the
    months it pays, the month to name when that is not plain, and where the details are."""
    table = PAYMENT_REMINDER
    reminder = parse_reminder(payload)
    due = reminder.due_on
    day = {"kk": f"{due.day} {KK_ABLATIVE[due.month - 1]}",
           "ru": f"{due.day} {RU_GENITIVE[due.month - 1]}",
           "en": f"{due.day} {MONTHS['en'][due.month - 1]}"}[language]
    title = _text(table, "title", language, day=day,
                  amount=format_amount(reminder.amount_tiyn, language))
    parts = [_text(table, "pays", language, months=_paid_months(reminder.months, language))]
    if reminder.months != (reminder.period,):
        parts.append(_text(table, "period", language,
                           period=format_period(month_text(reminder.period), language)))
    parts.append(table["details"][language])
    return _done(title, " ".join(parts))


def _dispute_updated(payload: Mapping[str, Any], language: str) -> Rendered:
    """"Your report was confirmed": the service, clinic and day it is about, what the Fund
    did (and took back), its deadline while open, its explanation once resolved; a child's
    first name first when a parent reported for them."""
    table = DISPUTE_UPDATED
    state = dispute_state(payload)
    provider, service = _names(payload, language)
    about = _text(table, "about", language, provider=provider, service=service,
                  on=date_on(parse_day(payload["careDate"]), language))
    if state in ("SUBMITTED", "IN_REVIEW"):
        key = "received" if state == "SUBMITTED" else "checking"
        body = _text(table, key, language, about=about,
                     due=date_by(parse_day(payload["dueOn"]), language))
    else:
        recovered = payload.get("recoveredTiyn")
        if state == "CONFIRMED" and recovered:
            body = _text(table, "recovered", language, about=about,
                         amount=format_amount(int(recovered), language))
        else:
            body = _text(table, state.lower(), language, about=about)
        explanation = name_in(payload.get("explanation"), language, limit=BODY_LIMIT)
        if explanation:
            body = f"{body} {explanation}"
    patient = payload.get("patient")
    if patient:
        body = _text(table, "patient", language, name=str(patient)[:40]) + body
    return _done(table[state][language], body)


RENDERERS: Final[Mapping[str, Callable[[Mapping[str, Any], str], Rendered]]] = {
    "contribution.received": _contribution_received,
    "contribution.refunded": _contribution_refunded,
    "service.paid": _service_paid,
    "service.withdrawn": _service_withdrawn,
    "status.changed": _status_changed,
    "announcement.published": _announcement,
    "desk.check": _desk_check,
    "status.warning": _status_warning,
    "payment.reminder": _payment_reminder,
    "dispute.updated": _dispute_updated,
}


def render(kind: str, payload: Mapping[str, Any], language: str) -> Rendered:
    """The title and body of an event of ``kind`` in ``language`` (kk, ru or en).

    ValueError for an unknown kind or language, or a payload that does not fit the kind."""
    check_language(language)
    renderer = RENDERERS.get(kind)
    if renderer is None:
        raise ValueError(f"unknown event kind {kind!r}")
    try:
        return renderer(payload, language)
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"malformed {kind} payload: {error!r}") from error


def render_digest(payloads: Sequence[Mapping[str, Any]], language: str) -> Rendered:
    """One push for many ``service.paid`` payloads of one person on one day: "The Fund paid
    for 5 services for you today, 48,200 ₸ in all, at Polyclinic No. 5 and …"."""
    check_language(language)
    try:
        payments = [item for payload in payloads for item in payload["payments"]]
        providers = list({item.get("providerId") or _names(item, language)[0]:
                          _names(item, language)[0] for item in payments}.values())
        total = sum(int(item["amountTiyn"]) for item in payments)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"malformed service.paid payload: {error!r}") from error
    if not payments:
        raise ValueError("a digest needs at least one payment")
    table = DIGEST
    values = {"total": format_amount(total, language),
              "services": plural(len(payments), _forms(SERVICE_PAID, "services", language),
                                 language)}
    if len(providers) <= 2:
        body = _text(table, "named", language,
                     providers=COMMON["and"][language].join(providers), **values)
    else:
        body = _text(table, "clinics", language, **values,
                     clinics=plural(len(providers), _forms(table, "clinic_forms", language),
                                    language).strip())
    flagged = any(item.get("flags") for item in payments)
    return _done(table["title"][language], _with_flag(lambda _: body, flagged, language))
