"""How ``auth`` finds a person by IIN, or a person's IIN and phone: the look-ups it needs
from ``core``."""

from __future__ import annotations

import uuid

from backend.db.reads import Reads

PHONE_BY_IIN = "SELECT id, phone FROM core.person WHERE iin = $1"
CONTACT_BY_ID = "SELECT iin, phone FROM core.person WHERE id = $1"


class PeopleDirectory:
    """``auth.login.PersonDirectory`` over ``core.person`` (one indexed statement each)."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    async def phone_of(self, iin: str) -> tuple[uuid.UUID, str | None] | None:
        """The person's id and phone on record, or None."""
        rows = await self._reads.fetch(PHONE_BY_IIN, iin)
        return None if not rows else (rows[0][0], rows[0][1])

    async def contact_of(self, person_id: uuid.UUID) -> tuple[str, str | None] | None:
        """The person's IIN and phone on record, or None."""
        rows = await self._reads.fetch(CONTACT_BY_ID, person_id)
        return None if not rows else (rows[0][0], rows[0][1])
