"""SQL for people (the read path: see ``backend.db.reads``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from backend.db.reads import Fetcher


@dataclass(frozen=True, slots=True)
class PersonRow:
    """What the API shows of a person."""

    id: uuid.UUID
    iin: str
    last_name: str
    first_name: str
    patronymic: str | None
    region_code: str
    language: str


PEOPLE_BY_IDS = (
    "SELECT id, iin, last_name, first_name, patronymic, region_code, language"
    " FROM core.person WHERE id = ANY($1::uuid[])"
)


async def people_by_ids(db: Fetcher, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PersonRow]:
    """The people with these ids (missing ids are simply absent)."""
    return {row["id"]: PersonRow(*row) for row in await db.fetch(PEOPLE_BY_IDS, list(ids))}
