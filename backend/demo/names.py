"""Name pools and name grammar for the deterministic demo generator.

Kazakh names are in Kazakh Cyrillic spelling (as on identity cards), Russian names in
Russian spelling. Surnames are stored in the male form; `feminine_surname` derives the
female one. `patronymic` builds a Kazakh-style ("Серікұлы") or Russian-style ("Серікович")
patronymic, and `transliterate` gives a Latin form for English display.
"""

from typing import Literal

Sex = Literal["M", "F"]
PatronymicStyle = Literal["kk", "ru"]

KAZAKH_MALE_NAMES: tuple[str, ...] = (
    "Нұрлан", "Ерлан", "Серік", "Асхат", "Айдос", "Бауыржан", "Дәурен", "Ержан", "Қайрат",
    "Мұрат", "Нұрсұлтан", "Арман", "Ерболат", "Жандос", "Бекзат", "Диас", "Әлихан", "Алмас",
    "Азамат", "Айбек", "Айбол", "Ернар", "Болат", "Дархан", "Ерасыл", "Жасұлан", "Қанат",
    "Мақсат", "Марат", "Нұржан", "Олжас", "Рауан", "Санжар", "Сәкен", "Талғат", "Темірлан",
    "Ұлан", "Шыңғыс", "Ғалым", "Дамир", "Данияр", "Әділет", "Әлібек", "Жанат", "Мейрам",
    "Нұрбол", "Самат", "Саят", "Асылбек", "Бейбіт", "Берік", "Дәулет", "Ерік", "Жомарт",
    "Қасым", "Мирас", "Сұлтан", "Төлеген", "Әмір", "Ілияс", "Елдос", "Абылай", "Ахмет",
    "Айдар", "Бақытжан", "Ерғали", "Нұрасыл", "Тимур", "Руслан", "Ислам",
)

KAZAKH_FEMALE_NAMES: tuple[str, ...] = (
    "Айгерім", "Айгүл", "Айжан", "Айнұр", "Айдана", "Ақерке", "Ақбота", "Аружан", "Әсем",
    "Әйгерім", "Балжан", "Гүлнар", "Гүлмира", "Гүлжан", "Динара", "Дана", "Жанар", "Жансая",
    "Жұлдыз", "Зарина", "Зере", "Индира", "Қарлығаш", "Камила", "Ләззат", "Мадина", "Мөлдір",
    "Меруерт", "Назерке", "Назым", "Нұргүл", "Салтанат", "Сәуле", "Сымбат", "Томирис",
    "Толқын", "Ұлжан", "Ұлпан", "Әлия", "Аяулым", "Дариға", "Дильназ", "Гауһар", "Жібек",
    "Күнсұлу", "Маржан", "Нұрсұлу", "Раушан", "Сабина", "Самал", "Тоғжан", "Шынар", "Шолпан",
    "Анар", "Ақмарал", "Бибігүл", "Гүлназ", "Айсұлу", "Еркежан", "Жадыра", "Іңкәр", "Ақниет",
    "Әсел", "Ботагөз", "Данагүл", "Жазира",
)

RUSSIAN_MALE_NAMES: tuple[str, ...] = (
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Валерий",
    "Василий", "Виктор", "Виталий", "Владимир", "Владислав", "Вячеслав", "Геннадий",
    "Георгий", "Григорий", "Денис", "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья",
    "Кирилл", "Константин", "Леонид", "Максим", "Михаил", "Никита", "Николай", "Олег",
    "Павел", "Пётр", "Роман", "Сергей", "Станислав", "Степан", "Юрий", "Ярослав", "Фёдор",
    "Матвей", "Тимофей", "Глеб",
)

RUSSIAN_FEMALE_NAMES: tuple[str, ...] = (
    "Анна", "Анастасия", "Алёна", "Алина", "Алла", "Валентина", "Валерия", "Вера",
    "Виктория", "Галина", "Дарья", "Диана", "Ева", "Екатерина", "Елена", "Елизавета",
    "Жанна", "Зоя", "Инна", "Ирина", "Карина", "Кристина", "Ксения", "Лариса", "Лидия",
    "Любовь", "Людмила", "Маргарита", "Марина", "Мария", "Надежда", "Наталья", "Нина",
    "Оксана", "Ольга", "Полина", "Светлана", "София", "Татьяна", "Юлия", "Яна", "Варвара",
)

