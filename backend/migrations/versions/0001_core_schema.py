"""Core schema: identifier check functions, reference tables, people, money and care.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Identifier checks in SQL, so that the database itself refuses an impossible IIN or BIN.
FUNCTIONS = (
    r"""
CREATE FUNCTION core.iin_check_digit_ok(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    w2 int[] := ARRAY[3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
    s1 int := 0;
    s2 int := 0;
    d int;
    c int;
BEGIN
    IF v !~ '^[0-9]{12}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..11 LOOP
        d := ascii(substr(v, i, 1)) - 48;
        s1 := s1 + d * i;
        s2 := s2 + d * w2[i];
    END LOOP;
    c := s1 % 11;
    IF c = 10 THEN
        c := s2 % 11;
    END IF;
    RETURN c <> 10 AND c = ascii(substr(v, 12, 1)) - 48;
END $$
""",
    r"""
CREATE FUNCTION core.iin_is_valid(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT core.iin_check_digit_ok(v) AND substr(v, 7, 1) BETWEEN '1' AND '6'
$$
""",
    r"""
CREATE FUNCTION core.yymmdd(d date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT lpad((extract(year FROM d)::int % 100)::text, 2, '0')
        || lpad(extract(month FROM d)::int::text, 2, '0')
        || lpad(extract(day FROM d)::int::text, 2, '0')
$$
""",
    r"""
CREATE FUNCTION core.iin_century_sex_digit(d date, sex text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ((extract(year FROM d)::int / 100 - 18) * 2
            + CASE sex WHEN 'M' THEN 1 ELSE 2 END)::text
$$
""",
)
DROP_FUNCTIONS = (
    "DROP FUNCTION core.iin_century_sex_digit(date, text)",
    "DROP FUNCTION core.yymmdd(date)",
    "DROP FUNCTION core.iin_is_valid(text)",
    "DROP FUNCTION core.iin_check_digit_ok(text)",
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS core")
    for statement in FUNCTIONS:
        op.execute(statement)
    op.create_table(
        "contribution_rate",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "employer_deduction",
                "employee_contribution",
                "self_payment",
                "entrepreneur_contribution",
                "state_contribution",
                name="rate_contribution_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("rate_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column(
            "base",
            sa.Enum(
                "wage",
                "mzp",
                "average_wage",
                name="rate_base",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column(
            "base_multiplier", sa.Numeric(precision=4, scale=2), server_default="1", nullable=False
        ),
        sa.Column("cap_mzp", sa.SmallInteger(), nullable=True),
        sa.Column("base_amount_tiyn", sa.BigInteger(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(base = 'average_wage') = (base_amount_tiyn IS NOT NULL)",
            name=op.f("ck_contribution_rate_average_wage_base"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_contribution_rate_valid_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution_rate")),
        sa.UniqueConstraint(
            "kind", "valid_from", name=op.f("uq_contribution_rate_kind_valid_from")
        ),
        schema="core",
    )
    op.create_table(
        "medical_service",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_kk", sa.Text(), nullable=False),
        sa.Column("name_ru", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column(
            "package",
            sa.Enum(
                "gobmp",
                "osms",
                name="service_package",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "primary_care",
                "specialist",
                "screening",
                "diagnostics",
                "laboratory",
                "rehabilitation",
                "day_hospital",
                "inpatient",
                "dental",
                "emergency",
                name="service_category",
                native_enum=False,
                create_constraint=True,
                length=32,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column(
            "sex",
            sa.Enum(
                "M",
                "F",
                name="service_sex",
                native_enum=False,
                create_constraint=True,
                schema="core",
            ),
            nullable=True,
        ),
        sa.Column("min_age", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("max_age", sa.SmallInteger(), server_default="120", nullable=False),
        sa.CheckConstraint("min_age <= max_age", name=op.f("ck_medical_service_age_range")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_medical_service")),
        schema="core",
    )
    op.create_table(
        "minimum_wage",
        sa.Column("year", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("amount_tiyn > 0", name=op.f("ck_minimum_wage_amount_positive")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_minimum_wage")),
        schema="core",
    )
    op.create_table(
        "preferential_category",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_kk", sa.Text(), nullable=False),
        sa.Column("name_ru", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column(
            "payer_kind",
            sa.Enum(
                "employer",
                "state",
                "local_budget",
                name="category_payer_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column("confirmed_2026", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_preferential_category")),
        schema="core",
    )
    op.create_table(
        "region",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name_kk", sa.Text(), nullable=False),
        sa.Column("name_ru", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "oblast",
                "city",
                name="region_kind",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema="core",
            ),
            nullable=False,
        ),
        sa.CheckConstraint("code ~ '^KZ-[0-9]{2}$'", name=op.f("ck_region_code_format")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
        schema="core",
    )
    op.create_table(
        "payer",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "employer",
                "state",
                "local_budget",
                name="payer_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column("bin", sa.String(length=12), nullable=True),
        sa.Column("name_kk", sa.Text(), nullable=False),
        sa.Column("name_ru", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'employer') = (bin IS NOT NULL)", name=op.f("ck_payer_employer_has_bin")
        ),
        sa.CheckConstraint(
            "(kind = 'local_budget') = (region_code IS NOT NULL) OR kind = 'employer'",
            name=op.f("ck_payer_local_budget_has_region"),
        ),
        sa.CheckConstraint(
            "bin IS NULL OR core.iin_check_digit_ok(bin)", name=op.f("ck_payer_bin_valid")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["core.region.code"], name=op.f("fk_payer_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer")),
        sa.UniqueConstraint("bin", name=op.f("uq_payer_bin")),
        schema="core",
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("iin", sa.String(length=12), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("patronymic", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column(
            "sex",
            sa.Enum("M", "F", name="sex", native_enum=False, create_constraint=True, schema="core"),
            nullable=False,
        ),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column(
            "language",
            sa.Enum(
                "kk",
                "ru",
                "en",
                name="language",
                native_enum=False,
                create_constraint=True,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=12), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("phone ~ '^\\+7[0-9]{10}$'", name=op.f("ck_person_phone_format")),
        sa.CheckConstraint("core.iin_is_valid(iin)", name=op.f("ck_person_iin_valid")),
        sa.CheckConstraint(
            "death_date IS NULL OR death_date >= birth_date",
            name=op.f("ck_person_death_after_birth"),
        ),
        sa.CheckConstraint(
            "substr(iin, 1, 6) = core.yymmdd(birth_date)",
            name=op.f("ck_person_iin_matches_birth_date"),
        ),
        sa.CheckConstraint(
            "substr(iin, 7, 1) = core.iin_century_sex_digit(birth_date, sex)",
            name=op.f("ck_person_iin_matches_century_and_sex"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["core.region.code"], name=op.f("fk_person_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("iin", name=op.f("uq_person_iin")),
        schema="core",
    )
    op.create_index(
        op.f("ix_person_region_code"), "person", ["region_code"], unique=False, schema="core"
    )
    op.create_table(
        "provider",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("name_kk", sa.Text(), nullable=False),
        sa.Column("name_ru", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "polyclinic",
                "hospital",
                "diagnostic_center",
                "dental_clinic",
                "rehabilitation_center",
                "medical_center",
                "ambulance_station",
                name="provider_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column(
            "ownership",
            sa.Enum(
                "public",
                "private",
                name="ownership",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column(
            "quality_zone",
            sa.Enum(
                "green",
                "yellow",
                "red",
                name="quality_zone",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("core.iin_check_digit_ok(bin)", name=op.f("ck_provider_bin_valid")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["core.region.code"], name=op.f("fk_provider_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider")),
        sa.UniqueConstraint("bin", name=op.f("uq_provider_bin")),
        schema="core",
    )
    op.create_index(
        op.f("ix_provider_region_code"), "provider", ["region_code"], unique=False, schema="core"
    )
    op.create_table(
        "category_membership",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_category_membership_valid_range"),
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["core.preferential_category.code"],
            name=op.f("fk_category_membership_category_code_preferential_category"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["core.person.id"],
            name=op.f("fk_category_membership_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_membership")),
        schema="core",
    )
    op.create_index(
        op.f("ix_category_membership_person_id_valid_from"),
        "category_membership",
        ["person_id", "valid_from"],
        unique=False,
        schema="core",
    )
    op.create_table(
        "contribution",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("payer_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payer_kind",
            sa.Enum(
                "employer",
                "state",
                "local_budget",
                name="contribution_payer_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core",
            ),
            nullable=True,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "employer_deduction",
                "employee_contribution",
                "self_payment",
                "entrepreneur_contribution",
                "state_contribution",
                name="contribution_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("payment_code", sa.SmallInteger(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'employer_deduction' AND payment_code = 121 AND payer_kind = 'employer') OR (kind = 'employee_contribution' AND payment_code = 122 AND payer_kind = 'employer') OR (kind IN ('self_payment', 'entrepreneur_contribution') AND payment_code = 122 AND payer_kind IS NULL) OR (kind = 'state_contribution' AND payment_code IS NULL AND payer_kind IN ('state', 'local_budget'))",
            name=op.f("ck_contribution_kind_payer_code"),
        ),
        sa.CheckConstraint(
            "(payer_id IS NULL) = (payer_kind IS NULL)",
            name=op.f("ck_contribution_payer_kind_matches"),
        ),
        sa.CheckConstraint("amount_tiyn > 0", name=op.f("ck_contribution_amount_positive")),
        sa.CheckConstraint(
            "extract(day FROM period) = 1", name=op.f("ck_contribution_period_is_month")
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"], ["core.payer.id"], name=op.f("fk_contribution_payer_id_payer")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["core.person.id"], name=op.f("fk_contribution_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution")),
        sa.UniqueConstraint(
            "source", "source_record_id", name=op.f("uq_contribution_source_source_record_id")
        ),
        schema="core",
    )
    op.create_index(
        "ix_contribution_person_period",
        "contribution",
        ["person_id", sa.literal_column("period DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="core",
    )
    op.create_table(
        "service_payment",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("care_date", sa.Date(), nullable=False),
        sa.Column("amount_tiyn", sa.BigInteger(), nullable=False),
        sa.Column(
            "package",
            sa.Enum(
                "gobmp",
                "osms",
                name="payment_package",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema="core",
            ),
            nullable=False,
        ),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("practitioner_ref", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount_tiyn > 0", name=op.f("ck_service_payment_amount_positive")),
        sa.CheckConstraint("paid_on >= care_date", name=op.f("ck_service_payment_paid_after_care")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["core.person.id"], name=op.f("fk_service_payment_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["core.provider.id"],
            name=op.f("fk_service_payment_provider_id_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["core.medical_service.code"],
            name=op.f("fk_service_payment_service_code_medical_service"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_payment")),
        sa.UniqueConstraint(
            "source", "source_record_id", name=op.f("uq_service_payment_source_source_record_id")
        ),
        schema="core",
    )
    op.create_index(
        "ix_service_payment_person_care_date",
        "service_payment",
        ["person_id", sa.literal_column("care_date DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="core",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_service_payment_person_care_date", table_name="service_payment", schema="core"
    )
    op.drop_table("service_payment", schema="core")
    op.drop_index("ix_contribution_person_period", table_name="contribution", schema="core")
    op.drop_table("contribution", schema="core")
    op.drop_index(
        op.f("ix_category_membership_person_id_valid_from"),
        table_name="category_membership",
        schema="core",
    )
    op.drop_table("category_membership", schema="core")
    op.drop_index(op.f("ix_provider_region_code"), table_name="provider", schema="core")
    op.drop_table("provider", schema="core")
    op.drop_index(op.f("ix_person_region_code"), table_name="person", schema="core")
    op.drop_table("person", schema="core")
    op.drop_table("payer", schema="core")
    op.drop_table("region", schema="core")
    op.drop_table("preferential_category", schema="core")
    op.drop_table("minimum_wage", schema="core")
    op.drop_table("medical_service", schema="core")
    op.drop_table("contribution_rate", schema="core")
    for statement in DROP_FUNCTIONS:
        op.execute(statement)
    op.execute("DROP SCHEMA core")
