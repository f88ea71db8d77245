"""How ``auth`` finds a person by IIN: the one look-up it needs from ``core``."""

from __future__ import annotations

import uuid

from backend.db.reads import Reads

PHONE_BY_IIN = "SELECT id, phone FROM core.person WHERE iin = $1"


class PeopleDirectory:
    """``auth.login.PersonDirectory`` over ``core.person`` (one indexed statement)."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    async def phone_of(self, iin: str) -> tuple[uuid.UUID, str | None] | None:
        """The person's id and phone on record, or None."""
        rows = await self._reads.fetch(PHONE_BY_IIN, iin)
        return None if not rows else (rows[0][0], rows[0][1])
