"""Traces: off by default; when on, a GraphQL request is a server span with its SQL under it,
a caller's ``traceparent`` is honoured and named in the log lines, a push batch is a span
with an HTTP client span per message to fcm-local, nothing personal leaves in a span, and the
OTLP/HTTP exporter really delivers (a receiver in the test counts what arrives)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from firebase_admin import messaging
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.access.directory import PeopleDirectory
from backend.api.app import create_app
from backend.db.reads import Reads
from backend.logs import RequestContext
from backend.observability.logs import JsonLogFormatter
from backend.observability.traces import TraceSettings, Tracing, start_tracing
from backend.observability.traces_worker import TracedGateway, worker_sampler
from backend.settings import AppSettings
from notifications.gateway import Gateway, Verdict, close_app, open_app
from notifications.settings import NotifySettings
from tests.conftest import AUTH_ROOT_SECRET
from tests.factories import create_person
from tests.notifications.dispatch_helpers import add_device, add_event
from tests.notifications.dispatch_helpers import received as received_payload
from tests.observability.conftest import MHI, FcmLocalServer, free_port, running, service_env

ME = "{ me { firstName } }"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
FCM_TOKEN = "dGhpc2lzYW5pbnN0YW5jZQ:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ"
OFF = TraceSettings(_env_file=None, exporter_otlp_endpoint=None,
                    exporter_otlp_traces_endpoint=None)


@dataclass
class Traced:
    """Tracing into memory, and an app instrumented by it on the suite's database."""

    tracing: Tracing
    spans: InMemorySpanExporter
    app: FastAPI
    http: httpx.AsyncClient
    auth: AuthService

    def finished(self) -> list[ReadableSpan]:
        """The spans exported so far (redacted on the way, as OTLP would get them)."""
        return list(self.spans.get_finished_spans())


async def _auth(engine: AsyncEngine, tmp_path: Path) -> tuple[AuthSettings, AuthService]:
    settings = AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode()), dev_sms_file=tmp_path / "sms.jsonl")
    return settings, await AuthService.open(engine, settings,
                                            directory=PeopleDirectory(Reads(engine)))


@pytest.fixture
def memory_tracing() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    """``start_tracing`` with an in-memory exporter, each span exported as it ends."""
    exporter = InMemorySpanExporter()
    tracing = start_tracing("mhi-api", OFF, exporter=exporter, batch=False)
    assert tracing is not None
    try:
        yield tracing, exporter
    finally:
        tracing.shutdown()


@pytest.fixture
async def traced(engine: AsyncEngine, tmp_path: Path,
                 memory_tracing: tuple[Tracing, InMemorySpanExporter]) -> AsyncIterator[Traced]:
    """``create_app`` as ``mhi serve`` builds it with tracing on (``instrument_app``)."""
    tracing, exporter = memory_tracing
    auth_settings, auth = await _auth(engine, tmp_path)
    app = create_app(AppSettings(environment="test"), auth_settings, engine=engine)
    tracing.instrument_app(app)

    @app.get("/test-log")
    async def logs_a_line() -> dict[str, str]:
        logging.getLogger("mhi.test").warning("looked up 790303402568 for +77011234567")
        return {}

    transport = httpx.ASGITransport(app=app, client=("10.9.8.6", 1234))
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://testserver") as http):
        exporter.clear()
        yield Traced(tracing, exporter, app, http, auth)


def _server(spans: list[ReadableSpan]) -> ReadableSpan:
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    return server


def _database(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.instrumentation_scope is not None
            and "asyncpg" in s.instrumentation_scope.name]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the production JSON formatter writes while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


class TestOffByDefault:
    def test_no_endpoint_no_tracing(self) -> None:
        assert start_tracing("mhi-api", OFF) is None
        instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
        assert not instrumentor.is_instrumented_by_opentelemetry

    def test_an_endpoint_turns_it_on_unless_disabled(self) -> None:
        on = TraceSettings(_env_file=None,
                           exporter_otlp_endpoint="http://127.0.0.1:4318")
        assert on.enabled
        assert not on.model_copy(update={"sdk_disabled": True}).enabled

    async def test_the_app_has_no_tracing_middleware(self, engine: AsyncEngine,
                                                     tmp_path: Path) -> None:
        auth_settings, _ = await _auth(engine, tmp_path)
        app = create_app(AppSettings(environment="test"), auth_settings, engine=engine)
        assert not any("OpenTelemetry" in m.cls.__name__  # type: ignore[attr-defined]
                       for m in app.user_middleware)


