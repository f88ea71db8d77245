"""Preferences: each category on each channel (on unless switched off), and quiet hours.

``critical`` (status loss: the grace period began, or insurance ended) is always on, on both
channels: it is the push that lets a person act before losing cover, so it cannot be muted.
It does wait for quiet hours like every push: it is news about weeks ahead, not minutes.
A registry desk's check that the phones receive pushes (``desk.check``) is critical too, so
that a switched-off category cannot make it fail; quiet hours hold it as well.  So is the
warning 14 and 3 days before cover ends (``status.warning``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import time
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.devices import check_time_zone
from notifications.errors import NotifyError
from notifications.models import CATEGORIES, CHANNELS, MUTABLE_CATEGORIES

SET: Final = """
INSERT INTO notify.preference (person_id, category, channel, enabled)
VALUES (:person, :category, :channel, :enabled)
ON CONFLICT (person_id, category, channel) DO UPDATE SET enabled = excluded.enabled,
  updated_at = now()
"""
SET_QUIET: Final = """
INSERT INTO notify.quiet_hours (person_id, starts, ends, time_zone)
VALUES (:person, :starts, :ends, :tz)
ON CONFLICT (person_id) DO UPDATE SET starts = excluded.starts, ends = excluded.ends,
  time_zone = excluded.time_zone, updated_at = now()
"""


@dataclass(frozen=True)
class Switch:
    """One category on one channel."""

    category: str
    channel: str
    enabled: bool
    mutable: bool


@dataclass(frozen=True)
class Quiet:
    """Quiet hours, local time in ``time_zone`` (``starts`` > ``ends`` spans midnight)."""

    starts: time
    ends: time
    time_zone: str


@dataclass(frozen=True)
class Preferences:
    """Every switch (all categories × channels) and the quiet hours, if any."""

    switches: list[Switch]
    quiet_hours: Quiet | None


async def get(conn: AsyncConnection, person_id: uuid.UUID) -> Preferences:
    """The person's preferences (defaults filled in)."""
    off = {(category, channel): enabled for category, channel, enabled in await conn.execute(
        text("SELECT category, channel, enabled FROM notify.preference"
             " WHERE person_id = :person"), {"person": person_id})}
    switches = [Switch(category, channel, off.get((category, channel), True),
                       category in MUTABLE_CATEGORIES)
                for category in CATEGORIES for channel in CHANNELS]
    row = (await conn.execute(text(
        "SELECT starts, ends, time_zone FROM notify.quiet_hours WHERE person_id = :person"),
        {"person": person_id})).one_or_none()
    return Preferences(switches, None if row is None else Quiet(*row))


async def set_switch(conn: AsyncConnection, person_id: uuid.UUID, category: str,
                     channel: str, enabled: bool) -> None:
    """Switch a category on or off on a channel (``CATEGORY_NOT_MUTABLE`` for critical)."""
    if category not in CATEGORIES or channel not in CHANNELS:
        raise NotifyError("CATEGORY_UNKNOWN")
    if category not in MUTABLE_CATEGORIES:
        raise NotifyError("CATEGORY_NOT_MUTABLE")
    await conn.execute(text(SET), {"person": person_id, "category": category,
                                   "channel": channel, "enabled": enabled})


async def set_quiet_hours(conn: AsyncConnection, person_id: uuid.UUID,
                          quiet: Quiet | None) -> None:
    """Set quiet hours, or clear them with None."""
    if quiet is None:
        await conn.execute(text("DELETE FROM notify.quiet_hours WHERE person_id = :person"),
                           {"person": person_id})
        return
    check_time_zone(quiet.time_zone)
    if quiet.starts == quiet.ends:
        raise NotifyError("QUIET_HOURS_EMPTY")
    await conn.execute(text(SET_QUIET), {"person": person_id, "starts": quiet.starts,
                                         "ends": quiet.ends, "tz": quiet.time_zone})
