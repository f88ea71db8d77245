"""The benchmark's raw floor (``bench/raw_floor.py``) answers HomeScreen with exactly the bytes
the GraphQL API does, for the demo cast and for generated people: it is a floor for the same
work, not a cheaper answer."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.demo.generator import generate
from bench.raw_floor import create_floor_app
from tests.api.conftest import TODAY
from tests.api.gql import operation

HOME_SCREEN = operation("HomeScreen")
CAST = [uuid.UUID(f"00000000-0000-4000-8000-00000000000{n}") for n in range(1, 7)]


@pytest.fixture
async def floor(engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService
                ) -> AsyncIterator[httpx.AsyncClient]:
    """The floor app over ASGI, on the suite's database, with the suite's signing key."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_floor_app(url, auth_settings, today=lambda: TODAY, pool_size=2)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                          base_url="http://testserver") as http,
    ):
        yield http


async def post(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """HomeScreen as the benchmark sends it."""
    response = await http.post("/graphql", json={"query": HOME_SCREEN},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response


async def test_the_floor_returns_the_same_bytes_as_graphql(
    client: httpx.AsyncClient, floor: httpx.AsyncClient, committed: AsyncSession,
    engine: AsyncEngine, auth_service: AuthService,
) -> None:
    await generate(engine, people=60, seed=3, as_of=date(2026, 11, 23), quiet=True)
    async with engine.connect() as conn:
        others = (await conn.execute(text(
            "SELECT id FROM core.person WHERE id <> ALL(:cast) ORDER BY id LIMIT 10"),
            {"cast": CAST})).scalars().all()
    assert len(others) == 10
    for person in [*CAST, *others]:
        token = auth_service.mint(str(person), Audience.MOBILE)
        expected = await post(client, token)
        assert '"errors"' not in expected.text
        assert _same_id((await post(floor, token)).content) == _same_id(expected.content), person


def _same_id(body: bytes) -> bytes:
    """``body`` with its request id (new for every answer) replaced by one placeholder."""
    return re.sub(rb'"requestId":"[0-9a-f]{32}"', b'"requestId":"-"', body)


async def test_the_floor_reports_a_bad_token_as_an_error(floor: httpx.AsyncClient) -> None:
    body = (await post(floor, "not-a-token")).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
