"""A parent's look at a minor child's data, in the child's access log (actor: the parent, kind
``guardian``; reason ``guardianship``; reference: the link), once per request and purpose.

Apart from ``backend.family.types`` so that other domains that show a child's rows (a child's
cases) record their looks the same way without importing the ``Child`` type.
"""

from __future__ import annotations

import uuid

from strawberry.types import Info

from backend.access import audit
from backend.access.audit import Actor
from backend.gql.context import Context
from backend.models.audit import ActorKind


async def record_look(info: Info[Context, None], *, child_id: uuid.UUID,
                      guardian_id: uuid.UUID, link_id: int, purpose: str) -> None:
    """Record the parent ``guardian_id``'s look at ``child_id``'s data for ``purpose``
    under the link ``link_id`` (once per request and purpose)."""
    context = info.context
    key = (child_id, purpose)
    if key in context.recorded_looks:
        return
    context.recorded_looks.add(key)
    parent = await context.loaders.person.load(guardian_id)
    name = "" if parent is None else " ".join(
        part for part in (parent.first_name, parent.last_name) if part)
    actor = Actor(ActorKind.GUARDIAN, str(guardian_id), name, "")
    await audit.record(context.reads, actor, [child_id], purpose=purpose,
                       reason="guardianship", reference=str(link_id))
