"""The stored status keeps the engine's whole result (``core.person_status.detail``), so the
home screen reads a person's status, reason and what they owe instead of recomputing them
from their whole contribution history on every request (``backend.status.stored``).

``detail`` is NULL where no status was computed since this migration, or where a write left
the stored result stale; the partial index finds those rows for the worker's status pass,
which recomputes them (readers compute them meanwhile).  After upgrading, every row is
stale until that pass (or ``mhi statuses refresh``) has run: answers are unchanged, only
slower until then.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("person_status", sa.Column("detail", postgresql.JSONB(), nullable=True),
                  schema="core")
    op.create_index("ix_person_status_stale", "person_status", ["person_id"], schema="core",
                    postgresql_where=sa.text("detail IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_person_status_stale", table_name="person_status", schema="core")
    op.drop_column("person_status", "detail", schema="core")
