"""Security headers on every answer, and GraphiQL served from this server without a CDN.

Through the real app over ASGI; ``tests/api/test_server.py`` checks what only a real uvicorn
shows (no ``server`` banner, read timeouts).
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.api.graphiql import ASSETS, missing_assets
from backend.api.headers import CONTENT_SECURITY_POLICY
from backend.settings import AppSettings

HTML = {"Accept": "text/html"}


def assert_html_page_is_protected(response: httpx.Response) -> None:
    """The headers every HTML page must carry."""
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


class TestEveryResponse:
    @pytest.mark.parametrize(("method", "path", "status"), [
        ("GET", "/healthz", 200),
        ("GET", "/.well-known/jwks.json", 200),
        ("POST", "/graphql", 200),
        ("POST", "/oauth/token", 400),
        ("GET", "/no/such/page", 404),
        ("DELETE", "/graphql", 405),
    ])
    async def test_nosniff_and_no_page_headers_on_data(
        self, client: httpx.AsyncClient, method: str, path: str, status: int
    ) -> None:
        body = {"query": "{ __typename }"} if path == "/graphql" else None
        response = await client.request(method, path, json=body)
        assert response.status_code == status
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers

    async def test_even_an_unhandled_failure_carries_them(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("a fault on our side")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
            response = await raw.get("/boom")
        assert response.status_code == 500
        assert response.headers["x-content-type-options"] == "nosniff"


class TestHtmlPages:
    async def test_dev_sms_is_protected_and_has_no_inline_style(
        self, client: httpx.AsyncClient
    ) -> None:
        page = await client.get("/dev/sms")
        assert page.status_code == 200
        assert_html_page_is_protected(page)
        assert "<style" not in page.text and "<script" not in page.text
        style = await client.get("/dev/sms.css")
        assert style.status_code == 200
        assert style.headers["content-type"].startswith("text/css")
        assert style.headers["x-content-type-options"] == "nosniff"

    async def test_graphiql_is_protected_and_references_only_this_server(
        self, client: httpx.AsyncClient
    ) -> None:
        assert not missing_assets(), "GraphiQL's files are not installed: run `make graphiql`"
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert_html_page_is_protected(page)
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert not re.search(r"(https?:)?//", page.text), "an external URL in GraphiQL's page"
        assert "<script>" not in page.text and "<style" not in page.text
        referenced = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert {url.rsplit("/", 1)[1] for url in referenced if url != "data:,"} == set(ASSETS)

    @pytest.mark.parametrize("name", sorted(ASSETS))
    async def test_every_asset_answers_with_its_type(
        self, client: httpx.AsyncClient, name: str
    ) -> None:
        response = await client.get(f"/graphiql/assets/{name}")
        assert response.status_code == 200
        expected = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["content-type"].startswith(expected)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.content) > 100

    async def test_only_the_listed_assets_are_served(self, client: httpx.AsyncClient) -> None:
        for name in ("package.json", "..%2Fpackage.json", "react%2Fumd%2Freact.development.js",
                     "index.html"):
            assert (await client.get(f"/graphiql/assets/{name}")).status_code == 404


class TestProduction:
    async def test_no_graphiql_nor_its_assets(
        self, engine: AsyncEngine, auth_settings: AuthSettings
    ) -> None:
        app = create_app(AppSettings(environment="production"), auth_settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as http:
            page = await http.get("/graphql", headers=HTML)
            asset = await http.get("/graphiql/assets/graphiql.min.js")
            sms = await http.get("/dev/sms")
        assert not page.headers["content-type"].startswith("text/html")
        assert "GraphiQL" not in page.text
        assert asset.status_code == 404
        assert sms.status_code == 404
