"""Released public figures: each month of each measure protected once, when it changes, not per
request (``backend.transparency.release``; ``docs/transparency.md``, "Releases").

- ``stats.month_change``: a version per (measure, month), bumped by the fold that changes the
  month's rollup rows and by a snapshot of insured people (``backend.transparency.rollups``),
  so the releaser knows what is due.
- ``stats.release``: the version of a month that was protected, whether its total was
  withheld because of the other months (``privacy.months_to_hide``), and for insured people
  whether the snapshot is the month's final one.
- ``stats.release_cell``: the protected month's cells (every dimension's, the total's), with
  their true values and whether each is withheld.
- ``stats.edition``: per measure, the month it was released for (the last ended), the months
  with figures, the months whose totals are withheld, and whether later months hold money:
  what a reader needs besides the cells.

Filled once here from the rollups' months, so a migrated database releases everything on the
worker's first pass (or ``mhi stats release``); until then readers protect in process.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "stats"
MEASURES = {"money_in": "money_in", "money_out": "money_out", "flags": "provider_flags",
            "cases": "disputes", "insured": "insured"}


def upgrade() -> None:
    op.create_table(
        "month_change",
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        schema=S)
    op.create_table(
        "release",
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("hide_total", sa.Boolean(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        schema=S)
    op.create_table(
        "release_cell",
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("dimension", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("like_total", sa.Boolean(), nullable=False),
        schema=S)
    op.create_table(
        "edition",
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("months", sa.ARRAY(sa.Date()), nullable=False),
        sa.Column("withheld", sa.ARRAY(sa.Date()), nullable=False),
        sa.Column("later", sa.Boolean(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        schema=S)
    for measure, rollup in MEASURES.items():
        op.execute(f"INSERT INTO stats.month_change (measure, month)"  # noqa: S608 (our names)
                   f" SELECT '{measure}', month FROM stats.{rollup} GROUP BY month")


def downgrade() -> None:
    for table in ("edition", "release_cell", "release", "month_change"):
        op.drop_table(table, schema=S)
