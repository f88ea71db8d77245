"""Organization names for the demo generator: employers and medical providers.

Names come in three languages, (kk, ru, en). A brand stays the same in Kazakh and
Russian (it is one registered name) and is spelt in Latin letters in English; the legal
form is placed the way each language writes it: ru "ТОО «Алатау Құрылыс»",
kk "«Алатау Құрылыс» ЖШС", en "Alatau Qurylys LLP".
"""

import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

Names3 = tuple[str, str, str]
Brand = tuple[str, str]  # (Cyrillic, Latin)


class Sector(NamedTuple):
    """An economic sector with the typical median monthly wage of its employees (2025)."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str
    median_wage_kzt: int


class LegalForm(NamedTuple):
    """A legal form and how a name is written with it; `{}` stands for the name."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str
    template_kk: str
    template_ru: str
    template_en: str


SECTOR_DEFS: tuple[Sector, ...] = (
    Sector("construction", "Құрылыс", "Строительство", "Construction", 400_000),
    Sector("retail", "Бөлшек сауда", "Розничная торговля", "Retail trade", 280_000),
    Sector("oil_gas_services", "Мұнай-газ сервисі", "Нефтегазовый сервис",
           "Oil and gas services", 700_000),
    Sector("education", "Білім беру", "Образование", "Education", 250_000),
    Sector("agriculture", "Ауыл шаруашылығы", "Сельское хозяйство", "Agriculture", 220_000),
    Sector("logistics", "Көлік және логистика", "Транспорт и логистика",
           "Transport and logistics", 360_000),
    Sector("it", "Ақпараттық технологиялар", "Информационные технологии",
           "Information technology", 600_000),
    Sector("mining", "Тау-кен өндірісі", "Горнодобывающая промышленность", "Mining", 650_000),
    Sector("public_administration", "Мемлекеттік басқару", "Государственное управление",
           "Public administration", 350_000),
)

SECTORS_BY_CODE: Mapping[str, Sector] = MappingProxyType({s.code: s for s in SECTOR_DEFS})

# Sector code → typical median monthly wage in KZT, the shape the generator samples from.
SECTORS: Mapping[str, int] = MappingProxyType({s.code: s.median_wage_kzt for s in SECTOR_DEFS})

LEGAL_FORMS: tuple[LegalForm, ...] = (
    LegalForm("llp", "Жауапкершілігі шектеулі серіктестік",
              "Товарищество с ограниченной ответственностью", "Limited liability partnership",
              "«{}» ЖШС", "ТОО «{}»", "{} LLP"),
    LegalForm("jsc", "Акционерлік қоғам", "Акционерное общество", "Joint-stock company",
              "«{}» АҚ", "АО «{}»", "{} JSC"),
    LegalForm("sme_rem", "Шаруашылық жүргізу құқығындағы мемлекеттік коммуналдық кәсіпорын",
              "Государственное коммунальное предприятие на праве хозяйственного ведения",
              "State municipal enterprise on the right of economic management",
              "«{}» ШЖҚ МКК", "ГКП на ПХВ «{}»", "SME on REM {}"),
    LegalForm("ie", "Жеке кәсіпкер", "Индивидуальный предприниматель",
              "Individual entrepreneur", "«{}» ЖК", "ИП «{}»", "IE {}"),
    LegalForm("farm", "Шаруа қожалығы", "Крестьянское хозяйство", "Peasant farm",
              "«{}» ШҚ", "КХ «{}»", "{} Farm"),
    LegalForm("state_institution", "Мемлекеттік мекеме", "Государственное учреждение",
              "State institution", "«{}» ММ", "ГУ «{}»", "{} (State Institution)"),
)

LEGAL_FORMS_BY_CODE: Mapping[str, LegalForm] = MappingProxyType(
    {form.code: form for form in LEGAL_FORMS}
)

