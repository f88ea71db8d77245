"""The fast path's answers skip Strawberry's HTTP view (``GraphQLApp._skip_view``): the client
cannot tell.  Every manifest operation, for the demo's cast and a few demo people, is sent
through the view and without it (the fast path on both times): the same status, headers and
body byte for byte (the request id and the date aside).  Requests the shortcut leaves to the
view (refusals, batches, other content types, GET, mutations, an operation the fast path
declines) answer the same too, and the request's metrics are those of the view's answer.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.api.graphql_app import MAX_JSON_DEPTH, GraphQLApp
from backend.demo.cast import CAST
from backend.gql.limits import Limits
from backend.settings import AppSettings
from tests.api.conftest import TODAY, new_ip
from tests.api.test_fastpath_equality import (
    MANIFEST,
    QUERIES,
    TEXTS,
    Both,
    cast_and_outsiders,
    demo_country,
    route_of,
    screens,
)

SAMPLE = int(os.environ.get("MHI_VIEW_BYPASS_SAMPLE", "6"))
"""Demo people besides the cast (the fast path's own oracle covers the many)."""
HOME = {"query": TEXTS["HomeScreen"], "operationName": "HomeScreen"}
BY_HASH = {"extensions": {"persistedQuery": {"version": 1,
                                             "sha256Hash": MANIFEST["HomeScreen"]["sha256"]}}}


def _without_view(route: GraphQLApp) -> Any:
    def switch(on: bool) -> None:
        route.skip_view = on
    return switch


@pytest.fixture
async def country(engine: AsyncEngine) -> AsyncIterator[list[uuid.UUID]]:
    """A demo country of the cast and ``SAMPLE`` more people; the sample's ids."""
    async with demo_country(engine, people=SAMPLE, seed=11) as people:
        yield people


async def test_every_operation_answers_the_same_bytes_with_and_without_the_view(
    app: FastAPI, client: httpx.AsyncClient, auth_service: AuthService,
    country: list[uuid.UUID],
) -> None:
    route = route_of(app)
    both = Both(client, route, switch=_without_view(route))
    stranger = await cast_and_outsiders(both, auth_service)
    skipped = route.answered_without_view
    for person in country:
        await screens(both, auth_service.mint(str(person), Audience.MOBILE), stranger)
    # The comparison meant something: every query screen was answered without the view.
    assert set(both.answered_fast) == QUERIES, QUERIES - set(both.answered_fast)
    assert route.answered_without_view - skipped >= 20 * len(country)


def _sent(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """What a client reads, less what differs on every request (the id, the date)."""
    request_id = response.headers["x-request-id"].encode()
    headers = sorted((key, value) for key, value in response.headers.items()
                     if key not in {"x-request-id", "date"})
    return response.status_code, headers, response.content.replace(request_id, b"")


REQUESTS: dict[str, tuple[dict[str, str], bytes]] = {
    "not JSON": ({}, b'{"query": '),
    "not UTF-8": ({}, b'{"query": "{ helpVersion }", "operationName": "\xff\xfe"}'),
    "null": ({}, b"null"),
    "a number": ({}, b"123"),
    "too deep": ({}, ('{"query": "{ helpVersion }", "variables": {"x": '
                      + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}}").encode()),
    "5,000 deep": ({}, ('{"variables": {"x": ' + "[" * 5000 + "]" * 5000 + "}}").encode()),
    "no query": ({}, b"{}"),
    "only variables": ({}, b'{"variables": {}}'),
    "query not a string": ({}, b'{"query": 5}'),
    "variables not an object": ({}, json.dumps({**HOME, "variables": [1]}).encode()),
    "extensions not an object": ({}, json.dumps({**HOME, "extensions": "x"}).encode()),
    "operation name not a string": ({}, json.dumps({**HOME, "operationName": 5}).encode()),
    "a batch": ({}, json.dumps([HOME, HOME]).encode()),
    "an empty batch": ({}, b"[]"),
    "unknown hash": ({}, json.dumps({"extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": "0" * 64}}}).encode()),
    "another operation's name": ({}, json.dumps({**HOME, "operationName": "Receipts"}).encode()),
    "a variable not declared": ({}, json.dumps({**BY_HASH, "variables": {
        "unexpected": 1}}).encode()),
    "variables that do not coerce": ({}, json.dumps({"extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": MANIFEST["Receipts"]["sha256"]}},
        "variables": {"first": "five"}}).encode()),
    "a query not in the manifest": ({}, b'{"query": "{ helpVersion }"}'),
    "a mutation": ({}, b'{"query": "mutation { signOut { ok } }"}'),
    "the home screen by text": ({}, json.dumps(HOME).encode()),
    "the home screen by hash": ({}, json.dumps(BY_HASH).encode()),
    "charset=utf-8": ({"content-type": "application/json; charset=utf-8"},
                      json.dumps(BY_HASH).encode()),
    "upper case type": ({"content-type": "Application/JSON"}, json.dumps(BY_HASH).encode()),
    "text/plain": ({"content-type": "text/plain"}, json.dumps(BY_HASH).encode()),
    "no content type": ({"content-type": ""}, json.dumps(BY_HASH).encode()),
    "a JSON-like type": ({"content-type": "application/json-seq"},
                         json.dumps(BY_HASH).encode()),
    "a form": ({"content-type": "multipart/form-data; boundary=x"}, b"--x--\r\n"),
    "a stream asked for": ({"accept": "text/event-stream"}, json.dumps(BY_HASH).encode()),
    "multipart asked for": ({"accept": "multipart/mixed"}, json.dumps(BY_HASH).encode()),
    "in Russian": ({"accept-language": "ru"}, b'{"query": '),
}


