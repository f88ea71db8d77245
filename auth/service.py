"""What the API and the command line call: keys, tokens, sign-in, sessions, desk, clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from auth.clients import Clients
from auth.console import Console
from auth.errors import InvalidToken
from auth.keyring import KeyRing, Schedule
from auth.login import CitizenLogin, PersonDirectory
from auth.maintenance import prune
from auth.principals import Anonymous, Principal, principal_from_claims
from auth.secrets import Secrets
from auth.sessions import Sessions
from auth.settings import AuthSettings
from auth.sms import DevSmsSink, DisabledGateway, SmsGateway
from auth.sms_mobizon import MobizonGateway
from auth.staff import Desk
from auth.staff_admin import StaffAdmin
from auth.tokens import Audience, TokenIssuer, TokenVerifier

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600
ACCEPTED_AUDIENCES = (Audience.MOBILE, Audience.DESK, Audience.INTEGRATOR)


class NoDirectory:
    """A directory that knows no one (the CLI mints tokens without signing anyone in)."""

    async def phone_of(self, iin: str) -> None:
        """Nobody."""
        return None

    async def contact_of(self, person_id: object) -> None:
        """Nobody."""
        return None


def gateway_for(settings: AuthSettings) -> SmsGateway:
    """The SMS gateway the settings name (the development sink is refused in production; the
    operator without its key anywhere).  Every one of them also offers ``SmsDeliveryReports``;
    the operator's holds a connection pool (``MobizonGateway.aclose``)."""
    if settings.sms_gateway == "mobizon":
        return MobizonGateway.from_settings(settings)
    if settings.sms_gateway == "dev":
        if settings.environment == "production":
            raise RuntimeError("the development SMS sink cannot run in production")
        return DevSmsSink(settings.dev_sms_file)
    return DisabledGateway()


class AuthService:
    """Everything ``auth`` offers, on one engine and one set of settings."""

    def __init__(self, engine: AsyncEngine, settings: AuthSettings, *,
                 directory: PersonDirectory | None = None,
                 gateway: SmsGateway | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self.engine = engine
        self.secrets = Secrets.from_settings(settings)
        self.keyring = KeyRing(engine, self.secrets, Schedule.from_settings(settings))
        self.sessions = Sessions(engine, self.secrets, settings, self._mint)
        self.gateway = gateway or gateway_for(settings)
        self._owns_gateway = gateway is None  # made here: closed here (``maintained``)
        self.login = CitizenLogin(engine, self.secrets, settings, directory or NoDirectory(),
                                  self.gateway, self.sessions)
        self.desk = Desk(engine, self.secrets, settings, self.sessions, self.login)
        self.staff_admin = StaffAdmin(engine, self.secrets, settings)
        self.console = Console(engine, self.secrets, settings)
        self.clients = Clients(engine, self.secrets, settings, self._mint)
        self._leeway = timedelta(seconds=settings.clock_leeway_seconds)
        self._verifier: tuple[int, datetime | None, TokenVerifier] | None = None

    @classmethod
    async def open(cls, engine: AsyncEngine, settings: AuthSettings, *,
                   directory: PersonDirectory | None = None,
                   gateway: SmsGateway | None = None) -> AuthService:
        """The service with its key ring loaded (a first key is created if there is none)."""
        service = cls(engine, settings, directory=directory, gateway=gateway)
        await service.keyring.refresh()
        return service

    # -- tokens ---------------------------------------------------------------------------

    def issuer(self) -> TokenIssuer:
        """An issuer with the key that signs now."""
        return TokenIssuer(self.keyring.signing_key, self.settings.issuer,
                           timedelta(seconds=self.settings.access_token_ttl_seconds))

    def _mint(self, subject: str, audience: Audience,
              extra: Mapping[str, str]) -> tuple[str, datetime]:
        return self.issuer().mint_with_expiry(subject, audience, extra=extra)

    def mint(self, subject: str, audience: Audience, extra: Mapping[str, str] | None = None
             ) -> str:
        """An access token without a session (the CLI, tests and benchmarks)."""
        return self._mint(subject, audience, extra or {})[0]

    def verifier(self) -> TokenVerifier:
        """A verifier trusting every key that verifies now (rebuilt when the ring reloads,
        and when a retired key's overlap ends: without that, each process kept accepting the
        retired key until its next reload, up to ``keyring_refresh_seconds`` more)."""
        ring = self.keyring
        cached = self._verifier
        if cached is None or cached[0] != ring.generation or ring.has_passed(cached[1]):
            cached = self._verifier = (ring.generation, ring.retires_next(), TokenVerifier(
                ring.public_keys(), self.settings.issuer, self._leeway,
                self.settings.token_cache_size))
        return cached[2]

    async def principal_from_header(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer`` header (``Anonymous`` when absent).

        A present but invalid token gives ``Anonymous(failure=...)``: public fields still work,
        and fields that need a principal answer ``UNAUTHENTICATED`` with the reason.  A token
        signed by a key this process has not seen yet reloads the key ring (at most every 30 s).
        """
        if not authorization:
            return Anonymous()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Anonymous(
                InvalidToken("Use an Authorization header of the form 'Bearer <token>'."))
        try:
            return principal_from_claims(self.verifier().verify(token.strip(),
                                                                *ACCEPTED_AUDIENCES))
        except InvalidToken as exc:
            if "unknown key" in exc.message and self.keyring.due_for_reload():
                await self.keyring.load()
                return await self.principal_from_header(authorization)
            return Anonymous(exc)

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        return self.keyring.jwks()

    @contextlib.asynccontextmanager
    async def maintained(self) -> AsyncIterator[None]:
        """Keep the key ring fresh (and rotating) while the block runs; at its end, send what
        is queued and close the connections of the SMS gateway made here (the operator's pool)."""
        async def loop() -> None:
            pruned_at = time.monotonic()
            while True:
                await asyncio.sleep(self.settings.keyring_refresh_seconds)
                try:
                    await self.keyring.refresh()
                    if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                        pruned_at = time.monotonic()
                        await prune(self._engine,
                                    overlap_seconds=self.settings.key_overlap_seconds)
                except Exception:  # the database is away: keep the keys we have, try later
                    log.exception("refreshing the signing keys or pruning failed")

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.login.drain()
            close = getattr(self.gateway, "aclose", None)
            if self._owns_gateway and close is not None:
                await close()
