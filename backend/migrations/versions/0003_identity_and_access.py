"""Identity and access: the ``auth`` schema (keys, sign-in, sessions, staff, clients) and the
access audit in ``core``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS auth")
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_kind', sa.Enum('staff', 'integrator', 'admin', name='actor_kind', native_enum=False, create_constraint=True, length=16, schema='core'), nullable=False),
    sa.Column('actor_id', sa.Text(), nullable=False),
    sa.Column('actor_name', sa.Text(), nullable=False),
    sa.Column('organization', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['core.person.id'], name=op.f('fk_access_log_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log')),
    schema='core'
    )
    op.create_index('ix_access_log_person_at', 'access_log', ['person_id', sa.literal_column('at DESC'), sa.literal_column('id DESC')], unique=False, schema='core')
    op.create_table('client',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('organization', sa.Text(), nullable=False),
    sa.Column('secret_hash', sa.LargeBinary(), nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('requests_per_minute', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client')),
    schema='auth'
    )
    op.create_table('consent_code',
    sa.Column('code_hash', sa.LargeBinary(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_consent_code')),
    schema='auth'
    )
    op.create_index(op.f('ix_consent_code_person_id'), 'consent_code', ['person_id'], unique=False, schema='auth')
    op.create_table('login_challenge',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('code_hash', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_challenge')),
    schema='auth'
    )
    op.create_index(op.f('ix_login_challenge_expires_at'), 'login_challenge', ['expires_at'], unique=False, schema='auth')
    op.create_table('session_family',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('audience', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('device_name', sa.Text(), nullable=True),
    sa.Column('platform', sa.Text(), nullable=True),
    sa.Column('signed_in_by', sa.Text(), nullable=False),
    sa.Column('claims', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("audience IN ('mobile', 'desk')", name=op.f('ck_session_family_audience')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_family')),
    schema='auth'
    )
    op.create_index(op.f('ix_session_family_subject_audience'), 'session_family', ['subject', 'audience'], unique=False, schema='auth', postgresql_where=sa.text('revoked_at IS NULL'))
    op.create_table('signing_key',
    sa.Column('kid', sa.Text(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('private_key_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_key')),
    schema='auth'
    )
    op.create_index(op.f('ix_signing_key_not_before'), 'signing_key', ['not_before'], unique=False, schema='auth')
    op.create_table('staff_account',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('provider_name', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('username = lower(username)', name=op.f('ck_staff_account_username_lower')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_account')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_account_username')),
    schema='auth'
    )
    op.create_table('throttle',
    sa.Column('bucket', sa.Text(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_throttle')),
    schema='auth'
    )
    op.create_table('consent_window',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['auth.staff_account.id'], name=op.f('fk_consent_window_staff_id_staff_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_window')),
    schema='auth'
    )
    op.create_index(op.f('ix_consent_window_staff_id_expires_at'), 'consent_window', ['staff_id', 'expires_at'], unique=False, schema='auth')
    op.create_table('refresh_token',
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['family_id'], ['auth.session_family.id'], name=op.f('fk_refresh_token_family_id_session_family'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_refresh_token')),
    schema='auth'
    )
    op.create_index(op.f('ix_refresh_token_family_id'), 'refresh_token', ['family_id'], unique=False, schema='auth')
    op.create_table('onboarding_code',
    sa.Column('code_hash', sa.LargeBinary(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('window_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['window_id'], ['auth.consent_window.id'], name=op.f('fk_onboarding_code_window_id_consent_window')),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_onboarding_code')),
    schema='auth'
    )
    op.create_index(op.f('ix_onboarding_code_window_id'), 'onboarding_code', ['window_id'], unique=False, schema='auth')


def downgrade() -> None:
    op.drop_index(op.f('ix_onboarding_code_window_id'), table_name='onboarding_code', schema='auth')
    op.drop_table('onboarding_code', schema='auth')
    op.drop_index(op.f('ix_refresh_token_family_id'), table_name='refresh_token', schema='auth')
    op.drop_table('refresh_token', schema='auth')
    op.drop_index(op.f('ix_consent_window_staff_id_expires_at'), table_name='consent_window', schema='auth')
    op.drop_table('consent_window', schema='auth')
    op.drop_table('throttle', schema='auth')
    op.drop_table('staff_account', schema='auth')
    op.drop_index(op.f('ix_signing_key_not_before'), table_name='signing_key', schema='auth')
    op.drop_table('signing_key', schema='auth')
    op.drop_index(op.f('ix_session_family_subject_audience'), table_name='session_family', schema='auth', postgresql_where=sa.text('revoked_at IS NULL'))
    op.drop_table('session_family', schema='auth')
    op.drop_index(op.f('ix_login_challenge_expires_at'), table_name='login_challenge', schema='auth')
    op.drop_table('login_challenge', schema='auth')
    op.drop_index(op.f('ix_consent_code_person_id'), table_name='consent_code', schema='auth')
    op.drop_table('consent_code', schema='auth')
    op.drop_table('client', schema='auth')
    op.drop_index('ix_access_log_person_at', table_name='access_log', schema='core')
    op.drop_table('access_log', schema='core')
    op.execute("DROP SCHEMA auth")
