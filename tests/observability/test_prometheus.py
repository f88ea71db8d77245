"""A real Prometheus scrapes a running API and worker, and the series come back through its
HTTP API: request latency by operation and audience, answers by error code, the queue's lag,
and pushes delivered through firebase-admin to fcm-local.

Everything runs as in production, on 127.0.0.1: ``mhi serve`` and ``mhi worker`` as
processes on the suite's database with ``METRICS_PORT`` set, Debian's ``prometheus`` with
``infra/prometheus/alerts.yml`` loaded and a 1 s scrape, fcm-local in the test's loop.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.access.directory import PeopleDirectory
from backend.db.reads import Reads
from tests.conftest import AUTH_ROOT_SECRET
from tests.factories import create_insured_employee
from tests.notifications.dispatch_helpers import add_device, add_event, pushes, received
from tests.observability.conftest import (
    MHI,
    FcmLocalServer,
    PrometheusApi,
    free_port,
    prometheus_binary,
    prometheus_config,
    running,
    service_env,
)

HOME_SCREEN = (Path(__file__).resolve().parents[2] / "mobile_contract" / "operations"
               / "HomeScreen.graphql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Stack:
    """The running processes' addresses."""

    api: str
    api_metrics: str
    worker_metrics: str
    prometheus: PrometheusApi


@pytest.fixture
async def stack(engine: AsyncEngine, committed: AsyncSession, fcm_local: FcmLocalServer,
                tmp_path: Path) -> AsyncIterator[Stack]:
    """``mhi serve``, ``mhi worker`` and ``prometheus`` scraping both (data emptied after
    by ``committed``)."""
    url = engine.url.render_as_string(hide_password=False)
    api_port, api_metrics, worker_metrics, prom_port = (free_port() for _ in range(4))
    api_env = service_env(url, tmp_path, APP_PORT=str(api_port), METRICS_PORT=str(api_metrics))
    worker_env = service_env(url, tmp_path, METRICS_PORT=str(worker_metrics),
                             NOTIFY_FCM_LOCAL_URL=fcm_local.url,
                             NOTIFY_IDLE_POLL_SECONDS="0.1", NOTIFY_DIGEST_WINDOW_SECONDS="0")
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(api_metrics, worker_metrics), encoding="utf-8")
    prometheus = [prometheus_binary(), f"--config.file={config}",
                  f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                  f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"]
    async with (
        running("mhi serve", [str(MHI), "serve"], api_env, tmp_path / "api.log",
                f"http://127.0.0.1:{api_port}/readyz"),
        running("mhi worker", [str(MHI), "worker", "--every", "3600"], worker_env,
                tmp_path / "worker.log", f"http://127.0.0.1:{worker_metrics}/metrics"),
        running("prometheus", prometheus, {}, tmp_path / "prometheus.log",
                f"http://127.0.0.1:{prom_port}/-/ready"),
    ):
        yield Stack(api=f"http://127.0.0.1:{api_port}",
                    api_metrics=f"http://127.0.0.1:{api_metrics}",
                    worker_metrics=f"http://127.0.0.1:{worker_metrics}",
                    prometheus=PrometheusApi(f"http://127.0.0.1:{prom_port}"))


async def citizen_token(engine: AsyncEngine, person: uuid.UUID) -> str:
    """An access token for ``person``, signed with the keys the API process loads."""
    settings = AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode()))
    auth = await AuthService.open(engine, settings, directory=PeopleDirectory(Reads(engine)))
    return auth.mint(str(person), Audience.MOBILE)


