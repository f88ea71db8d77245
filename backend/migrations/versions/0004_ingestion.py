"""Ingestion: batches, refunds and withdrawals as their own rows, anomaly flags, stored
statuses and their history, and the event outbox (schema ``notify``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Parsing what integrators send, in SQL: NULL for what does not parse (no exception per row).
# PostgreSQL 16+ has pg_input_is_valid; on 15 a sub-transaction per row does the same, slower.
TRY_FUNCTIONS = r"""
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    -- plpgsql, not SQL: an inlined SQL body would let the planner fold the cast of a constant
    -- before the test, and raise.
    CREATE FUNCTION core.try_jsonb(v text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE
      PARALLEL SAFE AS
      'BEGIN IF pg_input_is_valid(v, ''jsonb'') THEN RETURN v::jsonb; END IF; RETURN NULL; END';
    CREATE FUNCTION core.try_date(v text) RETURNS date LANGUAGE plpgsql STABLE PARALLEL SAFE AS
      'BEGIN IF v ~ ''^\d{4}-\d{2}-\d{2}$'' AND pg_input_is_valid(v, ''date'') THEN
         RETURN v::date; END IF; RETURN NULL; END';
  ELSE
    CREATE FUNCTION core.try_jsonb(v text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS
      'BEGIN RETURN v::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END';
    CREATE FUNCTION core.try_date(v text) RETURNS date LANGUAGE plpgsql STABLE AS
      'BEGIN IF v !~ ''^\d{4}-\d{2}-\d{2}$'' THEN RETURN NULL; END IF; RETURN v::date;
       EXCEPTION WHEN others THEN RETURN NULL; END';
  END IF;
END $$
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS notify")
    op.execute(TRY_FUNCTIONS)
    op.create_table('ingestion_batch',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.Column('accepted', sa.BigInteger(), nullable=False),
    sa.Column('duplicates', sa.BigInteger(), nullable=False),
    sa.Column('rejected', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingestion_batch')),
    schema='core'
    )
    op.create_table('person_status',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('reason_code', sa.Text(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('stable_until', sa.Date(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['core.person.id'], name=op.f('fk_person_status_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_status')),
    schema='core'
    )
    op.create_index(op.f('ix_person_status_stable_until'), 'person_status', ['stable_until'], unique=False, schema='core')
    op.create_table('status_history',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('changed_on', sa.Date(), nullable=False),
    sa.Column('old_status', sa.Text(), nullable=True),
    sa.Column('new_status', sa.Text(), nullable=False),
    sa.Column('reason_code', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['core.person.id'], name=op.f('fk_status_history_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_history')),
    schema='core'
    )
    op.create_index('ix_status_history_person', 'status_history', ['person_id', sa.literal_column('changed_on DESC'), sa.literal_column('id DESC')], unique=False, schema='core')
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dedupe_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key')),
    schema='notify'
    )
    op.create_index('ix_outbox_pending', 'outbox', ['id'], unique=False, schema='notify', postgresql_where=sa.text('dispatched_at IS NULL'))
    op.add_column('contribution', sa.Column('refund_of', sa.BigInteger(), nullable=True), schema='core')
    op.add_column('contribution', sa.Column('batch_id', sa.BigInteger(), nullable=True), schema='core')
    op.create_index('ix_contribution_refund_of', 'contribution', ['refund_of'], unique=False, schema='core', postgresql_where=sa.text('refund_of IS NOT NULL'))
    op.create_foreign_key(op.f('fk_contribution_batch_id_ingestion_batch'), 'contribution', 'ingestion_batch', ['batch_id'], ['id'], source_schema='core', referent_schema='core')
    op.create_foreign_key(op.f('fk_contribution_refund_of_contribution'), 'contribution', 'contribution', ['refund_of'], ['id'], source_schema='core', referent_schema='core')
    op.add_column('service_payment', sa.Column('withdrawal_of', sa.BigInteger(), nullable=True), schema='core')
    op.add_column('service_payment', sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False), schema='core')
    op.add_column('service_payment', sa.Column('batch_id', sa.BigInteger(), nullable=True), schema='core')
    op.create_index('ix_service_payment_practitioner_day', 'service_payment', ['provider_id', 'practitioner_ref', 'care_date'], unique=False, schema='core', postgresql_where=sa.text('practitioner_ref IS NOT NULL'))
    op.create_index('ix_service_payment_withdrawal_of', 'service_payment', ['withdrawal_of'], unique=False, schema='core', postgresql_where=sa.text('withdrawal_of IS NOT NULL'))
    op.create_foreign_key(op.f('fk_service_payment_batch_id_ingestion_batch'), 'service_payment', 'ingestion_batch', ['batch_id'], ['id'], source_schema='core', referent_schema='core')
    op.create_foreign_key(op.f('fk_service_payment_withdrawal_of_service_payment'), 'service_payment', 'service_payment', ['withdrawal_of'], ['id'], source_schema='core', referent_schema='core')
    op.create_index("ix_service_payment_flagged", "service_payment",
                    [sa.literal_column("id DESC")], unique=False, schema="core",
                    postgresql_where=sa.text("flags <> '{}'::text[]"))
    for table, pointer in (("contribution", "refund_of"), ("service_payment", "withdrawal_of")):
        op.drop_constraint(f"ck_{table}_amount_positive", table, schema="core", type_="check")
        op.create_check_constraint(
            op.f(f"ck_{table}_amount_sign"), table,
            f"amount_tiyn <> 0 AND ({pointer} IS NULL) = (amount_tiyn > 0)", schema="core")


def downgrade() -> None:
    op.drop_index("ix_service_payment_flagged", table_name="service_payment", schema="core")
    op.execute("DELETE FROM core.contribution WHERE refund_of IS NOT NULL")
    op.execute("DELETE FROM core.service_payment WHERE withdrawal_of IS NOT NULL")
    for table in ("contribution", "service_payment"):
        op.drop_constraint(f"ck_{table}_amount_sign", table, schema="core", type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_amount_positive"), table,
                                   "amount_tiyn > 0", schema="core")
    op.drop_constraint(op.f('fk_service_payment_withdrawal_of_service_payment'), 'service_payment', schema='core', type_='foreignkey')
    op.drop_constraint(op.f('fk_service_payment_batch_id_ingestion_batch'), 'service_payment', schema='core', type_='foreignkey')
    op.drop_index('ix_service_payment_withdrawal_of', table_name='service_payment', schema='core', postgresql_where=sa.text('withdrawal_of IS NOT NULL'))
    op.drop_index('ix_service_payment_practitioner_day', table_name='service_payment', schema='core', postgresql_where=sa.text('practitioner_ref IS NOT NULL'))
    op.drop_column('service_payment', 'batch_id', schema='core')
    op.drop_column('service_payment', 'flags', schema='core')
    op.drop_column('service_payment', 'withdrawal_of', schema='core')
    op.drop_constraint(op.f('fk_contribution_refund_of_contribution'), 'contribution', schema='core', type_='foreignkey')
    op.drop_constraint(op.f('fk_contribution_batch_id_ingestion_batch'), 'contribution', schema='core', type_='foreignkey')
    op.drop_index('ix_contribution_refund_of', table_name='contribution', schema='core', postgresql_where=sa.text('refund_of IS NOT NULL'))
    op.drop_column('contribution', 'batch_id', schema='core')
    op.drop_column('contribution', 'refund_of', schema='core')
    op.drop_index('ix_outbox_pending', table_name='outbox', schema='notify', postgresql_where=sa.text('dispatched_at IS NULL'))
    op.drop_table('outbox', schema='notify')
    op.drop_index('ix_status_history_person', table_name='status_history', schema='core')
    op.drop_table('status_history', schema='core')
    op.drop_index(op.f('ix_person_status_stable_until'), table_name='person_status', schema='core')
    op.drop_table('person_status', schema='core')
    op.drop_table('ingestion_batch', schema='core')
    op.execute("DROP FUNCTION core.try_date(text)")
    op.execute("DROP FUNCTION core.try_jsonb(text)")
    op.execute("DROP SCHEMA notify")