# The first word of a company name: places, rivers, mountains and good words.
_BRAND_HEADS: tuple[Brand, ...] = (
    ("Алатау", "Alatau"), ("Атамекен", "Atameken"), ("Бәйтерек", "Baiterek"),
    ("Жетісу", "Zhetisu"), ("Сарыарқа", "Saryarqa"), ("Көкше", "Kokshe"), ("Тұран", "Turan"),
    ("Ордабасы", "Ordabasy"), ("Нұр", "Nur"), ("Алтын", "Altyn"), ("Самұрық", "Samuryq"),
    ("Қыран", "Qyran"), ("Арман", "Arman"), ("Береке", "Bereke"), ("Ырыс", "Yrys"),
    ("Болашақ", "Bolashaq"), ("Шаңырақ", "Shanyraq"), ("Достық", "Dostyq"),
    ("Ақ Жол", "Aq Zhol"), ("Ұлытау", "Ulytau"), ("Есіл", "Esil"), ("Ертіс", "Ertis"),
    ("Іле", "Ile"), ("Жайық", "Zhaiyq"), ("Сыр", "Syr"), ("Қазына", "Qazyna"),
    ("Тұлпар", "Tulpar"), ("Бірлік", "Birlik"), ("Мерей", "Merei"), ("Еңбек", "Enbek"),
    ("Дала", "Dala"), ("Көктем", "Koktem"), ("Самал", "Samal"), ("Арай", "Arai"),
    ("Хан Тәңірі", "Khan Tengri"), ("Ақсай", "Aqsai"),
)

# The second word, by sector.
_BRAND_TAILS: Mapping[str, tuple[Brand, ...]] = MappingProxyType({
    "construction": (("Құрылыс", "Qurylys"), ("Строй", "Stroy"), ("Инжиниринг", "Engineering"),
                     ("Девелопмент", "Development"), ("Құрылыс Инвест", "Qurylys Invest")),
    "retail": (("Сауда", "Sauda"), ("Маркет", "Market"), ("Трейд", "Trade"),
               ("Азық-Түлік", "Azyq-Tulik"), ("Ритейл", "Retail")),
    "oil_gas_services": (("Мұнай Сервис", "Munai Service"), ("Ойл Сервис", "Oil Service"),
                         ("Петролеум", "Petroleum"), ("Бұрғылау", "Burgylau"),
                         ("Энерджи Сервис", "Energy Service")),
    "education": (("Білім", "Bilim"), ("Білім Орталығы", "Bilim Ortalygy"), ("Зерде", "Zerde"),
                  ("Ұстаз", "Ustaz"), ("Даналық", "Danalyq"), ("Академия", "Academy")),
    "agriculture": (("Агро", "Agro"), ("Астық", "Astyq"), ("Егін", "Egin"),
                    ("Агрохолдинг", "Agroholding"), ("Диқан", "Diqan"), ("Жер", "Zher")),
    "logistics": (("Логистикс", "Logistics"), ("Транс", "Trans"), ("Көлік", "Kolik"),
                  ("Экспресс", "Express"), ("Карго", "Cargo"), ("Транзит", "Transit")),
    "it": (("Софт", "Soft"), ("Диджитал", "Digital"), ("Технолоджиз", "Technologies"),
           ("Дата", "Data"), ("ИТ Солюшнс", "IT Solutions"), ("Код", "Code")),
    "mining": (("Кен", "Ken"), ("Майнинг", "Mining"), ("Металл", "Metall"),
               ("Көмір", "Komir"), ("Ресурс", "Resource"), ("Тау-Кен", "Tau-Ken")),
})

# Public bodies employ under their own names: (kk, ru, en).
_PUBLIC_BODIES: tuple[Names3, ...] = (
    ("Қаржы басқармасы", "Управление финансов", "Finance Department"),
    ("Денсаулық сақтау басқармасы", "Управление здравоохранения", "Health Department"),
    ("Білім басқармасы", "Управление образования", "Education Department"),
    ("Құрылыс басқармасы", "Управление строительства", "Construction Department"),
    ("Ауыл шаруашылығы басқармасы", "Управление сельского хозяйства",
     "Agriculture Department"),
    ("Жер қатынастары бөлімі", "Отдел земельных отношений", "Land Relations Department"),
    ("Жұмыспен қамту және әлеуметтік бағдарламалар бөлімі",
     "Отдел занятости и социальных программ", "Employment and Social Programs Department"),
    ("Мәдениет және спорт бөлімі", "Отдел культуры и спорта", "Culture and Sports Department"),
    ("Аудан әкімінің аппараты", "Аппарат акима района", "District Akim's Office"),
    ("Қала әкімінің аппараты", "Аппарат акима города", "City Akim's Office"),
)

