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
