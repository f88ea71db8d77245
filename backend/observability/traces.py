"""Traces with OpenTelemetry: off unless an OTLP endpoint is configured.

``start_tracing`` returns ``None`` (and nothing is installed: no middleware, no patched
driver, no cost on a request) unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set and ``OTEL_SDK_DISABLED`` is not true.  When
on, it makes a tracer provider that exports over OTLP/HTTP (protobuf) in batches, and
instruments, process-wide:

- asyncpg (a span per statement; its SQL with ``$n`` placeholders, never the parameters);
- httpx, which firebase-admin 7.7's ``send_each_async`` uses (``HttpxAsyncClient``; its
  synchronous ``send`` goes through requests, in google-auth's ``AuthorizedSession``, and so
  does a service account's token refresh): both are instrumented, so each FCM call, each
  SMS operator call and each witness call is a client span carrying ``traceparent``;
- requests, as said.

``Tracing.instrument_app`` puts OpenTelemetry's ASGI middleware outermost on the API: a
server span per request, whose parent is the caller's W3C ``traceparent`` when one came.
Only the W3C trace context is propagated (no ``baggage``: a client's baggage would be
forwarded to FCM and the SMS operator).

**What a span may carry.**  Spans leave the process, so they are redacted on the way out
(``RedactingExporter``) as log lines are: every string attribute, event attribute (an
exception's message and traceback), status description and span name goes through
``backend.logs.redact``; URLs lose their query string (``/graphql?variables=...`` could
carry anything a client sent); the client's address is dropped.

The log lines written while a span is current carry its ``trace_id`` and ``span_id``
(``backend.observability.logs``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, Status
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.logs import redact

log = logging.getLogger(__name__)

URL_ATTRIBUTES = frozenset({"http.url", "url.full", "http.target", "url.path"})
"""Attributes holding a URL or a target: their query string is cut off."""
DROPPED_ATTRIBUTES = frozenset({"url.query", "net.peer.ip", "net.peer.port",
                                "client.address", "client.port", "http.client_ip",
                                "net.sock.peer.addr", "net.sock.peer.port",
                                "db.statement.parameters"})
"""Attributes never exported: a query string, the client's address, SQL parameters."""


class TraceSettings(BaseSettings):
    """OpenTelemetry's own environment variables (``OTEL_``), the ones that decide whether
    tracing is on; the exporter reads the rest itself (headers, timeouts, compression)."""

    model_config = SettingsConfigDict(env_prefix="OTEL_", env_file=".env", extra="ignore")

    exporter_otlp_endpoint: str | None = Field(
        default=None, description="The collector's base URL; spans go to <it>/v1/traces.")
    exporter_otlp_traces_endpoint: str | None = Field(
        default=None, description="The full URL spans are posted to (wins over the above).")
    sdk_disabled: bool = Field(default=False, description="true: no tracing whatever the "
                                                          "endpoint.")
    service_name: str | None = Field(default=None, description="The service's name in the "
                                     "traces (default mhi-api, mhi-worker).")

    @property
    def enabled(self) -> bool:
        """Whether spans are exported (an endpoint is set and the SDK is not disabled)."""
        return not self.sdk_disabled and bool(self.exporter_otlp_endpoint
                                              or self.exporter_otlp_traces_endpoint)


STATEMENT_ATTRIBUTES = frozenset({"db.statement", "db.query.text"})
"""Attributes that repeat (the code's SQL): their redaction is remembered."""


@functools.lru_cache(maxsize=2048)
def _redacted_statement(statement: str) -> str:
    return redact(statement)


