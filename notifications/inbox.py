"""The inbox: a person's notifications newest first, the unread count, marking read.

Items keep the event's payload and are rendered in the reader's language when read, so a
person who switches the app to Kazakh reads their whole inbox in Kazakh.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications import templates

COLUMNS: Final = "event_id, kind, category, payload, created_at, read_at"
# Reading is the API's read path (asyncpg, $n parameters); marking read goes through the
# caller's SQLAlchemy connection.
UNREAD_OF: Final = ("SELECT count(*) FROM notify.notification WHERE person_id = {person}"
                    " AND read_at IS NULL")
"""The unread count of the person ``{person}`` (SQL: a parameter, or a column of an outer
query, as ``backend.people.own`` reads it beside the person)."""
UNREAD_COUNT: Final = UNREAD_OF.format(person="$1")
BY_IDS: Final = (f"SELECT {COLUMNS} FROM notify.notification"  # noqa: S608
                 " WHERE person_id = $1 AND event_id = ANY($2::bigint[])")
PAGE: Final = (f"SELECT {COLUMNS} FROM notify.notification WHERE person_id = $1"  # noqa: S608
               " AND ($2::bigint IS NULL OR event_id < $2) AND (NOT $3 OR read_at IS NULL)"
               " ORDER BY event_id DESC LIMIT $4")


@dataclass(frozen=True)
class Item:
    """One inbox item."""

    event_id: int
    kind: str
    category: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    def rendered(self, language: str) -> templates.Rendered:
        """Title and body in ``language``."""
        return templates.render(self.kind, self.payload, language)


async def mark_read(conn: AsyncConnection, person_id: uuid.UUID, event_ids: Sequence[int]
                    ) -> list[int]:
    """Mark the person's items read; the ids that were theirs (read already or not)."""
    rows = await conn.execute(text(
        "UPDATE notify.notification SET read_at = coalesce(read_at, now())"
        " WHERE person_id = :person AND event_id = ANY(:ids) RETURNING event_id"),
        {"person": person_id, "ids": list(event_ids)})
    return [int(row[0]) for row in rows]


async def mark_all_read(conn: AsyncConnection, person_id: uuid.UUID,
                        up_to: int | None = None) -> int:
    """Mark every unread item read (only those up to event ``up_to`` when given: what the
    person had seen, not what arrived a moment later); how many were marked."""
    result = await conn.execute(text(
        "UPDATE notify.notification SET read_at = now() WHERE person_id = :person"
        " AND read_at IS NULL AND (CAST(:up_to AS bigint) IS NULL OR event_id <= :up_to)"),
        {"person": person_id, "up_to": up_to})
    return int(result.rowcount)
