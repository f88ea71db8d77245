"""The per-request GraphQL context: the principal, reads, loaders, language and today."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from auth.principals import Anonymous, Citizen, Principal
from backend.db.reads import Reads
from backend.errors import Unauthenticated
from backend.gql.dataloaders import Loaders
from backend.help.library import HelpLibrary
from backend.messages import message
from backend.rates.book import RateBook
from backend.rates.cache import RateCache
from backend.reference.cache import ReferenceCache

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

    ``reads`` lends a pooled connection per statement (sibling resolvers run concurrently,
    so nothing here holds one connection across resolvers).

    ``today`` is the date in Almaty when the request arrived: statuses are judged on it.
    """

    principal: Principal
    reads: Reads
    header_language: str
    rate_cache: RateCache
    reference: ReferenceCache
    help: HelpLibrary
    today: date
    loaders: Loaders = field(init=False)
    _language: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.reads, self.reference)

    def require_citizen(self) -> Citizen:
        """The citizen behind the request, or ``UNAUTHENTICATED`` with the reason."""
        principal = self.principal
        if isinstance(principal, Citizen):
            return principal
        if isinstance(principal, Anonymous) and principal.failure is not None:
            raise Unauthenticated(principal.failure.message)
        raise Unauthenticated(message("sign_in"))

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
