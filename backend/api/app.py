"""The FastAPI application factory: GraphQL, health and readiness, and the public key set."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from auth.principals import Citizen, Principal
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.sms import SmsGateway
from backend.access.directory import PeopleDirectory
from backend.api.body_limit import BodyLimit, BodyRule
from backend.api.dev_pages import add_dev_pages
from backend.api.etag import ETagMiddleware, ETagRule
from backend.api.graphiql import add_graphiql_assets
from backend.api.graphql_app import GraphQLApp
from backend.api.headers import HardenedAPI
from backend.api.ingest import add_bulk_ingest
from backend.api.oauth import MAX_BODY as OAUTH_MAX_BODY
from backend.api.oauth import add_oauth
from backend.api.probes import add_probes
from backend.api.request_id import RequestIdMiddleware
from backend.api.server import BodyReadTimeout, ReadTimeouts
from backend.db.engine import async_url, create_engine, create_session_factory
from backend.db.reads import Reads
from backend.db.replica import TOKEN_HEADER, ReplicaRouter
from backend.desk.console import add_desk_console
from backend.gql.consistency import with_read_your_writes
from backend.gql.context import Context, language_from_header
from backend.gql.limits import Limits, Policy
from backend.gql.persisted import Safelist
from backend.gql.schema import build_schema
from backend.help.library import HelpLibrary
from backend.inbox.center import NotificationCenter
from backend.ingest.service import Ingestion, IngestLimits
from backend.observability.http import install_metrics
from backend.rates.cache import RateCache, rate_cache
from backend.reference.cache import ReferenceCache, reference_cache
from backend.settings import AppSettings, TlogSettings
from backend.tlog.download import add_proof_download
from backend.tlog.gql import RequestProofs
from backend.tlog.http import add_log_routes
from backend.tlog.proofs import LogProofs
from backend.transparency.open_data import CSV_TYPE, add_open_data
from backend.transparency.page import MAX_AGE as PAGE_MAX_AGE
from backend.transparency.page import add_transparency_page
from notifications.settings import NotifySettings

ALMATY = ZoneInfo("Asia/Almaty")
log = logging.getLogger(__name__)


GC_YOUNG = 10_000
"""Allocations between two collections of the youngest generation in a server process (the
interpreter's default is 700; a request allocates a few thousand objects, almost all freed
by reference counting)."""


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
    auth: AuthService
    ingestion: Ingestion
    notifications: NotificationCenter
    router: ReplicaRouter | None = None
    """Where citizens' reads go when a read replica is configured (``backend.db.replica``)."""

    def reads_for(self, principal: Principal, token: str | None) -> Reads:
        """The reads of one request: a citizen's may go to the replica, all else the
        primary's (``backend.db.replica`` says why)."""
        if self.router is None or not isinstance(principal, Citizen):
            return self.reads
        return self.router.reads_for(principal.person_id, token)

    @classmethod
    async def on(cls, engine: AsyncEngine, auth_settings: AuthSettings,
                 gateway: SmsGateway | None = None,
                 today: Callable[[], date] | None = None,
                 notify_settings: NotifySettings | None = None,
                 ingest_limits: IngestLimits | None = None) -> Runtime:
        """The read path, the process-wide caches and identity on ``engine``.

        The signing keys are loaded (a first one made) here; if the database cannot give them
        yet (not migrated), the app still starts, ``/readyz`` says so, and the keys are
        retried every few minutes.
        """
        reads = Reads(engine)
        auth = AuthService(engine, auth_settings, directory=PeopleDirectory(reads),
                           gateway=gateway)
        try:
            await auth.keyring.refresh()
        except DBAPIError:
            log.error("the signing keys could not be loaded; is the database migrated?")
        rates = rate_cache(create_session_factory(engine))
        return cls(engine=engine, reads=reads, rates=rates, reference=reference_cache(reads),
                   auth=auth, ingestion=Ingestion(engine, rates, today or almaty_today,
                                                  limits=ingest_limits or IngestLimits()),
                   notifications=NotificationCenter(engine, reads,
                                                    notify_settings or NotifySettings()))