KAZAKH_SURNAMES: tuple[str, ...] = (
    "Ахметов", "Нұрланов", "Серікбаев", "Жұмабаев", "Әбдірахманов", "Оспанов", "Омаров",
    "Сейітов", "Қасымов", "Жақсылықов", "Қожахметов", "Абдуллаев", "Әлиев", "Байжанов",
    "Бейсенов", "Бекболатов", "Дүйсенов", "Ержанов", "Есенов", "Жақыпов", "Жүнісов",
    "Исаев", "Қалиев", "Қарабаев", "Қайыров", "Құдайбергенов", "Мұратов", "Мақсұтов",
    "Нұрпейісов", "Оразов", "Рахимов", "Садықов", "Сәрсенбаев", "Сұлтанов", "Тұрсынов",
    "Төлеуов", "Шәкенов", "Ысқақов", "Құрманов", "Қуанышев", "Әміров", "Бақытов", "Болатов",
    "Дәулетов", "Ерболатов", "Ғабдуллин", "Зейнуллин", "Тәжібаев", "Үсенов", "Бекмұхамбетов",
    "Әбілов", "Айтқалиев", "Ақылбеков", "Әуезов", "Байменов", "Бердібеков", "Досмұхамедов",
    "Елеусізов", "Жанұзақов", "Жолдасбеков", "Ибраев", "Кенжебаев", "Қонысбаев",
    "Құсайынов", "Мамырбаев", "Мұқанов", "Нұрғалиев", "Оңғарбаев", "Рысқұлов", "Сапаров",
    "Сәтбаев", "Смағұлов", "Тілеубаев", "Төлегенов", "Уәлиханов", "Хамитов", "Шәріпов",
    "Шаймерденов", "Жұмағұлов", "Жүсіпов", "Қайратұлы", "Мұратұлы", "Нұрланұлы", "Серікұлы",
)

# Russian-language surnames common in Kazakhstan: Russian, Ukrainian, Polish, Korean, German.
RUSSIAN_SURNAMES: tuple[str, ...] = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов",
    "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв",
    "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв",
    "Белов", "Медведев", "Антонов", "Тарасов", "Ковальский", "Вишневский", "Каминский",
    "Ткаченко", "Шевченко", "Бондаренко", "Кравченко", "Ким", "Цой", "Пак", "Шульц", "Миллер",
)

_ADD_A_ENDINGS = ("ов", "ев", "ёв", "ин", "ын")
_ADJECTIVE_ENDINGS = ("ий", "ый", "ой")


def feminine_surname(male: str) -> str:
    """Return the female form of a surname stored in the male form.

    Ахметов → Ахметова, Ильин → Ильина, Ковальский → Ковальская, Серікұлы → Серікқызы;
    surnames that do not change (Ткаченко, Ким, Шульц) come back unchanged.
    """
    lower = male.lower()
    if lower.endswith("ұлы"):
        return male[:-3] + "қызы"
    if lower.endswith("улы"):
        return male[:-3] + "кызы"
    if lower.endswith(_ADD_A_ENDINGS):
        return male + "а"
    if lower.endswith(_ADJECTIVE_ENDINGS) and len(male) > 3:
        return male[:-2] + "ая"
    return male


