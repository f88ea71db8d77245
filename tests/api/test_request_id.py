"""Every answer names its request (``x-request-id``, and ``extensions.requestId`` in GraphQL),
and every log line written while handling it carries the same id: a person reporting an
error gives the id, and the server's lines for it are found."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.api.request_id import SAFE_ID
from backend.db.admin import drop_database
from backend.gql.errors import INTERNAL_MESSAGE
from backend.settings import AppSettings
from tests.conftest import migrated_database, throwaway_url
from tests.factories import create_person

ME = "{ me { firstName } }"


class TestEveryAnswer:
    @pytest.mark.parametrize(("method", "path"), [
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/.well-known/jwks.json"),
        ("GET", "/graphql"), ("POST", "/oauth/token"), ("GET", "/no-such-page"),
    ])
    async def test_carries_a_fresh_id(self, client: httpx.AsyncClient, method: str,
                                      path: str) -> None:
        first = await client.request(method, path, headers={"accept": "text/html"})
        second = await client.request(method, path, headers={"accept": "text/html"})
        ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
        assert all(SAFE_ID.fullmatch(value) for value in ids)
        assert ids[0] != ids[1]

    async def test_a_graphql_answer_carries_it_in_its_extensions(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/graphql", json={"query": "{ helpVersion }"})
        assert response.json()["extensions"]["requestId"] == response.headers["x-request-id"]
        failed = await client.post("/graphql", json={"query": "{ nope }"})
        assert failed.json()["errors"]
        assert failed.json()["extensions"]["requestId"] == failed.headers["x-request-id"]

    async def test_the_etag_does_not_change_with_the_id(self, client: httpx.AsyncClient) -> None:
        first = await client.post("/graphql", json={"query": "{ helpVersion }"})
        again = await client.post("/graphql", json={"query": "{ helpVersion }"},
                                  headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["x-request-id"] != first.headers["x-request-id"]


class TestAClientsId:
    async def test_a_safe_id_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/graphql", json={"query": "{ helpVersion }"},
                                     headers={"x-request-id": "app-2f9c1e7a-0001"})
        assert response.headers["x-request-id"] == "app-2f9c1e7a-0001"
        assert response.json()["extensions"]["requestId"] == "app-2f9c1e7a-0001"

    @pytest.mark.parametrize("unsafe", [
        "short", "x" * 65, "has space in it", "quote\"d-id-123", "790303402568",
        "call-87011234567", "a\x01bcdefghij",
    ])
    async def test_an_unsafe_or_personal_id_is_replaced(
        self, client: httpx.AsyncClient, unsafe: str
    ) -> None:
        response = await client.get("/healthz", headers={"x-request-id": unsafe})
        assert response.headers["x-request-id"] != unsafe
        assert SAFE_ID.fullmatch(response.headers["x-request-id"])


async def test_an_unhandled_error_is_a_typed_internal_logged_under_the_answers_id(
    app: FastAPI, client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    @app.get("/test-broken")
    async def broken() -> None:
        raise RuntimeError("the database said: Key (iin)=(790303402568) already exists")

    response = await client.get("/test-broken")
    assert response.status_code == 500
    body = response.json()
    assert body["errors"][0] == {"message": INTERNAL_MESSAGE, "extensions": {"code": "INTERNAL"}}
    request_id = response.headers["x-request-id"]
    assert body["extensions"]["requestId"] == request_id
    logged = log_lines.getvalue()
    assert f"[{request_id}]: unhandled error answering a GET request" in logged
    assert "RuntimeError" in logged and "790303402568" not in logged


async def test_a_masked_internal_errors_log_line_carries_the_answers_id(
    settings: AppSettings, auth_settings: AuthSettings, log_lines: io.StringIO
) -> None:
    """A real fault (the person table is gone) behind a real query: the answer is INTERNAL,
    and the traceback in the log is filed under the answer's request id."""
    url = throwaway_url(settings, "reqid")
    engine = await migrated_database(url)
    try:
        app = create_app(AppSettings(environment="test"), auth_settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as http:
            async with engine.begin() as connection:
                session = AsyncSession(bind=connection)
                person = await create_person(session)
                await session.flush()
                await connection.execute(text("ALTER TABLE core.person RENAME TO person_gone"))
            token = app.state.runtime.auth.mint(str(person.id), Audience.MOBILE)
            response = await http.post("/graphql", json={"query": ME},
                                       headers={"authorization": f"Bearer {token}"})
        body = response.json()
        assert [error["extensions"]["code"] for error in body["errors"]] == ["INTERNAL"]
        request_id = response.headers["x-request-id"]
        assert body["extensions"]["requestId"] == request_id
        [line] = [line for line in log_lines.getvalue().splitlines()
                  if "unexpected error in" in line]
        assert re.search(rf"ERROR backend\.gql\.errors \[{request_id}\]: unexpected error in me",
                         line)
    finally:
        await engine.dispose()
        await drop_database(url)
