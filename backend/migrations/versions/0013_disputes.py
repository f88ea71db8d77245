""""I did not receive this": cases about covered services (``core.dispute``) and their
append-only history (``core.dispute_event``).

A case is about one service payment; at most one per service is open (a partial unique index,
so two reports at once leave one case).  The provider and its region are copied onto the case
for the statistics.  ``dispute_event`` refuses ``UPDATE`` and ``DELETE`` (a trigger): the
history of a case is only ever added to.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERS = ("yes", "no", "not_sure")
CATEGORIES = ("not_received", "asked_to_pay", "wrong_date", "unsure")
STATES = ("submitted", "in_review", "confirmed", "not_confirmed")
ACTIONS = ("reported", "assigned", "confirmed", "not_confirmed")
ACTORS = ("citizen", "guardian", "integrator")


def _enum(values: Sequence[str], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True,
                   length=length)


APPEND_ONLY = (
    """CREATE FUNCTION core.dispute_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'core.dispute_event is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    "CREATE TRIGGER dispute_event_append_only BEFORE UPDATE OR DELETE ON core.dispute_event"
    " FOR EACH ROW EXECUTE FUNCTION core.dispute_event_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("service_payment_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("reported_by", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("care_given", _enum(ANSWERS, "dispute_care_given", 8), nullable=False),
        sa.Column("date_correct", _enum(ANSWERS, "dispute_date_correct", 8), nullable=True),
        sa.Column("asked_to_pay", sa.Boolean(), nullable=False),
        sa.Column("amount_asked_tiyn", sa.BigInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("category", _enum(CATEGORIES, "dispute_category", 16), nullable=False),
        sa.Column("state", _enum(STATES, "dispute_state", 16), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("resolution_kk", sa.Text(), nullable=True),
        sa.Column("resolution_ru", sa.Text(), nullable=True),
        sa.Column("resolution_en", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovered_tiyn", sa.BigInteger(), nullable=True),
        sa.Column("recovery_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("comment IS NULL OR char_length(comment) <= 500",
                           name="ck_dispute_comment_length"),
        sa.CheckConstraint("amount_asked_tiyn IS NULL OR (asked_to_pay AND amount_asked_tiyn > 0)",
                           name="ck_dispute_amount_asked"),
        sa.CheckConstraint("state = 'submitted' OR assignee IS NOT NULL",
                           name="ck_dispute_assigned"),
        sa.CheckConstraint(
            "(state IN ('confirmed', 'not_confirmed')) = (resolved_at IS NOT NULL"
            " AND resolution_kk IS NOT NULL AND resolution_ru IS NOT NULL"
            " AND resolution_en IS NOT NULL)", name="ck_dispute_resolution"),
        sa.CheckConstraint(
            "(recovered_tiyn IS NOT NULL) = (state = 'confirmed')"
            " AND (recovery_id IS NOT NULL) = (coalesce(recovered_tiyn, 0) > 0)",
            name="ck_dispute_recovery"),
        sa.CheckConstraint("due_on >= reported_on", name="ck_dispute_due_after_report"),
        sa.ForeignKeyConstraint(["service_payment_id"], ["core.service_payment.id"],
                                name="fk_dispute_service_payment_id_service_payment"),
        sa.ForeignKeyConstraint(["person_id"], ["core.person.id"],
                                name="fk_dispute_person_id_person"),
        sa.ForeignKeyConstraint(["reported_by"], ["core.person.id"],
                                name="fk_dispute_reported_by_person"),
        sa.ForeignKeyConstraint(["provider_id"], ["core.provider.id"],
                                name="fk_dispute_provider_id_provider"),
        sa.ForeignKeyConstraint(["region_code"], ["core.region.code"],
                                name="fk_dispute_region_code_region"),
        sa.ForeignKeyConstraint(["recovery_id"], ["core.service_payment.id"],
                                name="fk_dispute_recovery_id_service_payment"),
        sa.PrimaryKeyConstraint("id", name="pk_dispute"),
        schema="core",
    )
    op.create_index("ix_dispute_open_service", "dispute", ["service_payment_id"], unique=True,
                    schema="core",
                    postgresql_where=sa.text("state IN ('submitted', 'in_review')"))
    op.create_index("ix_dispute_service", "dispute",
                    ["service_payment_id", sa.literal_column("id DESC")], schema="core")
    op.create_index("ix_dispute_person_reported", "dispute",
                    ["person_id", sa.literal_column("reported_on DESC"),
                     sa.literal_column("id DESC")], schema="core")
    op.create_index("ix_dispute_reporter_day", "dispute", ["reported_by", "reported_on"],
                    schema="core")
    op.create_index("ix_dispute_queue", "dispute", ["due_on", "id"], schema="core")
    op.create_index("ix_dispute_state_queue", "dispute", ["state", "due_on", "id"],
                    schema="core")
    op.create_index("ix_dispute_provider", "dispute", ["provider_id", "due_on", "id"],
                    schema="core")
    op.create_table(
        "dispute_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("dispute_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("action", _enum(ACTIONS, "dispute_action", 16), nullable=False),
        sa.Column("from_state", _enum(STATES, "dispute_from_state", 16), nullable=True),
        sa.Column("to_state", _enum(STATES, "dispute_to_state", 16), nullable=False),
        sa.Column("actor_kind", _enum(ACTORS, "dispute_actor", 16), nullable=False),
        sa.Column("actor_id", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("organization", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=True),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["dispute_id"], ["core.dispute.id"],
                                name="fk_dispute_event_dispute_id_dispute"),
        sa.PrimaryKeyConstraint("id", name="pk_dispute_event"),
        schema="core",
    )
    op.create_index("ix_dispute_event_dispute", "dispute_event", ["dispute_id", "id"],
                    schema="core")
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER dispute_event_append_only ON core.dispute_event")
    op.execute("DROP FUNCTION core.dispute_event_append_only()")
    op.drop_index("ix_dispute_event_dispute", table_name="dispute_event", schema="core")
    op.drop_table("dispute_event", schema="core")
    for name in ("ix_dispute_provider", "ix_dispute_state_queue", "ix_dispute_queue",
                 "ix_dispute_reporter_day", "ix_dispute_person_reported", "ix_dispute_service",
                 "ix_dispute_open_service"):
        op.drop_index(name, table_name="dispute", schema="core")
    op.drop_table("dispute", schema="core")
