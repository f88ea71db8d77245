"""The per-request GraphQL context: the principal, reads, loaders, language and today."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from auth.errors import Refused
from auth.principals import Anonymous, Citizen, Integrator, Principal, Scope, Staff
from auth.service import AuthService
from auth.staff import Window
from backend.db.reads import Reads
from backend.errors import BadUserInput, Forbidden, Unauthenticated
from backend.gql.dataloaders import Loaders
from backend.gql.nodes import parse_global_id
from backend.help.library import HelpLibrary
from backend.inbox.center import NotificationCenter
from backend.ingest.service import Ingestion
from backend.messages import auth_message, message
from backend.rates.book import RateBook
from backend.rates.cache import RateCache
from backend.reference.cache import ReferenceCache

if TYPE_CHECKING:
    from backend.tlog.gql import RequestProofs

SUPPORTED_LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"


def language_from_header(accept_language: str | None) -> str:
    """The first supported language in an ``Accept-Language`` header, by quality; else kk."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in SUPPORTED_LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@dataclass
class Context:
    """What every resolver receives as ``info.context``; built anew for each request.

    ``reads`` is the request's own (``Reads.for_request``): its statements, sibling
    resolvers' included, take turns on one pooled connection, given back as soon as the
    request stops reading.

    ``today`` is the date in Almaty when the request arrived: statuses are judged on it.
    """

    principal: Principal
    reads: Reads
    header_language: str
    rate_cache: RateCache
    reference: ReferenceCache
    help: HelpLibrary
    today: date
    auth: AuthService
    ingestion: Ingestion
    notifications: NotificationCenter
    client_address: str = "unknown"
    response: Response | None = None
    """The response being built (headers set here reach the client)."""
    engine: AsyncEngine | None = None
    """Where integrators' cost budgets are counted (auth's shared throttle)."""
    deadline: asyncio.Timeout | None = None
    """The request's time limit; the guard rails lift it for mutations."""
    dispute_daily_limit: int = 5
    """Reports about services one citizen may send a day (``APP_DISPUTE_DAILY_LIMIT``)."""
    log_proofs: RequestProofs | None = None
    """This request's proofs from the verifiable log (``backend.tlog.gql``; None: no log)."""
    loaders: Loaders = field(init=False)
    _language: str | None = field(init=False, default=None)
    _budget_spent: bool = field(init=False, default=False)
    _windows: dict[str, Window] = field(init=False, default_factory=dict)
    recorded_looks: set[tuple[uuid.UUID, str]] = field(init=False, default_factory=set)
    iins_asked: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.reads, self.reference)

    def start_over(self) -> None:
        """Forget what a first attempt at this request learnt (the reader's language, the
        rows loaded), so that the generic path runs as on a new request
        (``backend.gql.fastpath``); looks already recorded stay recorded, once."""
        self._language = None
        self.loaders = Loaders(self.reads, self.reference)

    def require_citizen(self) -> Citizen:
        """The citizen behind the request, or ``UNAUTHENTICATED`` with the reason."""
        principal = self.principal
        if isinstance(principal, Citizen):
            return principal
        if isinstance(principal, Anonymous):
            raise self._unauthenticated()
        raise Forbidden(message("citizens_only"))

    def _unauthenticated(self) -> Unauthenticated:
        principal = self.principal
        if isinstance(principal, Anonymous) and principal.failure is not None:
            error = Unauthenticated(auth_message(principal.failure.reason))
            error.reason = principal.failure.reason
            return error
        return Unauthenticated(message("sign_in"))

    def require_staff(self) -> Staff:
        """The desk worker behind the request; ``UNAUTHENTICATED`` or ``FORBIDDEN`` otherwise."""
        principal = self.principal
        if isinstance(principal, Staff):
            return principal
        if isinstance(principal, Anonymous):
            raise self._unauthenticated()
        raise Forbidden(message("staff_only"))

    async def consent_window(self, window_id: str) -> Window:
        """The open consent window ``window_id`` of the desk worker behind the request.

        ``FORBIDDEN`` when it is not theirs, has ended, or does not exist (alike).
        """
        staff = self.require_staff()
        if window_id not in self._windows:
            try:
                type_name, key = parse_global_id(window_id)
                if type_name != "PatientWindow":
                    raise ValueError(type_name)
                self._windows[window_id] = await self.auth.desk.window(staff.staff_id,
                                                                       uuid.UUID(key))
            except (ValueError, Refused, BadUserInput):
                raise Forbidden(auth_message("WINDOW_CLOSED")) from None
        return self._windows[window_id]

    def source(self) -> str:
        """The source name of what the integrator behind the request sends (its client id)."""
        principal = self.principal
        if not isinstance(principal, Integrator):
            raise Forbidden(message("integrators_only"))
        return principal.client_id

    def remember_window(self, window_id: str, window: Window) -> None:
        """A window this request just opened (its fields need not look it up)."""
        self._windows[window_id] = window

    async def require_scope(self, scope: Scope) -> Integrator:
        """The integrator behind the request, holding ``scope``; its request budget is spent
        once per request (``RATE_LIMITED`` beyond it)."""
        principal = self.principal
        if not isinstance(principal, Integrator):
            if isinstance(principal, Anonymous):
                raise self._unauthenticated()
            raise Forbidden(message("integrators_only"))
        if scope not in principal.scopes:
            raise Forbidden(message("scope_missing", scope=scope.value))
        if not self._budget_spent:
            self._budget_spent = True
            await self.auth.clients.spend_request(principal.client_id,
                                                  principal.requests_per_minute)
        return principal

    async def language(self) -> str:
        """The reader's language: the person's own setting, else ``Accept-Language``, else kk."""
        if self._language is None:
            # Decided before it is stored: a sibling resolver asking meanwhile must not see
            # the header's language stand in for the person's (both await the same load).
            language = self.header_language
            if isinstance(self.principal, Citizen):
                person = await self.loaders.person.load(self.principal.person_id)
                if person is not None:
                    language = person.language
            self._language = language
        return self._language

    @property
    def known_language(self) -> str:
        """The reader's language as far as this request has learnt it (no database read)."""
        return self._language or self.header_language

    async def rates(self) -> RateBook:
        """The dated rate table (shared by the process, refreshed every few minutes)."""
        return await self.rate_cache.get()
