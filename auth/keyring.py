"""Signing keys in the database, rotated on a schedule with an overlap, published as a JWKS.

Each key has ``not_before``: it signs from then until its successor's ``not_before``, and
still verifies for ``key_overlap_seconds`` after that, so tokens it signed run out in peace.
A successor is created ``key_prepublish_seconds`` before it starts signing, so every
verifier that refreshes its key set (every ``keyring_refresh_seconds``, and at once on an
unknown ``kid``) knows it before the first token it signs arrives.

Rotation is lazy and safe with many API processes: whoever refreshes takes a transaction
advisory lock, looks, and creates the successor only if none exists.  The private half is
sealed with AES-256-GCM under the key-encryption key (``auth.secrets``), bound to its ``kid``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.keys import ALGORITHM, SigningKey, signing_key_from
from auth.secrets import Secrets
from auth.settings import AuthSettings

# pg_advisory_xact_lock key for rotation ("mhi-keys" as an integer).
_ROTATION_LOCK = 0x6D68692D6B657973
_STALE_RELOAD_SECONDS = 30.0


def utcnow() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class StoredKey:
    """A key as the ring holds it, with the moments it signs from and verifies until."""

    key: SigningKey
    not_before: datetime
    verify_until: datetime | None  # None: no successor yet

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK."""
        return self.key.public_jwk()


@dataclass(frozen=True)
class Schedule:
    """When keys rotate."""

    rotate_every: timedelta
    prepublish: timedelta
    overlap: timedelta
    backdate: timedelta = timedelta(seconds=30)

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Schedule:
        """The schedule in settings."""
        return cls(timedelta(days=settings.key_rotation_days),
                   timedelta(seconds=settings.key_prepublish_seconds),
                   timedelta(seconds=settings.key_overlap_seconds),
                   timedelta(seconds=settings.clock_leeway_seconds))


def arrange(rows: Sequence[tuple[SigningKey, datetime]], overlap: timedelta,
            now: datetime) -> tuple[StoredKey | None, list[StoredKey]]:
    """The key that signs now, and every key that verifies now or soon (the published set).

    ``rows`` are (key, not_before) in any order.  A key verifies from the moment it is stored
    (it is prepublished) until its successor's ``not_before`` plus ``overlap``.
    """
    ordered = sorted(rows, key=lambda row: row[1])
    stored: list[StoredKey] = []
    for index, (key, not_before) in enumerate(ordered):
        successor = ordered[index + 1][1] if index + 1 < len(ordered) else None
        stored.append(StoredKey(key, not_before, None if successor is None else
                                successor + overlap))
    live = [k for k in stored if k.verify_until is None or k.verify_until > now]
    signing = [k for k in live if k.not_before <= now]
    return (signing[-1] if signing else None), live


