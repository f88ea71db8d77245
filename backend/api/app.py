"""The FastAPI application factory: GraphQL, health and readiness, and the public key set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from auth.service import AuthService
from backend.api.etag import ETagMiddleware
from backend.api.graphql_app import GraphQLApp
from backend.api.probes import add_probes
from backend.db.engine import create_engine, create_session_factory
from backend.db.reads import Reads
from backend.gql.context import Context, language_from_header
from backend.gql.limits import BodySizeLimit, Limits
from backend.gql.schema import build_schema
from backend.help.library import HelpLibrary
from backend.rates.cache import RateCache, rate_cache
from backend.reference.cache import ReferenceCache, reference_cache
from backend.settings import AppSettings

ALMATY = ZoneInfo("Asia/Almaty")


def almaty_today() -> date:
    """Today's date in Kazakhstan (what a person reads is in Almaty time)."""
    return datetime.now(ALMATY).date()


@dataclass(frozen=True)
class Runtime:
    """What the app opens at startup and every request shares (``app.state.runtime``)."""

    engine: AsyncEngine
    reads: Reads
    rates: RateCache
    reference: ReferenceCache

    @classmethod
    def on(cls, engine: AsyncEngine) -> Runtime:
        """The read path and the process-wide caches on ``engine``."""
        reads = Reads(engine)
        return cls(engine=engine, reads=reads, rates=rate_cache(create_session_factory(engine)),
                   reference=reference_cache(reads))


def create_app(
    settings: AppSettings,
    auth: AuthService,
    *,
    database_url: str | None = None,
    engine: AsyncEngine | None = None,
    today: Callable[[], date] = almaty_today,
    limits: Limits | None = None,
) -> FastAPI:
    """Build the app around a database (an engine, or a URL to open one at startup).

    ``today`` is the clock statuses are judged by (tests pin it); ``limits`` the guard rails.
    """
    if engine is None and database_url is None:
        raise ValueError("create_app needs an engine or a database URL")
    limits = limits or Limits()
    help_library = HelpLibrary.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = engine or create_engine(
            str(database_url), pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow, pre_ping=settings.db_pool_pre_ping)
        app.state.runtime = Runtime.on(active)
        try:
            yield
        finally:
            if engine is None:
                await active.dispose()

    def context_for(request: Request) -> Context:
        runtime: Runtime = request.app.state.runtime
        return Context(
            principal=auth.principal_from_header(request.headers.get("authorization")),
            reads=runtime.reads,
            header_language=language_from_header(request.headers.get("accept-language")),
            rate_cache=runtime.rates,
            reference=runtime.reference,
            help=help_library,
            today=today(),
        )

    app = FastAPI(title="MHI citizens' API", lifespan=lifespan, docs_url=None, redoc_url=None)
    graphql = GraphQLApp(build_schema(limits), context_factory=context_for,
                         graphiql=settings.graphiql_enabled)
    app.router.routes.append(
        Route("/graphql", graphql, methods=["GET", "POST"], include_in_schema=False))
    app.add_middleware(ETagMiddleware, path="/graphql")
    app.add_middleware(BodySizeLimit, path="/graphql", max_bytes=limits.max_body_bytes)
    add_probes(app, auth)
    return app
