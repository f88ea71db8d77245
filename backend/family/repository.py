"""SQL of guardianship links: a parent's children today (read path), and the feed's writes.

A link holds on a day when it is not withdrawn, the day lies within its validity, and the
child is not yet 18 on that day: the 18th birthday ends it by this rule, with no job.
(PostgreSQL adds 18 years to 29 February as 28 February: that day is the birthday.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from backend.db.reads import Fetcher

MAX_CHILDREN = 20
"""At most this many children are listed for one person (a list, not a connection)."""


@dataclass(frozen=True, slots=True)
class ChildRow:
    """A minor child linked to a parent today, and the link."""

    link_id: int
    kind: str
    valid_from: date
    valid_until: date
    """The last day the link holds: its own end, or the eve of the 18th birthday."""
    id: uuid.UUID
    last_name: str
    first_name: str
    patronymic: str | None
    birth_date: date


_HOLDS = (
    " g.ended_at IS NULL AND g.valid_from <= $2"
    " AND (g.valid_until IS NULL OR g.valid_until >= $2)"
    " AND (p.birth_date + interval '18 years')::date > $2"
)
CHILDREN = (
    "SELECT * FROM (SELECT DISTINCT ON (p.id) g.id AS link_id, g.kind, g.valid_from,"
    " LEAST(g.valid_until, (p.birth_date + interval '18 years')::date - 1) AS valid_until,"
    " p.id, p.last_name, p.first_name, p.patronymic, p.birth_date"
    " FROM core.guardianship g JOIN core.person p ON p.id = g.child_id"
    " WHERE g.guardian_id = $1 AND" + _HOLDS + " AND ($3::uuid IS NULL OR p.id = $3)"
    " ORDER BY p.id, g.valid_from DESC, g.id DESC) c"
    " ORDER BY c.birth_date, c.id LIMIT $4"
)


async def children_of(db: Fetcher, guardian_id: uuid.UUID, today: date, *,
                      child_id: uuid.UUID | None = None) -> list[ChildRow]:
    """The minor children ``guardian_id`` is linked to ``today``, youngest last (only
    ``child_id`` when given: whether this person may act for that child today)."""
    rows = await db.fetch(CHILDREN, guardian_id, today, child_id, MAX_CHILDREN)
    return [ChildRow(*row) for row in rows]