def create_app(
    settings: AppSettings,
    auth_settings: AuthSettings,
    *,
    database_url: str | None = None,
    engine: AsyncEngine | None = None,
    today: Callable[[], date] = almaty_today,
    limits: Limits | None = None,
    sms_gateway: SmsGateway | None = None,
    notify_settings: NotifySettings | None = None,
    read_timeouts: ReadTimeouts | None = None,
    tlog: TlogSettings | LogProofs | None = None,
    server_gc: bool = False,
) -> FastAPI:
    """Build the app around a database (an engine, or a URL to open one at startup).

    ``today`` is the clock statuses are judged by (tests pin it); ``limits`` the guard rails;
    ``sms_gateway`` where sign-in codes go (default: as ``auth_settings`` say);
    ``read_timeouts`` how slowly a client may send a body (``backend.api.server``);
    ``tlog`` the verifiable log whose proofs the API serves (its keys are read when the first
    proof is asked); ``server_gc``: tune the cyclic garbage collector for a long-lived server
    process (``mhi serve``): once started, every object made so far is moved out of its reach
    (``gc.freeze``: the schema, the app and the caches live as long as the process, and each
    full pass walked them all, 200,000 objects), and the youngest generation is collected
    every ``GC_YOUNG`` allocations instead of 700.  Together about a fifth of a home screen's
    CPU under load (docs/performance.md).  Off for apps made and dropped by the dozen in one
    process (tests), whose frozen objects would never be freed.
    """
    if engine is None and database_url is None:
        raise ValueError("create_app needs an engine or a database URL")
    limits = limits or Limits()
    help_library = HelpLibrary.load()
    log_proofs = tlog if isinstance(tlog, LogProofs) else LogProofs(tlog)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = engine or create_engine(
            str(database_url), pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow, pre_ping=settings.db_pool_pre_ping)
        runtime = await Runtime.on(active, auth_settings, sms_gateway, today, notify_settings,
                                   IngestLimits(settings.ingest_max_body_bytes,
                                                settings.ingest_issues_per_code))
        router = None
        if settings.database_replica_url:
            router = ReplicaRouter(
                runtime.reads, create_engine(
                    async_url(settings.database_replica_url),
                    pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
                    pre_ping=False, application_name="mhi-replica-reads",
                    connect_timeout=settings.replica_connect_timeout_seconds,
                    command_timeout=settings.replica_statement_timeout_seconds),
                max_lag=settings.replica_max_lag_seconds, wait=settings.replica_wait_seconds,
                poll=settings.replica_poll_seconds, retry=settings.replica_retry_seconds,
                timeout=settings.replica_connect_timeout_seconds)
            runtime = replace(runtime, router=router)
            await router.start()
        app.state.runtime = runtime
        if server_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        try:
            async with runtime.auth.maintained():
                yield
        finally:
            if router is not None:
                await router.close()
                await router.replica_engine.dispose()
            if engine is None:
                await active.dispose()

    async def context_for(request: Request) -> Context:
        runtime: Runtime = request.app.state.runtime
        return await context_as(
            request, await runtime.auth.principal_from_header(
                request.headers.get("authorization")),
            language_from_header(request.headers.get("accept-language")))

    async def context_as(request: Request, principal: Principal, language: str) -> Context:
        """The context of a request made as ``principal`` reading ``language`` (the API's
        bearer token; the desk console's signed-in worker)."""
        runtime: Runtime = request.app.state.runtime
        reads = runtime.reads_for(principal, request.headers.get(TOKEN_HEADER)).for_request()
        return Context(
            principal=principal,
            reads=reads,
            header_language=language,
            rate_cache=runtime.rates,
            reference=runtime.reference,
            help=help_library,
            today=today(),
            auth=runtime.auth,
            ingestion=runtime.ingestion,
            notifications=runtime.notifications.reading(reads),
            client_address=request.client.host if request.client else "unknown",
            engine=runtime.engine,
            dispute_daily_limit=settings.dispute_daily_limit,
            log_proofs=RequestProofs(log_proofs, runtime.reads),
        )

    app = HardenedAPI(title="MHI citizens' API", lifespan=lifespan, docs_url=None, redoc_url=None)
    policy = Policy(production=settings.environment == "production", safelist=Safelist.load())
    schema = build_schema(limits, policy, fast_path=settings.graphql_fast_path)
    if settings.database_replica_url:
        schema = with_read_your_writes(schema)
    graphql = GraphQLApp(schema, context_factory=context_for,
                         query_seconds=limits.query_seconds,
                         graphiql=settings.graphiql_enabled)
    app.router.routes.append(
        Route("/graphql", graphql, methods=["GET", "POST"], include_in_schema=False))
    app.add_middleware(BodyReadTimeout, timeouts=read_timeouts or ReadTimeouts())
    app.add_middleware(ETagMiddleware, rules=[
        ETagRule("/graphql"),
        ETagRule("/open-data/", media_types=("application/json", CSV_TYPE.split(";")[0]),
                 vary=None, max_age=3600, public_always=True),
        # The page names its own Vary (none when ?lang= names the language).
        ETagRule("/transparency", media_types=("text/html",), vary=None,
                 max_age=PAGE_MAX_AGE, public_always=True),
        # The verifiable log's checkpoint and tiles say their own lifetimes (backend.tlog.http).
        ETagRule("/log/", media_types=("text/plain", "application/octet-stream"), vary=None,
                 public_always=True, keep_cache_control=True),
    ])
    app.add_middleware(BodyLimit, rules=[
        BodyRule("/graphql", limits.max_body_bytes, limits.max_integrator_body_bytes),
        BodyRule("/oauth/token", OAUTH_MAX_BODY, shape="oauth"),
    ])
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer and log line has the id
    add_probes(app)
    add_desk_console(app, schema, context_as, help_library,
                     secure_cookies=settings.environment != "development",
                     app_link=settings.download_url)
    add_transparency_page(app, today, secure_cookies=settings.environment != "development")
    add_oauth(app)
    add_bulk_ingest(app)
    add_open_data(app, today)
    add_log_routes(app)
    add_proof_download(app, log_proofs)
    if settings.graphiql_enabled:
        add_graphiql_assets(app)
    if "production" not in (settings.environment, auth_settings.environment):
        add_dev_pages(app, auth_settings)
    install_metrics(app)  # outermost: sees every answer (docs/operations.md)
    return app
