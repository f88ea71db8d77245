"""Contribution flags: a contribution for a month after the person's death is stored and
flagged ``AFTER_DEATH`` for the Fund to review, as service payments are.

The column has a constant default, so adding it rewrites nothing (PostgreSQL 11+); the
partial index holds only flagged rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contribution", sa.Column("flags", postgresql.ARRAY(sa.Text()),
                                            server_default=sa.text("'{}'"), nullable=False),
                  schema="core")
    op.create_index("ix_contribution_flagged", "contribution",
                    [sa.literal_column("id DESC")], unique=False, schema="core",
                    postgresql_where=sa.text("flags <> '{}'::text[]"))


def downgrade() -> None:
    op.drop_index("ix_contribution_flagged", table_name="contribution", schema="core")
    op.drop_column("contribution", "flags", schema="core")
