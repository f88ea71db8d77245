"""Browser sessions of the registry-desk console.

Signing in (name and password, ``Desk.authenticate``: the API's throttles) starts a session
whose random token (256 bits) lives only in the browser's cookie; the database keeps its HMAC.
Each request that presents it moves ``last_seen_at``; it ends when untouched for
``desk_idle_seconds``, ``desk_session_max_seconds`` after sign-in, on sign-out, or when the
account is deactivated or its password changes (``auth.staff.end_sessions``).

Forms carry a CSRF token derived from the cookie's token (HMAC, another label), so a page of
another site can neither read nor forge it; before sign-in, from a random "pre-session"
cookie the same way.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.keyring import utcnow
from auth.secrets import Secrets
from auth.settings import AuthSettings
from auth.staff import MEMBER_COLUMNS, StaffMember


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: whose, since when, and when it ends if left alone."""

    id: uuid.UUID
    member: StaffMember
    created_at: datetime
    idle_until: datetime
    expires_at: datetime


_RESOLVE = text(f"""
WITH touched AS (
  UPDATE auth.desk_session SET last_seen_at = :now
  WHERE token_hash = :hash AND ended_at IS NULL AND expires_at > :now
    AND last_seen_at > :idle_since
  RETURNING id, staff_id, created_at, expires_at
)
SELECT t.id, t.created_at, t.expires_at, {", ".join(f"a.{c}" for c in
                                               MEMBER_COLUMNS.split(", "))}
FROM touched t JOIN auth.staff_account a ON a.id = t.staff_id AND a.active
""")


class Console:
    """Start, resolve and end the console's browser sessions; make and check CSRF tokens."""

    def __init__(self, engine: AsyncEngine, secrets_: Secrets, settings: AuthSettings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._secrets = secrets_
        self._settings = settings
        self._clock = clock

    @property
    def idle(self) -> timedelta:
        """How long a session may go untouched."""
        return timedelta(seconds=self._settings.desk_idle_seconds)

    async def start(self, member: StaffMember) -> tuple[str, ConsoleSession]:
        """A new session for ``member``: the token for the cookie, and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = ConsoleSession(uuid.uuid4(), member, now, now + self.idle,
                                 now + timedelta(seconds=self._settings.desk_session_max_seconds))
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.desk_session (id, token_hash, staff_id, created_at, "
                "last_seen_at, expires_at) VALUES (:id, :hash, :staff, :now, :now, :expires)"),
                {"id": session.id, "hash": self._digest(token), "staff": member.id,
                 "now": now, "expires": session.expires_at})
        return token, session

    async def resolve(self, token: str | None) -> ConsoleSession | None:
        """The live session of this cookie token (touched: its idle time starts again), or
        None when there is none, it ended or timed out, or the account was deactivated."""
        if not token or len(token) > 128:
            return None
        now = self._clock()
        async with self._engine.begin() as conn:
            row = (await conn.execute(_RESOLVE, {
                "hash": self._digest(token), "now": now,
                "idle_since": now - self.idle})).first()
        if row is None:
            return None
        return ConsoleSession(row[0], StaffMember(*row[3:]), row[1],
                              min(now + self.idle, row[2]), row[2])

    async def end(self, token: str | None, reason: str = "signed out") -> bool:
        """End the session of this token (sign-out); whether there was one."""
        if not token or len(token) > 128:
            return False
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "UPDATE auth.desk_session SET ended_at = now(), ended_reason = :reason "
                "WHERE token_hash = :hash AND ended_at IS NULL RETURNING id"),
                {"hash": self._digest(token), "reason": reason})).first()
        return row is not None

    def csrf(self, token: str) -> str:
        """The CSRF token of forms shown with the cookie token ``token``."""
        return self._secrets.digest("desk-csrf", token).hex()[:43]

    def csrf_matches(self, token: str | None, presented: str | None) -> bool:
        """Whether a form's CSRF token belongs to the cookie token (constant time)."""
        if not token or not presented:
            return False
        return hmac.compare_digest(self.csrf(token).encode(), presented.encode())

    def _digest(self, token: str) -> bytes:
        return self._secrets.digest("desk-session", token)
