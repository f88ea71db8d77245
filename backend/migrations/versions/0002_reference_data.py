"""Reference data: the 20 regions, preferential categories, minimum wages and dated rates.

The figures come from domain.md.  Rows marked ``confirmed = false`` had no solid public source
and are configurable data, never truths in code.  Later years arrive as new migrations (or rows
inserted by operators): a contribution is always judged by the rules of its own month.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGIONS = (
    ("KZ-10", "Абай облысы", "область Абай", "Abai Region", "oblast"),
    ("KZ-11", "Ақмола облысы", "Акмолинская область", "Akmola Region", "oblast"),
    ("KZ-15", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region", "oblast"),
    ("KZ-19", "Алматы облысы", "Алматинская область", "Almaty Region", "oblast"),
    ("KZ-23", "Атырау облысы", "Атырауская область", "Atyrau Region", "oblast"),
    (
        "KZ-27",
        "Батыс Қазақстан облысы",
        "Западно-Казахстанская область",
        "West Kazakhstan Region",
        "oblast",
    ),
    ("KZ-31", "Жамбыл облысы", "Жамбылская область", "Zhambyl Region", "oblast"),
    ("KZ-33", "Жетісу облысы", "область Жетісу", "Zhetisu Region", "oblast"),
    ("KZ-35", "Қарағанды облысы", "Карагандинская область", "Karaganda Region", "oblast"),
    ("KZ-39", "Қостанай облысы", "Костанайская область", "Kostanay Region", "oblast"),
    ("KZ-43", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region", "oblast"),
    ("KZ-47", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region", "oblast"),
    ("KZ-55", "Павлодар облысы", "Павлодарская область", "Pavlodar Region", "oblast"),
    (
        "KZ-59",
        "Солтүстік Қазақстан облысы",
        "Северо-Казахстанская область",
        "North Kazakhstan Region",
        "oblast",
    ),
    ("KZ-61", "Түркістан облысы", "Туркестанская область", "Turkistan Region", "oblast"),
    ("KZ-62", "Ұлытау облысы", "область Ұлытау", "Ulytau Region", "oblast"),
    (
        "KZ-63",
        "Шығыс Қазақстан облысы",
        "Восточно-Казахстанская область",
        "East Kazakhstan Region",
        "oblast",
    ),
    ("KZ-71", "Астана", "Астана", "Astana", "city"),
    ("KZ-75", "Алматы", "Алматы", "Almaty", "city"),
    ("KZ-79", "Шымкент", "Шымкент", "Shymkent", "city"),
)

CATEGORIES = (
    ("child", "18 жасқа толмаған балалар", "Дети до 18 лет", "Children under 18", "state", True),
    (
        "pregnant_non_working",
        "Жұмыс істемейтін жүкті әйелдер",
        "Неработающие беременные женщины",
        "Non-working pregnant women",
        "state",
        True,
    ),
    (
        "parent_child_under_3",
        "Үш жасқа дейінгі баланы тәрбиелеп отырған жұмыс істемейтін ата-аналардың бірі",
        "Неработающий родитель (один из родителей), воспитывающий ребёнка до трёх лет",
        "One non-working parent raising a child under 3",
        "state",
        True,
    ),
    (
        "maternity_leave",
        "Жүктілік және босану демалысындағы немесе бала күтімі жөніндегі демалыстағы адамдар",
        "Лица в отпуске по беременности и родам или по уходу за ребёнком",
        "People on maternity or childcare leave",
        "state",
        True,
    ),
    (
        "carer",
        "Мүгедектігі бар баланы немесе бірінші топтағы мүгедектігі бар адамды күтіп-бағып отырған жұмыс істемейтін адамдар",
        "Неработающие лица, осуществляющие уход за ребёнком с инвалидностью или лицом с инвалидностью первой группы",
        "Non-working carers of a child with a disability or of a person with a group I disability",
        "state",
        True,
    ),
    (
        "pensioner",
        "Зейнетақы алушылар",
        "Получатели пенсионных выплат",
        "Pension recipients",
        "state",
        True,
    ),
    (
        "prisoner",
        "Бас бостандығынан айыру орындарында жазасын өтеп жүрген адамдар",
        "Лица, отбывающие наказание в местах лишения свободы",
        "People serving a prison sentence",
        "state",
        True,
    ),
    (
        "unemployed",
        "Жұмыссыз ретінде тіркелген адамдар",
        "Зарегистрированные безработные",
        "Registered unemployed people",
        "local_budget",
        True,
    ),
    (
        "welfare_d_e",
        "Әлеуметтік әл-ауқаты дағдарыстық немесе төтенше деңгейдегі адамдар (D және E санаттары)",
        "Лица с кризисным или экстренным уровнем социального благополучия (категории D и E)",
        "People at a crisis or emergency level of social well-being (categories D and E)",
        "local_budget",
        True,
    ),
    (
        "student",
        "Күндізгі оқу нысанында оқитын студенттер мен білім алушылар",
        "Студенты и учащиеся очной формы обучения",
        "Full-time students",
        "state",
        False,
    ),
    (
        "disabled",
        "Мүгедектігі бар адамдар",
        "Лица с инвалидностью",
        "People with disabilities",
        "state",
        False,
    ),
    (
        "mother_many_children",
        "Көпбалалы аналар, соның ішінде «Алтын алқа» және «Күміс алқа» алқаларымен марапатталғандар",
        "Многодетные матери, в том числе награждённые подвесками «Алтын алқа» и «Күміс алқа»",
        "Mothers of many children, including those awarded the Altyn Alka or Kumis Alka pendant",
        "state",
        False,
    ),
    (
        "temporary_document",
        "Растайтын құжат негізінде берілген бір айлық уақытша мәртебе",
        "Временный статус на один месяц по подтверждающему документу",
        "Temporary one-month status granted on a supporting document",
        "state",
        True,
    ),
)

MINIMUM_WAGES = (
    (2023, 70_000_00, "Law on the republican budget 2023-2025: MZP 70,000 KZT"),
    (2024, 85_000_00, "Law on the republican budget 2024-2026: MZP 85,000 KZT"),
    (2025, 85_000_00, "Law on the republican budget 2025-2027: MZP 85,000 KZT"),
    (2026, 85_000_00, "Law on the republican budget 2026-2028: MZP 85,000 KZT"),
)

# kind, valid_from, valid_to, rate %, base, multiplier, cap (MZP), base amount (tiyn), confirmed
RATES = (
    ("employer_deduction", date(2023, 1, 1), date(2025, 12, 31), "3", "wage", "1", 10, None, True),
    ("employer_deduction", date(2026, 1, 1), None, "3", "wage", "1", 40, None, True),
    (
        "employee_contribution",
        date(2023, 1, 1),
        date(2025, 12, 31),
        "2",
        "wage",
        "1",
        10,
        None,
        True,
    ),
    ("employee_contribution", date(2026, 1, 1), None, "2", "wage", "1", 20, None, True),
    ("self_payment", date(2023, 1, 1), None, "5", "mzp", "1", None, None, True),
    ("entrepreneur_contribution", date(2023, 1, 1), None, "5", "mzp", "1.4", None, None, True),
    (
        "state_contribution",
        date(2024, 1, 1),
        date(2024, 12, 31),
        "1.9",
        "average_wage",
        "1",
        None,
        309_532_00,
        False,
    ),
    (
        "state_contribution",
        date(2025, 1, 1),
        date(2025, 12, 31),
        "2",
        "average_wage",
        "1",
        None,
        338_023_00,
        False,
    ),
    (
        "state_contribution",
        date(2026, 1, 1),
        None,
        "2",
        "average_wage",
        "1",
        None,
        364_295_00,
        True,
    ),
)


def upgrade() -> None:
    meta = sa.MetaData(schema="core")
    region = sa.Table("region", meta, autoload_with=op.get_bind())
    category = sa.Table("preferential_category", meta, autoload_with=op.get_bind())
    wage = sa.Table("minimum_wage", meta, autoload_with=op.get_bind())
    rate = sa.Table("contribution_rate", meta, autoload_with=op.get_bind())
    op.bulk_insert(
        region,
        [
            dict(zip(("code", "name_kk", "name_ru", "name_en", "kind"), row, strict=True))
            for row in REGIONS
        ],
    )
    op.bulk_insert(
        category,
        [
            dict(
                zip(
                    ("code", "name_kk", "name_ru", "name_en", "payer_kind", "confirmed_2026"),
                    row,
                    strict=True,
                )
            )
            for row in CATEGORIES
        ],
    )
    op.bulk_insert(
        wage,
        [dict(zip(("year", "amount_tiyn", "source"), row, strict=True)) for row in MINIMUM_WAGES],
    )
    op.bulk_insert(
        rate,
        [
            {
                "kind": kind,
                "valid_from": start,
                "valid_to": end,
                "rate_percent": percent,
                "base": base,
                "base_multiplier": multiplier,
                "cap_mzp": cap,
                "base_amount_tiyn": amount,
                "confirmed": confirmed,
                "source": "domain.md" if confirmed else "unconfirmed: configurable placeholder",
            }
            for kind, start, end, percent, base, multiplier, cap, amount, confirmed in RATES
        ],
    )


def downgrade() -> None:
    for table in ("contribution_rate", "minimum_wage", "preferential_category", "region"):
        op.execute(f"DELETE FROM core.{table}")  # noqa: S608 - fixed table names
