"""Every word of the public page at ``/transparency``, in Kazakh, Russian and English (a test
walks the table), and how the page writes numbers, money, shares and months in each.

The names of what the figures group by (kinds, payer kinds, packages, statuses) are the
API's own (``backend.transparency.texts``): the page and ``publicStats`` say the same.
``{name}`` fields are filled by the template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from backend.i18n import Texts, format_money, pick
from notifications.formatting import tidy

NBSP = "\u00a0"
LANGUAGE_NAMES: Mapping[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

SHORT_MONTHS: Mapping[str, tuple[str, ...]] = {
    "kk": ("қаң", "ақп", "нау", "сәу", "мам", "мау", "шіл", "там", "қыр", "қаз", "қар", "жел"),
    "ru": ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
"""A month on a chart's axis (its year only where the year changes: ``year_month``)."""

SCALES: Mapping[str, Texts] = {
    "1": {"kk": "₸", "ru": "₸", "en": "₸"},
    "1000": {"kk": "мың ₸", "ru": "тыс. ₸", "en": "thousand ₸"},
    "1000000": {"kk": "млн ₸", "ru": "млн ₸", "en": "million ₸"},
    "1000000000": {"kk": "млрд ₸", "ru": "млрд ₸", "en": "billion ₸"},
}
"""The unit of a chart's money axis, by how many tenge it counts."""

