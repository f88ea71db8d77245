"""Where and how a self-payer pays: the Fund's published payee details, dated.

``core.payee_account`` holds the account self-payers pay into, one row per set of details with
the day it applies from (a change of account is a new row).  The first row is what the Fund
publishes under "how to pay" (fms.kz, now msqory.kz), as quoted in ``shared/domain.md``, "Paying,
warnings and complaints": the State Corporation "Government for Citizens", account
KZ92009MEDS368609103, BIN 160440007161, BIC GCVPKZ2A, КНП 122 for self-payers.  The same four
details appear on public reposts of the Fund's instructions (for example ishimochka.kz, "О
способах оплаты ОСМС", which also gives КНП 121 for employers and 122 for individuals).  The BIN
passes the check digit; the account passes the IBAN check (mod 97 = 1); GCVPKZ2A is the State
Corporation's own BIC (it is the former State Pension Payment Centre, ГЦВП).

``valid_from`` 2020-01-01 is *not* a date the Fund published: the sources give none.  It is the
day individuals' own contributions began, the earliest day self-payers paid anywhere.  When the
Fund publishes new details, a later migration adds a row with its own ``valid_from`` and source
(never an edit of this one); with no row for a day the API says the details are not loaded.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATE_CORPORATION = {
    "kk": "«Азаматтарға арналған үкімет» мемлекеттік корпорациясы» КЕАҚ",
    "ru": "НАО «Государственная корпорация «Правительство для граждан»",
    "en": "State Corporation \"Government for Citizens\" (non-profit JSC)",
}
PUBLISHED = {
    "valid_from": date(2020, 1, 1),
    **{f"payee_name_{lang}": name for lang, name in _STATE_CORPORATION.items()},
    "bin": "160440007161",
    "iban": "KZ92009MEDS368609103",
    "bic": "GCVPKZ2A",
    **{f"bank_name_{lang}": name for lang, name in _STATE_CORPORATION.items()},
    "knp": "122",
    "source": "The Fund's 'how to pay' page (fms.kz, now msqory.kz) as quoted in shared/domain.md; "
              "the same details on ishimochka.kz 'О способах оплаты ОСМС'. valid_from is the "
              "start of individuals' contributions, not a published date.",
}


def upgrade() -> None:
    table = op.create_table(
        "payee_account",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("payee_name_kk", sa.Text(), nullable=False),
        sa.Column("payee_name_ru", sa.Text(), nullable=False),
        sa.Column("payee_name_en", sa.Text(), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("iban", sa.String(length=20), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("bank_name_kk", sa.Text(), nullable=False),
        sa.Column("bank_name_ru", sa.Text(), nullable=False),
        sa.Column("bank_name_en", sa.Text(), nullable=False),
        sa.Column("knp", sa.String(length=3), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint("core.iin_check_digit_ok(bin)", name=op.f("ck_payee_account_bin_valid")),
        sa.CheckConstraint("iban ~ '^KZ[0-9]{2}[0-9A-Z]{16}$'",
                           name=op.f("ck_payee_account_iban_format")),
        sa.CheckConstraint("bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$'",
                           name=op.f("ck_payee_account_bic_format")),
        sa.CheckConstraint("knp ~ '^[0-9]{3}$'", name=op.f("ck_payee_account_knp_format")),
        sa.CheckConstraint("length(source) > 0", name=op.f("ck_payee_account_source_given")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payee_account")),
        sa.UniqueConstraint("valid_from", name=op.f("uq_payee_account_valid_from")),
        schema="core",
    )
    op.bulk_insert(table, [PUBLISHED])


def downgrade() -> None:
    op.drop_table("payee_account", schema="core")
