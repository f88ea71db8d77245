"""The app over HTTP: health, readiness, the key set, GraphiQL, and who `me` is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.db import migrate
from backend.db.admin import drop_database
from backend.settings import AppSettings
from tests.api.gql import codes, graphql
from tests.conftest import migrated_database, throwaway_url
from tests.factories import create_person

ME = "{ me { firstName lastName patronymic maskedIin language region { code name } } }"


class TestProbes:
    async def test_health(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.json() == {"status": "ok"}

    async def test_ready_when_the_database_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "database": "up", "migrations": "current"}

    async def test_not_ready_when_migrations_are_behind(
        self, settings: AppSettings, auth_settings: AuthSettings
    ) -> None:
        url = throwaway_url(settings, "behind")
        engine = await migrated_database(url)
        try:
            await migrate.downgrade(engine, "0001")
            app = create_app(AppSettings(environment="test"), auth_settings, engine=engine)
            transport = httpx.ASGITransport(app=app)
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as http:
                response = await http.get("/readyz")
            assert response.status_code == 503
            assert response.json()["migrations"] == "behind"
        finally:
            await engine.dispose()
            await drop_database(url)

    async def test_jwks_publishes_the_signing_key(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert [key["kid"] for key in keys] == [auth_service.keyring.signing_key.kid]
        assert all("d" not in key for key in keys)

    async def test_graphiql_is_served_in_development(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert "graphiql" in response.text.lower()


class TestMe:
    async def test_citizen_sees_own_profile_in_own_language(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(
            committed,
            language="kk",
            region_code="KZ-79",
            first_name="Айгерім",
            last_name="Ахметова",
        )
        await committed.commit()
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        body = await graphql(client, ME, token=token, headers={"Accept-Language": "en"})
        me = body["data"]["me"]
        assert me["firstName"] == "Айгерім"
        assert me["language"] == "KK"
        assert me["region"] == {"code": "KZ-79", "name": "Шымкент"}
        assert me["maskedIin"].endswith(person.iin[-4:])
        assert person.iin[:8] not in me["maskedIin"]

    async def test_no_token_is_unauthenticated(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, ME)
        assert body["data"] is None
        assert codes(body) == ["UNAUTHENTICATED"]

    async def test_expired_token_is_unauthenticated_with_the_reason(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        old = datetime.now(UTC) - timedelta(hours=2)
        token = auth_service.issuer().mint(
            "00000000-0000-4000-8000-000000000001", Audience.MOBILE, now=old
        )
        body = await graphql(client, ME, token=token)
        assert codes(body) == ["UNAUTHENTICATED"]
        assert body["errors"][0]["extensions"]["reason"] == "TOKEN_EXPIRED"
        assert "мерзімі өтті" in body["errors"][0]["message"]  # Kazakh: no Accept-Language

    async def test_desk_token_is_not_a_citizen(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = auth_service.mint("00000000-0000-4000-8000-000000000001", Audience.DESK,
                                  {"org": "00000000-0000-4000-8000-000000000002"})
        assert codes(await graphql(client, ME, token=token)) == ["FORBIDDEN"]

    async def test_desk_token_without_its_clinic_is_not_valid(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = auth_service.mint("00000000-0000-4000-8000-000000000001", Audience.DESK)
        assert codes(await graphql(client, ME, token=token)) == ["UNAUTHENTICATED"]

    async def test_token_for_a_person_who_does_not_exist_is_not_found(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = auth_service.mint("00000000-0000-4000-8000-0000000000ff", Audience.MOBILE)
        assert codes(await graphql(client, ME, token=token)) == ["NOT_FOUND"]

    async def test_malformed_query_has_a_code(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, "{ me { ")
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


class TestMutationsAreNeverCached:
    async def test_a_sign_in_answer_is_no_store_and_has_no_etag(
        self, client: httpx.AsyncClient
    ) -> None:
        query = ('mutation { requestSignInCode(iin: "900303400011", phone: "+77010000000") '
                 "{ codeLength userErrors { code } } }")
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 200
        assert "errors" not in response.json()
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers

    async def test_an_anonymous_query_is_still_publicly_cacheable(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/graphql", json={"query": "{ helpVersion }"})
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["etag"]
