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
    "MONTH_TOO_EARLY": {
        "kk": "Деректер {month} айынан басталады.",
        "ru": "Данные начинаются с {month}.",
        "en": "Figures begin in {month}."},
    "PERIOD_TOO_LONG": {
        "kk": "Кезең {max} айдан аспауы керек.",
        "ru": "Период не может быть длиннее {max} месяцев.",
        "en": "A period covers at most {max} months."},
    "MONTH_NOT_YET": {
        "kk": "Деректер ағымдағы айға ({month}) дейін ғана бар.",
        "ru": "Данные есть только до текущего месяца ({month}).",
        "en": "Figures exist only up to the current month ({month})."},
    "MONTH_NOT_OVER": {
        "kk": "Ақша туралы деректер аяқталған айлар үшін ғана жарияланады: соңғысы — {month}.",
        "ru": "Данные о деньгах публикуются только за закончившиеся месяцы: последний — "
              "{month}.",
        "en": "Money figures are published for months that have ended: the latest is "
              "{month}."},
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


NOT_PUBLISHED: Texts = {
    "kk": "Мұндай ашық деректер файлы жоқ: ай аяқталмаған, ол үшін деректер жоқ немесе файл "
          "атауы қате. Тізім: /open-data/",
    "ru": "Такого файла открытых данных нет: месяц не закончился, данных за него нет или имя "
          "файла неверно. Список: /open-data/",
    "en": "There is no such open-data file: the month has not ended, has no figures, or the "
          "file name is wrong. The list: /open-data/",
}

FILES: Mapping[str, Texts] = {
    "money-in-by-region": {
        "kk": "Ай үшін түскен жарналар, адамның өңірі бойынша.",
        "ru": "Взносы, поступившие за месяц, по региону человека.",
        "en": "Contributions received for the month, by the person's region."},
    "money-in-by-kind": {
        "kk": "Ай үшін түскен жарналар, жарна түрі бойынша.",
        "ru": "Взносы, поступившие за месяц, по виду взноса.",
        "en": "Contributions received for the month, by kind of contribution."},
    "money-in-by-payer-kind": {
        "kk": "Ай үшін түскен жарналар, төлеуші бойынша.",
        "ru": "Взносы, поступившие за месяц, по плательщику.",
        "en": "Contributions received for the month, by who paid."},
    "money-out-by-region": {
        "kk": "Айда көрсетілген көмек үшін Қордың төлемдері, медициналық ұйымның өңірі бойынша.",
        "ru": "Оплаты Фонда за помощь, оказанную в месяце, по региону медицинской организации.",
        "en": "What the Fund paid for care given in the month, by the provider's region."},
    "money-out-by-package": {
        "kk": "Айда көрсетілген көмек үшін Қордың төлемдері, пакет бойынша.",
        "ru": "Оплаты Фонда за помощь, оказанную в месяце, по пакету.",
        "en": "What the Fund paid for care given in the month, by benefit package."},
    "money-out-by-category": {
        "kk": "Айда көрсетілген көмек үшін Қордың төлемдері, қызмет санаты бойынша.",
        "ru": "Оплаты Фонда за помощь, оказанную в месяце, по категории услуг.",
        "en": "What the Fund paid for care given in the month, by service category."},
    "money-out-by-provider": {
        "kk": "Айда көрсетілген көмек үшін Қордың әр медициналық ұйымға төлемдері, белгілер мен "
              "азаматтардың өтініштері.",
        "ru": "Оплаты Фонда каждой медицинской организации за помощь, оказанную в месяце, "
              "отметки проверок и обращения граждан.",
        "en": "What the Fund paid each provider for care given in the month, with the checks' "
              "flags and citizens' reports."},
    "insured-by-region": {
        "kk": "Ай соңындағы адамдар саны, өңір және сақтандыру мәртебесі бойынша.",
        "ru": "Число людей на конец месяца по региону и статусу страхования.",
        "en": "People at the month's end by region and insurance status."},
}

