"""The money tables partitioned by a hash of ``person_id`` (issue 18): ``core.contribution``
and ``core.service_payment`` become ``PARTITION BY HASH (person_id)`` with 16 partitions each
(``core.contribution_p00`` … ``_p15``), and the sender's record id stays unique through a key
table kept by the database itself.

Why a hash of the person and not the month: every read a citizen makes is one person's rows
(their receipts, their covered services, their status), and a hash of ``person_id`` sends
each to one partition whatever months it spans; by month, a person's keyset page would
``Append`` one index range per month partition.  ``bench/partitioning.py`` measures both on
the 1M demo; ``docs/scaling.md#partitioning`` has the figures.

What changes with the partition key:

- The primary key is ``(id, person_id)`` (a partitioned table's unique keys must hold the
  partition key); ``id`` first, so that a lookup by id alone still uses each partition's
  index.  ``id`` stays an identity (PostgreSQL 17+), its next value carried over.
- A refund (``refund_of``) and a withdrawal (``withdrawal_of``) belong to the same person as
  what they take back from: their foreign keys become ``(refund_of, person_id)`` and
  ``(withdrawal_of, person_id)``.  ``core.dispute`` is about the patient's own service
  payment (``dispute.person_id`` is the payment's person, and the recovery is a withdrawal of
  it): ``(service_payment_id, person_id)`` and ``(recovery_id, person_id)``.
- ``(source, source_record_id)`` cannot be a unique constraint of a table partitioned by
  person: ``core.contribution_key`` and ``core.service_payment_key`` hold it (primary key),
  with the row's ``(id, person_id)`` so that a lookup by record id reaches one partition.  A
  statement trigger on the partitioned table (``AFTER INSERT`` with its transition table)
  adds the keys of every insert, whoever writes (the ingestion, COPY, the tests' factories),
  and raises ``unique_violation`` when a key is taken by another row; ``AFTER DELETE``
  removes them.  The ingestion inserts its keys first, ``ON CONFLICT DO NOTHING`` (a batch
  racing an identical one waits and counts its records as duplicates, as before), then the
  rows with those ids; the trigger finds the keys already there, with the same ids.
- Every index, check, foreign key and trigger keeps its name.

The data is moved by ``INSERT … SELECT`` into the new partitioned table, the indexes and
keys built afterwards (faster than maintaining them row by row).  On the 1M demo (29.7 M
contributions, 18.3 M service payments) see ``docs/scaling.md`` for the time it took.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

# ruff: noqa: S608 - every statement is built from the fixed table names below
from collections.abc import Sequence
from dataclasses import dataclass

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITIONS = 16


@dataclass(frozen=True)
class Money:
    """One of the two money tables, and what hangs on it."""

    table: str
    pointer: str  # the self reference: a refund's or a withdrawal's original
    indexes: tuple[tuple[str, str], ...]  # (name, "(columns) [WHERE …]")
    foreign_keys: tuple[tuple[str, str, str], ...]  # (column, referred table, its column)


CONTRIBUTION = Money(
    "contribution", "refund_of",
    (("ix_contribution_refund_of", "(refund_of) WHERE refund_of IS NOT NULL"),
     ("ix_contribution_flagged", "(id DESC) WHERE flags <> '{}'::text[]"),
     ("ix_contribution_person_period", "(person_id, period DESC, id DESC)")),
    (("batch_id", "ingestion_batch", "id"), ("payer_id", "payer", "id"),
     ("person_id", "person", "id")),
)
SERVICE_PAYMENT = Money(
    "service_payment", "withdrawal_of",
    (("ix_service_payment_withdrawal_of", "(withdrawal_of) WHERE withdrawal_of IS NOT NULL"),
     ("ix_service_payment_flagged", "(id DESC) WHERE flags <> '{}'::text[]"),
     ("ix_service_payment_practitioner_day",
      "(provider_id, practitioner_ref, care_date) WHERE practitioner_ref IS NOT NULL"),
     ("ix_service_payment_person_care_date", "(person_id, care_date DESC, id DESC)")),
    (("batch_id", "ingestion_batch", "id"), ("person_id", "person", "id"),
     ("provider_id", "provider", "id"), ("service_code", "medical_service", "code")),
)
TABLES = (CONTRIBUTION, SERVICE_PAYMENT)
# The statement triggers of the rollups (0014) and the verifiable log (0016).
TRIGGERS = (
    ("stats_{t}_insert", "INSERT", "NEW TABLE AS new_rows", "stats.stats_{t}_insert"),
    ("stats_{t}_delete", "DELETE", "OLD TABLE AS old_rows", "stats.stats_{t}_delete"),
    ("tlog_{t}_insert", "INSERT", "NEW TABLE AS new_rows", "tlog.tlog_{t}_insert"),
)
# A partition's index is named after its partitioned index (``ix_contribution_person_period_p03``,
# ``pk_contribution_p03``), so that plans name the index the models know.
NAME_PARTITION_INDEXES = """DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT child.relname AS child,
               parent.relname || substring(part.relname FROM '_p[0-9]+$') AS wanted
        FROM pg_inherits i
        JOIN pg_class child ON child.oid = i.inhrelid
        JOIN pg_class parent ON parent.oid = i.inhparent AND parent.relkind = 'I'
        JOIN pg_index x ON x.indexrelid = child.oid
        JOIN pg_class part ON part.oid = x.indrelid
        WHERE parent.relnamespace = 'core'::regnamespace
          AND part.relname ~ '_p[0-9]+$'
          AND child.relname <> parent.relname || substring(part.relname FROM '_p[0-9]+$')
    LOOP
        EXECUTE format('ALTER INDEX core.%I RENAME TO %I', r.child, r.wanted);
    END LOOP;
