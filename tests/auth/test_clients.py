"""Integrators: OAuth 2.0 client credentials, scopes, per-client request budgets."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.clients import Clients, NewClient, OAuthError, parse_scopes
from auth.errors import RateLimited
from auth.principals import Integrator, Scope
from auth.service import AuthService
from auth.settings import AuthSettings

NewName = Callable[[str], str]
ALL_SCOPES = tuple(Scope)


@pytest.fixture
async def client(service: AuthService, new_name: NewName) -> NewClient:
    """A clinic system holding every scope."""
    return await service.clients.create(new_name("clinic-mis"), "City Polyclinic No. 5",
                                        ALL_SCOPES)


async def _integrator(service: AuthService, access_token: str) -> Integrator:
    principal = await service.principal_from_header(f"Bearer {access_token}")
    assert isinstance(principal, Integrator), principal
    return principal


def _address() -> str:
    """A client address of this call's own (failures are counted per address)."""
    return f"test-{uuid.uuid4().hex}"


async def _oauth_error(service: AuthService, client_id: str, secret: str,
                       scope: str | None = None, address: str | None = None) -> OAuthError:
    with pytest.raises(OAuthError) as failed:
        await service.clients.token(client_id, secret, scope, address or _address())
    return failed.value


class TestCreate:
    async def test_a_new_client_has_a_public_id_and_a_secret(
            self, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        assert client.info.id.startswith("cl_") and len(client.info.id) == 19
        assert client.secret.startswith("cs_") and len(client.secret) > 40
        assert client.info.active and client.info.scopes == ALL_SCOPES
        assert client.info.requests_per_minute == auth_settings.default_client_requests_per_minute
        assert await service.clients.get(client.info.id) == client.info

    async def test_an_unknown_client_is_none(self, service: AuthService) -> None:
        assert await service.clients.get("cl_0000000000000000") is None

    async def test_the_secret_is_stored_only_as_its_hash(
            self, service: AuthService, client: NewClient, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT c::text || encode(c.secret_hash, 'escape') FROM auth.client c "
                "WHERE c.id = :id"), {"id": client.info.id})).scalar_one()
            stored = (await conn.execute(text(
                "SELECT secret_hash FROM auth.client WHERE id = :id"),
                {"id": client.info.id})).scalar_one()
        assert client.secret.removeprefix("cs_") not in row
        assert stored == service.secrets.digest("client", client.secret)


