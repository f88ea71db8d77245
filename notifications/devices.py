"""Devices: register (the app does it at every start and whenever FCM gives it a new token),
unregister, list, and retire the devices of ended sessions.

A token belongs to its newest owner: registering a token that another person's active device
holds retires that device (``MOVED``) and cancels its waiting pushes, in the same statement,
so nobody's money news reaches a phone that has changed hands.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.errors import NotifyError
from notifications.models import LANGUAGES

PLATFORMS: Final = ("android", "ios", "web")
TOKEN_KINDS: Final = ("token", "fid")
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9_:.\-]{1,4096}")
APP_VERSION_PATTERN: Final = re.compile(r"[0-9A-Za-z.+\-]{1,32}")

# Two statements in one transaction: sibling CTEs of the upsert would run after it had already
# taken the old owner's row over, so the move is done first.
MOVE: Final = """
WITH moved AS (
  UPDATE notify.device SET retired_at = now(), retired_reason = 'MOVED'
  WHERE token = :token AND retired_at IS NULL AND person_id <> :person RETURNING id
)
UPDATE notify.delivery SET state = 'cancelled', finished_at = now(),
  last_error = 'DEVICE_RETIRED'
WHERE device_id IN (SELECT id FROM moved) AND state = 'pending'
"""
REGISTER: Final = """
INSERT INTO notify.device AS d (person_id, token, token_kind, platform, app_version, language,
                                time_zone, session_id)
VALUES (:person, :token, :kind, :platform, :version, :language, :tz, :session)
ON CONFLICT (token) WHERE retired_at IS NULL DO UPDATE SET
  person_id = excluded.person_id, token_kind = excluded.token_kind,
  platform = excluded.platform, app_version = excluded.app_version,
  language = excluded.language, time_zone = excluded.time_zone,
  session_id = excluded.session_id, last_seen_at = now()
RETURNING d.id
"""
COLUMNS: Final = ("id, token_kind, platform, app_version, language, time_zone, registered_at,"
                  " last_seen_at, retired_at, retired_reason")


@dataclass(frozen=True)
class DeviceRow:
    """A device as its owner sees it (never its token)."""

    id: int
    token_kind: str
    platform: str
    app_version: str
    language: str
    time_zone: str
    registered_at: datetime
    last_seen_at: datetime
    retired_at: datetime | None
    retired_reason: str | None

    def push_off_reason(self, now: datetime, stale_after_days: int) -> str | None:
        """Why this device gets no pushes (None: it gets them)."""
        if self.retired_reason is not None:
            return self.retired_reason
        if self.last_seen_at < now - timedelta(days=stale_after_days):
            return "NOT_SEEN_RECENTLY"
        return None


@dataclass(frozen=True)
class Registration:
    """What the app sends about itself."""

    token: str
    platform: str
    app_version: str
    language: str
    time_zone: str
    token_kind: str = "token"  # noqa: S105 (a kind of identifier, not a secret)

    def checked(self) -> Registration:
        """Itself, or ``NotifyError`` naming the first field that is wrong."""
        if self.token_kind not in TOKEN_KINDS or not TOKEN_PATTERN.fullmatch(self.token):
            raise NotifyError("TOKEN_INVALID")
        if self.platform not in PLATFORMS:
            raise NotifyError("PLATFORM_UNKNOWN")
        if not APP_VERSION_PATTERN.fullmatch(self.app_version):
            raise NotifyError("APP_VERSION_INVALID")
        if self.language not in LANGUAGES:
            raise NotifyError("LANGUAGE_UNKNOWN")
        check_time_zone(self.time_zone)
        return self


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows, else ``TIME_ZONE_UNKNOWN``."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of zones ("Asia") or a name too long for the file system.
        raise NotifyError("TIME_ZONE_UNKNOWN") from None
    return name


async def register(conn: AsyncConnection, person_id: uuid.UUID, registration: Registration,
                   session_id: str | None = None) -> DeviceRow:
    """Register (or refresh) a device for ``person_id``; the caller commits."""
    r = registration.checked()
    await conn.execute(text(MOVE), {"token": r.token, "person": person_id})
    device_id = (await conn.execute(text(REGISTER), {
        "person": person_id, "token": r.token, "kind": r.token_kind, "platform": r.platform,
        "version": r.app_version, "language": r.language, "tz": r.time_zone,
        "session": session_id})).scalar_one()
    [row] = await _select(conn, "id = :id", {"id": device_id})
    return row


async def unregister(conn: AsyncConnection, person_id: uuid.UUID, device_id: int) -> bool:
    """Retire one of the person's devices (``UNREGISTERED_BY_USER``); False if not theirs."""
    return await _retire(conn, "person_id = :person AND id = :id",
                         {"person": person_id, "id": device_id}, "UNREGISTERED_BY_USER") > 0


async def retire_sessions(conn: AsyncConnection, session_ids: Sequence[str]) -> int:
    """Retire the devices registered under ended sessions (``SIGNED_OUT``)."""
    return await _retire(conn, "session_id = ANY(:sessions)", {"sessions": list(session_ids)},
                         "SIGNED_OUT")


async def retire_person(conn: AsyncConnection, person_id: uuid.UUID) -> int:
    """Retire every device of a person (signed out everywhere)."""
    return await _retire(conn, "person_id = :person", {"person": person_id}, "SIGNED_OUT")


async def list_devices(conn: AsyncConnection, person_id: uuid.UUID) -> list[DeviceRow]:
    """The person's devices, most recently seen first (retired ones last)."""
    return await _select(conn, "person_id = :person", {"person": person_id})


async def _select(conn: AsyncConnection, where: str, params: dict[str, object]
                  ) -> list[DeviceRow]:
    rows = await conn.execute(text(
        f"SELECT {COLUMNS} FROM notify.device WHERE {where}"  # noqa: S608 (constant fragments)
        " ORDER BY retired_at IS NOT NULL, last_seen_at DESC, id DESC"), params)
    return [DeviceRow(*row) for row in rows]


async def _retire(conn: AsyncConnection, where: str, params: dict[str, object],
                  reason: str) -> int:
    result = await conn.execute(text(
        "WITH retired AS (UPDATE notify.device SET retired_at = now(),"  # noqa: S608
        f" retired_reason = :reason WHERE {where} AND retired_at IS NULL RETURNING id),"
        " cancelled AS (UPDATE notify.delivery SET state = 'cancelled', finished_at = now(),"
        " last_error = 'DEVICE_RETIRED' WHERE device_id IN (SELECT id FROM retired)"
        " AND state = 'pending') SELECT count(*) FROM retired"), {**params, "reason": reason})
    return int(result.scalar_one())