END $$"""
DISPUTE_KEYS = (("service_payment_id", "fk_dispute_service_payment_id_service_payment"),
                ("recovery_id", "fk_dispute_recovery_id_service_payment"))


def _key_functions(t: str) -> list[str]:
    """The key table's upkeep: its keys added with every insert, removed with every delete.

    The insert skips keys already there (the ingestion inserted them, with the same ids);
    when it skipped any, it raises, as a unique constraint would, if a key of the statement
    belongs to another row (an earlier one, or another row of the same statement).
    """
    return [
        f"""CREATE FUNCTION core.{t}_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
    taken record;
BEGIN
    INSERT INTO core.{t}_key (source, source_record_id, id, person_id)
    SELECT source, source_record_id, id, person_id FROM new_rows
    ON CONFLICT (source, source_record_id) DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added = (SELECT count(*) FROM new_rows) THEN
        RETURN NULL;  -- every key was new (a COPY, a factory): nothing to compare
    END IF;
    SELECT k.source, k.source_record_id INTO taken
    FROM new_rows n JOIN core.{t}_key k
      ON k.source = n.source AND k.source_record_id = n.source_record_id
    WHERE k.id <> n.id OR k.person_id <> n.person_id LIMIT 1;
    IF FOUND THEN
        RAISE unique_violation USING
            MESSAGE = 'duplicate key value violates unique constraint "pk_{t}_key"',
            DETAIL = format('Key (source, source_record_id)=(%s, %s) already exists.',
                            taken.source, taken.source_record_id),
            SCHEMA = 'core', TABLE = '{t}_key', CONSTRAINT = 'pk_{t}_key';
    END IF;
    RETURN NULL;
END $$""",
        f"""CREATE FUNCTION core.{t}_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM core.{t}_key k USING old_rows o
    WHERE k.source = o.source AND k.source_record_id = o.source_record_id AND k.id = o.id;
    RETURN NULL;
