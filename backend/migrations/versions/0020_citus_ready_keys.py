"""Keys a distribution by person can keep (issue 18, item 4; ``infra/citus/PLAN.md``).

Citus enforces a primary key, a unique key or a foreign key only inside one shard, so every
key of a table distributed by the person must hold the person's id (``backend/db/distribution.py``
says which tables are distributed; ``tests/test_citus_ready.py`` checks the rules on the
catalog).  ``core.contribution`` and ``core.service_payment`` got theirs with their partitions
(0019), and ``core.dispute``'s keys to the service it is about; this migration does the rest
of ``core``, moving no row:

- ``core.person``: the IIN stays unique, but in a key table of its own, ``core.person_iin``
  (IIN → person), kept by triggers on ``core.person`` in the same statement, so every writer
  (the demo's COPY, the factories) keeps it without knowing; ``core.person`` keeps a plain index
  on ``iin`` for its lookups.  Under Citus the key table stays on the coordinator, where the
  ingestion resolves IINs to people (``PLAN.md``).
- ``category_membership``, ``status_history``, ``access_log``: primary key ``(id, person_id)``.
- ``dispute``: primary key ``(id, person_id)``; its one open case per service is unique on
  ``(service_payment_id, person_id)`` (a service is one person's, so nothing changes);
  ``reported_by`` (a parent may report for a child on another shard) loses its foreign key.
- ``dispute_event``: gets the case's ``person_id`` (filled from its case), primary key
  ``(id, person_id)``, and a foreign key ``(dispute_id, person_id)`` to its case.
- ``guardianship`` links two people who may live on different shards: it stays on the
  coordinator, so it may not point at ``core.person`` (the feed resolves both IINs in the same
  transaction, and people are never deleted); its idempotency key stays exact.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSON_IIN = """
CREATE TABLE core.person_iin (
    iin varchar(12) NOT NULL,
    person_id uuid NOT NULL,
    CONSTRAINT pk_person_iin PRIMARY KEY (iin)
);
INSERT INTO core.person_iin (iin, person_id) SELECT iin, id FROM core.person;

CREATE FUNCTION core.person_iin_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core.person_iin (iin, person_id) SELECT iin, id FROM new_rows;
    RETURN NULL;
END $$;
CREATE FUNCTION core.person_iin_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM core.person_iin k USING old_rows o WHERE k.iin = o.iin AND k.person_id = o.id;
    RETURN NULL;
END $$;
CREATE FUNCTION core.person_iin_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE core.person_iin SET iin = NEW.iin, person_id = NEW.id
    WHERE iin = OLD.iin AND person_id = OLD.id;
    RETURN NULL;
END $$;
CREATE FUNCTION core.person_iin_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE core.person_iin;
    RETURN NULL;
