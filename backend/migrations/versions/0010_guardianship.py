"""Parents and their minor children: the guardianship links integrators feed (under the scope
``guardianship:write``), and ``guardian`` as an actor of the access log (a parent's look at a
child's data is in the child's log).

A link needs no job to end on the child's 18th birthday: readers apply that rule with the
child's birth date.  Both people are indexed: the parent's app lists their children, and a
child's links are found when the child is asked about.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR_KINDS_BEFORE = ("staff", "integrator", "admin")
ACTOR_KINDS = (*ACTOR_KINDS_BEFORE, "guardian")


def _actor_kinds(kinds: Sequence[str]) -> None:
    # 0003 left the CHECK of the enum unnamed (PostgreSQL named it): find it by its column.
    op.execute(
        "DO $$ DECLARE c text; BEGIN"
        " FOR c IN SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'core.access_log'::regclass AND contype = 'c'"
        " AND pg_get_constraintdef(oid) LIKE '%actor_kind%' LOOP"
        " EXECUTE format('ALTER TABLE core.access_log DROP CONSTRAINT %I', c);"
        " END LOOP; END $$")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint("ck_access_log_actor_kind", "access_log",
                               f"actor_kind IN ({listed})", schema="core")


def upgrade() -> None:
    op.create_table(
        "guardianship",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("guardian_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Enum("parent", "guardian", name="guardianship_kind",
                                  native_enum=False, create_constraint=True, length=16),
                  nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("guardian_id <> child_id", name="ck_guardianship_not_self"),
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from",
                           name="ck_guardianship_valid_range"),
        sa.CheckConstraint("(ended_at IS NULL) = (ended_reason IS NULL)",
                           name="ck_guardianship_ended_with_reason"),
        sa.ForeignKeyConstraint(["guardian_id"], ["core.person.id"], ondelete="CASCADE",
                                name="fk_guardianship_guardian_id_person"),
        sa.ForeignKeyConstraint(["child_id"], ["core.person.id"], ondelete="CASCADE",
                                name="fk_guardianship_child_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_guardianship"),
        sa.UniqueConstraint("source", "source_record_id",
                            name="uq_guardianship_source_source_record_id"),
        schema="core",
    )
    op.create_index("ix_guardianship_guardian_id", "guardianship", ["guardian_id"],
                    schema="core")
    op.create_index("ix_guardianship_child_id", "guardianship", ["child_id"], schema="core")
    _actor_kinds(ACTOR_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM core.access_log WHERE actor_kind = 'guardian'")
    _actor_kinds(ACTOR_KINDS_BEFORE)
    op.drop_index("ix_guardianship_child_id", table_name="guardianship", schema="core")
    op.drop_index("ix_guardianship_guardian_id", table_name="guardianship", schema="core")
    op.drop_table("guardianship", schema="core")
