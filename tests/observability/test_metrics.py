"""What the metrics say about requests, ingestion and the queues, read from the process's
registry as the metrics server would serve it; and that no label carries what a client sent
(an operation name of its own, a path with an IIN in it)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import generate_latest
from prometheus_client.registry import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.observability.metrics import error_code, fcm_result, operation_label
from tests.factories import create_person
from tests.notifications.dispatch_helpers import add_device, add_event, received, set_quiet
from tests.observability.conftest import Metered, sample, scrape

HOME_SCREEN_ANONYMOUS = "query HomeScreen { me { id } }"
IIN_LIKE = "870412300415"
ALMATY = ZoneInfo("Asia/Almaty")


def value(name: str, **labels: str) -> float:
    """A sample's value now (0 when absent), read from the registry."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _chunks(*lines: bytes) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


async def test_graphql_answers_are_timed_by_operation_and_audience_and_counted_by_code(
        metered: Metered) -> None:
    before = value("mhi_graphql_request_duration_seconds_count", operation="HomeScreen",
                   audience="anonymous")
    errors = value("mhi_graphql_errors_total", operation="HomeScreen", code="UNAUTHENTICATED")
    others = value("mhi_graphql_request_duration_seconds_count", operation="other",
                   audience="anonymous")
    answer = await metered.http.post("/graphql", json={"query": HOME_SCREEN_ANONYMOUS})
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    made_up = f"query Person_{IIN_LIKE} {{ __typename }}"
    assert (await metered.http.post("/graphql", json={"query": made_up})).status_code == 200

    assert value("mhi_graphql_request_duration_seconds_count", operation="HomeScreen",
                 audience="anonymous") == before + 1
    assert value("mhi_graphql_errors_total", operation="HomeScreen",
                 code="UNAUTHENTICATED") == errors + 1
    assert value("mhi_graphql_request_duration_seconds_count", operation="other",
                 audience="anonymous") == others + 1
    assert value("mhi_graphql_query_cost_count", audience="anonymous") > 0
    assert value("mhi_graphql_response_size_bytes_sum", operation="HomeScreen") > 0


