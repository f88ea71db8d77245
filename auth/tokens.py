"""Minting and verifying access tokens (JWT, EdDSA) with PyJWT.

Verification pins the algorithm list to ``EdDSA`` and always checks issuer, audience, expiry and
the ``kid``: an unsigned token, an HMAC token, a token for another audience, an expired or
tampered token, or an unknown key are all ``InvalidToken``.

A verifier remembers the tokens it has verified (``cache_size``, least recently used first
out, keyed by the token's SHA-256), so an app that sends the same token with every request
pays for the Ed25519 signature and the parsing once.  Only what cannot change is skipped: a
remembered token is still checked for expiry (with the same leeway) and audience on every
use, and the memory belongs to one verifier, i.e. one set of trusted keys: when a key is
retired or the ring reloads, ``AuthService.verifier`` builds a new verifier and nothing
verified under the old keys is remembered.  Failures are never remembered.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auth.errors import InvalidToken
from auth.keys import ALGORITHM, SigningKey

REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "jti")


class Audience(StrEnum):
    """Who a token is for: the citizens' app, the registry-desk console, or an integrator."""

    MOBILE = "mobile"
    DESK = "desk"
    INTEGRATOR = "integrator"


@dataclass(frozen=True)
class Claims:
    """The verified claims of an access token."""

    subject: str
    audience: Audience
    token_id: str
    issued_at: datetime
    expires_at: datetime
    extra: Mapping[str, Any]


@dataclass(frozen=True)
class TokenIssuer:
    """Signs access tokens with one key."""

    key: SigningKey
    issuer: str
    ttl: timedelta

    def mint(
        self,
        subject: str,
        audience: Audience,
        *,
        now: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token for ``subject`` valid for ``ttl`` from ``now``."""
        return self.mint_with_expiry(subject, audience, now=now, extra=extra)[0]

    def mint_with_expiry(
        self,
        subject: str,
        audience: Audience,
        *,
        now: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[str, datetime]:
        """A signed token and the moment it expires."""
        issued = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            **(extra or {}),
            "iss": self.issuer,
            "aud": audience.value,
            "sub": subject,
            "iat": int(issued.timestamp()),
            "exp": int((issued + self.ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(
            payload, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid}
        )
        return token, datetime.fromtimestamp(payload["exp"], UTC)


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies access tokens against known public keys (by ``kid``), remembering up to
    ``cache_size`` verified ones (0: none); ``clock`` is the time in seconds (tests)."""

    keys: Mapping[str, Ed25519PublicKey]
    issuer: str
    leeway: timedelta = timedelta(seconds=30)
    cache_size: int = 0
    clock: Callable[[], float] = time.time
    _verified: OrderedDict[bytes, Claims] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False)

    def verify(self, token: str, *audiences: Audience) -> Claims:
        """The claims of a valid token for one of ``audiences``; ``InvalidToken`` otherwise."""
        if not audiences:
            raise ValueError("name the audiences a token may be for")
        if self.cache_size <= 0:
            return self._verify(token, audiences)
        digest = hashlib.sha256(token.encode()).digest()
        claims = self._verified.get(digest)
        if claims is None:
            claims = self._verify(token, audiences)
            self._verified[digest] = claims
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
            return claims
        # The checks PyJWT makes that time or the caller can change, in its order.
        if claims.expires_at.timestamp() <= self.clock() - self.leeway.total_seconds():
            del self._verified[digest]
            raise InvalidToken("The access token has expired.", "TOKEN_EXPIRED")
        if claims.audience not in audiences:
            raise InvalidToken("The access token is not valid.")
        self._verified.move_to_end(digest)
        return claims

    @property
    def remembered(self) -> int:
        """How many verified tokens are remembered now."""
        return len(self._verified)

    def _verify(self, token: str, audiences: tuple[Audience, ...]) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is malformed.") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("The access token is not signed with an accepted algorithm.")
        key = self.keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken("The access token was signed by an unknown key.")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=[audience.value for audience in audiences],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The access token has expired.", "TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is not valid.") from exc
        if not isinstance(payload["aud"], str):  # one token, one audience: never a list
            raise InvalidToken("The access token is not valid.")
        return Claims(
            subject=str(payload["sub"]),
            audience=Audience(payload["aud"]),
            token_id=str(payload["jti"]),
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            extra={k: v for k, v in payload.items() if k not in REQUIRED_CLAIMS},
        )


def verifier_for(*keys: SigningKey, issuer: str, leeway: timedelta,
                 cache_size: int = 0) -> TokenVerifier:
    """A verifier that trusts the public halves of ``keys``."""
    return TokenVerifier({key.kid: key.public_key for key in keys}, issuer, leeway,
                         cache_size)