def _clean(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in STATEMENT_ATTRIBUTES:
            return _redacted_statement(value)
        if key in URL_ATTRIBUTES:
            value = value.partition("?")[0]
        return redact(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return tuple(redact(item) if isinstance(item, str) else item for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        return value if redact(text) == text else redact(text)
    return value


def clean_attributes(attributes: Attributes) -> dict[str, Any]:
    """``attributes`` as they may leave the process (see the module)."""
    return {key: _clean(key, value) for key, value in (attributes or {}).items()
            if key not in DROPPED_ATTRIBUTES}


def clean_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` with its name, attributes, events and status redacted."""
    status = span.status
    if status.description:
        status = Status(status.status_code, redact(status.description))
    return ReadableSpan(
        name=redact(span.name), context=span.context, parent=span.parent,
        resource=span.resource, attributes=clean_attributes(span.attributes),
        events=[Event(event.name, clean_attributes(event.attributes), event.timestamp)
                for event in span.events],
        links=[Link(link.context, clean_attributes(link.attributes)) for link in span.links],
        kind=span.kind, status=status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope)


class RedactingExporter(SpanExporter):
    """Exports through ``inner`` what ``clean_span`` leaves of each span."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """The spans, cleaned, to the inner exporter."""
        return self.inner.export([clean_span(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the inner exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        return self.inner.force_flush(timeout_millis)


class SafeIds(RandomIdGenerator):
    """Random trace and span ids that redaction leaves as they are: one in a hundred random
    hex ids holds a run of digits that reads as an IIN or a phone, and would be masked in
    the log lines that carry it (a caller's ``traceparent`` may still bring such an id: its
    log lines show it masked)."""

    def generate_span_id(self) -> int:
        """A span id whose hex form redaction leaves alone."""
        while True:
            candidate = super().generate_span_id()
            if _untouched(format(candidate, "016x")):
                return candidate

    def generate_trace_id(self) -> int:
        """A trace id whose hex form redaction leaves alone."""
        while True:
            candidate = super().generate_trace_id()
            if _untouched(format(candidate, "032x")):
                return candidate


def _untouched(text: str) -> bool:
    return redact(text) == text


class OwnRoots(Sampler):
    """Samples a trace only when its root span's name starts with one of ``prefixes``: the
    worker's polling statements (every half second per loop, finding nothing mostly) would
    otherwise each be a trace; under a batch's span they are kept (``ParentBased``)."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None,
                      trace_state: Any = None) -> SamplingResult:
        """Record and sample our own roots, drop the others."""
        if name.startswith(self.prefixes):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        """For the SDK's logs."""
        return f"OwnRoots{self.prefixes}"


@dataclass
class Tracing:
    """Tracing as ``start_tracing`` installed it; ``shutdown`` flushes and uninstalls."""

    provider: TracerProvider
    _instrumentors: list[Any] = field(default_factory=list)

    def tracer(self, name: str) -> trace.Tracer:
        """A tracer of this provider."""
        return self.provider.get_tracer(name)

    def instrument_app(self, app: Any) -> None:
        """OpenTelemetry's ASGI middleware, outermost on ``app`` (a Starlette app that has
        not started): a server span per HTTP request, the caller's ``traceparent`` its
        parent."""
        app.add_middleware(OpenTelemetryMiddleware, tracer_provider=self.provider,
                           exclude_spans=["receive", "send"])

    def shutdown(self) -> None:
        """Export what is pending, stop exporting, take the instrumentation out."""
        for instrumentor in self._instrumentors:
            instrumentor.uninstrument()
        self.provider.shutdown()


def start_tracing(service: str, settings: TraceSettings | None = None, *,
                  exporter: SpanExporter | None = None, batch: bool = True,
                  sampler: Sampler | None = None) -> Tracing | None:
    """Tracing for the process ``service`` (``mhi-api``, ``mhi-worker``) when ``settings``
    (default: the environment) turn it on, else ``None``.  ``exporter`` replaces the OTLP
    exporter (tests: an in-memory one; it is used whatever the settings); ``batch=False``
    exports each span as it ends; ``sampler`` (default: as ``OTEL_TRACES_SAMPLER`` says, else
    follow the caller's decision and sample every root)."""
    settings = settings or TraceSettings()
    if exporter is None:
        if not settings.enabled:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.exporter_otlp_traces_endpoint or (
            f"{str(settings.exporter_otlp_endpoint).rstrip('/')}/v1/traces")
        exporter = OTLPSpanExporter(endpoint=endpoint)  # headers, timeout: OTEL_EXPORTER_OTLP_*
    # OTEL_RESOURCE_ATTRIBUTES are added by Resource.create
    resource = Resource.create({SERVICE_NAME: settings.service_name or service})
    # sampler None: OTEL_TRACES_SAMPLER (and _ARG) decide, default parentbased_always_on
    provider = TracerProvider(resource=resource, sampler=sampler, id_generator=SafeIds())
    cleaned = RedactingExporter(exporter)
    provider.add_span_processor(BatchSpanProcessor(cleaned) if batch
                                else SimpleSpanProcessor(cleaned))
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    tracing = Tracing(provider)
    instrumentors: list[Any] = [AsyncPGInstrumentor(),  # type: ignore[no-untyped-call]
                                HTTPXClientInstrumentor(), RequestsInstrumentor()]
    for instrumentor in instrumentors:
        if instrumentor.is_instrumented_by_opentelemetry:  # another Tracing still has it
            instrumentor.uninstrument()
        instrumentor.instrument(tracer_provider=provider)
        tracing._instrumentors.append(instrumentor)
    log.info("tracing on: %s exports spans over OTLP/HTTP", service)
    return tracing
