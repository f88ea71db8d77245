"""Every metric the service exports, in one place (``docs/operations.md`` explains each).

Names start with ``mhi_``; units are in the name (``_seconds``, ``_bytes``); counters end in
``_total``.  They live in prometheus-client's default registry, with its process and Python
collectors (``process_cpu_seconds_total``, ``process_resident_memory_bytes``, ...).

**Labels are bounded.**  A label value never comes from what a client sent as it is: a
GraphQL operation is named only when it is one of the app's or the integrators' known
operations (``known_operations``), else ``other``; an error code only when it is in the
catalogue (``backend.error_codes``), else ``OTHER``; a route only when it is one of the app's
(``backend.observability.http.route_of``), else ``other``; an ingestion refusal only by a
code of ``backend.ingest.codes``.  No IIN, phone, token, person or device id is ever a label.

Most metrics are updated where the thing happens (a request, a batch); the ones read from
the database (the outbox lag, the status refresh) and from the connection pool are computed
when Prometheus scrapes (``backend.observability.probes``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from time import perf_counter
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram, Info

from backend.error_codes import CATALOGUE
from backend.ingest.codes import REJECTIONS

ROOT = Path(__file__).resolve().parents[2]
OTHER = "other"
AUDIENCES = ("citizen", "staff", "integrator", "anonymous")

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BYTES = (256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
_COST = (1, 10, 50, 100, 250, 500, 1000, 1500, 2500, 5000, 10000, 20000, 25000)
_CALL = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# --- the API: HTTP ----------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "mhi_http_requests", "HTTP answers by route and status code (every route, /graphql too).",
    ["route", "status"])
HTTP_DURATION = Histogram(
    "mhi_http_request_duration_seconds",
    "From the first byte of a request to the last of its answer, by route.",
    ["route"], buckets=_LATENCY)

# --- the API: GraphQL -------------------------------------------------------------------------

GRAPHQL_DURATION = Histogram(
    "mhi_graphql_request_duration_seconds",
    "POST/GET /graphql from the first byte to the last, by operation (a known operation's "
    "name, else 'other') and audience (citizen, staff, integrator, anonymous).",
    ["operation", "audience"], buckets=_LATENCY)
GRAPHQL_ERRORS = Counter(
    "mhi_graphql_errors",
    "Errors in GraphQL answers by operation and extensions.code (one per error).",
    ["operation", "code"])
GRAPHQL_REQUEST_BYTES = Histogram(
    "mhi_graphql_request_size_bytes", "Bodies of /graphql requests, by audience.",
    ["audience"], buckets=_BYTES)
GRAPHQL_RESPONSE_BYTES = Histogram(
    "mhi_graphql_response_size_bytes", "Bodies of /graphql answers, by operation.",
    ["operation"], buckets=_BYTES)
GRAPHQL_COST = Histogram(
    "mhi_graphql_query_cost", "The estimated cost of each operation (backend.gql.cost), as "
                              "extensions.cost.requested says, by audience.",
    ["audience"], buckets=_COST)

# --- ingestion --------------------------------------------------------------------------------

INGEST_RECORDS = Counter(
    "mhi_ingest_records", "Records of integrators' batches by kind and result (accepted: "
                          "stored; duplicate: sent before, changed nothing; rejected).",
    ["kind", "result"])
INGEST_REFUSALS = Counter(
    "mhi_ingest_refusals", "Rejected records by kind and refusal code (backend.ingest.codes).",
    ["kind", "code"])
INGEST_BATCH_DURATION = Histogram(
    "mhi_ingest_batch_duration_seconds",
    "One batch through the pipeline (COPY, check, store, statuses, events: one transaction), "
    "by kind and door (graphql: a mutation; bulk: an NDJSON file).",
    ["kind", "door"], buckets=_BATCH)
INGEST_BATCH_FAILURES = Counter(
    "mhi_ingest_batch_failures", "Batches that stored nothing because of a fault (not a "
                                 "refusal: the whole transaction rolled back), by kind.",
    ["kind"])

# --- the API: reads from a replica (backend.db.replica) ---------------------------------------

REPLICA_ROUTES = Counter(
    "mhi_replica_route", "Where a request's reads went when a replica is configured: target "
    "(replica, primary) and reason (fresh; replayed: the reader's own write had been "
    "replayed; waited: after waiting for it; own_write: not replayed in time; lagging; down; "
    "failed: the replica failed mid-request; pinned: a mutation).", ["target", "reason"])
REPLICA_WAIT = Histogram(
    "mhi_replica_wait_seconds", "How long a read after the reader's own write waited for "
    "the replica to replay it (whether it then went to the replica or the primary).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0))
REPLICA_LAG_SECONDS = Gauge(
    "mhi_replica_lag_seconds", "How long ago the primary had written what the replica has "
    "not replayed yet (0: caught up), measured by this process's monitor.")
REPLICA_LAG_BYTES = Gauge(
    "mhi_replica_lag_bytes", "WAL the primary has flushed that the replica has not replayed.")
REPLICA_REPLAY_AGE = Gauge(
    "mhi_replica_last_replay_age_seconds", "Since the last transaction the replica replayed "
    "committed (pg_last_xact_replay_timestamp; grows on a quiet primary too).")
REPLICA_USABLE = Gauge(
    "mhi_replica_usable", "1 when reads may go to the replica (it answers and is within "
    "APP_REPLICA_MAX_LAG_SECONDS), else 0.")

# --- the worker -------------------------------------------------------------------------------

FCM_SEND_DURATION = Histogram(
    "mhi_notify_fcm_send_duration_seconds",
    "One firebase-admin send_each_async call (a batch of up to NOTIFY_SEND_BATCH messages, "
    "sent concurrently).", buckets=_CALL)
FCM_MESSAGES = Counter(
    "mhi_notify_fcm_messages", "FCM's answer per message: 'success' or FCM's error code "
                               "(UNAVAILABLE, UNREGISTERED, ...; OTHER when unknown).",
    ["result"])
SMS_SEND_DURATION = Histogram(
    "mhi_notify_sms_send_duration_seconds", "One call to the SMS operator to send a text.",
    buckets=_CALL)
SMS_CALLS = Counter(
    "mhi_notify_sms_calls", "The SMS operator's answer per text: sent, retry, fail, unknown.",
    ["verdict"])

# --- the service ------------------------------------------------------------------------------

BUILD = Info("mhi_build", "The running version of the service.")

FCM_RESULTS = frozenset({
    "UNREGISTERED", "SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR", "INVALID_ARGUMENT",
    "INVALID_TOKEN", "QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED", "NETWORK", "UNKNOWN", "UNAUTHENTICATED", "PERMISSION_DENIED",
    "NO_ANSWER", "BATCH_FAILED", "CREDENTIAL_REFRESH", "NOT_FOUND"})
_LEADING_CODE = re.compile(r"[A-Z_]+")
_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)",
                             re.MULTILINE)
_CODES = frozenset(CATALOGUE)
REFUSAL_CODES = frozenset(REJECTIONS)


def fcm_result(error: str | None) -> str:
    """The bounded label of one FCM answer: ``success``, a known code, or ``OTHER``
    (``Outcome.error`` may carry a detail after the code: ``NO_ANSWER (ReadTimeout)``)."""
    if error is None:
        return "success"
    found = _LEADING_CODE.match(error)
    code = found.group(0) if found else ""
    return code if code in FCM_RESULTS else "OTHER"


def error_code(code: object) -> str:
    """An ``extensions.code`` as a label: one of the catalogue's, else ``OTHER``."""
    return code if isinstance(code, str) and code in _CODES else "OTHER"


