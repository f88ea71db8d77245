"""The FastAPI application factory: GraphQL, health and readiness, and the public key set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from auth.service import AuthService
from backend.api.etag import ETagMiddleware
from backend.api.graphql_app import GraphQLApp
from backend.db import migrate
from backend.db.engine import create_engine, create_session_factory
from backend.db.reads import Reads
from backend.gql.context import Context, language_from_header
from backend.gql.limits import BodySizeLimit, Limits
from backend.gql.schema import build_schema
from backend.help.library import HelpLibrary
from backend.rates.cache import rate_cache
from backend.reference.cache import reference_cache
from backend.settings import AppSettings

ALMATY = ZoneInfo("Asia/Almaty")


def almaty_today() -> date:
    """Today's date in Kazakhstan (what a person reads is in Almaty time)."""
    return datetime.now(ALMATY).date()


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
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        active = engine or create_engine(
            str(database_url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pre_ping=settings.db_pool_pre_ping,
        )
        state["engine"] = active
        state["reads"] = app.state.reads = Reads(active)
        state["rates"] = rate_cache(create_session_factory(active))
        state["reference"] = reference_cache(state["reads"])
        try:
            yield
        finally:
            if own:
                await active.dispose()

    def context_for(request: Request) -> Context:
        return Context(
            principal=auth.principal_from_header(request.headers.get("authorization")),
            reads=state["reads"],
            header_language=language_from_header(request.headers.get("accept-language")),
            rate_cache=state["rates"],
            reference=state["reference"],
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

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    head = migrate.head_revision()

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            current = await migrate.current_revision(state["engine"])
        except Exception:  # any failure to reach the database means not ready
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        if current != head:
            body = {"status": "unavailable", "database": "up", "migrations": "behind"}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ready", "database": "up", "migrations": "current"})

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks() -> dict[str, Any]:
        return {"keys": [auth.issuer.key.public_jwk()]}

    return app
