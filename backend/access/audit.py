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


async def record(reads: Reads, actor: Actor, people: Iterable[uuid.UUID], *, purpose: str,
                 reason: str, reference: str) -> None:
    """One row per person, in one statement (not retried: a repeat would count twice)."""
    ids = list(dict.fromkeys(people))
    if not ids:
        return
    async with reads.connection() as db:
        await db.fetch(_RECORD, ids, actor.kind.value, actor.id, actor.name,
                       actor.organization, purpose, reason, reference)


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None) -> list[AccessRow]:
    """A page of looks at ``person_id``'s data, newest first."""
    query = DatedPage("core.access_log", COLUMNS, "at", person_id).after(after)
    return [AccessRow(*row) for row in await db.fetch(query.sql(limit), *query.args)]