# How often each legal form occurs among employers of a sector: (form code, weight).
_FORM_WEIGHTS: Mapping[str, tuple[tuple[str, int], ...]] = MappingProxyType({
    "construction": (("llp", 85), ("jsc", 5), ("ie", 10)),
    "retail": (("llp", 60), ("ie", 40)),
    "oil_gas_services": (("llp", 70), ("jsc", 30)),
    "education": (("sme_rem", 50), ("llp", 40), ("ie", 10)),
    "agriculture": (("llp", 45), ("farm", 45), ("ie", 10)),
    "logistics": (("llp", 80), ("jsc", 5), ("ie", 15)),
    "it": (("llp", 85), ("ie", 15)),
    "mining": (("llp", 55), ("jsc", 45)),
    "public_administration": (("state_institution", 1),),
})


def with_legal_form(form_code: str, brand_cyrillic: str, brand_latin: str) -> Names3:
    """Write a name with its legal form in (kk, ru, en), e.g. ("«X» ЖШС", "ТОО «X»", "X LLP")."""
    form = LEGAL_FORMS_BY_CODE[form_code]
    return (
        form.template_kk.format(brand_cyrillic),
        form.template_ru.format(brand_cyrillic),
        form.template_en.format(brand_latin),
    )


def employer_name(rng: random.Random, sector: str) -> Names3:
    """A realistic employer name of this sector in (kk, ru, en); raise KeyError if unknown."""
    if sector not in SECTORS:
        raise KeyError(f"unknown sector: {sector!r}")
    weights = _FORM_WEIGHTS[sector]
    form_code = rng.choices([code for code, _ in weights], [w for _, w in weights])[0]
    if sector == "public_administration":
        kk, ru, en = rng.choice(_PUBLIC_BODIES)
        form = LEGAL_FORMS_BY_CODE[form_code]
        return form.template_kk.format(kk), form.template_ru.format(ru), form.template_en.format(en)
    head_cyr, head_lat = rng.choice(_BRAND_HEADS)
    tail_cyr, tail_lat = rng.choice(_BRAND_TAILS[sector])
    return with_legal_form(form_code, f"{head_cyr} {tail_cyr}", f"{head_lat} {tail_lat}")


ProviderKind = Literal[
    "polyclinic",
    "hospital",
    "diagnostic_center",
    "dental_clinic",
    "rehabilitation_center",
    "medical_center",
    "ambulance_station",
]

PROVIDER_KINDS: tuple[str, ...] = (
    "polyclinic",
    "hospital",
    "diagnostic_center",
    "dental_clinic",
    "rehabilitation_center",
    "medical_center",
    "ambulance_station",
)

PROVIDER_KIND_NAMES: Mapping[str, Names3] = MappingProxyType({
    "polyclinic": ("Емхана", "Поликлиника", "Polyclinic"),
    "hospital": ("Аурухана", "Больница", "Hospital"),
    "diagnostic_center": ("Диагностикалық орталық", "Диагностический центр",
                          "Diagnostic center"),
    "dental_clinic": ("Стоматологиялық клиника", "Стоматологическая клиника", "Dental clinic"),
    "rehabilitation_center": ("Оңалту орталығы", "Реабилитационный центр",
                              "Rehabilitation center"),
    "medical_center": ("Медициналық орталық", "Медицинский центр", "Medical center"),
    "ambulance_station": ("Жедел медициналық жәрдем станциясы",
                          "Станция скорой медицинской помощи", "Ambulance station"),
})

