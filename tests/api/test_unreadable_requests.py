"""A request the server cannot read is the client's mistake: a typed 400 (or 413), never a 500;
and a body is refused while it streams, before the server holds it.

Each case is one an outsider sent against ``make run`` and got HTTP 500 for, or a body the
server read whole before refusing it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.api.graphql_app import MAX_JSON_DEPTH
from backend.api.oauth import MAX_BODY as OAUTH_MAX_BODY
from backend.gql.limits import Limits
from backend.messages import message

CHUNK = 64 * 1024
HUGE = 200 * 1024 * 1024


def bad_request(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The one error of a typed refusal (its status checked, and its request id)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "data" not in body
    assert body["extensions"]["requestId"] == response.headers["x-request-id"]
    return dict(error)


def deep_array(depth: int) -> str:
    return "[" * depth + "]" * depth


UNREADABLE = {
    "not UTF-8": (b'{"query": "{ helpVersion }", "operationName": "\xff\xfe"}',
                  "request_not_utf8"),
    "not JSON": (b'{"query": ', "request_not_json"),
    "null": (b"null", "request_not_object"),
    "a number": (b"123", "request_not_object"),
    "true": (b"true", "request_not_object"),
    "a string": (b'"text"', "request_not_object"),
    "variables 5,000 deep": (('{"query": "{ helpVersion }", "variables": {"x": '
                              + deep_array(5_000) + "}}").encode(), "request_too_deep"),
    "variables just too deep": (('{"query": "{ helpVersion }", "variables": {"x": '
                                 + deep_array(MAX_JSON_DEPTH) + "}}").encode(),
                                "request_too_deep"),
}


class TestUnreadableBodies:
    @pytest.mark.parametrize("case", list(UNREADABLE))
    async def test_is_a_typed_400_in_the_readers_language(
        self, client: httpx.AsyncClient, case: str
    ) -> None:
        body, key = UNREADABLE[case]
        response = await client.post("/graphql", content=body, headers={
            "content-type": "application/json", "accept-language": "ru"})
        error = bad_request(response)
        assert error["message"] == message(key, max=MAX_JSON_DEPTH)["ru"]

    async def test_json_as_deep_as_allowed_is_read(self, client: httpx.AsyncClient) -> None:
        # Two levels for the body and ``variables``: the rest may nest up to the limit.
        variables = {"x": json.loads(deep_array(MAX_JSON_DEPTH - 2))}
        response = await client.post("/graphql", json={
            "query": "{ helpVersion }", "variables": variables})
        assert response.status_code == 200
        assert "errors" not in response.json()

    async def test_what_strawberry_refuses_is_typed_too(self, client: httpx.AsyncClient) -> None:
        wrong_type = await client.post("/graphql", content=b"query=x",
                                       headers={"content-type": "text/plain"})
        assert bad_request(wrong_type)["message"].startswith(
            message("request_unreadable", detail="")["kk"])
        no_query = await client.post("/graphql", json={"variables": {}})
        bad_request(no_query)
        variables_not_an_object = await client.post(
            "/graphql", json={"query": "{ helpVersion }", "variables": [1]})
        bad_request(variables_not_an_object)

    async def test_a_refusal_does_not_repeat_what_was_sent(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/graphql", json={
            "query": "{ helpVersion }", "operationName": "790303402568"})
        assert "790303402568" not in bad_request(response)["message"]

    async def test_a_get_with_broken_variables_is_typed(self, client: httpx.AsyncClient) -> None:
        broken = await client.get("/graphql", params={
            "query": "{ helpVersion }", "variables": "{not json"})
        bad_request(broken)
        null = await client.get("/graphql", params={
            "query": "{ helpVersion }", "variables": "null"})
        assert null.status_code == 200 and "errors" not in null.json()


def nested_token(depth: int) -> str:
    """A bearer token (unsigned) whose payload is JSON nested ``depth`` levels deep."""
    payload = base64.urlsafe_b64encode(deep_array(depth).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJFZERTQSJ9.{payload}.c2ln"


class TestBodyLimits:
    async def test_an_oversized_body_with_a_deeply_nested_token_is_refused_not_a_crash(
        self, client: httpx.AsyncClient
    ) -> None:
        padding = "x" * (Limits().max_body_bytes + 10)
        response = await client.post(
            "/graphql", json={"query": "{ helpVersion }", "operationName": padding},
            headers={"authorization": f"Bearer {nested_token(3_000)}"})
        error = bad_request(response, 413)
        assert error["extensions"]["limit"] == "body_size"

    @pytest.mark.parametrize(("path", "limit", "content_type"), [
        ("/graphql", Limits().max_body_bytes, "application/json"),
        ("/oauth/token", OAUTH_MAX_BODY, "application/x-www-form-urlencoded"),
    ])
    async def test_a_streamed_200_mb_body_is_refused_after_the_limit(
        self, client: httpx.AsyncClient, path: str, limit: int, content_type: str
    ) -> None:
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            while sent < HUGE:
                sent += CHUNK
                yield b"a" * CHUNK

        response = await client.post(path, content=body(),
                                     headers={"content-type": content_type})
        assert response.status_code == 413
        assert sent <= limit + CHUNK, f"the server read {sent} bytes of a {limit}-byte limit"

    async def test_a_declared_200_mb_body_is_refused_before_reading(
        self, client: httpx.AsyncClient
    ) -> None:
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            sent += CHUNK
            yield b"a" * CHUNK

        for path in ("/graphql", "/oauth/token"):
            sent = 0
            response = await client.post(path, content=body(), headers={
                "content-type": "application/x-www-form-urlencoded",
                "content-length": str(HUGE)})
            assert response.status_code == 413
            assert sent == 0

    async def test_the_token_endpoint_answers_in_its_own_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/oauth/token", content=b"a" * (OAUTH_MAX_BODY + 1),
                                     headers={"content-type":
                                              "application/x-www-form-urlencoded"})
        assert response.status_code == 413
        assert response.json()["error"] == "invalid_request"
        assert response.headers["cache-control"] == "no-store"


class TestTokenEndpointInput:
    @pytest.mark.parametrize("form", [
        b"grant_type=client_credentials&client_id=%00&client_secret=x",
        b"grant_type=client_credentials&client_id=abc&client_secret=%00",
        b"grant_type=client_credentials&client_id=%ff%fe&client_secret=x",
        b"grant_type=client_credentials&client_id=\xff&client_secret=x",
        b"grant_type=client_credentials&client_id=%ed%a0%80&client_secret=x",
    ])
    async def test_control_characters_and_broken_utf8_are_invalid_requests(
        self, client: httpx.AsyncClient, form: bytes
    ) -> None:
        response = await client.post("/oauth/token", content=form, headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"

    async def test_basic_credentials_that_are_not_base64_are_no_credentials(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                     headers=[(b"authorization", b"Basic \xff\xfe==")])
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"

    async def test_a_nul_in_basic_credentials_is_an_invalid_request(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                     auth=("%00", "secret"))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