END $$;
CREATE TRIGGER person_iin_insert AFTER INSERT ON core.person
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION core.person_iin_insert();
CREATE TRIGGER person_iin_delete AFTER DELETE ON core.person
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION core.person_iin_delete();
CREATE TRIGGER person_iin_update AFTER UPDATE OF iin, id ON core.person FOR EACH ROW
    WHEN (OLD.iin IS DISTINCT FROM NEW.iin OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION core.person_iin_update();
CREATE TRIGGER person_iin_truncate AFTER TRUNCATE ON core.person
    FOR EACH STATEMENT EXECUTE FUNCTION core.person_iin_truncate();

ALTER TABLE core.person DROP CONSTRAINT uq_person_iin;
CREATE INDEX ix_person_iin ON core.person (iin);
"""

PERSON_IIN_DOWN = """
DROP INDEX core.ix_person_iin;
ALTER TABLE core.person ADD CONSTRAINT uq_person_iin UNIQUE (iin);
DROP TRIGGER person_iin_truncate ON core.person;
DROP TRIGGER person_iin_update ON core.person;
DROP TRIGGER person_iin_delete ON core.person;
DROP TRIGGER person_iin_insert ON core.person;
DROP FUNCTION core.person_iin_truncate();
DROP FUNCTION core.person_iin_update();
DROP FUNCTION core.person_iin_delete();
DROP FUNCTION core.person_iin_insert();
DROP TABLE core.person_iin;
"""

# (table, primary key's columns after, before)
PRIMARY_KEYS = (
    ("category_membership", "id, person_id", "id"),
    ("status_history", "id, person_id", "id"),
    ("access_log", "id, person_id", "id"),
)

DISPUTES = """
ALTER TABLE core.dispute_event DROP CONSTRAINT fk_dispute_event_dispute_id_dispute;
ALTER TABLE core.dispute DROP CONSTRAINT pk_dispute;
ALTER TABLE core.dispute ADD CONSTRAINT pk_dispute PRIMARY KEY (id, person_id);
ALTER TABLE core.dispute DROP CONSTRAINT fk_dispute_reported_by_person;
DROP INDEX core.ix_dispute_open_service;
CREATE UNIQUE INDEX ix_dispute_open_service ON core.dispute (service_payment_id, person_id)
    WHERE state IN ('submitted', 'in_review');

ALTER TABLE core.dispute_event ADD COLUMN person_id uuid;
ALTER TABLE core.dispute_event DISABLE TRIGGER dispute_event_append_only;
UPDATE core.dispute_event e SET person_id = d.person_id FROM core.dispute d
    WHERE d.id = e.dispute_id;
ALTER TABLE core.dispute_event ENABLE TRIGGER dispute_event_append_only;
ALTER TABLE core.dispute_event ALTER COLUMN person_id SET NOT NULL;
ALTER TABLE core.dispute_event DROP CONSTRAINT pk_dispute_event;
ALTER TABLE core.dispute_event ADD CONSTRAINT pk_dispute_event PRIMARY KEY (id, person_id);
ALTER TABLE core.dispute_event ADD CONSTRAINT fk_dispute_event_dispute_id_dispute
    FOREIGN KEY (dispute_id, person_id) REFERENCES core.dispute (id, person_id);
"""

DISPUTES_DOWN = """
ALTER TABLE core.dispute_event DROP CONSTRAINT fk_dispute_event_dispute_id_dispute;
ALTER TABLE core.dispute_event DROP CONSTRAINT pk_dispute_event;
ALTER TABLE core.dispute_event ADD CONSTRAINT pk_dispute_event PRIMARY KEY (id);
ALTER TABLE core.dispute_event DROP COLUMN person_id;

DROP INDEX core.ix_dispute_open_service;
CREATE UNIQUE INDEX ix_dispute_open_service ON core.dispute (service_payment_id)
    WHERE state IN ('submitted', 'in_review');
ALTER TABLE core.dispute ADD CONSTRAINT fk_dispute_reported_by_person
    FOREIGN KEY (reported_by) REFERENCES core.person (id);
ALTER TABLE core.dispute DROP CONSTRAINT pk_dispute;
ALTER TABLE core.dispute ADD CONSTRAINT pk_dispute PRIMARY KEY (id);
ALTER TABLE core.dispute_event ADD CONSTRAINT fk_dispute_event_dispute_id_dispute
    FOREIGN KEY (dispute_id) REFERENCES core.dispute (id);
"""

GUARDIANSHIP = """
ALTER TABLE core.guardianship DROP CONSTRAINT fk_guardianship_guardian_id_person;
ALTER TABLE core.guardianship DROP CONSTRAINT fk_guardianship_child_id_person;
"""

GUARDIANSHIP_DOWN = """
ALTER TABLE core.guardianship ADD CONSTRAINT fk_guardianship_guardian_id_person
    FOREIGN KEY (guardian_id) REFERENCES core.person (id) ON DELETE CASCADE;
ALTER TABLE core.guardianship ADD CONSTRAINT fk_guardianship_child_id_person
    FOREIGN KEY (child_id) REFERENCES core.person (id) ON DELETE CASCADE;
"""


def _primary_key(table: str, columns: str) -> str:
    return (f"ALTER TABLE core.{table} DROP CONSTRAINT pk_{table};"
            f" ALTER TABLE core.{table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({columns});")


def _statements(script: str) -> list[str]:
    """The statements of ``script``, one by one (the driver prepares each): ``;`` splits them,
    except inside a ``$$`` body."""
    statements: list[str] = []
    current = ""
    for i, part in enumerate(script.split("$$")):
        if i % 2:
            current += f"$${part}$$"
            continue
        first, *rest = part.split(";")
        current += first
        for piece in rest:
            statements.append(current)
            current = piece
    statements.append(current)
    return [statement.strip() for statement in statements if statement.strip()]


def _run(script: str) -> None:
    for statement in _statements(script):
        op.execute(statement)


def upgrade() -> None:
    _run(PERSON_IIN)
    _run("".join(_primary_key(table, after) for table, after, _ in PRIMARY_KEYS))
    _run(DISPUTES)
    _run(GUARDIANSHIP)


def downgrade() -> None:
    _run(GUARDIANSHIP_DOWN)
    _run(DISPUTES_DOWN)
    _run("".join(_primary_key(table, before) for table, _, before in PRIMARY_KEYS))
    _run(PERSON_IIN_DOWN)
