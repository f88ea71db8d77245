"""Critical notices by SMS when the push may not reach the person: ``notify.sms_delivery``, at
most one text per critical event (see ``notifications.models.SmsDelivery``).  The phone number
and the text are not stored.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("pending", "sending", "sent", "delivered", "undelivered", "skipped", "dead",
          "cancelled", "unknown")


def upgrade() -> None:
    states = ", ".join(f"'{state}'" for state in STATES)
    op.create_table(
        "sms_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("encoding", sa.Text(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"state IN ({states})", name=op.f("ck_sms_delivery_state")),
        sa.CheckConstraint("language IS NULL OR language IN ('kk', 'ru', 'en')",
                           name=op.f("ck_sms_delivery_language")),
        sa.CheckConstraint("encoding IS NULL OR encoding IN ('GSM-7', 'UCS-2')",
                           name=op.f("ck_sms_delivery_encoding")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_delivery")),
        sa.UniqueConstraint("event_id", name=op.f("uq_sms_delivery_event_id")),
        schema="notify",
    )
    op.create_index("ix_sms_delivery_due", "sms_delivery", ["due_at"], schema="notify",
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_index("ix_sms_delivery_sending", "sms_delivery", ["claimed_at"], schema="notify",
                    postgresql_where=sa.text("state = 'sending'"))
    op.create_index("ix_sms_delivery_sent", "sms_delivery", ["checked_at"], schema="notify",
                    postgresql_where=sa.text("state = 'sent'"))
    op.create_index("ix_sms_delivery_person", "sms_delivery", ["person_id"], schema="notify")


def downgrade() -> None:
    op.drop_table("sms_delivery", schema="notify")
