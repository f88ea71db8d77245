"""Notifications: devices, preferences and quiet hours, the inbox, one delivery per
(event, device), and announcements (schema ``notify``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# When a push made at ``at`` may go: the end of the person's quiet hours if ``at`` falls in
# them (local time in ``tz``; a window may span midnight), else ``at`` itself.
QUIET_UNTIL = """
CREATE FUNCTION notify.quiet_until(at timestamptz, starts time, ends time, tz text)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN starts IS NULL OR ends IS NULL THEN at
    WHEN starts < ends AND local::time >= starts AND local::time < ends
      THEN (local::date + ends) AT TIME ZONE tz
    WHEN starts > ends AND local::time >= starts
      THEN (local::date + 1 + ends) AT TIME ZONE tz
    WHEN starts > ends AND local::time < ends
      THEN (local::date + ends) AT TIME ZONE tz
    ELSE at END
  FROM (SELECT at AT TIME ZONE coalesce(tz, 'UTC') AS local) AS l
$$
"""


def upgrade() -> None:
    op.execute(QUIET_UNTIL)
    op.create_table('announcement',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('title', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('help_slug', sa.Text(), nullable=True),
    sa.Column('region_code', sa.Text(), nullable=True),
    sa.Column('rate_per_second', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('rate_per_second > 0', name=op.f('ck_announcement_rate_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement')),
    schema='notify'
    )
    op.create_table('device',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('token_kind', sa.Text(), server_default='token', nullable=False),
    sa.Column('platform', sa.Text(), nullable=False),
    sa.Column('app_version', sa.Text(), nullable=False),
    sa.Column('language', sa.Text(), nullable=False),
    sa.Column('time_zone', sa.Text(), nullable=False),
    sa.Column('session_id', sa.Text(), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("language IN ('kk', 'ru', 'en')", name=op.f('ck_device_language')),
    sa.CheckConstraint("platform IN ('android', 'ios', 'web')", name=op.f('ck_device_platform')),
    sa.CheckConstraint("token_kind IN ('token', 'fid')", name=op.f('ck_device_token_kind')),
    sa.CheckConstraint('(retired_at IS NULL) = (retired_reason IS NULL)', name=op.f('ck_device_retired_reason')),
    sa.CheckConstraint('length(token) BETWEEN 1 AND 4096', name=op.f('ck_device_token_length')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    schema='notify'
    )
    op.create_index(op.f('ix_device_last_seen_at'), 'device', ['last_seen_at'], unique=False, schema='notify')
    op.create_index('ix_device_person', 'device', ['person_id'], unique=False, schema='notify', postgresql_where=sa.text('retired_at IS NULL'))
    op.create_index('uq_device_active_token', 'device', ['token'], unique=True, schema='notify', postgresql_where=sa.text('retired_at IS NULL'))
    op.create_table('notification',
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("category IN ('payments', 'service_payments', 'status', 'reminders', 'announcements', 'critical')", name=op.f('ck_notification_category')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_notification')),
    schema='notify'
    )
    op.create_index('ix_notification_person', 'notification', ['person_id', 'event_id'], unique=False, schema='notify')
    op.create_index('ix_notification_unread', 'notification', ['person_id'], unique=False, schema='notify', postgresql_where=sa.text('read_at IS NULL'))
    op.create_table('preference',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('payments', 'service_payments', 'status', 'reminders', 'announcements')", name=op.f('ck_preference_category')),
    sa.CheckConstraint("channel IN ('push', 'inbox')", name=op.f('ck_preference_channel')),
    sa.PrimaryKeyConstraint('person_id', 'category', 'channel', name=op.f('pk_preference')),
    schema='notify'
    )
    op.create_table('quiet_hours',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('starts', sa.Time(), nullable=False),
    sa.Column('ends', sa.Time(), nullable=False),
    sa.Column('time_zone', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('starts <> ends', name=op.f('ck_quiet_hours_not_empty')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_quiet_hours')),
    schema='notify'
    )
    op.create_table('delivery',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('digest_key', sa.Text(), nullable=True),
    sa.Column('state', sa.Text(), server_default='pending', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('message_name', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'rejected', 'dead', 'cancelled', 'unknown')", name=op.f('ck_delivery_state')),
    sa.ForeignKeyConstraint(['device_id'], ['notify.device.id'], name=op.f('fk_delivery_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    schema='notify'
    )
    op.create_index('ix_delivery_dead', 'delivery', ['finished_at'], unique=False, schema='notify', postgresql_where=sa.text("state = 'dead'"))
    op.create_index('ix_delivery_digest', 'delivery', ['device_id', 'digest_key'], unique=False, schema='notify', postgresql_where=sa.text('digest_key IS NOT NULL'))
    op.create_index('ix_delivery_due', 'delivery', ['due_at'], unique=False, schema='notify', postgresql_where=sa.text("state = 'pending'"))
    op.create_index('ix_delivery_sending', 'delivery', ['claimed_at'], unique=False, schema='notify', postgresql_where=sa.text("state = 'sending'"))
    op.create_index('uq_delivery_event_device', 'delivery', ['event_id', 'device_id'], unique=True, schema='notify')


def downgrade() -> None:
    op.drop_index('uq_delivery_event_device', table_name='delivery', schema='notify')
    op.drop_index('ix_delivery_sending', table_name='delivery', schema='notify', postgresql_where=sa.text("state = 'sending'"))
    op.drop_index('ix_delivery_due', table_name='delivery', schema='notify', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index('ix_delivery_digest', table_name='delivery', schema='notify', postgresql_where=sa.text('digest_key IS NOT NULL'))
    op.drop_index('ix_delivery_dead', table_name='delivery', schema='notify', postgresql_where=sa.text("state = 'dead'"))
    op.drop_table('delivery', schema='notify')
    op.drop_table('quiet_hours', schema='notify')
    op.drop_table('preference', schema='notify')
    op.drop_index('ix_notification_unread', table_name='notification', schema='notify', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_index('ix_notification_person', table_name='notification', schema='notify')
    op.drop_table('notification', schema='notify')
    op.drop_index('uq_device_active_token', table_name='device', schema='notify', postgresql_where=sa.text('retired_at IS NULL'))
    op.drop_index('ix_device_person', table_name='device', schema='notify', postgresql_where=sa.text('retired_at IS NULL'))
    op.drop_index(op.f('ix_device_last_seen_at'), table_name='device', schema='notify')
    op.drop_table('device', schema='notify')
    op.drop_table('announcement', schema='notify')
    op.execute("DROP FUNCTION notify.quiet_until")
