"""Warnings before cover ends: each stored status keeps the day the person becomes not insured
if nothing new arrives (``drops_on``: the day after ``guaranteed_until``), and whether they
pay for themselves (``self_pays``), so that the daily warning job reads only the people whose
day is 14 or 3 days away, and the monthly reminder only the self-payers, each through a
partial index, however many people there are.

Both are filled as statuses are computed (ingestion and the status job); rows stored before
this migration have no ``drops_on`` until they are computed again:
``mhi statuses refresh --all`` recomputes everyone once (chunked, one transaction each).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("person_status", sa.Column("drops_on", sa.Date(), nullable=True),
                  schema="core")
    op.add_column("person_status", sa.Column("self_pays", sa.Boolean(),
                                             server_default=sa.text("false"), nullable=False),
                  schema="core")
    op.create_index("ix_person_status_drops_on", "person_status", ["drops_on"], schema="core",
                    postgresql_where=sa.text("drops_on IS NOT NULL"))
    op.create_index("ix_person_status_self_pays", "person_status", ["person_id"],
                    schema="core", postgresql_where=sa.text("self_pays"))


def downgrade() -> None:
    op.drop_index("ix_person_status_self_pays", table_name="person_status", schema="core")
    op.drop_index("ix_person_status_drops_on", table_name="person_status", schema="core")
    op.drop_column("person_status", "self_pays", schema="core")
    op.drop_column("person_status", "drops_on", schema="core")