# Templates per language (kk, ru, en): {c} the place, {n} the number, {b} a brand.
_CITY_TEMPLATES: Mapping[str, tuple[Names3, ...]] = MappingProxyType({
    "polyclinic": (
        ("{c} қаласының № {n} қалалық емханасы", "Городская поликлиника № {n} г. {c}",
         "City Polyclinic No. {n}, {c}"),
    ),
    "hospital": (
        ("{c} қаласының № {n} қалалық ауруханасы", "Городская больница № {n} г. {c}",
         "City Hospital No. {n}, {c}"),
        ("{c} қаласының № {n} қалалық клиникалық ауруханасы",
         "Городская клиническая больница № {n} г. {c}", "City Clinical Hospital No. {n}, {c}"),
        ("{c} қаласының № {n} көпбейінді қалалық ауруханасы",
         "Многопрофильная городская больница № {n} г. {c}",
         "Multidisciplinary City Hospital No. {n}, {c}"),
    ),
    "diagnostic_center": (
        ("{c} қаласының № {n} консультациялық-диагностикалық орталығы",
         "Консультативно-диагностический центр № {n} г. {c}",
         "Consultative and Diagnostic Center No. {n}, {c}"),
    ),
    "dental_clinic": (
        ("{c} қаласының № {n} қалалық стоматологиялық емханасы",
         "Городская стоматологическая поликлиника № {n} г. {c}",
         "City Dental Polyclinic No. {n}, {c}"),
    ),
    "rehabilitation_center": (
        ("{c} қаласының № {n} оңалту орталығы", "Центр реабилитации № {n} г. {c}",
         "Rehabilitation Center No. {n}, {c}"),
    ),
    "medical_center": (
        ("{c} қаласының № {n} медициналық орталығы", "Медицинский центр № {n} г. {c}",
         "Medical Center No. {n}, {c}"),
    ),
    "ambulance_station": (
        ("{c} қаласының № {n} жедел медициналық жәрдем қосалқы станциясы",
         "Подстанция скорой медицинской помощи № {n} г. {c}",
         "Ambulance Substation No. {n}, {c}"),
    ),
})

_MAIN_AMBULANCE_STATION: Names3 = (
    "{c} қаласының жедел медициналық жәрдем станциясы",
    "Станция скорой медицинской помощи г. {c}",
    "Ambulance Station, {c}",
)

_RURAL_TEMPLATES: Mapping[str, tuple[Names3, ...]] = MappingProxyType({
    "polyclinic": (
        ("{c} аудандық емханасы", "Районная поликлиника, {c}", "District Polyclinic, {c}"),
        ("{c} ауылының дәрігерлік амбулаториясы", "Врачебная амбулатория с. {c}",
         "Rural Outpatient Clinic, {c}"),
    ),
    "hospital": (
        ("{c} орталық аудандық ауруханасы", "Центральная районная больница, {c}",
         "Central District Hospital, {c}"),
        ("{c} аудандық ауруханасы", "Районная больница, {c}", "District Hospital, {c}"),
    ),
    "diagnostic_center": (
        ("{c} аудандық диагностикалық орталығы", "Районный диагностический центр, {c}",
         "District Diagnostic Center, {c}"),
    ),
    "dental_clinic": (
        ("{c} аудандық стоматологиялық емханасы", "Районная стоматологическая поликлиника, {c}",
         "District Dental Polyclinic, {c}"),
    ),
    "rehabilitation_center": (
        ("{c} аудандық оңалту орталығы", "Районный центр реабилитации, {c}",
         "District Rehabilitation Center, {c}"),
    ),
    "medical_center": (
        ("{c} аудандық медициналық орталығы", "Районный медицинский центр, {c}",
         "District Medical Center, {c}"),
    ),
    "ambulance_station": (
        ("{c} аудандық жедел медициналық жәрдем бөлімшесі",
         "Районное отделение скорой медицинской помощи, {c}", "District Ambulance Unit, {c}"),
    ),
})

