"""Integrators over HTTP: the OAuth 2.0 client-credentials grant at ``/oauth/token``, scopes,
the ``eligibility`` look-up, and each client's request budget.

Clients live in the ``auth`` schema, which is not emptied between tests: every test makes
clients of its own.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from auth.clients import NewClient
from auth.principals import Scope
from auth.service import AuthService
from auth.tokens import Audience
from tests.api.conftest import new_ip
from tests.api.gql import codes, data, graphql
from tests.factories import (
    create_insured_employee,
    create_person,
    new_iin,
)

ELIGIBILITY = """
query Eligibility($iins: [String!]!) {
  eligibility(iins: $iins) { iin valid found status guaranteedUntil }
}"""
ME = "{ me { firstName } }"
FORM = "application/x-www-form-urlencoded"


async def new_client(auth_service: AuthService, *scopes: Scope,
                     requests_per_minute: int | None = None) -> NewClient:
    """A new integrator client of the Fund's partner clinic system."""
    return await auth_service.clients.create(
        f"Qamqor MIS {secrets.token_hex(4)}", "ТОО «Дамумед»",
        scopes or (Scope.ELIGIBILITY_READ,), requests_per_minute=requests_per_minute)


async def token_response(client: httpx.AsyncClient, form: dict[str, str],
                         auth: tuple[str, str] | None = None) -> httpx.Response:
    """POST ``form`` to the token endpoint (HTTP Basic with ``auth`` when given)."""
    if auth is None:
        return await client.post("/oauth/token", data=form)
    return await client.post("/oauth/token", data=form, auth=auth)


