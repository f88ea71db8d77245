"""The API's metrics: every HTTP answer, every GraphQL operation, readiness and the pool.

``install_metrics(app)`` (``create_app`` calls it last) puts ``MetricsMiddleware`` outermost,
so it sees every answer, the 500 that ``RequestIdMiddleware`` makes of an unhandled error and
the refusals of the body limits included, and attaches the app's scrape-time probes.

A GraphQL request's labels are learned on its way through: ``OperationLabels`` (a schema
extension) names the operation and the caller's audience, ``graphql_answered`` (called by
``GraphQLApp.process_result``) counts the answer's error codes and its cost estimate; both
write into a small holder that the middleware put in a context variable, and the middleware
observes everything once the last byte has left.  Work per request: a context variable, two
clock reads, and five observations (a few microseconds; ``bench/home_screen.py`` measures).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import cache
from time import perf_counter
from typing import Any, ClassVar

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from auth.principals import Citizen, Integrator, Staff
from backend.observability import metrics
from backend.observability.probes import POOLS, PROBES, Probe

GRAPHQL_PATH = "/graphql"


class _Labels:
    """What one request's GraphQL layers learned, for the middleware to observe."""

    __slots__ = ("audience", "codes", "cost", "operation")

    def __init__(self) -> None:
        self.operation = metrics.OTHER
        self.audience = "anonymous"
        self.codes: list[str] = []
        self.cost: int | None = None


_current: ContextVar[_Labels | None] = ContextVar("mhi_metrics_labels", default=None)


def audience_of(principal: object) -> str:
    """The audience label of a principal (``anonymous`` for anyone without a valid token)."""
    if isinstance(principal, Citizen):
        return "citizen"
    if isinstance(principal, Staff):
        return "staff"
    if isinstance(principal, Integrator):
        return "integrator"
    return "anonymous"


def route_of(scope: Scope) -> str:
    """The route's template (``/ingest/{kind}``), never the path as sent: ``/graphql``, a
    FastAPI route's path, else ``other`` (an unknown path, a static file)."""
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        return str(getattr(route, "path", metrics.OTHER))
    return GRAPHQL_PATH if scope.get("path") == GRAPHQL_PATH else metrics.OTHER


class OperationLabels(SchemaExtension):
    """Names the operation (a known one's name, else ``other``) and the caller's audience for
    the request's metrics; does nothing outside an HTTP request (the desk console's pages
    run operations too: they are counted by their route)."""

    def on_operation(self) -> Iterator[None]:
        """After the operation (also when its time ran out): its name and audience."""
        try:
            yield
        finally:
            if _current.get() is not None:
                context = self.execution_context
                label_operation(context.operation_name,
                                getattr(context.context, "principal", None))


def label_operation(name: str | None, principal: object) -> None:
    """Note the operation's name and the caller's audience for the request's metrics (the
    fast path for persisted operations, ``backend.gql.fastpath``, skips the extension)."""
    labels = _current.get()
    if labels is not None:
        labels.operation = metrics.operation_label(name)
        labels.audience = audience_of(principal)


def graphql_answered(result: ExecutionResult) -> None:
    """Note the answer's error codes and its estimated cost (``extensions.cost``) for the
    request's metrics (``GraphQLApp.process_result`` calls it with the final answer)."""
    labels = _current.get()
    if labels is None:
        return
    for error in result.errors or ():
        labels.codes.append(metrics.error_code((error.extensions or {}).get("code")))
    cost = (result.extensions or {}).get("cost")
    if isinstance(cost, Mapping) and isinstance(cost.get("requested"), int):
        labels.cost = cost["requested"]


class MetricsMiddleware:
    """Counts and times every HTTP answer; a GraphQL request also by operation and audience,
    its body sizes, error codes and cost (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        labels = _Labels()
        token = _current.set(labels)
        status = 500  # what the client gets if nothing below answers
        received = 0
        sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            _current.reset(token)
            _observe(route_of(scope), status, perf_counter() - started, labels, received, sent)


@cache
def _child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, remembered: the label values are bounded (see
    ``backend.observability.metrics``), and prometheus-client's lookup takes a lock and
    checks the values on every call (5 of the middleware's 28 us a request, measured)."""
    return metric.labels(*values)


def _observe(route: str, status: int, seconds: float, labels: _Labels, received: int,
             sent: int) -> None:
    _child(metrics.HTTP_REQUESTS, route, str(status)).inc()
    _child(metrics.HTTP_DURATION, route).observe(seconds)
    if route != GRAPHQL_PATH:
        return
    _child(metrics.GRAPHQL_DURATION, labels.operation, labels.audience).observe(seconds)
    _child(metrics.GRAPHQL_REQUEST_BYTES, labels.audience).observe(received)
    _child(metrics.GRAPHQL_RESPONSE_BYTES, labels.operation).observe(sent)
    for code in labels.codes:
        _child(metrics.GRAPHQL_ERRORS, labels.operation, code).inc()
    if labels.cost is not None:
        _child(metrics.GRAPHQL_COST, labels.audience).observe(labels.cost)


def install_metrics(app: FastAPI) -> None:
    """Metrics for ``app``: the middleware (outermost: call this after every other
    ``add_middleware``), its pool's gauges, and readiness checked at scrape time on the
    app's event loop (attached when the app starts)."""
    app.add_middleware(MetricsMiddleware)
    ref = weakref.ref(app)
    POOLS.watch("api", lambda: _engine_of(ref()))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[Any]:
        PROBES.attach(asyncio.get_running_loop(), [ReadyProbe(ref)])
        async with inner(started) as state:
            yield state

    app.router.lifespan_context = lifespan


def _engine_of(app: FastAPI | None) -> Any:
    runtime = getattr(app.state, "runtime", None) if app is not None else None
    return getattr(runtime, "engine", None)


class ReadyProbe(Probe):
    """``mhi_ready``: the answer of the app's own ``/readyz`` handler, called in process (the
    same checks: the database answers and is migrated, a signing key is loaded)."""

    name = "ready"
    families: ClassVar[Mapping[str, str]] = {
        "mhi_ready": "1 when /readyz would answer 200 (the database answers, is migrated, a "
                     "signing key is loaded), else 0; checked at scrape."}

    def __init__(self, app: weakref.ref[FastAPI]) -> None:
        self._app = app

    async def run(self) -> dict[str, float]:
        """Run the ``/readyz`` endpoint on a request of our own."""
        app = self._app()
        if app is None or getattr(app.state, "runtime", None) is None:
            return {"mhi_ready": 0.0}
        endpoint = next((getattr(route, "endpoint", None) for route in app.routes
                         if getattr(route, "path", None) == "/readyz"), None)
        if endpoint is None:
            return {"mhi_ready": 0.0}
        request = Request({"type": "http", "app": app, "method": "GET", "path": "/readyz",
                           "headers": [], "query_string": b""})
        response = await endpoint(request)
        return {"mhi_ready": 1.0 if response.status_code == 200 else 0.0}
