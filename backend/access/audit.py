"""The access audit: recording each look at a person's data by someone else, and listing the
looks for that person (newest first, keyset pages on ``(person_id, at DESC, id DESC)``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from auth.principals import Integrator, Principal, Staff
from backend.db.keyset import DatedPage
from backend.db.reads import Fetcher, Reads
from backend.models.audit import ActorKind

_RECORD = (
    "INSERT INTO core.access_log (person_id, actor_kind, actor_id, actor_name, organization,"
    " purpose, reason, reference) SELECT p, $2, $3, $4, $5, $6, $7, $8"
    " FROM unnest($1::uuid[]) AS p"
)
COLUMNS = "id, at, actor_kind, actor_name, organization, purpose, reason, reference"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who looks, for which organization."""

    kind: ActorKind
    id: str
    name: str
    organization: str


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One recorded look."""

    id: int
    at: datetime
    actor_kind: str
    actor_name: str
    organization: str
    purpose: str
    reason: str
    reference: str


def actor_of(principal: Principal) -> Actor | None:
    """The actor to record for ``principal`` (None: a citizen reading their own data)."""
    if isinstance(principal, Staff):
        return Actor(ActorKind.STAFF, str(principal.staff_id), principal.name,
                     principal.provider_name)
    if isinstance(principal, Integrator):
        return Actor(ActorKind.INTEGRATOR, principal.client_id, principal.name,
                     principal.organization)
    return None


_FIRST_OF_REFERENCE = (
    " WHERE NOT EXISTS (SELECT 1 FROM core.access_log l WHERE l.person_id = p"
    " AND l.reference = $8 AND l.purpose = $6 AND l.actor_id = $3)"
)


async def record(reads: Reads, actor: Actor, people: Iterable[uuid.UUID], *, purpose: str,
                 reason: str, reference: str, once_per_reference: bool = False) -> None:
    """One row per person, in one statement (not retried: a repeat would count twice).

    ``once_per_reference``: not again when this actor already recorded this purpose under this
    reference (a desk worker's page that follows a patient's onboarding reads the devices
    every few seconds of the same consent window: one line says it).
    """
    ids = list(dict.fromkeys(people))
    if not ids:
        return
    sql = _RECORD + (_FIRST_OF_REFERENCE if once_per_reference else "")
    async with reads.primary.connection() as db:  # never a replica: a write
        await db.fetch(sql, ids, actor.kind.value, actor.id, actor.name,
                       actor.organization, purpose, reason, reference)


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None) -> list[AccessRow]:
    """A page of looks at ``person_id``'s data, newest first."""
    query = DatedPage("core.access_log", COLUMNS, "at", person_id).after(after)
    return [AccessRow(*row) for row in await db.fetch(query.sql(limit), *query.args)]
