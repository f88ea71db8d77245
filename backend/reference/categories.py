"""Preferential categories: people whose health-insurance contributions a budget pays.

The list is data, not code: the full 2026 list was not published in one place.
`confirmed_2026` is True for the categories named for 2026 by the Fund and the Ministry:
the seven paid by the republican budget (children, non-working pregnant women, one
non-working parent of a child under 3, people on maternity or childcare leave, non-working
carers, pension recipients, prisoners) and the two moved to local budgets in 2026
(registered unemployed; people with a crisis or emergency level of social well-being,
categories D and E). `temporary_document` is not a category of the law but the one-month
status that a person wrongly shown as uninsured gets after uploading a supporting document.
Historic categories not yet confirmed for 2026 carry `confirmed_2026=False`.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

Payer = Literal["state", "local_budget"]


class Category(NamedTuple):
    """One preferential category and the budget that pays for it."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str
    payer: Payer
    confirmed_2026: bool


CATEGORIES: tuple[Category, ...] = (
    Category(
        "child",
        "18 жасқа толмаған балалар",
        "Дети до 18 лет",
        "Children under 18",
        "state",
        True,
    ),
    Category(
        "pregnant_non_working",
        "Жұмыс істемейтін жүкті әйелдер",
        "Неработающие беременные женщины",
        "Non-working pregnant women",
        "state",
        True,
    ),
    Category(
        "parent_child_under_3",
        "Үш жасқа дейінгі баланы тәрбиелеп отырған жұмыс істемейтін ата-аналардың бірі",
        "Неработающий родитель (один из родителей), воспитывающий ребёнка до трёх лет",
        "One non-working parent raising a child under 3",
        "state",
        True,
    ),
    Category(
        "maternity_leave",
        "Жүктілік және босану демалысындағы немесе бала күтімі жөніндегі демалыстағы адамдар",
        "Лица в отпуске по беременности и родам или по уходу за ребёнком",
        "People on maternity or childcare leave",
        "state",
        True,
    ),
    Category(
        "carer",
        "Мүгедектігі бар баланы немесе бірінші топтағы мүгедектігі бар адамды күтіп-бағып "
        "отырған жұмыс істемейтін адамдар",
        "Неработающие лица, осуществляющие уход за ребёнком с инвалидностью "
        "или лицом с инвалидностью первой группы",
        "Non-working carers of a child with a disability or of a person "
        "with a group I disability",
        "state",
        True,
    ),
    Category(
        "pensioner",
        "Зейнетақы алушылар",
        "Получатели пенсионных выплат",
        "Pension recipients",
        "state",
        True,
    ),
    Category(
        "prisoner",
        "Бас бостандығынан айыру орындарында жазасын өтеп жүрген адамдар",
        "Лица, отбывающие наказание в местах лишения свободы",
        "People serving a prison sentence",
        "state",
        True,
    ),
    Category(
        "unemployed",
        "Жұмыссыз ретінде тіркелген адамдар",
        "Зарегистрированные безработные",
        "Registered unemployed people",
        "local_budget",
        True,
    ),
    Category(
        "welfare_d_e",
        "Әлеуметтік әл-ауқаты дағдарыстық немесе төтенше деңгейдегі адамдар "
        "(D және E санаттары)",
        "Лица с кризисным или экстренным уровнем социального благополучия "
        "(категории D и E)",
        "People at a crisis or emergency level of social well-being (categories D and E)",
        "local_budget",
        True,
    ),
    Category(
        "student",
        "Күндізгі оқу нысанында оқитын студенттер мен білім алушылар",
        "Студенты и учащиеся очной формы обучения",
        "Full-time students",
        "state",
        False,
    ),
    Category(
        "disabled",
        "Мүгедектігі бар адамдар",
        "Лица с инвалидностью",
        "People with disabilities",
        "state",
        False,
    ),
    Category(
        "mother_many_children",
        "Көпбалалы аналар, соның ішінде «Алтын алқа» және «Күміс алқа» "
        "алқаларымен марапатталғандар",
        "Многодетные матери, в том числе награждённые подвесками «Алтын алқа» "
        "и «Күміс алқа»",
        "Mothers of many children, including those awarded the Altyn Alka "
        "or Kumis Alka pendant",
        "state",
        False,
    ),
    Category(
        "temporary_document",
        "Растайтын құжат негізінде берілген бір айлық уақытша мәртебе",
        "Временный статус на один месяц по подтверждающему документу",
        "Temporary one-month status granted on a supporting document",
        "state",
        True,
    ),
)

CATEGORIES_BY_CODE: Mapping[str, Category] = MappingProxyType(
    {category.code: category for category in CATEGORIES}
)

# How long the status granted after uploading a supporting document lasts.
TEMPORARY_DOCUMENT_MONTHS: int = 1


def category_by_code(code: str) -> Category:
    """Return the category with this code; raise KeyError if there is none."""
    return CATEGORIES_BY_CODE[code]