COLUMNS: Mapping[str, Texts] = {
    "month": {"kk": "Ай (ЖЖЖЖ-АА): ақша қай ай үшін (жарналар) немесе көмек қай айда "
                    "көрсетілген (төлемдер); адамдар үшін — ай соңы.",
              "ru": "Месяц (ГГГГ-ММ): за какой месяц деньги (взносы) или в каком месяце "
                    "оказана помощь (оплаты); для людей — конец месяца.",
              "en": "The month (YYYY-MM) the money is for (contributions) or the care was given "
                    "in (payments); for people, its end."},
    "region_code": {"kk": "Өңір коды (ISO 3166-2, мысалы KZ-75); TOTAL — бүкіл ел.",
                    "ru": "Код региона (ISO 3166-2, например KZ-75); TOTAL — вся страна.",
                    "en": "Region code (ISO 3166-2, for example KZ-75); TOTAL for the country."},
    "kind": {"kk": "Жарна түрінің коды; TOTAL — барлығы.",
             "ru": "Код вида взноса; TOTAL — всего.",
             "en": "Kind of contribution (code); TOTAL for all."},
    "payer_kind": {"kk": "Төлеуші коды (employer, state, local_budget, self); TOTAL — барлығы.",
                   "ru": "Код плательщика (employer, state, local_budget, self); TOTAL — всего.",
                   "en": "Who paid (employer, state, local_budget, self); TOTAL for all."},
    "package": {"kk": "Пакет коды (gobmp, osms); TOTAL — барлығы.",
                "ru": "Код пакета (gobmp, osms); TOTAL — всего.",
                "en": "Benefit package (gobmp, osms); TOTAL for all."},
    "category": {"kk": "Қызмет санатының коды; TOTAL — барлығы.",
                 "ru": "Код категории услуг; TOTAL — всего.",
                 "en": "Service category (code); TOTAL for all."},
    "provider_id": {"kk": "Медициналық ұйымның тұрақты идентификаторы (UUID).",
                    "ru": "Постоянный идентификатор медицинской организации (UUID).",
                    "en": "The provider's stable id (UUID)."},
    "bin": {"kk": "Ұйымның БСН-і (12 цифр).", "ru": "БИН организации (12 цифр).",
            "en": "The organisation's BIN (12 digits)."},
    "quality_zone": {"kk": "Қордың бағасы: green, yellow, red.",
                     "ru": "Оценка Фонда: green, yellow, red.",
                     "en": "The Fund's rating: green, yellow, red."},
    "name_kk": {"kk": "Атауы қазақша.", "ru": "Название на казахском.",
                "en": "The name in Kazakh."},
    "name_ru": {"kk": "Атауы орысша.", "ru": "Название на русском.",
                "en": "The name in Russian."},
    "name_en": {"kk": "Атауы ағылшынша.", "ru": "Название на английском.",
                "en": "The name in English."},
    "payments": {"kk": "Жарналар саны (толық қайтарылғандарын қоспағанда); жасырылса бос.",
                 "ru": "Число взносов (без полностью возвращённых); пусто, если скрыто.",
                 "en": "Contributions (those entirely refunded left out); empty if suppressed."},
    "services": {"kk": "Төленген қызметтер саны (толық ұсталғандарын қоспағанда); жасырылса бос.",
                 "ru": "Число оплаченных услуг (без полностью удержанных); пусто, если скрыто.",
                 "en": "Services paid (those entirely withdrawn left out); empty if suppressed."},
    "amount_kzt": {"kk": "Сома, теңге (екі ондық таңба), қайтарулар мен ұстаулар шегерілген; "
                         "жасырылса бос.",
                   "ru": "Сумма в тенге (два знака после точки) за вычетом возвратов и "
                         "удержаний; пусто, если скрыто.",
                   "en": "Amount in tenge (two decimals), net of refunds and withdrawals; "
                         "empty if suppressed."},
    "flags": {"kk": "Тексерулер қойған белгілер саны (екі белгісі бар қызмет екі рет "
                    "саналады); жасырылса бос.",
              "ru": "Число отметок проверок (услуга с двумя отметками считается дважды); "
                    "пусто, если скрыто.",
              "en": "Flags the ingestion checks raised (a service with two counts twice); "
                    "empty if suppressed."},
    "anomaly_rate": {"kk": "Бір қызметке шаққандағы белгілер (flags / services); жасырылса бос.",
                     "ru": "Отметок на одну услугу (flags / services); пусто, если скрыто.",
                     "en": "Flags per service paid (flags / services); empty if suppressed."},
    "cases": {"kk": "Азаматтардың осы айда берген «көмек көрсетілмеді» өтініштері; "
                    "жасырылса бос.",
              "ru": "Обращения граждан «мне это не оказывали», поданные в этом месяце; "
                    "пусто, если скрыто.",
              "en": "Citizens' reports (\"I did not receive this\") made in the month; empty "
                    "if suppressed."},
    "dispute_rate": {"kk": "Бір қызметке шаққандағы өтініштер (cases / services); жасырылса бос.",
                     "ru": "Обращений на одну услугу (cases / services); пусто, если скрыто.",
                     "en": "Reports per service paid (cases / services); empty if suppressed."},
    "insured": {"kk": "Сақтандырылғандар; жасырылса бос.", "ru": "Застрахованы; пусто, если "
                "скрыто.", "en": "Insured; empty if suppressed."},
    "conditionally_insured": {"kk": "Шартты түрде сақтандырылғандар; жасырылса бос.",
                              "ru": "Условно застрахованы; пусто, если скрыто.",
                              "en": "Conditionally insured; empty if suppressed."},
    "not_insured": {"kk": "Сақтандырылмағандар; жасырылса бос.",
                    "ru": "Не застрахованы; пусто, если скрыто.",
                    "en": "Not insured; empty if suppressed."},
    "people": {"kk": "Барлық адамдар; жасырылса бос.", "ru": "Все люди; пусто, если скрыто.",
               "en": "Everyone counted; empty if suppressed."},
    "suppressed": {"kk": "true — жолдың кейбір сандары жасырылған: олар 1–10 адамды, қызметті "
                         "не төлемді санайды немесе осындай санды ашып қояды.",
                   "ru": "true — часть чисел строки скрыта: они считают 1–10 людей, услуг или "
                         "платежей или позволили бы вычислить такое число.",
                   "en": "true when some of the row's figures are withheld: they count 1–10 "
                         "people, services or payments, or would give such a figure away."},
}
