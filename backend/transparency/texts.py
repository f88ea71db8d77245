"""What a reader of the public figures reads, in Kazakh, Russian and English: the names of
what the tables group by, and why a question is refused."""

from __future__ import annotations

from collections.abc import Mapping

from backend.i18n import Texts

TOTAL: Texts = {"kk": "Барлығы", "ru": "Всего", "en": "Total"}

KINDS: Mapping[str, Texts] = {
    "employer_deduction": {"kk": "Жұмыс берушінің аударымдары",
                           "ru": "Отчисления работодателей",
                           "en": "Employers' deductions"},
    "employee_contribution": {"kk": "Қызметкерлердің жарналары",
                              "ru": "Взносы работников",
                              "en": "Employees' contributions"},
    "self_payment": {"kk": "Өз бетінше төлеушілердің жарналары",
                     "ru": "Взносы самостоятельных плательщиков",
                     "en": "Self-payers' contributions"},
    "entrepreneur_contribution": {"kk": "Жеке кәсіпкерлердің жарналары",
                                  "ru": "Взносы индивидуальных предпринимателей",
                                  "en": "Entrepreneurs' contributions"},
    "state_contribution": {"kk": "Мемлекеттің жарналары",
                           "ru": "Взносы государства",
                           "en": "State contributions"},
}
PAYER_KINDS: Mapping[str, Texts] = {
    "employer": {"kk": "Жұмыс берушілер", "ru": "Работодатели", "en": "Employers"},
    "state": {"kk": "Республикалық бюджет", "ru": "Республиканский бюджет",
              "en": "The republican budget"},
    "local_budget": {"kk": "Жергілікті бюджеттер", "ru": "Местные бюджеты",
                     "en": "Local budgets"},
    "self": {"kk": "Адамдардың өздері", "ru": "Сами граждане", "en": "People themselves"},
}
PACKAGES: Mapping[str, Texts] = {
    "gobmp": {"kk": "ТМККК (тегін медициналық көмектің кепілдік берілген көлемі)",
              "ru": "ГОБМП (гарантированный объём бесплатной медицинской помощи)",
              "en": "Guaranteed volume of free care (GVFMC)"},
    "osms": {"kk": "МӘМС пакеті (міндетті әлеуметтік медициналық сақтандыру)",
             "ru": "Пакет ОСМС (обязательное социальное медицинское страхование)",
             "en": "Insurance package (CSHI)"},
}
CATEGORIES: Mapping[str, Texts] = {
    "primary_care": {"kk": "Алғашқы медициналық-санитариялық көмек",
                     "ru": "Первичная медико-санитарная помощь", "en": "Primary care"},
    "specialist": {"kk": "Бейінді маман кеңесі", "ru": "Консультации профильных специалистов",
                   "en": "Specialist consultations"},
    "screening": {"kk": "Скринингтер", "ru": "Скрининги", "en": "Screenings"},
    "diagnostics": {"kk": "Диагностика", "ru": "Диагностика", "en": "Diagnostics"},
    "laboratory": {"kk": "Зертханалық зерттеулер", "ru": "Лабораторные исследования",
                   "en": "Laboratory tests"},
    "rehabilitation": {"kk": "Оңалту", "ru": "Реабилитация", "en": "Rehabilitation"},
    "day_hospital": {"kk": "Күндізгі стационар", "ru": "Дневной стационар",
                     "en": "Day hospital"},
    "inpatient": {"kk": "Тәулік бойғы стационар", "ru": "Круглосуточный стационар",
                  "en": "Inpatient care"},
    "dental": {"kk": "Стоматология", "ru": "Стоматология", "en": "Dental care"},
    "emergency": {"kk": "Жедел медициналық көмек", "ru": "Скорая медицинская помощь",
                  "en": "Emergency care"},
}
STATUSES: Mapping[str, Texts] = {
    "INSURED": {"kk": "Сақтандырылған", "ru": "Застрахованы", "en": "Insured"},
    "CONDITIONALLY_INSURED": {"kk": "Шартты түрде сақтандырылған",
                              "ru": "Условно застрахованы",
                              "en": "Conditionally insured"},
    "NOT_INSURED": {"kk": "Сақтандырылмаған", "ru": "Не застрахованы", "en": "Not insured"},
}

REFUSALS: Mapping[str, Texts] = {
    "PERIOD_REVERSED": {
        "kk": "`until` айы `from` айынан бұрын болмауы керек.",
        "ru": "Месяц `until` не может быть раньше месяца `from`.",
        "en": "`until` cannot be before `from`."},
    "PERIOD_TOO_LONG": {
        "kk": "Кезең {max} айдан аспауы керек.",
        "ru": "Период не может быть длиннее {max} месяцев.",
        "en": "A period covers at most {max} months."},
    "MONTH_NOT_YET": {
        "kk": "Деректер ағымдағы айға ({month}) дейін ғана бар.",
        "ru": "Данные есть только до текущего месяца ({month}).",
        "en": "Figures exist only up to the current month ({month})."},
    "DAY_NOT_YET": {
        "kk": "Қалдық бүгінгі күнге ({day}) дейін ғана белгілі.",
        "ru": "Остаток известен только на сегодня ({day}) и раньше.",
        "en": "The balance is known only up to today ({day})."},
    "UNKNOWN_REGION": {
        "kk": "Мұндай өңір коды жоқ: ISO 3166-2 кодын жазыңыз, мысалы KZ-75.",
        "ru": "Такого кода региона нет: укажите код ISO 3166-2, например KZ-75.",
        "en": "There is no region with this code: use an ISO 3166-2 code such as KZ-75."},
    "NO_INSURED_FIGURES": {
        "kk": "{month} айы үшін сақтандырылғандар саны әлі жоқ.",
        "ru": "Числа застрахованных за {month} пока нет.",
        "en": "There are no figures of insured people for {month} yet."},
}


def refusal(reason: str, **values: object) -> Texts:
    """The words for refusal ``reason`` in every language, with ``values`` filled in."""
    return {language: text.format(**values) for language, text in REFUSALS[reason].items()}
