"""Persisted operations: in production the app's audiences (anonymous, citizens) send only the
operations of ``mobile_contract/manifest.json``, by hash; desk staff and integrators may still
send documents; introspection is for signed-in integrators only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.gql.persisted import Safelist, manifest
from backend.settings import AppSettings
from tests.api.conftest import TODAY, new_ip
from tests.api.gql import codes, data, graphql, operation
from tests.api.test_integrators import access_token, new_client
from tests.factories import create_insured_employee

MANIFEST = json.loads((Path(__file__).resolve().parents[2] / "mobile_contract"
                       / "manifest.json").read_text())
HOME_SCREEN = operation("HomeScreen")
HOME_HASH = MANIFEST["HomeScreen"]["sha256"]
INTROSPECTION = "{ __schema { queryType { name } } }"


def by_hash(sha: str) -> dict[str, Any]:
    """Apollo's persisted-query extension naming ``sha``."""
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def send(http: httpx.AsyncClient, payload: dict[str, Any], token: str | None = None
               ) -> dict[str, Any]:
    """POST a raw GraphQL request body; GraphQL errors travel with HTTP 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def production(engine: AsyncEngine, auth_settings: AuthSettings,
                     auth_service: AuthService) -> AsyncIterator[httpx.AsyncClient]:
    """The app as production runs it (``APP_ENVIRONMENT=production``), on the suite's data."""
    app: FastAPI = create_app(AppSettings(environment="production"), auth_settings,
                              engine=engine, today=lambda: TODAY)
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


@pytest.fixture
async def citizen(committed: AsyncSession, auth_service: AuthService) -> str:
    """A citizen's access token (the mobile audience)."""
    person = await create_insured_employee(committed)
    return auth_service.mint(str(person.id), Audience.MOBILE)


class TestProductionSafelist:
    async def test_a_bare_document_from_anonymous_is_refused(
        self, production: httpx.AsyncClient
    ) -> None:
        body = await send(production, {"query": operation("HelpList")})
        assert codes(body) == ["PERSISTED_QUERY_REQUIRED"]
        assert body["data"] is None

    async def test_a_bare_document_from_a_citizen_is_refused(
        self, production: httpx.AsyncClient, citizen: str
    ) -> None:
        # Even the app's own text: production wants the hash.
        body = await send(production, {"query": HOME_SCREEN}, citizen)
        assert codes(body) == ["PERSISTED_QUERY_REQUIRED"]

    async def test_home_screen_by_hash_is_answered(
        self, production: httpx.AsyncClient, citizen: str
    ) -> None:
        body = await send(production, {"extensions": by_hash(HOME_HASH)}, citizen)
        assert data(body)["me"]["insurance"]["status"] == "INSURED"
        assert body["extensions"]["cost"]["requested"] == 92

    async def test_the_text_with_its_hash_is_answered(
        self, production: httpx.AsyncClient, citizen: str
    ) -> None:
        body = await send(production, {"query": HOME_SCREEN, "operationName": "HomeScreen",
                                       "extensions": by_hash(HOME_HASH)}, citizen)
        assert data(body)["me"]["id"]

    async def test_an_unknown_hash_is_not_found(
        self, production: httpx.AsyncClient, citizen: str
    ) -> None:
        unknown = hashlib.sha256(b"{ me { id } }").hexdigest()
        body = await send(production, {"extensions": by_hash(unknown)}, citizen)
        assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert body["data"] is None

    async def test_another_text_under_a_known_hash_is_not_found(
        self, production: httpx.AsyncClient, citizen: str
    ) -> None:
        body = await send(production, {"query": "{ me { id maskedIin } }",
                                       "extensions": by_hash(HOME_HASH)}, citizen)
        assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]

    async def test_anonymous_app_operations_work_by_hash(
        self, production: httpx.AsyncClient
    ) -> None:
        body = await send(production, {"extensions": by_hash(MANIFEST["HelpList"]["sha256"]),
                                       "variables": {"first": 5}})
        assert len(data(body)["helpArticles"]["edges"]) == 5

    async def test_a_hash_works_over_get_as_apollo_sends_it(
        self, production: httpx.AsyncClient
    ) -> None:
        response = await production.get("/graphql", params={
            "extensions": json.dumps(by_hash(MANIFEST["HelpList"]["sha256"])),
            "variables": json.dumps({"first": 2})})
        assert response.status_code == 200
        assert len(data(response.json())["helpArticles"]["edges"]) == 2

    async def test_an_integrator_still_sends_documents(
        self, production: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        made = await new_client(auth_service, Scope.ELIGIBILITY_READ)
        token = await access_token(production, made)
        body = await send(production, {"query": operation("Eligibility"),
                                       "variables": {"iins": ["000000000000"]}}, token)
        assert data(body)["eligibility"][0]["valid"] is False

    async def test_desk_staff_still_send_documents(
        self, production: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = auth_service.mint("00000000-0000-4000-8000-000000000001", Audience.DESK,
                                  {"org": "00000000-0000-4000-8000-000000000002"})
        body = await send(production, {"query": "{ helpVersion }"}, token)
        assert data(body)["helpVersion"]


class TestIntrospection:
    async def test_production_refuses_it_to_desk_staff(
        self, production: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = auth_service.mint("00000000-0000-4000-8000-000000000001", Audience.DESK,
                                  {"org": "00000000-0000-4000-8000-000000000002"})
        body = await send(production, {"query": INTROSPECTION}, token)
        assert codes(body) == ["FORBIDDEN"]
        assert body["data"] is None

    async def test_anonymous_introspection_never_gets_past_the_safelist(
        self, production: httpx.AsyncClient
    ) -> None:
        body = await send(production, {"query": INTROSPECTION})
        assert codes(body) == ["PERSISTED_QUERY_REQUIRED"]

    async def test_production_answers_it_to_a_signed_in_integrator(
        self, production: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = await access_token(production, await new_client(auth_service))
        body = await send(production, {"query": INTROSPECTION}, token)
        assert data(body)["__schema"]["queryType"]["name"] == "Query"

    async def test_development_answers_anyone(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, INTROSPECTION)
        assert data(body)["__schema"]["queryType"]["name"] == "Query"


class TestSafelist:
    def test_an_operation_whose_file_changed_is_left_out(self, tmp_path: Path) -> None:
        (tmp_path / "operations").mkdir()
        (tmp_path / "operations" / "A.graphql").write_text("query A { helpVersion }")
        (tmp_path / "operations" / "B.graphql").write_text("query B { helpVersion }")
        listed = manifest((tmp_path / "operations").glob("*.graphql"))
        (tmp_path / "manifest.json").write_text(json.dumps(listed))
        (tmp_path / "operations" / "B.graphql").write_text("query B { helpVersion __typename }")
        safelist = Safelist.load(tmp_path)
        assert len(safelist) == 1
        assert safelist.resolve(by_hash(listed["A"]["sha256"]), None) is not None


class TestDevelopment:
    async def test_a_hash_works_beside_documents(self, client: httpx.AsyncClient) -> None:
        body = await send(client, {"extensions": by_hash(MANIFEST["HelpList"]["sha256"])})
        assert data(body)["helpVersion"]
        assert codes(await send(client, {"extensions": by_hash("0" * 64)})) == [
            "PERSISTED_QUERY_NOT_FOUND"]
