"""Sessions: one family of refresh tokens per sign-in on a device (OAuth 2.0 security BCP).

A refresh token is opaque (``rt.`` and 32 random bytes), stored only as its HMAC, and works
once: exchanging it marks it used and hands out a new one with a new access token.  A used
token presented again means two parties hold the chain (a stolen copy, or the owner's old
copy after the thief refreshed), so the whole family is revoked and both must sign in again.
Signing out ends one family (this device) or every family of the person.

Access tokens carry the family as ``sid``; they are not checked against revocation (that
would cost a read per request), so a revoked session's access token lives out its at most
15 minutes.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.errors import InvalidToken
from auth.keyring import utcnow
from auth.secrets import Secrets
from auth.settings import AuthSettings
from auth.tokens import Audience

Mint = Callable[[str, Audience, Mapping[str, str]], tuple[str, datetime]]


@dataclass(frozen=True)
class Device:
    """What the app says about the phone it runs on (shown in the person's device list)."""

    name: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class Tokens:
    """What a sign-in or a refresh hands back."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_id: uuid.UUID
    # The consent window of the desk onboarding that this sign-in confirmed, if it did one.
    window_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SessionInfo:
    """One signed-in device, as a person or a desk worker helping them sees it."""

    id: uuid.UUID
    device_name: str | None
    platform: str | None
    signed_in_by: str
    created_at: datetime
    last_used_at: datetime


def _ended() -> InvalidToken:
    return InvalidToken("The session has ended; sign in again.", "SESSION_ENDED")


class Sessions:
    """Starts, refreshes and ends sessions."""

    def __init__(self, engine: AsyncEngine, secrets_: Secrets, settings: AuthSettings,
                 mint: Mint, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._secrets = secrets_
        self._idle = timedelta(days=settings.refresh_idle_days)
        self._max = timedelta(days=settings.session_max_days)
        self._mint = mint
        self._clock = clock

    async def start(self, conn: AsyncConnection, audience: Audience, subject: str,
                    device: Device, signed_in_by: str,
                    claims: Mapping[str, str] | None = None) -> Tokens:
        """A new family for ``subject`` on ``device``, inside the caller's transaction."""
        family = uuid.uuid4()
        now = self._clock()
        await conn.execute(text(
            "INSERT INTO auth.session_family (id, audience, subject, device_name, platform, "
            "signed_in_by, claims, created_at, last_used_at, expires_at) VALUES (:id, "
            ":audience, :subject, :name, :platform, :by, CAST(:claims AS jsonb), :now, :now, "
            ":expires)"),
            {"id": family, "audience": audience.value, "subject": subject,
             "name": _clip(device.name), "platform": _clip(device.platform), "by": signed_in_by,
             "claims": json.dumps(dict(claims or {})), "now": now, "expires": now + self._max})
        return await self._issue(conn, family, audience, subject, claims or {}, now,
                                 now + self._max)

    async def _issue(self, conn: AsyncConnection, family: uuid.UUID, audience: Audience,
                     subject: str, claims: Mapping[str, str], now: datetime,
                     family_expires: datetime) -> Tokens:
        refresh = "rt." + secrets.token_urlsafe(32)
        refresh_expires = min(now + self._idle, family_expires)
        await conn.execute(text(
            "INSERT INTO auth.refresh_token (token_hash, family_id, created_at, expires_at) "
            "VALUES (:hash, :family, :now, :expires)"),
            {"hash": self._secrets.digest("refresh", refresh), "family": family, "now": now,
             "expires": refresh_expires})
        access, access_expires = self._mint(subject, audience, {**claims, "sid": str(family)})
        return Tokens(access, access_expires, refresh, refresh_expires, family)

    async def refresh(self, refresh_token: str) -> Tokens:
        """Exchange a refresh token for new tokens; a reused one revokes its family."""
        digest = self._secrets.digest("refresh", refresh_token.strip())
        now = self._clock()
        async with self._engine.begin() as conn:
            row = (await conn.execute(text(
                "SELECT t.used_at, t.expires_at, f.id, f.audience, f.subject, f.claims, "
                "f.expires_at, f.revoked_at FROM auth.refresh_token t "
                "JOIN auth.session_family f ON f.id = t.family_id "
                "WHERE t.token_hash = :hash FOR UPDATE OF t, f"), {"hash": digest})).first()
            if row is None:
                raise _ended()
            used_at, expires_at, family, audience, subject, claims, family_expires, revoked = row
            if revoked is not None:
                raise _ended()
            if used_at is not None:
                await self._revoke(conn, family, "refresh token reused")
            elif expires_at > now and family_expires > now:
                await conn.execute(text(
                    "UPDATE auth.refresh_token SET used_at = :now WHERE token_hash = :hash"),
                    {"now": now, "hash": digest})
                await conn.execute(text(
                    "UPDATE auth.session_family SET last_used_at = :now WHERE id = :id"),
                    {"now": now, "id": family})
                return await self._issue(conn, family, Audience(audience), subject, claims,
                                         now, family_expires)
        raise _ended()  # reuse (revocation committed above) or expiry

    async def _revoke(self, conn: AsyncConnection, family: uuid.UUID, reason: str) -> None:
        await conn.execute(text(
            "UPDATE auth.session_family SET revoked_at = now(), revoked_reason = :reason "
            "WHERE id = :id AND revoked_at IS NULL"), {"id": family, "reason": reason})

    async def end(self, session_id: uuid.UUID, subject: str) -> bool:
        """Sign out one device (the family ``session_id`` of ``subject``)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(text(
                "UPDATE auth.session_family SET revoked_at = now(), revoked_reason = 'signed out'"
                " WHERE id = :id AND subject = :subject AND revoked_at IS NULL"),
                {"id": session_id, "subject": subject})
            return bool(result.rowcount)

    async def end_all(self, subject: str, audience: Audience) -> int:
        """Sign out every device of ``subject``; returns how many sessions ended."""
        async with self._engine.begin() as conn:
            result = await conn.execute(text(
                "UPDATE auth.session_family SET revoked_at = now(), "
                "revoked_reason = 'signed out everywhere' WHERE subject = :subject "
                "AND audience = :audience AND revoked_at IS NULL"),
                {"subject": subject, "audience": audience.value})
            return result.rowcount or 0

    async def list_active(self, subject: str,
                          audience: Audience = Audience.MOBILE) -> list[SessionInfo]:
        """The signed-in devices of ``subject``, most recently used first (a device idle
        longer than a refresh token lives is signed out in effect, so it is not listed)."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, device_name, platform, signed_in_by, created_at, last_used_at "
                "FROM auth.session_family WHERE subject = :subject AND audience = :audience "
                "AND revoked_at IS NULL AND expires_at > now() AND last_used_at > :idle "
                "ORDER BY last_used_at DESC"),
                {"subject": subject, "audience": audience.value,
                 "idle": self._clock() - self._idle})).all()
        return [SessionInfo(*row) for row in rows]


def _clip(value: str | None, length: int = 80) -> str | None:
    return None if value is None else value.strip()[:length] or None