@cache
def known_operations() -> frozenset[str]:
    """The operations that get their own label: the app's (``mobile_contract/manifest.json``)
    and the integrators' and the registry desk's examples (``graphql/operations/``).  Any
    other name is ``other``: a client could send a new name with every request."""
    names: set[str] = set()
    manifest = ROOT / "mobile_contract" / "manifest.json"
    if manifest.exists():
        names.update(json.loads(manifest.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "graphql" / "operations").glob("*.graphql")):
        names.update(_OPERATION_NAME.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


def operation_label(name: str | None) -> str:
    """The label of a GraphQL operation name (see ``known_operations``)."""
    return name if name is not None and name in known_operations() else OTHER


def names_of(families: Iterable[str]) -> frozenset[str]:
    """Every sample name a family exports (``_total``, ``_bucket``, ``_count``, ...)."""
    suffixes = ("", "_total", "_created", "_bucket", "_count", "_sum", "_info")
    return frozenset(family + suffix for family in families for suffix in suffixes)


class _Batch(Protocol):
    """What an ingestion answer tells (``backend.ingest.pipeline.IngestResult``)."""

    @property
    def accepted(self) -> int:
        """Records stored."""

    @property
    def duplicates(self) -> int:
        """Records sent before (changed nothing)."""

    @property
    def rejected(self) -> int:
        """Records refused."""

    @property
    def rejected_by_code(self) -> Mapping[str, int]:
        """Refused records by code."""


class BatchNote:
    """Where an ingestion door puts its answer for ``ingest_batch`` to count."""

    __slots__ = ("result",)

    def __init__(self) -> None:
        self.result: _Batch | None = None


@contextmanager
def ingest_batch(kind: str, door: str) -> Iterator[BatchNote]:
    """Time one ingestion batch of ``kind`` through ``door`` (``graphql``, ``bulk``) and
    count its records by result and its refusals by code (set ``note.result``); a batch
    that raised counts as a failure (a refusal of the whole file, such as a body over the
    limit, too: nothing of it was stored)."""
    note = BatchNote()
    started = perf_counter()
    try:
        yield note
    except BaseException:
        INGEST_BATCH_FAILURES.labels(kind).inc()
        raise
    finally:
        INGEST_BATCH_DURATION.labels(kind, door).observe(perf_counter() - started)
    result = note.result
    if result is None:
        return
    INGEST_RECORDS.labels(kind, "accepted").inc(result.accepted)
    INGEST_RECORDS.labels(kind, "duplicate").inc(result.duplicates)
    INGEST_RECORDS.labels(kind, "rejected").inc(result.rejected)
    for code, count in result.rejected_by_code.items():
        INGEST_REFUSALS.labels(kind, code if code in REFUSAL_CODES else "OTHER").inc(count)
