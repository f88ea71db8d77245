"""Forged and stale access tokens, sent the way an attacker would: over HTTP to ``me``.

``tests/auth/test_tokens.py`` proves the verifier; this proves the API uses it with the
database's keys and pins the algorithm and the audiences, whatever the token claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from auth.keys import signing_key_from
from auth.service import AuthService
from auth.tokens import Audience, TokenIssuer
from tests.api.gql import codes, graphql
from tests.factories import create_person

ME = "{ me { firstName } }"


def _b64(data: Mapping[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(auth: AuthService, subject: str) -> dict[str, Any]:
    token = auth.mint(subject, Audience.MOBILE)
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


def unsigned(auth: AuthService, subject: str) -> str:
    header = {"alg": "none", "kid": auth.keyring.signing_key.kid, "typ": "JWT"}
    return f"{_b64(header)}.{_b64(_claims(auth, subject))}."


def hmac_with_the_public_key(auth: AuthService, subject: str) -> str:
    public = auth.keyring.signing_key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": auth.keyring.signing_key.kid, "typ": "JWT"}
    signing_input = f"{_b64(header)}.{_b64(_claims(auth, subject))}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def expired(auth: AuthService, subject: str) -> str:
    return auth.issuer().mint(subject, Audience.MOBILE,
                              now=datetime.now(UTC) - timedelta(hours=1))


def another_audience(auth: AuthService, subject: str) -> str:
    claims = {**_claims(auth, subject), "aud": "billing"}
    return jwt.encode(claims, auth.keyring.signing_key.private_key, algorithm="EdDSA",
                      headers={"kid": auth.keyring.signing_key.kid})


def two_audiences(auth: AuthService, subject: str) -> str:
    claims = {**_claims(auth, subject), "aud": ["mobile", "desk"]}
    return jwt.encode(claims, auth.keyring.signing_key.private_key, algorithm="EdDSA",
                      headers={"kid": auth.keyring.signing_key.kid})


def another_issuer(auth: AuthService, subject: str) -> str:
    other = TokenIssuer(auth.keyring.signing_key, "https://evil.example", timedelta(minutes=5))
    return other.mint(subject, Audience.MOBILE)


def unknown_kid(auth: AuthService, subject: str) -> str:
    stranger = TokenIssuer(signing_key_from(Ed25519PrivateKey.generate()),
                           auth.settings.issuer, timedelta(minutes=5))
    return stranger.mint(subject, Audience.MOBILE)


def foreign_signature_under_our_kid(auth: AuthService, subject: str) -> str:
    return jwt.encode(_claims(auth, subject), Ed25519PrivateKey.generate(), algorithm="EdDSA",
                      headers={"kid": auth.keyring.signing_key.kid})


def tampered(auth: AuthService, subject: str) -> str:
    header, payload, signature = auth.mint(
        "00000000-0000-4000-8000-0000000000aa", Audience.MOBILE).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = subject
    return f"{header}.{_b64(claims)}.{signature}"


ATTACKS: list[Callable[[AuthService, str], str]] = [
    unsigned, hmac_with_the_public_key, expired, another_audience, two_audiences,
    another_issuer, unknown_kid, foreign_signature_under_our_kid, tampered,
]


@pytest.mark.parametrize("forge", ATTACKS, ids=lambda forge: forge.__name__)
async def test_a_forged_or_stale_token_reads_nothing(
    client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
    forge: Callable[[AuthService, str], str],
) -> None:
    person = await create_person(committed)
    await committed.commit()
    body = await graphql(client, ME, token=forge(auth_service, str(person.id)))
    assert body["data"] is None
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_the_genuine_token_reads_the_person(
    client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
) -> None:
    person = await create_person(committed)
    await committed.commit()
    body = await graphql(client, ME, token=auth_service.mint(str(person.id), Audience.MOBILE))
    assert body["data"]["me"]["firstName"] == person.first_name