TEXTS: Mapping[str, Texts] = {
    # -- the frame --------------------------------------------------------------------------
    "site": {"kk": "МӘМС — ашық деректер", "ru": "ОСМС — открытые данные",
             "en": "MHI — open figures"},
    "skip": {"kk": "Негізгі мазмұнға өту", "ru": "Перейти к содержанию",
             "en": "Skip to the main content"},
    "language": {"kk": "Тіл", "ru": "Язык", "en": "Language"},
    "contents": {"kk": "Беттің мазмұны", "ru": "Содержание страницы",
                 "en": "On this page"},
    "title": {"kk": "Сақтандыру ақшасы қайда жұмсалады",
              "ru": "Куда идут деньги медицинского страхования",
              "en": "Where the health insurance money goes"},
    "lead": {
        "kk": "Әлеуметтік медициналық сақтандыру қорының ашық деректері: жарналар қанша түсті, "
              "медициналық көмекке қанша төленді — айлар, өңірлер және медициналық ұйымдар "
              "бойынша, сондай-ақ қанша адам сақтандырылған. Кезең: {period}.",
        "ru": "Открытые данные Фонда социального медицинского страхования: сколько поступило "
              "взносов и сколько оплачено за медицинскую помощь — по месяцам, регионам и "
              "медицинским организациям, и сколько людей застраховано. Период: {period}.",
        "en": "The Social Health Insurance Fund's public figures: how much came in as "
              "contributions and how much was paid for care, by month, region and provider, "
              "and how many people are insured. Period: {period}."},
    "period": {"kk": "{first} — {last}", "ru": "{first} — {last}", "en": "{first} to {last}"},
    # -- the balance ------------------------------------------------------------------------
    "balance_title": {"kk": "Қордың қалдығы", "ru": "Остаток Фонда", "en": "The Fund's balance"},
    "balance_on": {"kk": "{day} жағдай бойынша", "ru": "на {day}", "en": "on {day}"},
    "received": {"kk": "Түскені", "ru": "Поступило", "en": "Received"},
    "paid_out": {"kk": "Төленгені", "ru": "Выплачено", "en": "Paid out"},
    "balance_note": {
        "kk": "Қор құрылғаннан бері түскен барлық жарналар (қайтарылғандарын шегергенде) "
              "минус медициналық көмекке төленгеннің бәрі (кері қайтарылғандарын шегергенде), "
              "ақша қозғалған күн бойынша.",
        "ru": "Все взносы, поступившие с начала учёта (за вычетом возвратов), минус всё "
              "оплаченное за медицинскую помощь (за вычетом снятий), по дню движения денег.",
        "en": "Every contribution received since the records began (less refunds), minus "
              "everything paid for care (less withdrawals), by the day the money moved."},
    # -- by month ---------------------------------------------------------------------------
    "months_title": {"kk": "Айлар бойынша түскені мен төленгені",
                     "ru": "Поступления и выплаты по месяцам",
                     "en": "Money in and money out by month"},
    "months_chart": {
        "kk": "Баған диаграмма: әр айдағы түскен жарналар мен медициналық көмекке төлемдер, "
              "{unit}. Сандары қасындағы кестеде.",
        "ru": "Столбчатая диаграмма: взносы и оплата медицинской помощи за каждый месяц, "
              "{unit}. Числа — в таблице рядом.",
        "en": "Bar chart: contributions and payments for care in each month, in {unit}. The "
              "figures are in the table beside it."},
    "months_caption": {"kk": "Айлар бойынша түскені мен төленгені, ₸",
                       "ru": "Поступления и выплаты по месяцам, ₸",
                       "en": "Money in and out by month, ₸"},
    "months_note": {
        "kk": "Ай — ақша қай ай үшін екені: жарнаның кезеңі, көмек көрсетілген ай. Қайтару "
              "немесе кері алу өз айын түзетеді. Сондықтан айлардың сомасы қалдықпен тура "
              "сәйкес келмейді: қалдық ақша қозғалған күн бойынша есептеледі.",
        "ru": "Месяц — тот, за который деньги: период взноса, месяц оказания помощи. Возврат "
              "или снятие исправляет свой месяц. Поэтому суммы по месяцам не складываются в "
              "остаток: он считается по дню движения денег.",
        "en": "A month is the month the money is for: a contribution's period, the month care "
              "was given. A refund or withdrawal corrects its own month. So the months do not "
              "add up to the balance, which counts the day the money moved."},
    "month": {"kk": "Ай", "ru": "Месяц", "en": "Month"},
    "money_in": {"kk": "Жарналар", "ru": "Взносы", "en": "Money in"},
    "money_out": {"kk": "Төлемдер", "ru": "Выплаты", "en": "Money out"},
    "difference": {"kk": "Айырма", "ru": "Разница", "en": "Difference"},
    "payments": {"kk": "Жарналар саны", "ru": "Число взносов", "en": "Contributions"},
    "services": {"kk": "Қызметтер саны", "ru": "Число услуг", "en": "Services"},
    "total": {"kk": "Барлығы", "ru": "Всего", "en": "Total"},
    # -- by region --------------------------------------------------------------------------
    "regions_title": {"kk": "Өңірлер бойынша ақша", "ru": "Деньги по регионам",
                      "en": "Money by region"},
    "regions_chart": {
        "kk": "Баған диаграмма: әр өңірдегі түскен жарналар мен төлемдер, {unit}, кезең "
              "бойынша. Сандары қасындағы кестеде.",
        "ru": "Столбчатая диаграмма: взносы и выплаты по каждому региону за период, {unit}. "
              "Числа — в таблице рядом.",
        "en": "Bar chart: contributions and payments in each region over the period, in "
              "{unit}. The figures are in the table beside it."},
    "regions_caption": {"kk": "Өңірлер бойынша ақша, {period}, ₸",
                        "ru": "Деньги по регионам, {period}, ₸",
                        "en": "Money by region, {period}, ₸"},
    "region": {"kk": "Өңір", "ru": "Регион", "en": "Region"},
    "regions_note": {
        "kk": "Жарналар — адам тұратын өңірде, төлемдер — медициналық ұйымның өңірінде. "
              "Карта жоқ: 2022 жылдан бергі 20 өңірдің (Абай, Жетісу, Ұлытау облыстарымен) "
              "шекаралары орнатуға болатын ашық пакетте жоқ, сондықтан өңірлер баған "
              "түрінде көрсетілген.",
        "ru": "Взносы — по региону человека, выплаты — по региону медицинской организации. "
              "Карты нет: границ 20 регионов после 2022 года (с областями Абай, Жетісу, "
              "Ұлытау) нет ни в одном открытом пакете, который можно установить, поэтому "
              "регионы показаны столбцами.",
        "en": "Contributions count in the person's region, payments in the provider's. There "
              "is no map: no open package that we can install has the boundaries of the 20 "
              "regions as they are since 2022 (with Abai, Zhetisu and Ulytau), so the regions "
              "are shown as bars."},
    # -- providers --------------------------------------------------------------------------
    "providers_title": {"kk": "Медициналық ұйымдар", "ru": "Медицинские организации",
                        "en": "Providers"},
    "providers_intro": {
        "kk": "Қор әр ұйымға кезең ішінде не төледі, оның сапа аймағы, ауытқулар мен "
              "шағымдар үлесі.",
        "ru": "Что Фонд заплатил каждой организации за период, её зона качества, доля "
              "отклонений и обращений.",
        "en": "What the Fund paid each provider over the period, its quality zone, and its "
              "anomaly and dispute rates."},
    "providers_caption": {"kk": "Медициналық ұйымдар, {period}",
                          "ru": "Медицинские организации, {period}",
                          "en": "Providers, {period}"},
    "filter": {"kk": "Іріктеу", "ru": "Отбор", "en": "Filter"},
    "all_regions": {"kk": "Барлық өңірлер", "ru": "Все регионы", "en": "All regions"},
    "all_zones": {"kk": "Барлық аймақтар", "ru": "Все зоны", "en": "All zones"},
    "show": {"kk": "Көрсету", "ru": "Показать", "en": "Show"},
    "provider": {"kk": "Ұйым", "ru": "Организация", "en": "Provider"},
    "zone": {"kk": "Сапа аймағы", "ru": "Зона качества", "en": "Quality zone"},
    "zone_green": {"kk": "жасыл", "ru": "зелёная", "en": "green"},
    "zone_yellow": {"kk": "сары", "ru": "жёлтая", "en": "yellow"},
    "zone_red": {"kk": "қызыл", "ru": "красная", "en": "red"},
    "paid": {"kk": "Төленді", "ru": "Оплачено", "en": "Paid"},
    "anomaly_rate": {"kk": "Ауытқулар, 100 қызметке", "ru": "Отклонения на 100 услуг",
                     "en": "Anomalies per 100 services"},
    "dispute_rate": {"kk": "Шағымдар, 100 қызметке", "ru": "Обращения на 100 услуг",
                     "en": "Disputes per 100 services"},
    "providers_note": {
        "kk": "Сапа аймағы — Қордың нәтиже коэффициенті бойынша бағасы (жасыл — жақсы, "
              "қызыл — нашар). Ауытқу — деректер түскенде тексеру белгілеген қызмет. Шағым — "
              "азаматтың «мен бұл көмекті алған жоқпын» деген хабарламасы. Екеуі де 100 "
              "төленген қызметке шаққанда. «—» — кезеңде төленген қызмет жоқ.",
        "ru": "Зона качества — оценка Фонда по коэффициенту результата (зелёная — хорошо, "
              "красная — плохо). Отклонение — услуга, отмеченная проверками при поступлении "
              "данных. Обращение — сообщение гражданина «я не получал эту помощь». Оба — на "
              "100 оплаченных услуг. «—» — за период услуг не оплачено.",
        "en": "The quality zone is the Fund's rating by its result coefficient (green: good, "
              "red: poor). An anomaly is a service flagged by the checks when the data came "
              "in; a dispute is a citizen's report “I did not receive this”. Both are per 100 "
              "services paid. “—”: no service was paid in the period."},
    "providers_none": {"kk": "Бұл іріктеуде ұйым жоқ.",
                       "ru": "По этому отбору организаций нет.",
                       "en": "No provider matches this filter."},
    "next_page": {"kk": "Келесі {size} ұйым", "ru": "Следующие {size} организаций",
                  "en": "Next {size} providers"},
    "first_page": {"kk": "Бірінші бетке", "ru": "К первой странице",
                   "en": "Back to the first page"},
    "pages": {"kk": "Беттер", "ru": "Страницы", "en": "Pages"},
    # -- insured people ---------------------------------------------------------------------
    "insured_title": {"kk": "Сақтандырылған адамдар", "ru": "Застрахованные люди",
                      "en": "Insured people"},
    "insured_caption": {"kk": "Өңірлер бойынша адамдар, {month} соңында",
                        "ru": "Люди по регионам на конец месяца: {month}",
                        "en": "People by region at the end of {month}"},
    "insured_provisional": {
        "kk": "Ай әлі аяқталған жоқ: бұл алдын ала сан, ай соңында жаңартылады.",
        "ru": "Месяц ещё не закончился: это предварительный подсчёт, он обновится в конце "
              "месяца.",
        "en": "The month is not over: this is a provisional count, replaced at the month's "
              "end."},
    "insured_none": {"kk": "Сақтандырылғандар саны әлі жоқ.",
                     "ru": "Подсчёта застрахованных пока нет.",
                     "en": "There is no count of insured people yet."},
    "people_total": {"kk": "Барлық адам", "ru": "Всего людей", "en": "Everyone"},
    # -- about ------------------------------------------------------------------------------
    "about_title": {"kk": "Бұл сандар туралы", "ru": "Об этих цифрах", "en": "About these figures"},
    "about_what": {
        "kk": "Сандар Қордың деректерінен жинақталған жиынтықтар: жеке адам туралы ештеңе "
              "жоқ. Олар деректер түскен сайын бір минут ішінде жаңарады. Сомалар — теңгемен.",
        "ru": "Цифры — это итоги, собранные из данных Фонда: ни о ком лично здесь ничего нет. "
              "Они обновляются в течение минуты после поступления данных. Суммы — в тенге.",
        "en": "The figures are totals kept from the Fund's records: nothing here is about a "
              "person. They are updated within a minute of the data arriving. Amounts are in "
              "tenge."},
    "about_rule": {
        "kk": "Ешбір сан 1-ден 10-ға дейінгі адамды, төлемді немесе қызметті санамайды. "
              "Мұндай ұяшық «{withheld}» деп көрсетіледі. Оны жиынтықтан немесе басқа "
              "ұяшықтардан есептеп шығаруға болатын болса, екінші ұяшық та жасырылады (CMS "
              "ережесі), сондықтан жасырылған ұяшық 10-нан үлкен болуы мүмкін. Жасырылған "
              "ұяшық нөл емес: нөл — ештеңе болмаған дегенді білдіреді.",
        "ru": "Ни одна цифра не считает от 1 до 10 людей, платежей или услуг. Такая ячейка "
              "показана как «{withheld}». Если её можно вычислить из итога или других ячеек, "
              "скрывается и вторая ячейка (правило CMS), поэтому скрытая ячейка может быть и "
              "больше 10. Скрытая ячейка — не ноль: ноль значит, что ничего не было.",
        "en": "No figure counts 1 to 10 people, payments or services. Such a cell is shown as "
              "“{withheld}”. Where it could be worked out from a total or other cells, a "
              "second cell is withheld too (the CMS rule), so a withheld cell may also be "
              "larger than 10. A withheld cell is not zero: zero means nothing happened."},
    "withheld": {"kk": "жасырылған", "ru": "скрыто", "en": "withheld"},
    "withheld_long": {"kk": "жасырылған: 11-ден аз немесе сондай санды ашар еді",
                      "ru": "скрыто: меньше 11 или раскрыло бы такое число",
                      "en": "withheld: fewer than 11, or would reveal such a figure"},
    "no_services": {"kk": "төленген қызмет жоқ", "ru": "оплаченных услуг нет",
                    "en": "no services paid"},
    # -- open data --------------------------------------------------------------------------
    "open_title": {"kk": "Ашық деректер", "ru": "Открытые данные", "en": "Open data"},
    "open_intro": {
        "kk": "Осы сандар CSV және JSON файлдары ретінде, айлар бойынша тұрақты "
              "мекенжайларда, және GraphQL арқылы (publicStats өрісі) қолжетімді.",
        "ru": "Эти же цифры — в файлах CSV и JSON по постоянным адресам по месяцам, и через "
              "GraphQL (поле publicStats).",
        "en": "The same figures are in CSV and JSON files at stable addresses by month, and "
              "in GraphQL (the publicStats field)."},
    "open_files": {"kk": "{month} файлдары", "ru": "Файлы за {month}",
                   "en": "Files for {month}"},
    "open_index": {"kk": "Барлық файлдар", "ru": "Все файлы", "en": "All files"},
    "open_dictionary": {"kk": "Деректер сөздігі", "ru": "Словарь данных",
                        "en": "Data dictionary"},
    "open_graphql": {"kk": "GraphQL API", "ru": "GraphQL API", "en": "GraphQL API"},
    # -- refusals ---------------------------------------------------------------------------
    "error_title": {"kk": "Бұл бетті көрсету мүмкін емес", "ru": "Эту страницу не показать",
                    "en": "This page cannot be shown"},
    "not_found_title": {"kk": "Бет табылмады", "ru": "Страница не найдена",
                        "en": "Page not found"},
    "not_found_text": {"kk": "Мұндай бет жоқ.", "ru": "Такой страницы нет.",
                       "en": "There is no such page."},
    "bad_language": {
        "kk": "«{value}» тілі жоқ: lang параметрі kk, ru немесе en болуы керек.",
        "ru": "Языка «{value}» нет: параметр lang — kk, ru или en.",
        "en": "There is no language “{value}”: lang is kk, ru or en."},
    "bad_region": {
        "kk": "«{value}» өңірі жоқ: тізімнен өңірді таңдаңыз.",
        "ru": "Региона «{value}» нет: выберите регион из списка.",
        "en": "There is no region “{value}”: choose a region from the list."},
    "bad_zone": {
        "kk": "«{value}» аймағы жоқ: green, yellow немесе red.",
        "ru": "Зоны «{value}» нет: green, yellow или red.",
        "en": "There is no zone “{value}”: green, yellow or red."},
    "bad_after": {
        "kk": "Бет белгісі қате. Бірінші беттен бастаңыз.",
        "ru": "Неверная отметка страницы. Начните с первой страницы.",
        "en": "The page marker is not valid. Start again from the first page."},
    "bad_parameter": {
        "kk": "Бет «{value}» параметрін білмейді. Оның параметрлері: {known}.",
        "ru": "Страница не знает параметра «{value}». Её параметры: {known}.",
        "en": "The page has no parameter “{value}”. Its parameters are {known}."},
    "back": {"kk": "Ашық деректер бетіне", "ru": "На страницу открытых данных",
             "en": "Back to the open figures"},
}


