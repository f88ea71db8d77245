"""Retention (``backend.ops.retention``): the indexes that make every pruning batch a range
scan on the age it prunes by, and ``core.retention_horizon``, what has been pruned so far.

Without these indexes a batch (``… WHERE <age> < cutoff ORDER BY <age> LIMIT n``) would read
the table from the start each time: the delivery and inbox tables have no index on their age.
Each index is partial where the job reads only some states, so it holds only rows that can
ever be pruned by it (the delivery index leaves pending and sending rows out).

``retention_horizon`` keeps, per pruned table, the newest cutoff any batch used: every row
older than ``before`` may have been pruned.  The verifiable log's monitor reads it so that an
access-log entry pruned after its legal retention does not look like tampering.

``IF NOT EXISTS``: on a large production database, create the indexes first with ``CREATE
INDEX CONCURRENTLY`` under the same names (``docs/operations.md#retention``); this migration
then keeps them instead of locking the tables' writes while it builds them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, column, predicate or None)
INDEXES = (
    ("ix_delivery_finished", "notify.delivery", "finished_at",
     "state IN ('sent', 'rejected', 'cancelled', 'unknown')"),
    ("ix_sms_delivery_finished", "notify.sms_delivery", "created_at",
     "state IN ('sent', 'delivered', 'undelivered', 'skipped', 'dead', 'cancelled', "
     "'unknown')"),
    ("ix_outbox_dispatched", "notify.outbox", "dispatched_at", "dispatched_at IS NOT NULL"),
    ("ix_notification_read_created", "notify.notification", "created_at",
     "read_at IS NOT NULL"),
    ("ix_notification_unread_created", "notify.notification", "created_at", "read_at IS NULL"),
    ("ix_access_log_at", "core.access_log", "at", None),
    ("ix_throttle_window_start", "auth.throttle", "window_start", None),
    ("ix_session_family_expires_at", "auth.session_family", "expires_at", None),
    ("ix_session_family_revoked_at", "auth.session_family", "revoked_at",
     "revoked_at IS NOT NULL"),
    ("ix_refresh_token_used_at", "auth.refresh_token", "used_at", "used_at IS NOT NULL"),
    ("ix_consent_challenge_expires_at", "auth.consent_challenge", "expires_at", None),
    ("ix_consent_code_expires_at", "auth.consent_code", "expires_at", None),
    ("ix_consent_window_expires_at", "auth.consent_window", "expires_at", None),
    ("ix_onboarding_code_expires_at", "auth.onboarding_code", "expires_at", None),
    ("ix_staff_setup_code_expires_at", "auth.staff_setup_code", "expires_at", None),
)


def upgrade() -> None:
    for name, table, column, predicate in INDEXES:
        where = f" WHERE {predicate}" if predicate else ""
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column}){where}")
    op.create_table(
        "retention_horizon",
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pruned", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("table_name", name="pk_retention_horizon"), schema="core")


def downgrade() -> None:
    op.drop_table("retention_horizon", schema="core")
    for name, table, _, _ in INDEXES:
        op.execute(f"DROP INDEX {table.split('.')[0]}.{name}")
