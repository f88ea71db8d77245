"""``NotificationCenter``: what the API asks of ``notifications``, one transaction per call,
with its refusals turned into localized ``BAD_USER_INPUT`` errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.reads import Reads
from backend.errors import BadUserInput
from backend.inbox.texts import REFUSALS
from notifications import devices, inbox, preferences
from notifications.devices import DeviceRow, Registration
from notifications.errors import NotifyError
from notifications.inbox import Item
from notifications.preferences import Preferences, Quiet
from notifications.settings import NotifySettings


def refusal(code: str) -> BadUserInput:
    """The API's error for a ``notifications`` refusal ``code`` (also ``extensions.reason``)."""
    error = BadUserInput(REFUSALS[code])
    error.reason = code
    return error


class NotificationCenter:
    """Devices, preferences and the inbox of the signed-in person."""

    def __init__(self, engine: AsyncEngine, reads: Reads, settings: NotifySettings) -> None:
        self.engine = engine
        self.reads = reads
        self.settings = settings

    def reading(self, reads: Reads) -> NotificationCenter:
        """This center with its inbox reads on ``reads`` (one request's: a citizen's may go
        to a read replica, ``backend.db.replica``); itself when they are its own."""
        if reads is self.reads:
            return self
        return NotificationCenter(self.engine, reads, self.settings)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.begin() as conn:
                yield conn
        except NotifyError as error:
            raise refusal(error.code) from None

    async def register(self, person_id: uuid.UUID, registration: Registration,
                       session_id: str | None) -> DeviceRow:
        """Register or refresh the asking phone."""
        async with self._writing() as conn:
            return await devices.register(conn, person_id, registration, session_id)

    async def unregister(self, person_id: uuid.UUID, device_id: int) -> None:
        """Stop pushes to one of the person's devices (``DEVICE_NOT_FOUND`` if not theirs)."""
        async with self._writing() as conn:
            if not await devices.unregister(conn, person_id, device_id):
                raise NotifyError("DEVICE_NOT_FOUND")

    async def devices(self, person_id: uuid.UUID) -> list[DeviceRow]:
        """The person's push devices."""
        async with self.engine.connect() as conn:
            return await devices.list_devices(conn, person_id)

    async def retire_sessions(self, session_ids: Sequence[str]) -> int:
        """Signed out: the devices registered under these sessions get no more pushes."""
        async with self._writing() as conn:
            return await devices.retire_sessions(conn, session_ids)

    async def retire_person(self, person_id: uuid.UUID) -> int:
        """Signed out everywhere: none of the person's devices gets pushes."""
        async with self._writing() as conn:
            return await devices.retire_person(conn, person_id)

    async def preferences(self, person_id: uuid.UUID) -> Preferences:
        """Every switch and the quiet hours."""
        async with self.engine.connect() as conn:
            return await preferences.get(conn, person_id)

    async def set_switch(self, person_id: uuid.UUID, category: str, channel: str,
                         enabled: bool) -> Preferences:
        """Switch one category on one channel; the preferences after."""
        async with self._writing() as conn:
            await preferences.set_switch(conn, person_id, category, channel, enabled)
            return await preferences.get(conn, person_id)

    async def set_quiet_hours(self, person_id: uuid.UUID, quiet: Quiet | None) -> Preferences:
        """Set or clear quiet hours; the preferences after."""
        async with self._writing() as conn:
            await preferences.set_quiet_hours(conn, person_id, quiet)
            return await preferences.get(conn, person_id)

    async def page(self, person_id: uuid.UUID, *, limit: int, before: int | None,
                   unread_only: bool) -> list[Item]:
        """A page of the inbox, newest first (on the read path)."""
        return _items(await self.reads.fetch(inbox.PAGE, person_id, before, unread_only,
                                             limit))

    async def unread(self, person_id: uuid.UUID) -> int:
        """How many inbox items the person has not read (on the read path)."""
        [row] = await self.reads.fetch(inbox.UNREAD_COUNT, person_id)
        return int(row[0])

    async def items(self, person_id: uuid.UUID, event_ids: Sequence[int]) -> list[Item]:
        """The person's items among ``event_ids`` (on the read path)."""
        return _items(await self.reads.fetch(inbox.BY_IDS, person_id, list(event_ids)))

    async def mark_read(self, person_id: uuid.UUID, event_ids: Sequence[int]) -> list[int]:
        """Mark items read; the ids that were the person's."""
        async with self._writing() as conn:
            return await inbox.mark_read(conn, person_id, event_ids)

    async def mark_all_read(self, person_id: uuid.UUID, up_to: int | None) -> int:
        """Mark every unread item read (up to ``up_to``); how many."""
        async with self._writing() as conn:
            return await inbox.mark_all_read(conn, person_id, up_to)


def _items(rows: Sequence[Any]) -> list[Item]:
    return [Item(row[0], row[1], row[2], _json(row[3]), row[4], row[5]) for row in rows]


def _json(value: Any) -> dict[str, Any]:
    """asyncpg returns jsonb as text unless a codec is set."""
    decoded: dict[str, Any] = json.loads(value) if isinstance(value, str) else dict(value)
    return decoded