def text(key: str, language: str, **values: object) -> str:
    """The words of ``key`` in ``language`` (Kazakh when it has none), blanks filled (a
    Russian "г." that ends a sentence keeps one full stop)."""
    words = pick(TEXTS[key], language)
    return tidy(words.format(**values)) if values else words


def number(value: int, language: str) -> str:
    """A whole number with thousands apart: "139 774" (kk, ru: no-break spaces), "139,774"."""
    grouped = f"{value:,}"
    return grouped if language == "en" else grouped.replace(",", NBSP)


def money(tiyn: int, language: str) -> str:
    """Tenge exactly, as the whole app writes it ("12 400,50 ₸", "12,400.50 ₸")."""
    return format_money(tiyn, language)


def amount(tiyn: int, language: str) -> str:
    """Tenge with two decimals always and no sign of the currency, for a table whose caption
    names it: "12 400,00" (kk, ru), "12,400.00" (en), so a column's decimals line up."""
    whole, cents = divmod(abs(tiyn), 100)
    sign = "-" if tiyn < 0 else ""
    separator = "." if language == "en" else ","
    return f"{sign}{number(whole, language)}{separator}{cents:02d}"


def decimal(value: float, language: str, places: int) -> str:
    """A number with ``places`` decimals: "1.25" (en), "1,25" (kk, ru)."""
    written = f"{value:,.{places}f}"
    if language == "en":
        return written
    return written.replace(",", NBSP).replace(".", ",")