class TestToken:
    async def test_a_token_carries_every_scope_the_client_holds_by_default(
            self, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        token = await service.clients.token(client.info.id, client.secret, None)
        assert token.scopes == ALL_SCOPES
        assert token.expires_in == auth_settings.access_token_ttl_seconds
        integrator = await _integrator(service, token.access_token)
        assert integrator.scopes == frozenset(ALL_SCOPES)
        claims = jwt.decode(token.access_token, options={"verify_signature": False})
        assert claims["aud"] == "integrator" and claims["sub"] == client.info.id
        assert "sid" not in claims

    async def test_an_empty_scope_means_every_held_scope(
            self, service: AuthService, client: NewClient) -> None:
        token = await service.clients.token(client.info.id, client.secret, "")
        assert token.scopes == ALL_SCOPES

    async def test_a_subset_of_scopes_can_be_asked_for(
            self, service: AuthService, client: NewClient) -> None:
        token = await service.clients.token(client.info.id, client.secret,
                                            "stats:read eligibility:read")
        assert token.scopes == (Scope.ELIGIBILITY_READ, Scope.STATS_READ)
        integrator = await _integrator(service, token.access_token)
        assert integrator.scopes == frozenset({Scope.ELIGIBILITY_READ, Scope.STATS_READ})

    async def test_a_scope_the_client_does_not_hold_is_refused(
            self, service: AuthService, new_name: NewName) -> None:
        reader = await service.clients.create(new_name("reader"), "Fund",
                                              [Scope.ELIGIBILITY_READ])
        error = await _oauth_error(service, reader.info.id, reader.secret,
                                   "eligibility:read services:write")
        assert (error.error, error.status) == ("invalid_scope", 400)
        token = await service.clients.token(reader.info.id, reader.secret, None)
        assert token.scopes == (Scope.ELIGIBILITY_READ,)

    async def test_an_unknown_scope_is_refused(
            self, service: AuthService, client: NewClient) -> None:
        error = await _oauth_error(service, client.info.id, client.secret, "admin:everything")
        assert (error.error, error.status) == ("invalid_scope", 400)

    async def test_the_integrator_principal_describes_the_client(
            self, service: AuthService, new_name: NewName) -> None:
        name = new_name("fund-gateway")
        created = await service.clients.create(name, "Social Health Insurance Fund",
                                               [Scope.CONTRIBUTIONS_WRITE, Scope.STATS_READ],
                                               requests_per_minute=120)
        token = await service.clients.token(created.info.id, created.secret, None)
        integrator = await _integrator(service, token.access_token)
        assert integrator.client_id == created.info.id
        assert integrator.scopes == frozenset({Scope.CONTRIBUTIONS_WRITE, Scope.STATS_READ})
        assert integrator.name == name
        assert integrator.organization == "Social Health Insurance Fund"
        assert integrator.requests_per_minute == 120


class TestAuthentication:
    async def test_a_wrong_secret_is_an_invalid_client(
            self, service: AuthService, client: NewClient) -> None:
        error = await _oauth_error(service, client.info.id, client.secret + "x")
        assert (error.error, error.status) == ("invalid_client", 401)

    async def test_an_unknown_client_is_an_invalid_client(
            self, service: AuthService, client: NewClient) -> None:
        error = await _oauth_error(service, "cl_" + uuid.uuid4().hex[:16], client.secret)
        assert (error.error, error.status) == ("invalid_client", 401)

    async def test_another_clients_secret_does_not_work(
            self, service: AuthService, client: NewClient, new_name: NewName) -> None:
        other = await service.clients.create(new_name("other"), "Other", ALL_SCOPES)
        error = await _oauth_error(service, client.info.id, other.secret)
        assert (error.error, error.status) == ("invalid_client", 401)

    async def test_failures_look_alike(
            self, service: AuthService, client: NewClient) -> None:
        wrong = await _oauth_error(service, client.info.id, "cs_wrong")
        unknown = await _oauth_error(service, "cl_ffffffffffffffff", "cs_wrong")
        assert (wrong.error, wrong.description, wrong.status) == (
            unknown.error, unknown.description, unknown.status)

    async def test_a_deactivated_client_gets_no_token(
            self, service: AuthService, client: NewClient) -> None:
        issued = await service.clients.token(client.info.id, client.secret, None)
        assert await service.clients.deactivate(client.info.id)
        error = await _oauth_error(service, client.info.id, client.secret)
        assert (error.error, error.status) == ("invalid_client", 401)
        info = await service.clients.get(client.info.id)
        assert info is not None and not info.active
        # a token issued before runs out on its own
        assert isinstance(await service.principal_from_header(
            f"Bearer {issued.access_token}"), Integrator)

    async def test_deactivating_an_unknown_client_reports_nothing(
            self, service: AuthService) -> None:
        assert not await service.clients.deactivate("cl_" + uuid.uuid4().hex[:16])

    async def test_token_requests_are_throttled_per_address_and_client(
            self, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        address = _address()
        for _ in range(auth_settings.client_token_requests_per_minute):
            issued = await service.clients.token(client.info.id, client.secret, None, address)
            assert issued.access_token
        with pytest.raises(RateLimited) as limited:
            await service.clients.token(client.info.id, client.secret, None, address)
        assert 0 < limited.value.retry_after <= 60

    async def test_a_strangers_wrong_secrets_do_not_block_the_integrator(
            self, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        stranger = _address()
        for _ in range(auth_settings.client_token_requests_per_minute):
            error = await _oauth_error(service, client.info.id, "cs_guess", address=stranger)
            assert (error.error, error.status) == ("invalid_client", 401)
        with pytest.raises(RateLimited) as limited:
            await service.clients.token(client.info.id, "cs_guess", None, stranger)
        assert 0 < limited.value.retry_after <= 60
        issued = await service.clients.token(client.info.id, client.secret, None, _address())
        assert (await _integrator(service, issued.access_token)).client_id == client.info.id

    async def test_one_address_guessing_many_clients_is_throttled(
            self, engine: AsyncEngine, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        clients = Clients(engine, service.secrets, auth_settings.model_copy(
            update={"client_secret_failures_per_address": 3}), service._mint)
        guesser = _address()
        for _ in range(3):
            with pytest.raises(OAuthError):
                await clients.token("cl_" + uuid.uuid4().hex[:16], "cs_guess", None, guesser)
        with pytest.raises(RateLimited):
            await clients.token(client.info.id, client.secret, None, guesser)
        assert (await clients.token(client.info.id, client.secret, None, _address())).scopes

    async def test_guessing_one_client_from_many_addresses_meets_a_ceiling(
            self, engine: AsyncEngine, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        clients = Clients(engine, service.secrets, auth_settings.model_copy(
            update={"client_secret_failures_per_client": 3}), service._mint)
        for _ in range(3):
            with pytest.raises(OAuthError):
                await clients.token(client.info.id, "cs_guess", None, _address())
        with pytest.raises(RateLimited) as limited:
            await clients.token(client.info.id, client.secret, None, _address())
        assert 0 < limited.value.retry_after <= 60

    async def test_successes_are_not_counted_as_failures(
            self, engine: AsyncEngine, service: AuthService, client: NewClient,
            auth_settings: AuthSettings) -> None:
        clients = Clients(engine, service.secrets, auth_settings.model_copy(
            update={"client_secret_failures_per_client": 2}), service._mint)
        for _ in range(4):
            assert (await clients.token(client.info.id, client.secret, None, _address())).scopes


class TestBudget:
    async def test_requests_beyond_the_per_minute_budget_wait(
            self, service: AuthService, new_name: NewName) -> None:
        created = await service.clients.create(new_name("small"), "Small clinic",
                                               [Scope.SERVICES_WRITE], requests_per_minute=3)
        token = await service.clients.token(created.info.id, created.secret, None)
        integrator = await _integrator(service, token.access_token)
        assert integrator.requests_per_minute == 3
        for _ in range(3):
            await service.clients.spend_request(integrator.client_id,
                                                integrator.requests_per_minute)
        with pytest.raises(RateLimited) as limited:
            await service.clients.spend_request(integrator.client_id,
                                                integrator.requests_per_minute)
        assert 0 < limited.value.retry_after <= 60

    async def test_budgets_are_per_client(
            self, service: AuthService, client: NewClient, new_name: NewName) -> None:
        busy = await service.clients.create(new_name("busy"), "Busy", ALL_SCOPES,
                                            requests_per_minute=1)
        await service.clients.spend_request(busy.info.id, 1)
        with pytest.raises(RateLimited):
            await service.clients.spend_request(busy.info.id, 1)
        await service.clients.spend_request(client.info.id, 1)


class TestParseScopes:
    def test_known_scopes_in_a_stable_order(self) -> None:
        assert parse_scopes(["stats:read", "eligibility:read", "stats:read"]) == (
            Scope.ELIGIBILITY_READ, Scope.STATS_READ)

    def test_an_unknown_scope_is_named(self) -> None:
        with pytest.raises(ValueError, match="admin"):
            parse_scopes(["admin"])
