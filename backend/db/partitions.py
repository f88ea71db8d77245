"""The partitions of the money tables (migration 0019, ``docs/scaling.md#partitioning``).

``core.contribution`` and ``core.service_payment`` are partitioned by a hash of
``person_id`` into ``PARTITIONS`` tables each, ``<table>_p00`` … ``<table>_p15``.  The models
describe the partitioned tables only; whatever lists tables (autogenerate, the schema test)
leaves the partitions to them.
"""

from __future__ import annotations

import re

PARTITIONED = ("contribution", "service_payment")
PARTITIONS = 16
_PARTITION = re.compile("(?:{})_p[0-9]{{2}}".format("|".join(PARTITIONED)))


def partitions_of(table: str) -> list[str]:
    """The partitions of one of ``PARTITIONED``, in remainder order."""
    return [f"{table}_p{i:02d}" for i in range(PARTITIONS)]


def is_partition(name: str | None) -> bool:
    """Whether ``name`` is one of the partitions (not a table of its own in the models)."""
    return name is not None and _PARTITION.fullmatch(name) is not None


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Autogenerate's filter: a foreign key to a partitioned table is reflected once more per
    partition (PostgreSQL's own constraints, ``fk_…_1`` … ``fk_…_16``): the models name only
    the one on the partitioned table."""
    if type_ == "foreign_key_constraint" and reflected:
        referred = getattr(obj, "referred_table", None)
        return not is_partition(getattr(referred, "name", None))
    return True


# PostgreSQL names a partition's copy of an index after its columns
# (``contribution_p03_person_id_period_id_idx``); this names it after the partitioned index
# and the partition (``ix_contribution_person_period_p03``), so that a plan names the index
# the models know.  Run after the indexes of a partitioned table are (re)built.
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