_PRIVATE_TEMPLATES: Mapping[str, tuple[Names3, ...]] = MappingProxyType({
    "polyclinic": (
        ("«{b}» отбасылық медицина клиникасы", "Клиника семейной медицины «{b}»",
         "{b} Family Medicine Clinic"),
    ),
    "hospital": (
        ("«{b}» клиникасы", "Клиника «{b}»", "{b} Clinic"),
        ("«{b}» көпбейінді ауруханасы", "Многопрофильная больница «{b}»",
         "{b} Multidisciplinary Hospital"),
    ),
    "diagnostic_center": (
        ("«{b}» диагностикалық орталығы", "Диагностический центр «{b}»",
         "{b} Diagnostic Center"),
    ),
    "dental_clinic": (
        ("«{b}» стоматологиялық клиникасы", "Стоматологическая клиника «{b}»",
         "{b} Dental Clinic"),
    ),
    "rehabilitation_center": (
        ("«{b}» оңалту орталығы", "Реабилитационный центр «{b}»", "{b} Rehabilitation Center"),
    ),
    "medical_center": (
        ("«{b}» медициналық орталығы", "Медицинский центр «{b}»", "{b} Medical Center"),
    ),
    "ambulance_station": (
        ("«{b}» жедел медициналық жәрдем қызметі", "Служба скорой медицинской помощи «{b}»",
         "{b} Ambulance Service"),
    ),
})

# Brand names of private providers: (Cyrillic, Latin).
MEDICAL_BRANDS: tuple[Brand, ...] = (
    ("Шипагер", "Shipager"), ("Мейірім", "Meirim"), ("Саулық", "Saulyq"),
    ("Денсаулық", "Densaulyq"), ("Емші", "Emshi"), ("Сенім", "Senim"), ("Ақ Ниет", "Aq Niet"),
    ("Нұр Мед", "Nur Med"), ("Самал Мед", "Samal Med"), ("Шуақ", "Shuaq"),
    ("Береке Мед", "Bereke Med"), ("Мирас Мед", "Miras Med"), ("Жан Шипа", "Zhan Shipa"),
    ("Арай", "Arai"), ("Күн Мед", "Kun Med"), ("Алтын Жүрек", "Altyn Zhurek"),
    ("Шипалы", "Shipaly"), ("Қамқор", "Qamqor"), ("Медина", "Medina"),
    ("Жігер", "Zhiger"), ("Ақбұлақ", "Aqbulaq"), ("Сау Бол", "Sau Bol"),
)

DENTAL_BRANDS: tuple[Brand, ...] = (
    ("Інжу", "Inzhu"), ("Ақ Тіс", "Aq Tis"), ("Дента Люкс", "Denta Lux"),
    ("Смайл Дент", "Smile Dent"), ("Тіс Шебері", "Tis Sheberi"), ("Жарқын Күлкі", "Zharqyn Kulki"),
    ("Дентал Арт", "Dental Art"), ("Ақ Маржан", "Aq Marzhan"),
)


def provider_name(
    kind: str,
    number: int,
    center_kk: str,
    center_ru: str,
    center_en: str,
    private: bool,
    rng: random.Random,
    *,
    rural: bool = False,
) -> Names3:
    """A realistic name of a medical provider in (kk, ru, en).

    State providers are named by place and number: "Городская поликлиника № 5 г. Алматы",
    "Алматы қаласының № 5 қалалық емханасы", "City Polyclinic No. 5, Almaty"; with
    `rural=True` the place is a district centre or village and the number is not shown
    ("Центральная районная больница, Сарыағаш"). Private providers get a brand name
    ("Медицинский центр «Шипагер»") and do not show place or number.
    """
    if kind not in PROVIDER_KINDS:
        raise ValueError(f"unknown provider kind: {kind!r}")
    if number < 1:
        raise ValueError("provider number must be positive")
    if private:
        brand_cyr, brand_lat = rng.choice(DENTAL_BRANDS if kind == "dental_clinic"
                                          else MEDICAL_BRANDS)
        kk, ru, en = rng.choice(_PRIVATE_TEMPLATES[kind])
        return kk.format(b=brand_cyr), ru.format(b=brand_cyr), en.format(b=brand_lat)
    if rural:
        templates = _RURAL_TEMPLATES[kind]
    elif kind == "ambulance_station" and number == 1:
        templates = (_MAIN_AMBULANCE_STATION,)
    else:
        templates = _CITY_TEMPLATES[kind]
    kk, ru, en = rng.choice(templates)
    return (
        kk.format(c=center_kk, n=number),
        ru.format(c=center_ru, n=number),
        en.format(c=center_en, n=number),
    )