def per_hundred(rate: float, language: str) -> str:
    """A rate per service as a count per 100 services, two decimals."""
    return decimal(rate * 100, language, 2)


ALPHABETS: Mapping[str, str] = {
    "kk": "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
}
"""Cyrillic letters in each language's own order (Python's order puts Kazakh letters last)."""


def sort_key(words: str, language: str) -> tuple[int, ...]:
    """``words`` as a key that sorts in ``language``'s alphabet (other characters after the
    letters, in code point order)."""
    alphabet = ALPHABETS.get(language, "")
    return tuple(alphabet.index(char) if char in alphabet else 100 + ord(char)
                 for char in words.lower())


REGION_WORDS = frozenset({"Region", "область", "облысы"})


def short_region(name: str) -> str:
    """A region's name without the word for "region" ("Akmola", "Акмолинская", "Абай"), for
    a chart on a phone and for the order of regions (so "область Абай" sorts under А)."""
    return " ".join(word for word in name.split() if word not in REGION_WORDS) or name


def short_regions(names: Sequence[str]) -> list[str]:
    """``short_region`` of each name, but the full name where two would read the same
    ("Almaty Region" and the city of Almaty)."""
    short = [short_region(name) for name in names]
    return [cut if short.count(cut) == 1 else name for name, cut in zip(names, short, strict=True)]


def year_month(month: date, language: str, *, with_year: bool) -> str:
    """A month on a chart's axis: "Oct", "Jan 2026" (``with_year``), "2026 қаң"."""
    short = SHORT_MONTHS[language if language in SHORT_MONTHS else "kk"][month.month - 1]
    if not with_year:
        return short
    return f"{month.year}{NBSP}{short}" if language == "kk" else f"{short}{NBSP}{month.year}"