# Russian patronymics that do not follow the general rules: father → (male, female).
_RU_PATRONYMIC_EXCEPTIONS: dict[str, tuple[str, str]] = {
    "Павел": ("Павлович", "Павловна"),
    "Лев": ("Львович", "Львовна"),
    "Пётр": ("Петрович", "Петровна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Гавриил": ("Гаврилович", "Гавриловна"),
    "Яков": ("Яковлевич", "Яковлевна"),
    "Илья": ("Ильич", "Ильинична"),
    "Никита": ("Никитич", "Никитична"),
    "Кузьма": ("Кузьмич", "Кузьминична"),
    "Фома": ("Фомич", "Фоминична"),
    "Лука": ("Лукич", "Лукинична"),
    "Савва": ("Саввич", "Саввична"),
}

_RU_VOWELS = frozenset("аеёиоуыэюяәөұүі")
_RU_HUSHING = frozenset("жшчщц")


def _ru_patronymic_stem(father: str) -> tuple[str, str]:
    """Split a father's name into (stem, suffix kind), the kind being "ов" or "ев"."""
    lower = father.lower()
    last = lower[-1]
    if lower.endswith("ий"):
        # Юрий → Юрьевич, Евгений → Евгеньевич; after two consonants: Дмитрий → Дмитриевич.
        before = lower[-4] if len(lower) >= 4 else "а"
        soft = "ь" if before in _RU_VOWELS else "и"
        return father[:-2] + soft, "ев"
    if last in "йь":
        return father[:-1], "ев"  # Сергей → Сергеевич, Николай → Николаевич, Игорь → Игоревич
    if last in _RU_VOWELS:
        return father, "ев"  # Ерғали → Ерғалиевич, Мұса → Мұсаевич
    if last in _RU_HUSHING:
        return father, "ев"
    return father, "ов"  # Иван → Иванович, Ерлан → Ерланович


def patronymic(father: str, sex: str, style: str) -> str:
    """Return the patronymic that a child of `father` bears.

    Kazakh style: Серік → Серікұлы (son), Серікқызы (daughter).
    Russian style: Иван → Иванович / Ивановна, Ерлан → Ерланович / Ерлановна,
    Сергей → Сергеевич / Сергеевна, Илья → Ильич / Ильинична.
    `sex` is "M" or "F" (`Sex`), `style` "kk" or "ru" (`PatronymicStyle`); other values
    raise ValueError.
    """
    if not father:
        raise ValueError("father's name is empty")
    if sex not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F', not {sex!r}")
    if style not in ("kk", "ru"):
        raise ValueError(f"style must be 'kk' or 'ru', not {style!r}")
    if style == "kk":
        return father + ("ұлы" if sex == "M" else "қызы")
    exception = _RU_PATRONYMIC_EXCEPTIONS.get(father)
    if exception is not None:
        return exception[0] if sex == "M" else exception[1]
    stem, kind = _ru_patronymic_stem(father)
    return stem + kind + ("ич" if sex == "M" else "на")


_LATIN: dict[str, str] = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e",
    "ё": "yo", "ж": "zh", "з": "z", "и": "i", "й": "i", "і": "i", "к": "k", "қ": "k",
    "л": "l", "м": "m", "н": "n", "ң": "ng", "о": "o", "ө": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya",
}
_IOTATING = frozenset("аәеёиіоөыэюяъь")  # not у, ұ, ү: Меруерт → Meruert


def _latin_for(text: str, i: int) -> str:
    """Latin for the lower-case Cyrillic letter at position i of a lower-cased text."""
    char = text[i]
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if char == "е" and (not prev.isalpha() or prev in _IOTATING):
        return "ye"  # Ерлан → Yerlan, Жұмабаев → Zhumabayev
    if char == "й" and prev in ("е", "и") and not nxt.isalpha():
        return "y"  # Сергей → Sergey, Дмитрий → Dmitriy
    if char == "ң" and nxt in ("г", "ғ", "к", "қ"):
        return "n"  # Шыңғыс → Shyngys, Маңғыстау → Mangystau, Іңкәр → Inkar
    return _LATIN.get(char, char)


def transliterate(cyrillic: str) -> str:
    """Return a Latin spelling of Kazakh or Russian Cyrillic text for English display.

    Айгерім → Aigerim, Нұрлан → Nurlan, Жұмабаев → Zhumabayev, Шыңғыс → Shyngys.
    Characters that are not Cyrillic letters pass through unchanged.
    """
    lower = cyrillic.lower()
    out: list[str] = []
    for i, char in enumerate(cyrillic):
        latin = _latin_for(lower, i)
        if char.isupper() and latin:
            neighbours = cyrillic[i + 1 : i + 2] + cyrillic[max(i - 1, 0) : i]
            all_caps = any(c.isalpha() and c.isupper() for c in neighbours)
            latin = latin.upper() if all_caps else latin.capitalize()
        out.append(latin)
    return "".join(out)