async def test_what_the_shortcut_leaves_or_refuses_answers_as_the_view_does(
    app: FastAPI, client: httpx.AsyncClient, auth_service: AuthService,
    country: list[uuid.UUID],
) -> None:
    route = route_of(app)
    skipped: list[str] = []
    for token in (None, auth_service.mint(str(CAST[0].id), Audience.MOBILE)):
        for case, (extra, body) in REQUESTS.items():
            headers = {"content-type": "application/json", **extra}
            if token is not None:
                headers["authorization"] = f"Bearer {token}"
            answers = []
            for skip in (False, True):
                route.skip_view = skip
                before = route.answered_without_view
                answers.append(_sent(await client.post("/graphql", content=body,
                                                        headers=headers)))
                if route.answered_without_view > before:
                    skipped.append(case)
            route.skip_view = True
            assert answers[0] == answers[1], (case, token is not None, answers)
            assert answers[0][0] < 500, (case, answers[0])
    # Only the citizen's home screen went without the view: by text, by hash, with the
    # other spelling of JSON, with a variable it does not declare (ignored both ways), and
    # asking for a stream or multipart (no such transport is served: JSON both ways).
    assert skipped == ["a variable not declared", "the home screen by text",
                       "the home screen by hash", "charset=utf-8", "a stream asked for",
                       "multipart asked for"], skipped


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_answer_without_the_view_is_measured_as_one_through_it(
    app: FastAPI, client: httpx.AsyncClient, auth_service: AuthService,
    country: list[uuid.UUID],
) -> None:
    route = route_of(app)
    token = auth_service.mint(str(CAST[0].id), Audience.MOBILE)
    labels = {"operation": "HomeScreen", "audience": "citizen"}
    counts = []
    for skip in (False, True):
        route.skip_view = skip
        timed = _value("mhi_graphql_request_duration_seconds_count", **labels)
        costs = _value("mhi_graphql_query_cost_count", audience="citizen")
        answers = _value("mhi_http_requests_total", route="/graphql", status="200")
        skipped = route.answered_without_view
        response = await client.post("/graphql", json=BY_HASH,
                                     headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json()["extensions"]["requestId"] == response.headers["x-request-id"]
        assert route.answered_without_view == skipped + skip
        counts.append((_value("mhi_graphql_request_duration_seconds_count", **labels) - timed,
                       _value("mhi_graphql_query_cost_count", audience="citizen") - costs,
                       _value("mhi_http_requests_total", route="/graphql", status="200")
                       - answers))
    assert counts == [(1, 1, 1), (1, 1, 1)]


async def test_an_operation_out_of_time_answers_the_same_without_the_view(
    engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService,
    country: list[uuid.UUID],
) -> None:
    """No time at all for queries (``tests/api/test_cost.py``): the fast path's attempt is
    cut off, and answered ``TIMEOUT`` as the view answers it."""
    app = create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                     today=lambda: TODAY, limits=Limits(query_seconds=0))
    route = route_of(app)
    token = auth_service.mint(str(country[0]), Audience.MOBILE)
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        answers = []
        for skip in (False, True):
            route.skip_view = skip
            skipped = route.answered_without_view
            answers.append(_sent(await client.post(
                "/graphql", json=BY_HASH, headers={"authorization": f"Bearer {token}"})))
            assert route.answered_without_view == skipped + skip
    assert answers[0] == answers[1]
    assert b'"code":"TIMEOUT"' in answers[0][2]