async def access_token(client: httpx.AsyncClient, made: NewClient,
                       scope: str | None = None) -> str:
    """An access token for ``made`` (credentials by HTTP Basic)."""
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    response = await token_response(client, form, (made.info.id, made.secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """``response`` is an RFC 6749 §5.2 error ``error`` with ``status``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    return body


class TestTokenEndpoint:
    @pytest.mark.parametrize("by", ["basic", "form"])
    async def test_client_credentials_give_a_bearer_token(
        self, client: httpx.AsyncClient, auth_service: AuthService, by: str
    ) -> None:
        made = await new_client(auth_service, Scope.ELIGIBILITY_READ, Scope.STATS_READ)
        form = {"grant_type": "client_credentials"}
        if by == "basic":
            response = await token_response(client, form, (made.info.id, made.secret))
        else:
            response = await token_response(client, {**form, "client_id": made.info.id,
                                                     "client_secret": made.secret})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
        assert body["token_type"] == "Bearer"
        assert isinstance(body["expires_in"], int) and 0 < body["expires_in"] <= 3600
        assert set(body["scope"].split()) == {"eligibility:read", "stats:read"}
        assert body["access_token"].count(".") == 2  # a JWT

    async def test_a_narrower_scope_is_granted_as_asked(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        made = await new_client(auth_service, Scope.ELIGIBILITY_READ, Scope.STATS_READ)
        response = await token_response(client, {"grant_type": "client_credentials",
                                                 "scope": "stats:read"},
                                        (made.info.id, made.secret))
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "stats:read"
        forbidden = await graphql(client, ELIGIBILITY, {"iins": []},
                                  token=response.json()["access_token"])
        assert codes(forbidden) == ["FORBIDDEN"]

    @pytest.mark.parametrize("by", ["basic", "form"])
    async def test_a_wrong_secret_is_an_invalid_client(
        self, client: httpx.AsyncClient, auth_service: AuthService, by: str
    ) -> None:
        made = await new_client(auth_service)
        form = {"grant_type": "client_credentials"}
        wrong = made.secret[:-2] + ("AA" if not made.secret.endswith("AA") else "BB")
        if by == "basic":
            response = await token_response(client, form, (made.info.id, wrong))
        else:
            response = await token_response(client, {**form, "client_id": made.info.id,
                                                     "client_secret": wrong})
        oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"].lower().startswith("basic")

    async def test_a_strangers_wrong_secrets_do_not_lock_the_integrator_out(
        self, app: FastAPI, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        made = await new_client(auth_service)
        form = {"grant_type": "client_credentials"}
        for _ in range(auth_service.settings.client_token_requests_per_minute):
            oauth_error(await token_response(client, form, (made.info.id, "cs_guess")),
                        401, "invalid_client")
        throttled = await token_response(client, form, (made.info.id, made.secret))
        oauth_error(throttled, 429, "slow_down")
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        transport = httpx.ASGITransport(app=app, client=(new_ip(), 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as own:
            assert await access_token(own, made)

    async def test_an_unknown_client_is_an_invalid_client(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await token_response(client, {"grant_type": "client_credentials"},
                                        ("cl_0000000000000000", "cs_" + "x" * 43))
        oauth_error(response, 401, "invalid_client")
        assert "www-authenticate" in response.headers

    async def test_missing_credentials_are_an_invalid_client(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await token_response(client, {"grant_type": "client_credentials"})
        oauth_error(response, 401, "invalid_client")
        assert "www-authenticate" in response.headers

    @pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", ""])
    async def test_other_grants_are_unsupported(
        self, client: httpx.AsyncClient, auth_service: AuthService, grant: str
    ) -> None:
        made = await new_client(auth_service)
        response = await token_response(client, {"grant_type": grant},
                                        (made.info.id, made.secret))
        oauth_error(response, 400, "unsupported_grant_type")

    @pytest.mark.parametrize("scope", ["admin", "eligibility:read admin", "contributions:write",
                                       "eligibility:read stats:read"])
    async def test_an_unknown_or_not_held_scope_is_invalid(
        self, client: httpx.AsyncClient, auth_service: AuthService, scope: str
    ) -> None:
        made = await new_client(auth_service, Scope.ELIGIBILITY_READ)
        response = await token_response(client, {"grant_type": "client_credentials",
                                                 "scope": scope},
                                        (made.info.id, made.secret))
        oauth_error(response, 400, "invalid_scope")

    async def test_json_bodies_are_refused(self, client: httpx.AsyncClient,
                                           auth_service: AuthService) -> None:
        made = await new_client(auth_service)
        response = await client.post("/oauth/token", json={"grant_type": "client_credentials"},
                                     auth=(made.info.id, made.secret))
        oauth_error(response, 400, "invalid_request")


class TestEligibility:
    async def test_answers_each_iin_in_the_order_asked(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        uninsured = await create_person(committed, birth_date=date(1993, 5, 5))
        await committed.commit()
        unknown = new_iin(date(1977, 1, 17), "M")
        spaced = f"{person.iin[:6]} {person.iin[6:]}"
        token = await access_token(client, await new_client(auth_service))
        asked = [unknown, person.iin, "12345", uninsured.iin, spaced, "abcdefghijkl"]
        answers = data(await graphql(client, ELIGIBILITY, {"iins": asked},
                                     token=token))["eligibility"]
        assert answers == [
            {"iin": unknown, "valid": True, "found": False, "status": None,
             "guaranteedUntil": None},
            {"iin": person.iin, "valid": True, "found": True, "status": "INSURED",
             "guaranteedUntil": "2027-01-31"},
            {"iin": "12345", "valid": False, "found": False, "status": None,
             "guaranteedUntil": None},
            {"iin": uninsured.iin, "valid": True, "found": True, "status": "NOT_INSURED",
             "guaranteedUntil": None},
            {"iin": person.iin, "valid": True, "found": True, "status": "INSURED",
             "guaranteedUntil": "2027-01-31"},
            {"iin": "abcdefghijkl", "valid": False, "found": False, "status": None,
             "guaranteedUntil": None},
        ]

    async def test_a_check_digit_error_is_invalid_not_unknown(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        broken = person.iin[:-1] + str((int(person.iin[-1]) + 1) % 10)
        token = await access_token(client, await new_client(auth_service))
        [answer] = data(await graphql(client, ELIGIBILITY, {"iins": [broken]},
                                      token=token))["eligibility"]
        assert answer == {"iin": broken, "valid": False, "found": False, "status": None,
                          "guaranteedUntil": None}

    async def test_more_than_500_iins_are_refused(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = await access_token(client, await new_client(auth_service))
        iins = [new_iin(date(1960, 1, 1), "F") for _ in range(501)]
        body = await graphql(client, ELIGIBILITY, {"iins": iins}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["BAD_USER_INPUT"]
        ok = data(await graphql(client, ELIGIBILITY, {"iins": iins[:500]}, token=token))
        assert len(ok["eligibility"]) == 500

    async def test_aliases_do_not_lift_the_500_iin_cap_of_one_request(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = await access_token(client, await new_client(auth_service))
        iins = [new_iin(date(1961, 2, 2), "M") for _ in range(600)]
        query = """query Twice($a: [String!]!, $b: [String!]!) {
          a: eligibility(iins: $a) { found }
          b: eligibility(iins: $b) { found }
        }"""
        body = await graphql(client, query, {"a": iins[:300], "b": iins[300:]}, token=token)
        answered = sum(len(answers or []) for answers in (body.get("data") or {}).values())
        assert answered <= 500, f"{answered} IINs were answered in one request"
        assert "BAD_USER_INPUT" in codes(body)

    async def test_a_token_without_the_scope_is_forbidden(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        token = await access_token(client, await new_client(auth_service, Scope.STATS_READ))
        body = await graphql(client, ELIGIBILITY, {"iins": [person.iin]}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["FORBIDDEN"]
        assert "INSURED" not in str(body)

    async def test_a_citizen_token_is_forbidden(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        body = await graphql(client, ELIGIBILITY, {"iins": [person.iin]}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["FORBIDDEN"]

    async def test_without_a_token_it_needs_sign_in(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, ELIGIBILITY, {"iins": ["12345"]})
        assert body.get("data") is None
        assert codes(body) == ["UNAUTHENTICATED"]

    async def test_an_integrator_token_is_not_a_citizen(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        token = await access_token(client, await new_client(auth_service))
        body = await graphql(client, ME, token=token)
        assert body.get("data") is None
        assert codes(body) == ["FORBIDDEN"]


class TestRequestBudget:
    async def test_the_third_request_in_a_minute_is_throttled(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        made = await new_client(auth_service, requests_per_minute=2)
        token = await access_token(client, made)
        for _ in range(2):
            answers = data(await graphql(client, ELIGIBILITY, {"iins": [person.iin]},
                                         token=token))["eligibility"]
            assert answers[0]["found"] is True
        body = await graphql(client, ELIGIBILITY, {"iins": [person.iin]}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["RATE_LIMITED"]
        retry_after = body["errors"][0]["extensions"]["retryAfter"]
        assert isinstance(retry_after, int) and 0 < retry_after <= 60

    async def test_a_new_token_does_not_reset_the_budget(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        made = await new_client(auth_service, requests_per_minute=2)
        for _ in range(2):
            token = await access_token(client, made)
            data(await graphql(client, ELIGIBILITY, {"iins": ["12345"]}, token=token))
        body = await graphql(client, ELIGIBILITY, {"iins": ["12345"]},
                             token=await access_token(client, made))
        assert codes(body) == ["RATE_LIMITED"]

    async def test_budgets_are_per_client(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        busy = await new_client(auth_service, requests_per_minute=1)
        calm = await new_client(auth_service, requests_per_minute=1)
        busy_token = await access_token(client, busy)
        data(await graphql(client, ELIGIBILITY, {"iins": ["12345"]}, token=busy_token))
        assert codes(await graphql(client, ELIGIBILITY, {"iins": ["12345"]},
                                   token=busy_token)) == ["RATE_LIMITED"]
        data(await graphql(client, ELIGIBILITY, {"iins": ["12345"]},
                           token=await access_token(client, calm)))