async def test_http_answers_are_counted_by_route_template_never_by_path(
        metered: Metered) -> None:
    unreadable = value("mhi_http_requests_total", route="/graphql", status="400")
    unknown = value("mhi_http_requests_total", route="other", status="404")
    ready = value("mhi_http_requests_total", route="/readyz", status="200")
    answer = await metered.http.post("/graphql", content=b"\xff\xfe",
                                     headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert (await metered.http.get(f"/people/{IIN_LIKE}")).status_code == 404
    assert (await metered.http.get("/readyz")).status_code == 200

    assert value("mhi_http_requests_total", route="/graphql", status="400") == unreadable + 1
    assert value("mhi_http_requests_total", route="other", status="404") == unknown + 1
    assert value("mhi_http_requests_total", route="/readyz", status="200") == ready + 1
    exposed = generate_latest(REGISTRY).decode()
    assert IIN_LIKE not in exposed
    assert not re.search(r'="[^"]*\d{10,}[^"]*"', exposed), "a long number in a label value"


async def test_ingestion_counts_records_refusals_and_batches(
        metered: Metered, committed: AsyncSession) -> None:
    ingestion = metered.app.state.runtime.ingestion
    labels = {"kind": "contributions"}
    rejected = value("mhi_ingest_records_total", **labels, result="rejected")
    malformed = value("mhi_ingest_refusals_total", **labels, code="MALFORMED_RECORD")
    batches = value("mhi_ingest_batch_duration_seconds_count", **labels, door="bulk")
    result = await ingestion.stream(ingestion.contributions, f"test-{uuid.uuid4()}",
                                    _chunks(b"not json\n", b'{"recordId": 5}\n'))
    assert result.rejected == 2

    assert value("mhi_ingest_records_total", **labels, result="rejected") == rejected + 2
    by_code = {code: value("mhi_ingest_refusals_total", **labels, code=code)
               for code in result.rejected_by_code}
    assert sum(by_code.values()) >= 2 and by_code.get("MALFORMED_RECORD", 0) > malformed
    assert value("mhi_ingest_batch_duration_seconds_count", **labels, door="bulk") == batches + 1


async def test_scrape_time_probes_read_the_database_and_the_pools(
        metered: Metered, engine: AsyncEngine, committed: AsyncSession) -> None:
    families = await scrape()
    assert sample(families, "mhi_ready") == 1.0
    assert sample(families, "mhi_notify_outbox_waiting") == 0.0
    assert sample(families, "mhi_notify_outbox_lag_seconds") == 0.0
    for pool in ("api", "worker"):
        assert sample(families, "mhi_db_pool_max_connections", pool=pool) == 10.0
        assert sample(families, "mhi_db_pool_waiting", pool=pool) == 0.0

    await add_event(engine, uuid.uuid4(), "future.kind", {"x": 1})  # no worker knows it
    families = await scrape()
    assert sample(families, "mhi_notify_outbox_waiting") == 1.0
    assert (sample(families, "mhi_notify_outbox_lag_seconds") or 0.0) >= 0.0
    assert sample(families, "mhi_status_refresh_behind_seconds") is not None
    for probe in ("ready", "notify_queues", "status_refresh"):
        assert sample(families, "mhi_probe_success", probe=probe) == 1.0


def test_label_values_are_bounded() -> None:
    assert operation_label("HomeScreen") == "HomeScreen"
    assert operation_label("Eligibility") == "Eligibility"  # an integrator's example
    assert operation_label(f"Person_{IIN_LIKE}") == "other"
    assert operation_label(None) == "other"
    assert error_code("RATE_LIMITED") == "RATE_LIMITED"
    assert error_code("SOMETHING_NEW") == "OTHER"
    assert fcm_result(None) == "success"
    assert fcm_result("NO_ANSWER (ReadTimeout)") == "NO_ANSWER"
    assert fcm_result("UNAVAILABLE") == "UNAVAILABLE"
    assert fcm_result(f"BROKEN {IIN_LIKE}") == "OTHER"


async def test_the_queue_gauges_tell_due_pushes_from_those_held_by_quiet_hours(
        metered: Metered, engine: AsyncEngine, committed: AsyncSession) -> None:
    awake, asleep = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(ALMATY)
    await set_quiet(engine, asleep, (now - timedelta(hours=1)).time(),
                    (now + timedelta(hours=1)).time())
    for person in (awake, asleep):
        await add_device(engine, person)
        await add_event(engine, person, "contribution.received", received(101))
    families = await scrape()
    assert sample(families, "mhi_notify_outbox_waiting") == 2.0

    expanded = await metered.dispatcher.expand_once()  # written, not sent
    assert expanded.deliveries == 2
    families = await scrape()
    assert sample(families, "mhi_notify_outbox_waiting") == 0.0
    assert sample(families, "mhi_notify_deliveries_due") == 1.0  # the awake person's
    assert sample(families, "mhi_notify_quiet_hours_held") == 1.0  # the sleeping one's
    assert 0.0 <= (sample(families, "mhi_notify_delivery_lag_seconds") or -1.0) < 60.0
    assert sample(families, "mhi_notify_events_expanded_total") is not None


async def test_the_status_refresh_is_behind_since_the_oldest_due_status_came_due(
        metered: Metered, committed: AsyncSession) -> None:
    person = await create_person(committed)
    today = datetime.now(ALMATY).date()
    await committed.execute(text(
        "INSERT INTO core.person_status (person_id, status, reason_code, as_of, stable_until)"
        " VALUES (:person, 'INSURED', 'EMPLOYEE_CONTRIBUTIONS', :as_of, :due)"),
        {"person": person.id, "as_of": today - timedelta(days=30),
         "due": today - timedelta(days=2)})
    await committed.commit()
    families = await scrape()
    assert sample(families, "mhi_status_refresh_due_people") == 1.0
    behind = sample(families, "mhi_status_refresh_behind_seconds") or 0.0
    assert 2 * 86_400 <= behind < 3 * 86_400 + 60
