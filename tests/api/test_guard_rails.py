"""Guard rails: oversized bodies, deep or alias-heavy or token-heavy documents are refused with a
typed error before any resolver runs; unexpected failures are masked."""

from __future__ import annotations

import httpx
import pytest

from backend.gql.limits import Limits, cache_hits
from tests.api.gql import graphql


def limit_error(body: dict[str, object]) -> dict[str, object]:
    errors = body["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    extensions: dict[str, object] = errors[0]["extensions"]
    return extensions


class TestLimits:
    async def test_too_deep(self, client: httpx.AsyncClient) -> None:
        # No real path in the schema is this deep; the limit is checked before field names.
        query = "{ me { " + "region { " * 12 + "code" + " }" * 12 + " } }"
        body = await graphql(client, query)
        extensions = [error["extensions"] for error in body["errors"]]
        assert {"code": "BAD_USER_INPUT", "limit": "depth"} in extensions
        assert body.get("data") is None

    async def test_too_many_aliases(self, client: httpx.AsyncClient) -> None:
        fields = " ".join(f"v{index}: helpVersion" for index in range(16))
        body = await graphql(client, "{ " + fields + " }")
        assert limit_error(body) == {"code": "BAD_USER_INPUT", "limit": "aliases"}

    async def test_too_many_tokens(self, client: httpx.AsyncClient) -> None:
        query = "{ " + " ".join(["helpVersion"] * 2_100) + " }"
        body = await graphql(client, query)
        assert limit_error(body) == {"code": "BAD_USER_INPUT", "limit": "tokens"}

    @pytest.mark.parametrize("chunked", [False, True])
    async def test_body_too_large(self, client: httpx.AsyncClient, chunked: bool) -> None:
        padding = "#" + "x" * 70_000 + "\n"
        payload = ('{"query": "' + padding.replace("\n", "\\n") + '{ helpVersion }"}').encode()

        async def stream() -> object:
            for start in range(0, len(payload), 8_192):
                yield payload[start:start + 8_192]

        content: object = stream() if chunked else payload
        response = await client.post(
            "/graphql", content=content,  # type: ignore[arg-type]
            headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"] == {
            "code": "BAD_REQUEST", "limit": "body_size", "maxBytes": Limits().max_body_bytes}

    async def test_a_normal_request_passes(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, "{ a: helpVersion b: helpVersion }")
        assert "errors" not in body


class TestMasking:
    async def test_syntax_errors_say_what_is_wrong_without_internals(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await graphql(client, "{ me { firstName ")
        [error] = body["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Traceback" not in str(body) and "core." not in str(body)


class TestCaches:
    async def test_a_repeated_document_is_parsed_and_validated_once(
        self, client: httpx.AsyncClient
    ) -> None:
        query = "query CacheProbe { helpVersion }"
        await graphql(client, query)
        parsed, validated = cache_hits(Limits())
        await graphql(client, query)
        assert cache_hits(Limits()) == (parsed + 1, validated + 1)