class KeyRing:
    """The keys one process signs and verifies with, reloaded from the database."""

    def __init__(self, engine: AsyncEngine, secrets: Secrets, schedule: Schedule,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._secrets = secrets
        self._schedule = schedule
        self._clock = clock
        self._signing: StoredKey | None = None
        self._live: list[StoredKey] = []
        self._unknown_reload_at = float("-inf")
        self.generation = 0

    @property
    def ready(self) -> bool:
        """Whether a key that signs now is loaded."""
        return self._signing is not None

    @property
    def signing_key(self) -> SigningKey:
        """The key that signs now (``refresh`` first)."""
        if self._signing is None:
            raise RuntimeError("the key ring is empty: call refresh() first")
        return self._signing.key

    def live_keys(self) -> list[StoredKey]:
        """Every key that verifies now or is about to sign, oldest first."""
        return list(self._live)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key a token may be signed with now, by ``kid``: a retired key drops out the
        moment its overlap ends, not at the next reload (up to ``keyring_refresh_seconds``
        later)."""
        now = self._clock()
        return {k.key.kid: k.key.public_key for k in self._live
                if k.verify_until is None or k.verify_until > now}

    def retires_next(self) -> datetime | None:
        """When the next key that verifies now stops verifying (None: none is retiring)."""
        now = self._clock()
        return min((k.verify_until for k in self._live
                    if k.verify_until is not None and k.verify_until > now), default=None)

    def has_passed(self, moment: datetime | None) -> bool:
        """Whether ``moment`` (None: never) has come, on this ring's clock."""
        return moment is not None and self._clock() >= moment

    def jwks(self) -> dict[str, Any]:
        """``/.well-known/jwks.json``: the keys that verify now and the one about to sign."""
        return {"keys": [k.public_jwk() for k in self._live]}

    def due_for_reload(self) -> bool:
        """Whether a token with an unknown kid may reload the keys now (at most every 30 s,
        counted from the last such reload: scheduled refreshes do not hold it back)."""
        if time.monotonic() - self._unknown_reload_at <= _STALE_RELOAD_SECONDS:
            return False
        self._unknown_reload_at = time.monotonic()
        return True

    async def refresh(self) -> None:
        """Rotate if the schedule says so, then load the current keys."""
        now = self._clock()
        if self._needs_rotation(now):
            await self.rotate(now=now, lazily=True)
        await self.load()
        if self._needs_rotation(self._clock()):  # another process's view was older than ours
            await self.rotate(now=self._clock(), lazily=True)
            await self.load()

    def _needs_rotation(self, now: datetime) -> bool:
        if self._signing is None:
            return True
        newest = max(self._live, key=lambda k: k.not_before)
        return newest is self._signing and (
            now >= self._signing.not_before + self._schedule.rotate_every
            - self._schedule.prepublish)

    async def load(self) -> None:
        """Read the keys from the database and unseal them."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT kid, public_key, private_key_sealed, not_before "
                "FROM auth.signing_key ORDER BY not_before"))).all()
        now = self._clock()
        keys = [(self._open(kid, sealed), not_before) for kid, _, sealed, not_before in rows]
        self._signing, self._live = arrange(keys, self._schedule.overlap, now)
        self.generation += 1

    def _open(self, kid: str, sealed: bytes) -> SigningKey:
        try:
            der = self._secrets.decrypt(sealed, kid)
        except InvalidTag:
            raise RuntimeError("a stored signing key cannot be unsealed: AUTH_SECRET_KEY is "
                               "not the secret that sealed it") from None
        private = serialization.load_der_private_key(der, None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("a stored signing key is not Ed25519")
        return SigningKey(kid=kid, private_key=private)

    async def rotate(self, *, now: datetime | None = None, lazily: bool = False,
                     immediately: bool = False) -> str | None:
        """Create the next key; returns its kid (None when ``lazily`` found one already due).

        By default the new key signs after the prepublish interval; ``immediately`` makes it
        sign at once (a compromised key: then also shorten the overlap in settings).
        """
        now = now or self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ROTATION_LOCK})
            newest = (await conn.execute(text(
                "SELECT max(not_before) FROM auth.signing_key"))).scalar_one()
            if lazily and newest is not None and not self._due(newest, now):
                return None
            if newest is None or immediately:
                # Backdated by the clock leeway: a process whose clock is a little behind
                # must still see the key as signing.
                not_before = now - self._schedule.backdate
            else:
                not_before = max(now + self._schedule.prepublish, newest + timedelta(seconds=1))
            return await self._insert(conn, not_before)

    def _due(self, newest: datetime, now: datetime) -> bool:
        return now >= newest + self._schedule.rotate_every - self._schedule.prepublish

    async def _insert(self, conn: AsyncConnection, not_before: datetime) -> str:
        key = signing_key_from(Ed25519PrivateKey.generate())
        der = key.private_key.private_bytes(serialization.Encoding.DER,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
        public = key.public_key.public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)
        await conn.execute(text(
            "INSERT INTO auth.signing_key (kid, public_key, private_key_sealed, not_before) "
            "VALUES (:kid, :public, :sealed, :not_before)"),
            {"kid": key.kid, "public": public, "sealed": self._secrets.encrypt(der, key.kid),
             "not_before": not_before})
        return key.kid


__all__ = ["ALGORITHM", "KeyRing", "Schedule", "StoredKey", "arrange", "utcnow"]