async def test_prometheus_reads_back_latency_errors_queue_and_deliveries(
        stack: Stack, engine: AsyncEngine, committed: AsyncSession,
        fcm_local: FcmLocalServer) -> None:
    person = await create_insured_employee(committed)
    await committed.commit()
    token = await citizen_token(engine, person.id)
    phone = await add_device(engine, person.id, language="en")
    # An event no worker knows (a newer release's kind, during a rolling deploy) waits:
    # the outbox lag grows from the moment it is written.
    await add_event(engine, person.id, "future.kind", {"x": 1})
    await add_event(engine, person.id, "contribution.received", received(101))

    async with httpx.AsyncClient(base_url=stack.api, timeout=30.0) as api:
        for _ in range(5):
            answer = await api.post("/graphql", json={"query": HOME_SCREEN},
                                    headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        refused = await api.post("/graphql", json={"query": HOME_SCREEN})  # no token
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        stranger = await api.post("/graphql", json={"query": "query Made_Up_1 { __typename }"})
        assert stranger.status_code == 200
        # /metrics is not on the public port, and the metrics port serves nothing else
        assert (await api.get("/metrics")).status_code == 404
    async with httpx.AsyncClient(timeout=10.0) as http:
        scraped = (await http.get(f"{stack.api_metrics}/metrics")).text
    assert "mhi_graphql_request_duration_seconds_bucket" in scraped
    assert "Made_Up_1" not in scraped  # an operation nobody knows is "other"

    prom = stack.prometheus
    # Latency per operation and audience
    latency = await prom.wait_for(
        'sum by (operation, audience) (mhi_graphql_request_duration_seconds_count'
        '{job="mhi-api",operation="HomeScreen"})')
    counts = {(item["metric"]["operation"], item["metric"]["audience"]): float(item["value"][1])
              for item in latency}
    assert counts[("HomeScreen", "citizen")] == 5
    assert counts[("HomeScreen", "anonymous")] == 1
    seconds = await prom.values('mhi_graphql_request_duration_seconds_sum'
                                '{operation="HomeScreen",audience="citizen"}')
    assert 0 < sum(seconds.values()) < 30
    others = await prom.values('mhi_graphql_request_duration_seconds_count{operation="other"}')
    assert sum(others.values()) >= 1
    # Answers by error code, HTTP answers by route and status, body sizes, cost
    errors = await prom.values('mhi_graphql_errors_total{operation="HomeScreen"}')
    assert {dict(labels)["code"]: value for labels, value in errors.items()} == {
        "UNAUTHENTICATED": 1}
    answers = await prom.values('sum by (status) (mhi_http_requests_total{route="/graphql"})')
    assert answers[(("status", "200"),)] == 7
    sizes = await prom.values('mhi_graphql_response_size_bytes_sum{operation="HomeScreen"}')
    assert sum(sizes.values()) > 5 * 200
    cost = await prom.values('mhi_graphql_query_cost_count{audience="citizen"}')
    assert sum(cost.values()) == 5

    # The push went through firebase-admin to fcm-local, and the worker says so
    await prom.wait_for('mhi_notify_push_deliveries_total{outcome="sent"} >= 1')
    # (the worker's status jobs may add a warning of their own for this person today)
    kinds = [push["data"]["type"] for push in pushes(fcm_local.state, phone.token)]
    assert "contribution.received" in kinds, "fcm-local received no push"
    fcm = await prom.values('mhi_notify_fcm_messages_total{result="success"}')
    assert sum(fcm.values()) >= 1
    calls = await prom.values('mhi_notify_fcm_send_duration_seconds_count')
    assert sum(calls.values()) >= 1
    expanded = await prom.values('mhi_notify_events_expanded_total')
    assert sum(expanded.values()) >= 1

    # The queue: the unknown event waits, and its age grows
    waiting = await prom.wait_for('mhi_notify_outbox_waiting{job="mhi-worker"} >= 1')
    assert float(waiting[0]["value"][1]) == 1
    first = await prom.values('mhi_notify_outbox_lag_seconds')
    await asyncio.sleep(2.5)
    later = await prom.values('mhi_notify_outbox_lag_seconds')
    assert sum(later.values()) > sum(first.values()) > 0

    # Readiness, the pools, every probe answering, both targets up
    assert await prom.values('mhi_ready') == {(("instance", stack.api_metrics[7:]),
                                               ("job", "mhi-api")): 1.0}
    pools = await prom.values('mhi_db_pool_max_connections')
    assert {dict(labels)["pool"] for labels in pools} == {"api", "worker"}
    assert set(await prom.values('mhi_probe_success == 1')) == set(
        await prom.values('mhi_probe_success'))
    assert set((await prom.values('up')).values()) == {1.0}

    # The alert rules run on real series without errors, and none fires on a healthy stack
    # except the outbox lag's, which is still pending (it needs 10 minutes)
    rules = await prom.rules()
    assert len(rules) == 11
    assert {rule["name"]: rule["health"] for rule in rules} == {
        rule["name"]: "ok" for rule in rules}
    assert {rule["name"] for rule in rules if rule["state"] == "firing"} == set()
