"""The verifiable log's storage (schema ``tlog``) and the triggers that queue its leaves.

Statement-level triggers with transition tables on ``core.contribution`` (contributions and
refunds), ``core.service_payment`` (payments and withdrawals) and ``core.access_log`` write one
``tlog.pending`` row per new record in the record's own transaction (COPY fires them too), in
the statement's id order; ``backend.tlog.append`` turns the queue into leaves, in the queue's
order, one appender at a time.  A record deleted later keeps its leaf: the log only grows.

Rows stored before this migration are queued once, by the time they were stored (then table,
then id), so an older database gets every record into the log.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "tlog"
KINDS = ("contribution", "contribution_refund", "service_payment", "service_withdrawal",
         "access")
KIND_CHECK = "kind IN ({})".format(", ".join(f"'{k}'" for k in KINDS))

# (table, the kind of each new row as SQL over it, the time it was stored)
SOURCES = (
    ("contribution",
     "CASE WHEN r.refund_of IS NULL THEN 'contribution' ELSE 'contribution_refund' END",
     "r.created_at"),
    ("service_payment",
     "CASE WHEN r.withdrawal_of IS NULL THEN 'service_payment' ELSE 'service_withdrawal' END",
     "r.created_at"),
    ("access_log", "'access'", "r.at"),
)


def _name(table: str) -> str:
    return f"tlog_{table}_insert"


def upgrade() -> None:
    op.execute("CREATE SCHEMA tlog")
    op.create_table(
        "pending",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(KIND_CHECK, name="ck_pending_kind_known"),
        sa.PrimaryKeyConstraint("id", name="pk_pending"), schema=S)
    op.create_table(
        "leaf",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(KIND_CHECK, name="ck_leaf_kind_known"),
        sa.CheckConstraint("length(salt) = 16", name="ck_leaf_salt_16_bytes"),
        sa.PrimaryKeyConstraint("leaf_index", name="pk_leaf"), schema=S)
    op.create_index("ix_leaf_kind_record_id", "leaf", ["kind", "record_id"], unique=True,
                    schema=S)
    op.create_table(
        "tile",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("tile_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("width BETWEEN 1 AND 256 AND length(hashes) = 32 * width",
                           name="ck_tile_width_matches"),
        sa.PrimaryKeyConstraint("level", "tile_index", name="pk_tile"), schema=S)
    # A full tile is 8 KiB of random bytes: kept out of line and never compressed (pglz would
    # try on every rewrite of a growing tile and give up).
    op.execute("ALTER TABLE tlog.tile ALTER COLUMN hashes SET STORAGE EXTERNAL")
    op.create_table(
        "checkpoint",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("cosigned", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("size", name="pk_checkpoint"), schema=S)
    op.create_index("ix_checkpoint_published", "checkpoint", [sa.text("size DESC")],
                    postgresql_where=sa.text("published_at IS NOT NULL"), schema=S)
    op.create_table(
        "witness",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_witness"), schema=S)

    for table, kind, _ in SOURCES:
        name = _name(table)
        op.execute(
            f"CREATE FUNCTION tlog.{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"  # noqa: S608
            f" INSERT INTO tlog.pending (kind, record_id)"
            f" SELECT {kind}, r.id FROM new_rows r ORDER BY r.id;"
            f" RETURN NULL; END $$")
        op.execute(f"CREATE TRIGGER {name} AFTER INSERT ON core.{table}"
                   f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
                   f" EXECUTE FUNCTION tlog.{name}()")

    stored = " UNION ALL ".join(
        f"SELECT {kind} AS kind, r.id, {at} AS at, {n} AS source FROM core.{table} r"  # noqa: S608
        for n, (table, kind, at) in enumerate(SOURCES))
    op.execute(f"INSERT INTO tlog.pending (kind, record_id) SELECT kind, id FROM ({stored}) x"  # noqa: S608
               f" ORDER BY at, source, id")


def downgrade() -> None:
    for table, _, _ in SOURCES:
        name = _name(table)
        op.execute(f"DROP TRIGGER {name} ON core.{table}")
        op.execute(f"DROP FUNCTION tlog.{name}()")
    for table in ("witness", "checkpoint", "tile", "leaf", "pending"):
        op.drop_table(table, schema=S)
    op.execute("DROP SCHEMA tlog")
