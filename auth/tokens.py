"""Minting and verifying access tokens (JWT, EdDSA) with PyJWT.

Verification pins the algorithm list to ``EdDSA`` and always checks issuer, audience, expiry and
the ``kid``: an unsigned token, an HMAC token, a token for another audience, an expired or
tampered token, or an unknown key are all ``InvalidToken``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
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
    """Verifies access tokens against known public keys (by ``kid``)."""

    keys: Mapping[str, Ed25519PublicKey]
    issuer: str
    leeway: timedelta = timedelta(seconds=30)

    def verify(self, token: str, *audiences: Audience) -> Claims:
        """The claims of a valid token for one of ``audiences``; ``InvalidToken`` otherwise."""
        if not audiences:
            raise ValueError("name the audiences a token may be for")
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


def verifier_for(*keys: SigningKey, issuer: str, leeway: timedelta) -> TokenVerifier:
    """A verifier that trusts the public halves of ``keys``."""
    return TokenVerifier({key.kid: key.public_key for key in keys}, issuer, leeway)