class TestTheApi:
    async def test_a_graphql_request_is_a_server_span_with_its_sql_under_it(
            self, traced: Traced, committed: AsyncSession) -> None:
        person = await create_person(committed, phone="+77017654321")
        await committed.commit()
        token = traced.auth.mint(str(person.id), Audience.MOBILE)
        traced.spans.clear()  # the inserts above
        answer = await traced.http.post("/graphql", json={"query": ME},
                                        headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["data"]["me"]["firstName"] == person.first_name
        spans = traced.finished()
        server = _server(spans)
        assert server.name == "POST /graphql"
        assert server.parent is None
        assert server.attributes is not None
        assert server.attributes.get("http.status_code") == 200
        assert server.context is not None
        database = [s for s in _database(spans) if s.context is not None
                    and s.context.trace_id == server.context.trace_id]
        assert database, [s.name for s in spans]
        ids = {s.context.span_id: s for s in spans if s.context is not None}
        for statement in database:
            assert statement.context is not None and server.context is not None
            assert statement.context.trace_id == server.context.trace_id
            ancestor = statement
            while ancestor.parent is not None and ancestor.parent.span_id in ids:
                ancestor = ids[ancestor.parent.span_id]
            assert ancestor is server, f"{statement.name} is not under the request's span"
        assert any("$1" in str((s.attributes or {}).get("db.statement", ""))
                   for s in database), "SQL with placeholders, never the values"
        _nothing_personal(spans, person.iin, token, "10.9.8.6")

    async def test_an_incoming_traceparent_is_the_parent_and_is_in_the_log_lines(
            self, traced: Traced, json_lines: io.StringIO) -> None:
        answer = await traced.http.get("/test-log", headers={
            "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
        assert answer.status_code == 200
        server = _server(traced.finished())
        assert server.context is not None and server.parent is not None
        assert format(server.context.trace_id, "032x") == TRACE_ID
        assert format(server.parent.span_id, "016x") == PARENT_ID
        [line] = [json.loads(x) for x in json_lines.getvalue().splitlines()
                  if '"mhi.test"' in x]
        assert line["trace_id"] == TRACE_ID
        assert line["span_id"] == format(server.context.span_id, "016x")
        assert line["request_id"] == answer.headers["x-request-id"]
        assert line["message"] == "looked up [iin] for [phone]"

    async def test_the_request_id_is_in_the_answer(self, traced: Traced) -> None:
        answer = await traced.http.post("/graphql", json={"query": "{ helpVersion }"})
        assert answer.json()["extensions"]["requestId"] == answer.headers["x-request-id"]

    async def test_a_query_string_never_leaves_in_a_span(self, traced: Traced) -> None:
        answer = await traced.http.get("/graphql", params={
            "query": "query ($p: String) { helpVersion }",
            "variables": json.dumps({"p": "790303402568 +77011234567"})})
        assert answer.status_code == 200
        server = _server(traced.finished())
        assert server.attributes is not None
        assert server.attributes.get("http.target") == "/graphql"
        _nothing_personal(traced.finished(), "790303402568", "77011234567", "helpVersion")


class TestTheWorker:
    @pytest.mark.filterwarnings("ignore:Message.token is deprecated")  # an FCM token here
    async def test_a_push_batch_is_a_span_with_a_client_span_to_fcm_local(
            self, fcm_local: FcmLocalServer,
            memory_tracing: tuple[Tracing, InMemorySpanExporter]) -> None:
        tracing, exporter = memory_tracing
        firebase = open_app(NotifySettings(fcm_local_url=fcm_local.url))
        gateway = TracedGateway(Gateway(firebase), tracing.tracer("mhi.worker"))
        try:
            outcomes = await gateway.send([
                messaging.Message(token=f"{FCM_TOKEN}{n}", notification=messaging.Notification(
                    title="Взнос поступил", body="5 950,00 ₸")) for n in range(3)])
        finally:
            await close_app(firebase)
        assert [o.verdict for o in outcomes] == [Verdict.SENT] * 3
        spans = list(exporter.get_finished_spans())
        [batch] = [s for s in spans if s.name == "notify.send_batch"]
        assert batch.attributes is not None
        assert batch.attributes["messaging.batch.message_count"] == 3
        assert batch.attributes["mhi.notify.sent"] == 3
        calls = [s for s in spans if s.kind is SpanKind.CLIENT]
        assert len(calls) == 3
        for call in calls:
            assert call.parent is not None and batch.context is not None
            assert call.parent.span_id == batch.context.span_id
            url = str((call.attributes or {}).get("http.url")
                      or (call.attributes or {}).get("url.full"))
            assert url.startswith(fcm_local.url) and url.endswith("/messages:send"), url
            assert (call.attributes or {}).get("http.status_code") == 200
        _nothing_personal(spans, FCM_TOKEN)

    async def test_polling_makes_no_traces_a_batch_does(self, engine: AsyncEngine) -> None:
        exporter = InMemorySpanExporter()
        tracing = start_tracing("mhi-worker", OFF, exporter=exporter, batch=False,
                                sampler=worker_sampler())
        assert tracing is not None
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))  # a poll that found nothing
                assert list(exporter.get_finished_spans()) == []
                with tracing.tracer("mhi.worker").start_as_current_span("notify.send_batch"):
                    await conn.execute(text("SELECT 2"))
        finally:
            tracing.shutdown()
        names = [s.name for s in exporter.get_finished_spans()]
        assert "notify.send_batch" in names and len(names) >= 2, names


def _nothing_personal(spans: list[ReadableSpan], *values: str) -> None:
    """None of ``values`` in any exported span's name, attributes, events or status."""
    dumped = json.dumps([{"name": s.name, "attributes": dict(s.attributes or {}),
                          "events": [dict(e.attributes or {}) for e in s.events],
                          "status": s.status.description} for s in spans],
                        ensure_ascii=False, default=str)
    for value in values:
        assert value not in dumped


# --- the OTLP/HTTP path, end to end --------------------------------------------------------


@dataclass
class Received:
    """What the OTLP receiver was sent."""

    spans: list[Any] = field(default_factory=list)
    services: set[str] = field(default_factory=set)
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _receiver(received: Received) -> type[BaseHTTPRequestHandler]:
    class Collector(BaseHTTPRequestHandler):
        """POST /v1/traces with an ``ExportTraceServiceRequest`` (protobuf), as a collector
        takes it."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/v1/traces" or self.headers.get(
                    "Content-Type") != "application/x-protobuf":
                self.send_error(404)
                return
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            with received.lock:
                received.bodies.append(body)
                for resource in request.resource_spans:
                    for attribute in resource.resource.attributes:
                        if attribute.key == "service.name":
                            received.services.add(attribute.value.string_value)
                    for scope in resource.scope_spans:
                        received.spans.extend(scope.spans)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Collector


@pytest.fixture
def collector() -> Iterator[tuple[str, Received]]:
    """A tiny OTLP/HTTP receiver on a free port: its base URL and what it received."""
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver(received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_spans_reach_an_otlp_receiver(engine: AsyncEngine, tmp_path: Path,
                                            committed: AsyncSession,
                                            collector: tuple[str, Received]) -> None:
    """``OTEL_EXPORTER_OTLP_ENDPOINT`` as an operator sets it, the batch exporter as
    ``mhi serve`` runs it: the receiver gets the request's spans, protobuf over HTTP, with
    the service's name, and no IIN even though the request's query string carried one."""
    url, received = collector
    tracing = start_tracing("mhi-api", TraceSettings(
        _env_file=None, exporter_otlp_endpoint=url))
    assert tracing is not None
    try:
        auth_settings, auth = await _auth(engine, tmp_path)
        person = await create_person(committed, phone="+77017654321")
        await committed.commit()
        app = create_app(AppSettings(environment="test"), auth_settings, engine=engine)
        tracing.instrument_app(app)
        transport = httpx.ASGITransport(app=app, client=("10.9.8.5", 1234))
        token = auth.mint(str(person.id), Audience.MOBILE)
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://testserver") as http):
            for _ in range(3):
                answer = await http.get("/graphql", params={
                    "query": ME, "variables": json.dumps({"iin": person.iin})},
                    headers={"Authorization": f"Bearer {token}"})
                assert answer.json()["data"]["me"]["firstName"] == person.first_name
    finally:
        tracing.shutdown()  # flushes the batch to the receiver
    names = [span.name for span in received.spans]
    assert names.count("GET /graphql") == 3, names
    assert len(names) > 3, "the SQL under each request arrived too"
    assert received.services == {"mhi-api"}
    assert all(person.iin.encode() not in body and token.encode() not in body
               for body in received.bodies)


async def test_mhi_serve_and_mhi_worker_export_to_the_endpoint_they_are_given(
        engine: AsyncEngine, committed: AsyncSession, fcm_local: FcmLocalServer,
        tmp_path: Path, collector: tuple[str, Received]) -> None:
    """The processes as an operator runs them, with ``OTEL_EXPORTER_OTLP_ENDPOINT``: the API's
    request arrives as a span of the caller's trace, its access line (JSON) names that trace,
    and the worker's push arrives as a batch span with the HTTP call to fcm-local under it."""
    url, received = collector
    database = engine.url.render_as_string(hide_password=False)
    api_port, worker_metrics = free_port(), free_port()
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    api_env = service_env(database, tmp_path, APP_PORT=str(api_port), **otel)
    worker_env = service_env(database, tmp_path, METRICS_PORT=str(worker_metrics),
                             NOTIFY_FCM_LOCAL_URL=fcm_local.url, NOTIFY_IDLE_POLL_SECONDS="0.1",
                             NOTIFY_DIGEST_WINDOW_SECONDS="0", **otel)
    person = await create_person(committed, phone="+77017654321")
    await committed.commit()
    await add_device(engine, person.id, language="en")
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    async with (
        running("mhi serve", [str(MHI), "serve"], api_env, api_log,
                f"http://127.0.0.1:{api_port}/readyz"),
        running("mhi worker", [str(MHI), "worker", "--every", "3600"], worker_env,
                worker_log, f"http://127.0.0.1:{worker_metrics}/metrics"),
    ):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as api:
            answer = await api.post("/graphql", json={"query": "{ helpVersion }"},
                                    headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
            assert answer.status_code == 200
        await add_event(engine, person.id, "contribution.received", received_payload(101))
        for _ in range(300):
            if fcm_local.state.accepted and "notify.send_batch" in _names(received):
                break
            await asyncio.sleep(0.1)
    names = _names(received)  # SIGTERM flushed what was left
    assert "notify.send_batch" in names, names
    with received.lock:
        spans = list(received.spans)
    [served] = [s for s in spans if s.name == "POST /graphql"]
    assert served.trace_id.hex() == TRACE_ID and served.parent_span_id.hex() == PARENT_ID
    [batch] = [s for s in spans if s.name == "notify.send_batch"]
    calls = [s for s in spans if s.parent_span_id == batch.span_id]
    assert calls and all(s.kind == s.SPAN_KIND_CLIENT for s in calls)
    assert received.services == {"mhi-api", "mhi-worker"}
    access = [json.loads(line) for line in api_log.read_text().splitlines()
              if line.startswith("{") and '"uvicorn.access"' in line and "/graphql" in line]
    assert access and access[0]["trace_id"] == TRACE_ID
    assert access[0]["request_id"] == answer.headers["x-request-id"]


def _names(received: Received) -> list[str]:
    with received.lock:
        return [span.name for span in received.spans]


def test_an_exception_a_url_and_an_address_are_cleaned_before_export(
        memory_tracing: tuple[Tracing, InMemorySpanExporter]) -> None:
    """What the redacting exporter does to whatever an instrumentation recorded."""
    tracing, exporter = memory_tracing
    with tracing.tracer("test").start_as_current_span("GET /x/790303402568") as span:
        span.set_attributes({"http.url": "http://api/graphql?variables=%7B%22p%22%3A1%7D",
                             "net.peer.ip": "10.1.2.3", "mhi.phone": 77011234567,
                             "db.statement": "SELECT 1 WHERE iin = '790303402568'"})
        try:
            raise RuntimeError(f"Key (iin)=(790303 402568) token {FCM_TOKEN}")
        except RuntimeError as error:
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, str(error))
    [exported] = exporter.get_finished_spans()
    assert exported.name == "GET /x/[iin]"
    assert exported.attributes == {"http.url": "http://api/graphql", "mhi.phone": "[phone]",
                                   "db.statement": "SELECT 1 WHERE iin = '[iin]'"}
    [event] = exported.events
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "Key (iin)=([iin]) token [push-token]"
    assert "790303" not in str(event.attributes["exception.stacktrace"])
    assert exported.status.description == "Key (iin)=([iin]) token [push-token]"
