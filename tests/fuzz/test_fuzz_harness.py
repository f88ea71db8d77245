"""The fuzz run's own parts, checked in the normal suite: a fault is caught with its
traceback, typed errors are not faults, and the generator really sends what it promises
(values in variables, lone surrogates, JSON of the wrong type, raw tokens)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz.documents import Operation, fuzz_requests
from tests.fuzz.envelopes import any_request, app_operations, persisted
from tests.fuzz.findings import EscapedErrors, Findings, ServerFault, fault_class
from tests.fuzz.request import FuzzRequest
from tests.fuzz.values import RawJson, body_bytes

REQUEST = FuzzRequest("{ me { id } }")


async def test_an_escaped_exception_is_a_500_fault_with_its_traceback() -> None:
    broken = FastAPI()

    @broken.post("/graphql")
    async def fail() -> None:
        raise RuntimeError("boom")

    escaped = EscapedErrors(broken)
    transport = httpx.ASGITransport(app=escaped, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": "{ me { id } }"})
    assert response.status_code == 500
    findings = Findings()
    with pytest.raises(ServerFault, match="RuntimeError"):
        findings.judge("anonymous", REQUEST, 500, None, escaped.tracebacks)
    [finding] = findings.seen.values()
    assert "raise RuntimeError" in finding.tracebacks[0]


def test_internal_in_a_200_answer_is_a_fault_named_by_its_path() -> None:
    findings = Findings()
    body = {"data": None, "errors": [{"message": "x", "path": ["me", "insurance"],
                                      "extensions": {"code": "INTERNAL"}}]}
    with pytest.raises(ServerFault, match=r"HTTP 200 at me\.insurance"):
        findings.judge("citizen", REQUEST, 200, body, [])


@pytest.mark.parametrize(("status", "code"), [
    (200, "BAD_USER_INPUT"), (400, "BAD_REQUEST"), (200, "FORBIDDEN"), (413, "PAYLOAD_TOO_LARGE"),
])
def test_typed_refusals_are_not_faults(status: int, code: str) -> None:
    findings = Findings()
    findings.judge("desk", REQUEST, status, {"errors": [{"extensions": {"code": code}}]}, [])
    assert findings.seen == {}


def test_each_fault_has_its_own_class_so_hypothesis_shrinks_each() -> None:
    assert fault_class("TypeError at x") is fault_class("TypeError at x")
    assert fault_class("TypeError at x") is not fault_class("KeyError at y")


def test_bodies_escape_lone_surrogates_and_keep_raw_tokens() -> None:
    body = body_bytes({"variables": {"a": "\ud800", "b": [RawJson("NaN"), RawJson("[[]]")]}})
    assert body == b'{"variables": {"a": "\\ud800", "b": [NaN, [[]]]}}'


def _variables(request: FuzzRequest) -> Any:
    try:
        return json.loads(request.body()).get("variables") if request.has_variables else None
    except (ValueError, RecursionError):  # a raw token Python will not read (5,000 digits)
        return None


def sample(operation: Operation, kind: str, count: int = 300,
           strategy: st.SearchStrategy[FuzzRequest] | None = None) -> list[FuzzRequest]:
    """``count`` requests as the fuzz run draws them (generation only, no shrinking)."""
    drawn: list[FuzzRequest] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(1)
    @given(strategy if strategy is not None else fuzz_requests(operation, kind))
    def collect(request: FuzzRequest) -> None:
        drawn.append(request)

    collect()
    return drawn


def test_the_generator_moves_arguments_into_variables_with_hostile_values() -> None:
    drawn = sample("mutation", "citizen")
    with_variables = [r for r in drawn if "$v0" in (r.query or "")]
    assert len(with_variables) > len(drawn) / 4
    assert any("\\ud8" in r.body().decode().lower() for r in with_variables)
    assert any("\\u0000" in r.body().decode() for r in with_variables)


def test_the_generator_sends_variables_of_the_wrong_json_type() -> None:
    drawn = sample("query", "anonymous")
    assert any("$v0: String" in (r.query or "") and isinstance(_variables(r), dict)
               and isinstance(_variables(r).get("v0"), int | list | dict) for r in drawn)
    assert any(r.has_variables and not isinstance(_variables(r), dict | None) for r in drawn)
    assert any(b"NaN" in r.body() or b"Infinity" in r.body() for r in drawn)


def test_app_operations_go_by_their_hash_with_their_own_variables() -> None:
    drawn = sample("query", "citizen", 100, persisted("query", ()))
    hashes = {operation.sha256 for operation in app_operations("query")}
    by_hash = [r for r in drawn if isinstance(r.extensions, dict)
               and isinstance(r.extensions.get("persistedQuery"), dict)
               and r.extensions["persistedQuery"].get("sha256Hash") in hashes]
    assert len(by_hash) > len(drawn) / 5
    assert any(r.query is None and "first" in str(r.variables) for r in by_hash)


def test_a_get_sends_text_that_is_not_utf8_as_the_bytes_python_would_write() -> None:
    request = FuzzRequest("\ud800", {"v": "\x00"}, has_variables=True, method="GET")
    assert request.url() == "/graphql?query=%ED%A0%80&variables=%7B%22v%22%3A%20%22%5Cu0000%22%7D"


def test_hostile_headers_are_ones_a_client_can_send() -> None:
    drawn = sample("query", "anonymous", 300, any_request("query", "anonymous", ()))
    headers = [header for request in drawn for header in request.headers]
    assert {name for name, _ in headers} == {"Accept-Language", "Authorization"}
    assert not any(byte in value for _, value in headers for byte in b"\r\n\x00")
