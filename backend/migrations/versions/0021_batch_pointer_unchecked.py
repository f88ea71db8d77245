"""The money tables' ``batch_id`` is no longer a foreign key (issue 18 item 2): it was a
per-row check (a lookup in ``core.ingestion_batch`` for every row stored, about a tenth of
a bulk ingestion's store) of a value that cannot be wrong.

Why dropping it is safe: ``batch_id`` is an audit pointer that only the ingestion writes
(``backend/ingest/pipeline.py``), with the id of the ``core.ingestion_batch`` row that the
same transaction has just inserted (``BATCH_INSERT`` comes before ``STORE``; both commit or
neither does), and no code deletes a batch row or changes its id.  Every other writer (the
demo loader, COPY, the tests' factories) leaves it NULL.  The pointer and its index-free
column stay; only the check goes.  ``tests/backend/test_ingest_contributions.py`` reads the
batch of stored rows back.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contribution", "service_payment")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE core.{table}"
                   f" DROP CONSTRAINT fk_{table}_batch_id_ingestion_batch")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE core.{table} ADD CONSTRAINT fk_{table}_batch_id_ingestion_batch"
                   f" FOREIGN KEY (batch_id) REFERENCES core.ingestion_batch (id)")
