"""Integrators: OAuth 2.0 client credentials (RFC 6749 §4.4) with scopes and rate limits.

A client id is public (``cl_`` and 16 hex digits); the secret (``cs_`` and 32 random bytes)
is shown once at creation and stored as its HMAC: it is long and random, so a slow password
hash would add nothing.  A token request names the scopes it wants (default: all the
client's), and gets at most those the client holds.  Each client has its own budget of API
requests per minute (carried in its tokens as ``rpm``).  Token requests are limited per client
address with the client id (``client_token_requests_per_minute``), and wrong secrets per
client address and per client id from every address (a ceiling far above any real use): a
stranger who knows a client id throttles only their own address, never the integrator.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import throttle
from auth.principals import Scope
from auth.secrets import Secrets
from auth.settings import AuthSettings
from auth.tokens import Audience

MintFn = Callable[[str, Audience, dict[str, str]], tuple[str, datetime]]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: ``error`` is the code, ``status`` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class ClientInfo:
    """An integrator as the admin CLI shows it (never the secret)."""

    id: str
    name: str
    organization: str
    scopes: tuple[Scope, ...]
    requests_per_minute: int
    active: bool


@dataclass(frozen=True)
class NewClient:
    """A client just created, with its secret (shown once)."""

    info: ClientInfo
    secret: str


@dataclass(frozen=True)
class ClientToken:
    """An access token for a client (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scopes: tuple[Scope, ...]


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Known scopes, in a stable order; ``ValueError`` names an unknown one."""
    wanted = set()
    for value in values:
        try:
            wanted.add(Scope(value))
        except ValueError:
            raise ValueError(f"unknown scope {value!r}; known: "
                             f"{', '.join(s.value for s in Scope)}") from None
    return tuple(scope for scope in Scope if scope in wanted)


class Clients:
    """Creating integrator clients and exchanging their credentials for tokens."""

    def __init__(self, engine: AsyncEngine, secrets_: Secrets, settings: AuthSettings,
                 mint: MintFn) -> None:
        self._engine = engine
        self._secrets = secrets_
        self._settings = settings
        self._mint = mint

    async def create(self, name: str, organization: str, scopes: Iterable[Scope],
                     requests_per_minute: int | None = None) -> NewClient:
        """A new client with a fresh secret."""
        client_id = "cl_" + secrets.token_hex(8)
        secret = "cs_" + secrets.token_urlsafe(32)
        info = ClientInfo(client_id, name, organization, tuple(scopes),
                          requests_per_minute or self._settings.default_client_requests_per_minute,
                          True)
        async with self._engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO auth.client (id, name, organization, secret_hash, scopes, "
                "requests_per_minute) VALUES (:id, :name, :org, :hash, :scopes, :rpm)"),
                {"id": info.id, "name": name, "org": organization,
                 "hash": self._secrets.digest("client", secret),
                 "scopes": [s.value for s in info.scopes], "rpm": info.requests_per_minute})
        return NewClient(info, secret)

    async def get(self, client_id: str) -> ClientInfo | None:
        """The client with this id."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT id, name, organization, scopes, requests_per_minute, active "
                "FROM auth.client WHERE id = :id"), {"id": client_id})).first()
        if row is None:
            return None
        return ClientInfo(row[0], row[1], row[2], parse_scopes(row[3]), row[4], row[5])

    async def deactivate(self, client_id: str) -> bool:
        """Refuse new tokens to this client (tokens already issued run out)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(text(
                "UPDATE auth.client SET active = false WHERE id = :id"), {"id": client_id})
        return bool(result.rowcount)

    async def token(self, client_id: str, client_secret: str, scope: str | None,
                    client_address: str = "in-process") -> ClientToken:
        """Exchange credentials for a token (RFC 6749 §4.4); ``OAuthError`` otherwise.

        ``client_address`` is the HTTP client's (``/oauth/token``); callers inside the
        process (tests, benchmarks) share one source of their own.
        """
        s = self._settings
        source = self._secrets.digest("client-id", f"{client_address}|{client_id}").hex()[:32]
        await self._spend(f"client-token:{source}", s.client_token_requests_per_minute)
        failures = [
            (f"client-fail:ip:{self._secrets.digest('ip', client_address).hex()[:32]}",
             throttle.Limit(s.client_secret_failures_per_address, 60)),
            (f"client-fail:id:{self._secrets.digest('client-id', client_id).hex()[:32]}",
             throttle.Limit(s.client_secret_failures_per_client, 60))]
        await throttle.reserve(self._engine, failures)
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT secret_hash, scopes, active, requests_per_minute, name, organization "
                "FROM auth.client WHERE id = :id"), {"id": client_id})).first()
        stored = row[0] if row is not None else self._secrets.digest("client", "no such client")
        if not self._secrets.matches("client", client_secret, stored) or row is None \
                or not row[2]:
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        await throttle.release(self._engine, failures)
        held = parse_scopes(row[1])
        try:
            asked = parse_scopes(scope.split()) if scope else held
        except ValueError:
            raise OAuthError("invalid_scope", "An unknown scope was requested.") from None
        if not set(asked) <= set(held):
            raise OAuthError("invalid_scope", "The client does not hold a requested scope.")
        token, _ = self._mint(client_id, Audience.INTEGRATOR, {
            "scope": " ".join(s.value for s in asked), "rpm": str(row[3]), "name": row[4],
            "org_name": row[5]})
        return ClientToken(token, self._settings.access_token_ttl_seconds, asked)

    async def spend_request(self, client_id: str, requests_per_minute: int) -> None:
        """Count one API request against the client's budget (``RateLimited`` over it).

        The budget travels in the token (``rpm``), so this is one statement.
        """
        await self._spend(f"client:{client_id}", requests_per_minute)

    async def _spend(self, bucket: str, per_minute: int) -> None:
        await throttle.hit(self._engine, bucket, throttle.Limit(per_minute, 60))
