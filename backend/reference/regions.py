"""The 20 first-level administrative units of Kazakhstan (since 8 June 2022).

17 oblasts and 3 cities of republican significance, keyed by their ISO 3166-2 code.
Names follow the official forms: the three oblasts created in 2022 are officially
"область Абай", "область Жетісу" and "область Ұлытау" in Russian.

Populations are approximate figures for the start of 2025 (about 20.2 million in all),
rounded to the thousand; they weight the demo generator and are not statistics to quote.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

RegionKind = Literal["oblast", "city"]


class Region(NamedTuple):
    """One oblast or city of republican significance."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str
    kind: RegionKind
    population: int
    center_kk: str
    center_ru: str
    center_en: str


REGIONS: tuple[Region, ...] = (
    Region(
        "KZ-10", "Абай облысы", "область Абай", "Abai Region",
        "oblast", 603_000, "Семей", "Семей", "Semey",
    ),
    Region(
        "KZ-11", "Ақмола облысы", "Акмолинская область", "Akmola Region",
        "oblast", 782_000, "Көкшетау", "Кокшетау", "Kokshetau",
    ),
    Region(
        "KZ-15", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region",
        "oblast", 945_000, "Ақтөбе", "Актобе", "Aktobe",
    ),
    Region(
        "KZ-19", "Алматы облысы", "Алматинская область", "Almaty Region",
        "oblast", 1_540_000, "Қонаев", "Конаев", "Konaev",
    ),
    Region(
        "KZ-23", "Атырау облысы", "Атырауская область", "Atyrau Region",
        "oblast", 705_000, "Атырау", "Атырау", "Atyrau",
    ),
    Region(
        "KZ-27", "Батыс Қазақстан облысы", "Западно-Казахстанская область",
        "West Kazakhstan Region", "oblast", 693_000, "Орал", "Уральск", "Oral",
    ),
    Region(
        "KZ-31", "Жамбыл облысы", "Жамбылская область", "Zhambyl Region",
        "oblast", 1_220_000, "Тараз", "Тараз", "Taraz",
    ),
    Region(
        "KZ-33", "Жетісу облысы", "область Жетісу", "Zhetisu Region",
        "oblast", 700_000, "Талдықорған", "Талдыкорган", "Taldykorgan",
    ),
    Region(
        "KZ-35", "Қарағанды облысы", "Карагандинская область", "Karaganda Region",
        "oblast", 1_130_000, "Қарағанды", "Караганда", "Karaganda",
    ),
    Region(
        "KZ-39", "Қостанай облысы", "Костанайская область", "Kostanay Region",
        "oblast", 826_000, "Қостанай", "Костанай", "Kostanay",
    ),
    Region(
        "KZ-43", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region",
        "oblast", 840_000, "Қызылорда", "Кызылорда", "Kyzylorda",
    ),
    Region(
        "KZ-47", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region",
        "oblast", 800_000, "Ақтау", "Актау", "Aktau",
    ),
    Region(
        "KZ-55", "Павлодар облысы", "Павлодарская область", "Pavlodar Region",
        "oblast", 746_000, "Павлодар", "Павлодар", "Pavlodar",
    ),
    Region(
        "KZ-59", "Солтүстік Қазақстан облысы", "Северо-Казахстанская область",
        "North Kazakhstan Region", "oblast", 530_000, "Петропавл", "Петропавловск",
        "Petropavl",
    ),
    Region(
        "KZ-61", "Түркістан облысы", "Туркестанская область", "Turkistan Region",
        "oblast", 2_130_000, "Түркістан", "Туркестан", "Turkistan",
    ),
    Region(
        "KZ-62", "Ұлытау облысы", "область Ұлытау", "Ulytau Region",
        "oblast", 222_000, "Жезқазған", "Жезказган", "Zhezkazgan",
    ),
    Region(
        "KZ-63", "Шығыс Қазақстан облысы", "Восточно-Казахстанская область",
        "East Kazakhstan Region", "oblast", 708_000, "Өскемен", "Усть-Каменогорск",
        "Oskemen",
    ),
    Region(
        "KZ-71", "Астана", "Астана", "Astana",
        "city", 1_540_000, "Астана", "Астана", "Astana",
    ),
    Region(
        "KZ-75", "Алматы", "Алматы", "Almaty",
        "city", 2_310_000, "Алматы", "Алматы", "Almaty",
    ),
    Region(
        "KZ-79", "Шымкент", "Шымкент", "Shymkent",
        "city", 1_260_000, "Шымкент", "Шымкент", "Shymkent",
    ),
)

REGIONS_BY_CODE: Mapping[str, Region] = MappingProxyType(
    {region.code: region for region in REGIONS}
)

TOTAL_POPULATION: int = sum(region.population for region in REGIONS)


def region_by_code(code: str) -> Region:
    """Return the region with this ISO 3166-2 code; raise KeyError if there is none."""
    return REGIONS_BY_CODE[code]
