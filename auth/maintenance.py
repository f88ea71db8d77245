"""Pruning what ``auth`` no longer needs: spent codes, ended sessions, old counters and keys.

Runs hourly inside every API process's key-refresh loop, but only one process at a time
does the work (a session-level ``pg_try_advisory_lock``).  Rows are kept ``keep_days`` past
their end so that support can still answer "was I signed out?" for a while.

Used refresh tokens are deleted ``used_token_days`` after use: a copy replayed later than
that is refused as unknown (the session still ends for that copy) instead of revoking its
family, a trade-off against a row per refresh for the 90-day life of a session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_PRUNE_LOCK = 0x6D68692D7072756E  # "mhi-prun"

STATEMENTS = {
    "login challenges": "DELETE FROM auth.login_challenge WHERE expires_at < :cutoff",
    "consent codes": "DELETE FROM auth.consent_code WHERE expires_at < :cutoff",
    "onboarding codes": "DELETE FROM auth.onboarding_code WHERE expires_at < :cutoff",
    "consent windows": (
        "DELETE FROM auth.consent_window w WHERE w.expires_at < :cutoff "
        "AND NOT EXISTS (SELECT 1 FROM auth.onboarding_code o WHERE o.window_id = w.id)"),
    "used refresh tokens": "DELETE FROM auth.refresh_token WHERE used_at < :used_cutoff",
    "ended sessions": (
        "DELETE FROM auth.session_family WHERE revoked_at < :cutoff OR expires_at < :cutoff"),
    "throttle windows": "DELETE FROM auth.throttle WHERE window_start < :cutoff",
    "retired keys": (
        "DELETE FROM auth.signing_key k WHERE EXISTS (SELECT 1 FROM auth.signing_key s "
        "WHERE s.not_before > k.not_before AND s.not_before < :key_cutoff)"),
}


async def prune(engine: AsyncEngine, *, keep_days: int = 30, used_token_days: int = 7,
                overlap_seconds: int = 86_400) -> dict[str, int] | None:
    """Delete what ended long ago; how many rows of each kind (None: another process is at
    it)."""
    now = datetime.now(UTC)
    params = {"cutoff": now - timedelta(days=keep_days),
              "used_cutoff": now - timedelta(days=used_token_days),
              "key_cutoff": now - timedelta(days=keep_days, seconds=overlap_seconds)}
    async with engine.connect() as conn:
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                  {"k": _PRUNE_LOCK})).scalar_one()
        await conn.commit()
        if not got:
            return None
        try:
            counts = {}
            for name, sql in STATEMENTS.items():
                result = await conn.execute(text(sql), params)
                counts[name] = result.rowcount or 0
                await conn.commit()
            return counts
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PRUNE_LOCK})
            await conn.commit()
