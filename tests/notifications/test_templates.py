"""Push and inbox texts: every kind in every language, the formats, and the limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from notifications import templates
from notifications.templates import (
    LANGUAGES,
    Rendered,
    format_amount,
    format_date,
    format_period,
    render,
    render_digest,
)

NBSP = "\u00a0"


def names(kk: str, ru: str, en: str) -> dict[str, str]:
    return {"kk": kk, "ru": ru, "en": en}


ASTANA = names("«Astana Build» ЖШС", "ТОО «Astana Build»", "TOO Astana Build")
POLY = names("№ 5 емхана", "Поликлиника № 5", "Polyclinic No. 5")
HOSPITAL = names("№ 1 қалалық аурухана", "Городская больница № 1", "City Hospital No. 1")
LAB = names("Орталық зертхана", "Центральная лаборатория", "Central Laboratory")
CARDIO = names("Кардиолог кеңесі", "Консультация кардиолога", "Cardiologist consultation")


def contribution(id_: int = 1, period: str = "2026-10", amount: int = 425_000,
                 payer: Mapping[str, str] | None = ASTANA) -> dict[str, Any]:
    return {"id": id_, "kind": "employer", "period": period, "amountTiyn": amount,
            "paidOn": "2026-11-20", "payer": payer}


def payment(id_: int = 10, care_date: str = "2026-11-03", amount: int = 1_240_000,
            provider: Mapping[str, str] = POLY, flags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"id": id_, "providerId": provider["en"], "serviceCode": "A01.001",
            "careDate": care_date,
            "amountTiyn": amount, "flags": list(flags), "provider": provider,
            "service": CARDIO}


def status(new: str, reason: str, on: str, changes_on: str | None = None) -> dict[str, Any]:
    return {"oldStatus": "INSURED", "newStatus": new, "reason": reason, "on": on,
            "changesOn": changes_on}


EVENTS: dict[str, Mapping[str, Any]] = {
    "contribution.received": {"batch": 7, "contributions": [contribution()]},
    "contribution.refunded": {"id": 3, "refundOf": 1, "kind": "employer", "period": "2026-10",
                              "amountTiyn": 425_000, "paidOn": "2026-11-21", "payer": ASTANA},
    "service.paid": {"batch": 8, "payments": [payment()]},
    "service.withdrawn": {"id": 12, "withdrawalOf": 10, "providerId": "P5",
                          "serviceCode": "A01.001", "careDate": "2026-11-03",
                          "amountTiyn": 1_240_000, "provider": POLY, "service": CARDIO},
    "status.changed": status("CONDITIONALLY_INSURED", "GRACE_PERIOD", "2026-11-01",
                             "2027-02-01"),
    "announcement.published": {"announcementId": 4, "title": names("Жаңалық", "Новость", "News"),
                               "body": names("Мәтін", "Текст", "Text"), "helpSlug": None},
    "desk.check": {"clinic": POLY},
    "status.warning": {"dropsOn": "2027-03-01", "daysLeft": 14, "status": "INSURED",
                       "selfPayer": True},
    "payment.reminder": {"dueOn": "2026-12-25", "amountTiyn": 850_000, "period": "2026-11",
                         "months": ["2026-10", "2026-11"]},
    "dispute.updated": {"caseId": 3, "serviceId": 10, "state": "CONFIRMED",
                        "category": "NOT_RECEIVED", "careDate": "2026-11-03",
                        "dueOn": "2026-12-08", "recoveredTiyn": 1_240_000,
                        "explanation": names("Қабылдау болмаған.", "Приёма не было.",
                                             "There was no visit."),
                        "provider": POLY, "service": CARDIO, "patient": "Dana"},
}
# What each event's text must mention, by language.
MENTIONS: dict[str, dict[str, list[str]]] = {
    "contribution.received": {
        "kk": [f"4{NBSP}250{NBSP}₸", "2026 жылғы қазан"],
        "ru": [f"4{NBSP}250{NBSP}₸", "октябрь 2026"], "en": ["4,250 ₸", "October 2026"]},
    "contribution.refunded": {
        "kk": [f"4{NBSP}250{NBSP}₸", "2026 жылғы қазан"],
        "ru": [f"4{NBSP}250{NBSP}₸", "октябрь 2026"], "en": ["4,250 ₸", "October 2026"]},
    "service.paid": {
        "kk": [f"12{NBSP}400{NBSP}₸", "2026 жылғы 3 қараша"],
        "ru": [f"12{NBSP}400{NBSP}₸", "3 ноября 2026 г."], "en": ["12,400 ₸", "3 November 2026"]},
    "service.withdrawn": {
        "kk": [f"12{NBSP}400{NBSP}₸", "2026 жылғы 3 қараша"],
        "ru": [f"12{NBSP}400{NBSP}₸", "3 ноября 2026 г."], "en": ["12,400 ₸", "3 November 2026"]},
    "status.changed": {"kk": ["2027 жылғы 1 ақпан"], "ru": ["1 февраля 2027 г."],
                       "en": ["1 February 2027"]},
    "announcement.published": {"kk": ["Мәтін"], "ru": ["Текст"], "en": ["Text"]},
    "desk.check": {"kk": ["№ 5 емхана"], "ru": ["Поликлиника № 5"], "en": ["Polyclinic No. 5"]},
    "status.warning": {"kk": ["14 күннен", "2027 жылғы 1 наурыздан"],
                       "ru": ["14 дней", "1 марта 2027 г."], "en": ["14 days", "1 March 2027"]},
    "payment.reminder": {
        "kk": [f"8{NBSP}500{NBSP}₸", "25 желтоқсаннан", "2026 жылғы қазан және қараша"],
        "ru": [f"8{NBSP}500{NBSP}₸", "25 декабря", "октябрь и ноябрь 2026"],
        "en": [f"8,500{NBSP}₸", "25 December", "October and November 2026"]},
    "dispute.updated": {
        "kk": ["Dana: ", f"12{NBSP}400{NBSP}₸", "2026 жылғы 3 қарашада", "Қабылдау болмаған."],
        "ru": ["Dana: ", f"12{NBSP}400{NBSP}₸", "3 ноября 2026 г.", "Приёма не было."],
        "en": ["Dana: ", f"12,400{NBSP}₸", "on 3 November 2026", "There was no visit."]},
}


DISPUTE_TITLES = {
    "SUBMITTED": ("Өтінішіңіз қабылданды", "Ваше обращение принято",
                  "Your report was received"),
    "IN_REVIEW": ("Қор өтінішіңізді тексеріп жатыр", "Фонд проверяет обращение",
                  "The Fund is checking your report"),
    "CONFIRMED": ("Өтінішіңіз расталды", "Ваше обращение подтвердилось",
                  "Your report was confirmed"),
    "NOT_CONFIRMED": ("Өтінішіңіз расталмады", "Обращение не подтвердилось",
                      "Your report was not confirmed"),
}


def within_limits(rendered: Rendered) -> None:
    assert rendered.title.strip() and rendered.body.strip()
    assert len(rendered.title) <= 60, rendered.title
    assert len(rendered.body) <= 240, rendered.body
    assert "{" not in rendered.title + rendered.body, "a placeholder was left unfilled"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_every_kind_renders_in_every_language(kind: str, language: str) -> None:
    rendered = render(kind, EVENTS[kind], language)
    within_limits(rendered)
    for expected in MENTIONS[kind][language]:
        assert expected in rendered.title + " " + rendered.body


def test_every_table_entry_has_every_language() -> None:
    for kind, table in templates.TABLES.items():
        for key, texts in table.items():
            assert set(texts) == set(LANGUAGES), (kind, key)


@pytest.mark.parametrize(("tiyn", "language", "expected"), [
    (1_240_000, "kk", f"12{NBSP}400{NBSP}₸"),
    (1_240_050, "ru", f"12{NBSP}400,50{NBSP}₸"),
    (1_240_000, "en", "12,400 ₸"),
    (1_240_050, "en", "12,400.50 ₸"),
    (5, "ru", f"0,05{NBSP}₸"),
    (123_456_789_00, "kk", f"123{NBSP}456{NBSP}789{NBSP}₸"),
    (-425_000, "en", "-4,250 ₸"),
])
def test_format_amount(tiyn: int, language: str, expected: str) -> None:
    assert format_amount(tiyn, language) == expected


@pytest.mark.parametrize(("language", "day", "period"), [
    ("kk", "2026 жылғы 3 қараша", "2026 жылғы қазан"),
    ("ru", "3 ноября 2026 г.", "октябрь 2026"),
    ("en", "3 November 2026", "October 2026"),
])
def test_format_date_and_period(language: str, day: str, period: str) -> None:
    assert format_date(date(2026, 11, 3), language) == day
    assert format_period("2026-10", language) == period


def test_month_names() -> None:
    kk = [format_period(f"2026-{month:02d}", "kk").split()[-1] for month in range(1, 13)]
    assert kk == ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
                  "қыркүйек", "қазан", "қараша", "желтоқсан"]
    ru_dates = [format_date(date(2026, month, 1), "ru").split()[1] for month in range(1, 13)]
    assert ru_dates == ["января", "февраля", "марта", "апреля", "мая", "июня", "июля",
                        "августа", "сентября", "октября", "ноября", "декабря"]
    assert format_period("2026-01", "ru") == "январь 2026"


def test_literal_contribution_texts() -> None:
    event = EVENTS["contribution.received"]
    assert render("contribution.received", event, "en") == Rendered(
        "Insurance paid for October 2026",
        "TOO Astana Build paid 4,250 ₸ for your insurance for October 2026.")
    assert render("contribution.received", event, "ru") == Rendered(
        "Страхование за октябрь 2026 оплачено",
        f"Поступил взнос 4{NBSP}250{NBSP}₸ за октябрь 2026. Плательщик: ТОО «Astana Build».")
    assert render("contribution.received", event, "kk") == Rendered(
        "2026 жылғы қазан үшін сақтандыру төленді",
        f"«Astana Build» ЖШС 2026 жылғы қазан үшін 4{NBSP}250{NBSP}₸ сақтандыру жарнасын "
        "төледі.")


def test_a_person_who_paid_themself_is_told_so() -> None:
    event = {"batch": 1, "contributions": [contribution(payer=None)]}
    assert render("contribution.received", event, "en").body == (
        "Your payment of 4,250 ₸ for October 2026 has arrived.")
    assert render("contribution.received", event, "kk").body == (
        f"2026 жылғы қазан үшін 4{NBSP}250{NBSP}₸ жарнаңыз түсті.")


def test_contributions_for_several_months_are_listed_with_a_total() -> None:
    event = {"batch": 1, "contributions": [contribution(1, "2026-09", payer=None),
                                           contribution(2, "2026-10")]}
    rendered = render("contribution.received", event, "en")
    assert rendered.title == "Insurance payments received"
    assert rendered.body == ("2 payments arrived, 8,500 ₸ in all: September 2026 — 4,250 ₸ (you); "
                             "October 2026 — 4,250 ₸ (TOO Astana Build).")


def test_one_payer_paying_twice_for_one_month_reads_as_one_payment() -> None:
    event = {"batch": 1, "contributions": [contribution(1, amount=300_000),
                                           contribution(2, amount=125_000)]}
    assert render("contribution.received", event, "en").body == (
        "TOO Astana Build paid 4,250 ₸ for your insurance for October 2026.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_long_lists_are_cut_with_a_count_of_the_rest(language: str) -> None:
    event = {"batch": 1, "contributions": [contribution(i, f"20{10 + i // 12}-{i % 12 + 1:02d}")
                                           for i in range(40)]}
    rendered = render("contribution.received", event, language)
    within_limits(rendered)
    more = {"kk": "…тағы ", "ru": "…и ещё ", "en": "…and "}[language]
    assert more in rendered.body
    shown = rendered.body.count("(")
    assert f"{more}{40 - shown}" in rendered.body


def test_literal_service_texts() -> None:
    event = EVENTS["service.paid"]
    assert render("service.paid", event, "en").body == (
        "The Fund paid Polyclinic No. 5 12,400 ₸ for your care on 3 November 2026: "
        "Cardiologist consultation.")
    assert render("service.paid", event, "ru").body == (
        f"Фонд заплатил 12{NBSP}400{NBSP}₸ за помощь, оказанную вам 3 ноября 2026 г.: "
        "Консультация кардиолога, Поликлиника № 5.")
    assert render("service.paid", event, "kk").body == (
        f"Қор 2026 жылғы 3 қарашада сізге көрсетілген көмек үшін 12{NBSP}400{NBSP}₸ төледі: "
        "Кардиолог кеңесі, № 5 емхана.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_flagged_payment_asks_to_call_1406(language: str) -> None:
    plain = render("service.paid", EVENTS["service.paid"], language)
    assert "1406" not in plain.body
    flagged = {"batch": 1, "payments": [payment(flags=("AFTER_DEATH",))]}
    assert "1406" in render("service.paid", flagged, language).body
    many = {"batch": 1, "payments": [payment(i, f"2026-10-{i % 28 + 1:02d}",
                                             provider=names(f"Емхана {i}" * 3, f"Клиника {i}" * 3,
                                                            f"Clinic {i}" * 3),
                                             flags=("SEX_MISMATCH",) if i == 499 else ())
                                     for i in range(500)]}
    rendered = render("service.paid", many, language)
    within_limits(rendered)
    assert rendered.body.endswith(templates.COMMON["flagged"][language])


def test_flagged_line_in_english() -> None:
    event = {"batch": 1, "payments": [payment(flags=("DUPLICATE_BILLING",))]}
    assert render("service.paid", event, "en").body.endswith(
        " If you did not receive this care, tell the Fund on 1406.")


def test_withdrawal_names_the_amount_clinic_and_day() -> None:
    assert render("service.withdrawn", EVENTS["service.withdrawn"], "en") == Rendered(
        "The Fund withheld a payment",
        "The Fund took back 12,400 ₸ from Polyclinic No. 5 for your care on 3 November 2026 "
        "(Cardiologist consultation) because it found a defect.")


def test_grace_period_names_the_day_insurance_is_lost() -> None:
    event = EVENTS["status.changed"]
    assert render("status.changed", event, "en") == Rendered(
        "You are conditionally insured",
        "Since 1 November 2026 you are conditionally insured: no contribution has arrived for "
        "you lately. You will lose insured status on 1 February 2027 unless a payment arrives.")
    assert render("status.changed", event, "ru").body.endswith(
        "Если взнос не поступит, 1 февраля 2027 г. вы потеряете статус застрахованного.")
    assert render("status.changed", event, "kk").body.endswith(
        "Жарна түспесе, 2027 жылғы 1 ақпанда сақтандырылған мәртебеңізден айырыласыз.")


@pytest.mark.parametrize("reason", ["PAID", "PREPAID", "STATE_CATEGORY", "GRACE_PERIOD",
                                    "CONTRIBUTIONS_STOPPED", "NO_CONTRIBUTIONS", "SOMETHING_NEW"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_status_reason_renders(reason: str, language: str) -> None:
    for new in ("INSURED", "CONDITIONALLY_INSURED", "NOT_INSURED"):
        rendered = render("status.changed", status(new, reason, "2026-11-01"), language)
        within_limits(rendered)
        assert format_date(date(2026, 11, 1), language).rstrip(".") in rendered.body
        assert "г.." not in rendered.body


def test_status_codes_are_read_in_either_case() -> None:
    upper = render("status.changed", status("NOT_INSURED", "NO_CONTRIBUTIONS", "2026-11-01"), "ru")
    lower = render("status.changed", status("not_insured", "no_contributions", "2026-11-01"), "ru")
    assert upper == lower == Rendered("Вы не застрахованы",
                                      "С 1 ноября 2026 г. вы не застрахованы: взносы за вас не "
                                      "поступали.")


def test_a_grace_period_without_a_date_still_warns() -> None:
    event = status("CONDITIONALLY_INSURED", "GRACE_PERIOD", "2026-11-01")
    assert render("status.changed", event, "en").body.endswith(
        "You will lose insured status unless a payment arrives.")


def test_digest_counts_and_totals() -> None:
    day = [{"batch": 1, "payments": [payment(1, amount=1_000_000), payment(2, amount=820_000)]},
           {"batch": 2, "payments": [payment(3, provider=HOSPITAL, amount=1_000_000),
                                     payment(4, provider=HOSPITAL, amount=1_000_000),
                                     payment(5, amount=1_000_000)]}]
    assert render_digest(day, "en") == Rendered(
        "The Fund paid for your care today",
        "The Fund paid for 5 services for you today, 48,200 ₸ in all, at Polyclinic No. 5 and "
        "City Hospital No. 1.")
    assert render_digest(day, "ru").body == (
        f"Сегодня Фонд оплатил за вас 5 услуг на сумму 48{NBSP}200{NBSP}₸: Поликлиника № 5 и "
        "Городская больница № 1.")
    assert render_digest(day, "kk").body == (
        f"Бүгін Қор сізге көрсетілген 5 қызмет үшін барлығы 48{NBSP}200{NBSP}₸ төледі: "
        "№ 5 емхана және № 1 қалалық аурухана.")


def test_digest_tells_clinics_apart_by_id() -> None:
    same_name = [{"payments": [payment(1), dict(payment(2), providerId="P6"),
                               dict(payment(3), providerId="P7")]}]
    assert render_digest(same_name, "en").body.endswith("at 3 clinics.")


def test_digest_of_many_clinics_counts_them() -> None:
    day = [{"batch": 1, "payments": [payment(1), payment(2, provider=HOSPITAL),
                                     payment(3, provider=LAB, flags=("AGE_MISMATCH",))]}]
    assert render_digest(day, "en").body == (
        "The Fund paid for 3 services for you today, 37,200 ₸ in all, at 3 clinics. "
        "If you did not receive this care, tell the Fund on 1406.")
    assert render_digest(day, "ru").body.startswith(
        f"Сегодня Фонд оплатил за вас 3 услуги в 3 клиниках на сумму 37{NBSP}200{NBSP}₸.")
    assert render_digest(day, "kk").body.startswith("Бүгін Қор 3 медициналық ұйымда")


@pytest.mark.parametrize("language", LANGUAGES)
def test_digest_of_one_service_and_of_hundreds(language: str) -> None:
    within_limits(render_digest([{"payments": [payment()]}], language))
    many = [{"payments": [payment(i * 100 + j, provider=names(f"К{j}", f"К{j}", f"C{j}"))
                          for j in range(50)]} for i in range(10)]
    rendered = render_digest(many, language)
    within_limits(rendered)
    assert "500" in rendered.body


def test_unknown_kind_and_language_raise() -> None:
    with pytest.raises(ValueError, match="kind"):
        render("payment.overdue", {}, "en")
    with pytest.raises(ValueError, match="language"):
        render("service.paid", EVENTS["service.paid"], "de")
    with pytest.raises(ValueError, match="language"):
        render_digest([EVENTS["service.paid"]], "RU")
    with pytest.raises(ValueError):
        format_amount(1, "fr")
    with pytest.raises(ValueError):
        format_date(date(2026, 1, 1), "")
    with pytest.raises(ValueError):
        format_period("2026-01", "kz")


def test_malformed_payloads_raise_value_error() -> None:
    with pytest.raises(ValueError):
        render("service.paid", {"batch": 1}, "en")
    with pytest.raises(ValueError):
        render("contribution.received", {"batch": 1, "contributions": []}, "en")
    with pytest.raises(ValueError):
        render("status.changed", status("ALMOST_INSURED", "PAID", "2026-11-01"), "en")
    with pytest.raises(ValueError):
        format_period("2026-13", "en")
    with pytest.raises(ValueError):
        render_digest([], "en")


def test_long_names_are_clipped() -> None:
    long_name = names("Ұзын " * 40, "Длинное " * 40, "Long " * 40)
    event = {"batch": 1, "payments": [payment(provider=long_name)]}
    for language in LANGUAGES:
        within_limits(render("service.paid", event, language))
    announcement = {"announcementId": 1, "title": long_name, "body": names("а" * 500, "б" * 500,
                                                                           "c" * 500),
                    "helpSlug": None}
    rendered = render("announcement.published", announcement, "en")
    within_limits(rendered)
    assert rendered.title.endswith("…") and rendered.body.endswith("…")


def test_literal_desk_check_texts() -> None:
    assert render("desk.check", {"clinic": POLY}, "en") == Rendered(
        "Notifications work",
        "This is a test from the registry desk at Polyclinic No. 5. "
        "You do not need to do anything.")
    assert render("desk.check", {"clinic": POLY}, "ru") == Rendered(
        "Уведомления работают",
        "Это проверочное уведомление из регистратуры (Поликлиника № 5). "
        "Делать ничего не нужно.")
    assert render("desk.check", {"clinic": POLY}, "kk") == Rendered(
        "Хабарламалар жұмыс істейді",
        "Бұл — № 5 емхана тіркеу бөлімінен жіберілген сынақ хабарламасы. "
        "Сізге ештеңе істеудің қажеті жоқ.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_desk_check_without_a_clinic_name_still_reads(language: str) -> None:
    for payload in ({}, {"clinic": None}, {"clinic": names("", " ", "")}):
        rendered = render("desk.check", payload, language)
        within_limits(rendered)
        assert rendered.body == templates.DESK_CHECK["unnamed"][language]
    # A name in one language only is used in the others (a name is better than none).
    only = render("desk.check", {"clinic": {"ru": "Поликлиника № 5"}}, language)
    assert "Поликлиника № 5" in only.body
    long_name = render("desk.check", {"clinic": names(*["Ұзын атау " * 30] * 3)}, language)
    within_limits(long_name)


def warning(days: int = 14, self_payer: bool = True, drops_on: str = "2027-03-01",
            status: str = "INSURED") -> dict[str, Any]:
    return {"dropsOn": drops_on, "daysLeft": days, "status": status, "selfPayer": self_payer}


def test_literal_status_warning_texts() -> None:
    assert render("status.warning", warning(), "en") == Rendered(
        "Your insurance ends in 14 days",
        "From 1 March 2027 you will not be insured unless a contribution arrives. "
        "Open the app to see how to pay.")
    assert render("status.warning", warning(3, False), "en") == Rendered(
        "Your insurance ends in 3 days",
        "From 1 March 2027 you will not be insured unless a contribution arrives. "
        "Check with your employer that your contributions are paid.")
    assert render("status.warning", warning(), "ru") == Rendered(
        "Ваша страховка закончится через 14 дней",
        "С 1 марта 2027 г. вы не будете застрахованы, если не поступит взнос. "
        "Откройте приложение, чтобы узнать, как оплатить.")
    assert render("status.warning", warning(3, False), "ru") == Rendered(
        "Ваша страховка закончится через 3 дня",
        "С 1 марта 2027 г. вы не будете застрахованы, если не поступит взнос. "
        "Уточните у работодателя, перечислены ли за вас взносы.")
    assert render("status.warning", warning(), "kk") == Rendered(
        "Сақтандыруыңыз 14 күннен кейін аяқталады",
        "Жарна түспесе, 2027 жылғы 1 наурыздан бастап сіз сақтандырылмаған боласыз. "
        "Қалай төлеуге болатынын қосымшадан қараңыз.")
    assert render("status.warning", warning(3, False), "kk") == Rendered(
        "Сақтандыруыңыз 3 күннен кейін аяқталады",
        "Жарна түспесе, 2027 жылғы 1 наурыздан бастап сіз сақтандырылмаған боласыз. "
        "Жұмыс берушіңізден жарналарыңыздың төленгенін нақтылаңыз.")


@pytest.mark.parametrize(("days", "ru", "en", "kk"), [
    (1, "через 1 день", "in 1 day", "1 күннен кейін"),
    (2, "через 2 дня", "in 2 days", "2 күннен кейін"),
    (3, "через 3 дня", "in 3 days", "3 күннен кейін"),
    (5, "через 5 дней", "in 5 days", "5 күннен кейін"),
    (11, "через 11 дней", "in 11 days", "11 күннен кейін"),
    (14, "через 14 дней", "in 14 days", "14 күннен кейін"),
    (21, "через 21 день", "in 21 days", "21 күннен кейін"),
    (22, "через 22 дня", "in 22 days", "22 күннен кейін"),
])
def test_the_warning_counts_days_in_each_grammar(days: int, ru: str, en: str, kk: str) -> None:
    for language, expected in (("ru", ru), ("en", en), ("kk", kk)):
        assert expected in render("status.warning", warning(days), language).title


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_warning_reads_and_names_the_day(language: str) -> None:
    for self_payer in (True, False):
        for status in ("INSURED", "CONDITIONALLY_INSURED"):
            for drops_on in ("2027-01-01", "2027-09-30", "2028-02-29"):
                payload = warning(14, self_payer, drops_on, status)
                rendered = render("status.warning", payload, language)
                within_limits(rendered)
                day = date.fromisoformat(drops_on)
                assert format_date(day, language).split(" г.")[0] in rendered.body or (
                    language == "kk" and str(day.year) in rendered.body)
    # Who pays decides what to do.
    assert render("status.warning", warning(14, True), language).body != render(
        "status.warning", warning(14, False), language).body


@pytest.mark.parametrize("payload", [
    {}, warning(0), warning(-3), {**warning(), "daysLeft": "14"}, {**warning(), "daysLeft": True},
    warning(status="NOT_INSURED"), warning(status="SOMETHING"),
    {**warning(), "selfPayer": "yes"}, {**warning(), "selfPayer": None},
    {k: v for k, v in warning().items() if k != "selfPayer"}, warning(drops_on="2027-02-30"),
    {**warning(), "dropsOn": None},
])
def test_a_malformed_warning_is_refused(payload: Mapping[str, Any]) -> None:
    with pytest.raises(ValueError):
        render("status.warning", payload, "en")


def test_missing_names_fall_back_to_plain_words() -> None:
    event = {"id": 12, "withdrawalOf": 10, "providerId": "P5", "serviceCode": "A01.001",
             "careDate": "2026-11-03", "amountTiyn": 500}
    assert "a medical organisation" in render("service.withdrawn", event, "en").body
    refund = {k: v for k, v in EVENTS["contribution.refunded"].items() if k != "payer"}
    assert render("contribution.refunded", refund, "en").body.startswith(
        "A payment of 4,250 ₸ for October 2026 was refunded")


def reminder(months: list[str], amount: int = 425_000, due_on: str = "2026-12-25",
             period: str | None = None) -> dict[str, Any]:
    return {"dueOn": due_on, "amountTiyn": amount, "period": period or months[-1],
            "months": months}


def test_literal_payment_reminder_texts() -> None:
    one, two = reminder(["2026-11"]), reminder(["2026-10", "2026-11"], 850_000)
    assert render("payment.reminder", one, "en") == Rendered(
        f"Pay 4,250{NBSP}₸ by 25 December",
        "This pays your insurance for November 2026. Open the app for the payment details.")
    assert render("payment.reminder", two, "en") == Rendered(
        f"Pay 8,500{NBSP}₸ by 25 December",
        "This pays your insurance for October and November 2026. "
        "Payment period: November 2026. Open the app for the payment details.")
    assert render("payment.reminder", one, "ru") == Rendered(
        f"Оплатите 4{NBSP}250{NBSP}₸ не позднее 25 декабря",
        "Эта сумма оплатит страхование за ноябрь 2026. Реквизиты для оплаты — в приложении.")
    assert render("payment.reminder", two, "ru") == Rendered(
        f"Оплатите 8{NBSP}500{NBSP}₸ не позднее 25 декабря",
        "Эта сумма оплатит страхование за октябрь и ноябрь 2026. "
        "Период платежа: ноябрь 2026. Реквизиты для оплаты — в приложении.")
    assert render("payment.reminder", one, "kk") == Rendered(
        f"25 желтоқсаннан кешіктірмей 4{NBSP}250{NBSP}₸ төлеңіз",
        "Бұл сома 2026 жылғы қараша үшін сақтандыруды төлейді. Төлем деректемелері қосымшада.")
    assert render("payment.reminder", two, "kk") == Rendered(
        f"25 желтоқсаннан кешіктірмей 8{NBSP}500{NBSP}₸ төлеңіз",
        "Бұл сома 2026 жылғы қазан және қараша үшін сақтандыруды төлейді. "
        "Төлем кезеңі: 2026 жылғы қараша. Төлем деректемелері қосымшада.")


MONTHS_13 = ["2025-11", "2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]


@pytest.mark.parametrize(("months", "kk", "ru", "en"), [
    (["2026-11", "2026-12"], "2026 жылғы қараша және желтоқсан", "ноябрь и декабрь 2026",
     "November and December 2026"),
    (["2026-12", "2027-01"], "2026 жылғы желтоқсан және 2027 жылғы қаңтар",
     "декабрь 2026 и январь 2027", "December 2026 and January 2027"),
    (["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"],
     "2026 жылғы шілдеден қарашаға дейінгі 5 төленбеген ай",
     "5 неоплаченных месяцев с июля по ноябрь 2026", "5 unpaid months from July to November 2026"),
    (["2026-06", "2026-08", "2026-11"], "2026 жылғы маусымнан қарашаға дейінгі 3 төленбеген ай",
     "3 неоплаченных месяца с июня по ноябрь 2026", "3 unpaid months from June to November 2026"),
    (MONTHS_13, "2025 жылғы қарашадан 2026 жылғы қарашаға дейінгі 13 төленбеген ай",
     "13 неоплаченных месяцев с ноября 2025 по ноябрь 2026",
     "13 unpaid months from November 2025 to November 2026"),
])
def test_the_reminder_names_the_months_in_each_grammar(months: list[str], kk: str, ru: str,
                                                       en: str) -> None:
    for language, expected in (("kk", kk), ("ru", ru), ("en", en)):
        due_on = "2027-02-25"  # after every month of every case
        rendered = render("payment.reminder", reminder(months, 425_000 * len(months), due_on),
                          language)
        within_limits(rendered)
        assert expected in rendered.body, (language, rendered.body)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reminder_reads_within_limits(language: str) -> None:
    for count in range(1, 14):
        months = MONTHS_13[-count:]
        for amount in (425_000, 595_000 * count, 10_200_000 * count + 50):
            rendered = render("payment.reminder", reminder(months, amount), language)
            within_limits(rendered)
            assert format_amount(amount, language) in rendered.title
            assert not rendered.body.endswith("…")
    # The day is the payload's, in the reader's language.
    january = render("payment.reminder", reminder(["2026-12"], due_on="2027-01-25"), language)
    assert {"kk": "25 қаңтардан", "ru": "25 января", "en": "25 January"}[language] in (
        january.title)


@pytest.mark.parametrize("payload", [
    {}, reminder([], period="2026-11"), reminder(["2026-11"], 0), reminder(["2026-11"], -425_000),
    {**reminder(["2026-11"]), "amountTiyn": "425000"}, {**reminder(["2026-11"]),
                                                        "amountTiyn": 4250.5},
    {**reminder(["2026-11"]), "amountTiyn": None}, reminder(["2026-11"], due_on="2026-12-24"),
    reminder(["2026-11"], due_on="2026-02-30"), reminder(["2026-11"], due_on="25.12.2026"),
    reminder(["2026-12"]), reminder(["2026-11", "2026-10"]), reminder(["2026-11", "2026-11"]),
    reminder(["2026-13"]), reminder(["2026-11"], period="2026-10"),
    reminder([*MONTHS_13[:1], "2025-10", *MONTHS_13[1:]]),
    {**reminder(["2026-11"]), "months": "2026-11"},
    {k: v for k, v in reminder(["2026-11"]).items() if k != "period"},
])
def test_a_malformed_reminder_is_refused(payload: Mapping[str, Any]) -> None:
    with pytest.raises(ValueError):
        render("payment.reminder", payload, "en")


@pytest.mark.parametrize("state", list(DISPUTE_TITLES))
def test_a_case_says_where_it_stands_in_every_language(state: str) -> None:
    payload = {**EVENTS["dispute.updated"], "state": state, "patient": None}
    if state != "CONFIRMED":
        payload["recoveredTiyn"] = None
    if state in ("SUBMITTED", "IN_REVIEW"):
        payload["explanation"] = None
    for language, title in zip(LANGUAGES, DISPUTE_TITLES[state], strict=True):
        rendered = render("dispute.updated", payload, language)
        within_limits(rendered)
        assert rendered.title == title
        open_ = state in ("SUBMITTED", "IN_REVIEW")
        due = {"kk": "2026 жылғы 8 желтоқсанға дейін", "ru": "до 8 декабря 2026 г.",
               "en": "by 8 December 2026"}[language]
        assert (due in rendered.body) is open_
        assert not rendered.body.startswith("Dana")


def test_a_long_explanation_is_cut_to_fit_the_push() -> None:
    long = names("Ұзақ түсініктеме. " * 40, "Длинное объяснение. " * 40, "A long answer. " * 40)
    payload = {**EVENTS["dispute.updated"], "explanation": long}
    for language in LANGUAGES:
        within_limits(render("dispute.updated", payload, language))


def test_a_case_in_a_state_the_code_does_not_know_is_not_worded() -> None:
    with pytest.raises(ValueError, match="unknown case state"):
        render("dispute.updated", {**EVENTS["dispute.updated"], "state": "LOST"}, "en")