END $$""",
    ]


def _copy_into(m: Money, partitioned: bool) -> None:
    """``core.<t>_moved``: a copy of ``core.<t>`` (columns, defaults, checks, identity),
    partitioned or not, holding its rows, its identity going on where the old one stood."""
    t = m.table
    spec = " PARTITION BY HASH (person_id)" if partitioned else ""
    op.execute(f"CREATE TABLE core.{t}_moved (LIKE core.{t} INCLUDING DEFAULTS"
               f" INCLUDING CONSTRAINTS INCLUDING IDENTITY){spec}")
    if partitioned:
        for i in range(PARTITIONS):
            op.execute(f"CREATE TABLE core.{t}_p{i:02d} PARTITION OF core.{t}_moved"
                       f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})")
    op.execute(f"INSERT INTO core.{t}_moved SELECT * FROM core.{t}")
    op.execute(f"SELECT setval('core.{t}_moved_id_seq', last_value, is_called)"
               f" FROM core.{t}_id_seq")


def _swap(m: Money) -> None:
    """The copy takes the table's place and names."""
    t = m.table
    op.execute(f"DROP TABLE core.{t} CASCADE")  # its own triggers, and dispute's keys
    op.execute(f"ALTER TABLE core.{t}_moved RENAME TO {t}")
    op.execute(f"ALTER SEQUENCE core.{t}_moved_id_seq RENAME TO {t}_id_seq")
    for name, columns in m.indexes:
        op.execute(f"CREATE INDEX {name} ON core.{t} {columns}")
    for column, referred, key in m.foreign_keys:
        op.execute(f"ALTER TABLE core.{t} ADD CONSTRAINT fk_{t}_{column}_{referred}"
                   f" FOREIGN KEY ({column}) REFERENCES core.{referred} ({key})")
    for name, event, transition, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name.format(t=t)} AFTER {event} ON core.{t}"
                   f" REFERENCING {transition} FOR EACH STATEMENT"
                   f" EXECUTE FUNCTION {function.format(t=t)}()")


def upgrade() -> None:
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for m in TABLES:
        t = m.table
        _copy_into(m, partitioned=True)
        op.execute(f"CREATE TABLE core.{t}_key (source varchar(64) NOT NULL,"
                   f" source_record_id varchar(128) NOT NULL, id bigint NOT NULL,"
                   f" person_id uuid NOT NULL)")
        op.execute(f"INSERT INTO core.{t}_key SELECT source, source_record_id, id, person_id"
                   f" FROM core.{t}")
        op.execute(f"ALTER TABLE core.{t}_key ADD CONSTRAINT pk_{t}_key"
                   f" PRIMARY KEY (source, source_record_id)")
        _swap(m)
        op.execute(f"ALTER TABLE core.{t} ADD CONSTRAINT pk_{t} PRIMARY KEY (id, person_id)")
        op.execute(f"ALTER TABLE core.{t} ADD CONSTRAINT fk_{t}_{m.pointer}_{t}"
                   f" FOREIGN KEY ({m.pointer}, person_id) REFERENCES core.{t} (id, person_id)")
        for statement in _key_functions(t):
            op.execute(statement)
        op.execute(f"CREATE TRIGGER {t}_key_insert AFTER INSERT ON core.{t}"
                   f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
                   f" EXECUTE FUNCTION core.{t}_key_insert()")
        op.execute(f"CREATE TRIGGER {t}_key_delete AFTER DELETE ON core.{t}"
                   f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
                   f" EXECUTE FUNCTION core.{t}_key_delete()")
    for column, name in DISPUTE_KEYS:
        op.execute(f"ALTER TABLE core.dispute ADD CONSTRAINT {name} FOREIGN KEY"
                   f" ({column}, person_id) REFERENCES core.service_payment (id, person_id)")
    op.execute(NAME_PARTITION_INDEXES)


def downgrade() -> None:
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for m in TABLES:
        t = m.table
        _copy_into(m, partitioned=False)
        op.execute(f"DROP TABLE core.{t}_key")
        _swap(m)  # drops the partitions and the key triggers with the old table
        op.execute(f"DROP FUNCTION core.{t}_key_insert()")
        op.execute(f"DROP FUNCTION core.{t}_key_delete()")
        op.execute(f"ALTER TABLE core.{t} ADD CONSTRAINT pk_{t} PRIMARY KEY (id)")
        op.execute(f"ALTER TABLE core.{t} ADD CONSTRAINT uq_{t}_source_source_record_id"
                   f" UNIQUE (source, source_record_id)")
        op.execute(f"ALTER TABLE core.{t} ADD CONSTRAINT fk_{t}_{m.pointer}_{t}"
                   f" FOREIGN KEY ({m.pointer}) REFERENCES core.{t} (id)")
    for column, name in DISPUTE_KEYS:
        op.execute(f"ALTER TABLE core.dispute ADD CONSTRAINT {name} FOREIGN KEY"
                   f" ({column}) REFERENCES core.service_payment (id)")
