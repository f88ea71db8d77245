"""Cost before execution: every operation's cost is estimated before it runs, refused over the
caller's cap with QUERY_TOO_COSTLY, reported in ``extensions.cost``; integrators spend a
per-minute budget; a query that runs too long is stopped with TIMEOUT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.errors import RateLimited
from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.gql.cost import LIST_CAPS, estimate
from backend.gql.limits import AnonymousPace, AnonymousPaces, Limits, validations
from backend.gql.schema import build_schema
from backend.settings import AppSettings
from tests.api.conftest import TODAY, new_ip
from tests.api.gql import codes, data, graphql, operation
from tests.api.test_integrators import access_token, new_client
from tests.factories import create_insured_employee, new_iin

ATTACK = "query { " + " ".join(["helpArticles { edges { node { id } } }"] * 199) + " }"
"""The issue's 6 KB document: 199 copies of one connection (0.5 s to validate)."""
ARTICLE = "fragment Article on HelpArticle { id slug title summary body tags updatedOn etag }"
HELP_PAGE = """query Page($first: Int) {
  helpArticles(first: $first) { edges { node { ...Article } } }
}
""" + ARTICLE
HOME_SCREEN = operation("HomeScreen")
LIMITS = Limits()


def cost_of(body: dict[str, Any]) -> dict[str, int]:
    """The ``extensions.cost`` of an answer."""
    cost: dict[str, int] = body["extensions"]["cost"]
    return cost


class TestEstimate:
    def test_a_connection_multiplies_its_selection_by_first(self) -> None:
        schema = build_schema()._schema
        from graphql import parse

        small = estimate(schema, parse(HELP_PAGE), None, {"first": 10})
        large = estimate(schema, parse(HELP_PAGE), None, {"first": 100})
        assert small is not None and large is not None
        # helpArticles 1 + first × (edges 1 + node 1 + 8 fields of the fragment)
        assert small[0].cost == 1 + 10 * 10
        assert large[0].cost == 1 + 100 * 10
        assert small[1] == {"first"}

    def test_every_list_field_of_the_schema_has_a_cap(self) -> None:
        from graphql import get_nullable_type, is_list_type, is_object_type

        schema = build_schema()._schema
        missing = [
            f"{type_.name}.{name}"
            for type_ in schema.type_map.values()
            if is_object_type(type_) and not type_.name.startswith("__")
            and not type_.name.endswith("Connection")
            for name, field in type_.fields.items()
            if is_list_type(get_nullable_type(field.type)) and (type_.name, name) not in LIST_CAPS
        ]
        assert missing == [], "add a cap to backend/gql/cost.py LIST_CAPS"


class TestCaps:
    async def test_the_issues_document_is_refused_before_validation(
        self, client: httpx.AsyncClient
    ) -> None:
        validated = validations(LIMITS)
        body = await graphql(client, ATTACK)
        assert codes(body) == ["QUERY_TOO_COSTLY"]
        assert body.get("data") is None
        assert cost_of(body)["requested"] > cost_of(body)["limit"] == LIMITS.cost_anonymous
        assert validations(LIMITS) == validated  # nothing reached validation

    async def test_cheap_repeats_are_refused_too(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        # 199 copies of a scalar cost 199, far under a citizen's cap, but validation compares
        # every pair of them: refused by the repeats limit.
        person = await create_insured_employee(committed)
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        body = await graphql(client, "{ " + "helpVersion " * 199 + "}", token=token)
        assert codes(body) == ["QUERY_TOO_COSTLY"]
        assert "199" in body["errors"][0]["message"]

    async def test_an_explicit_null_does_not_stand_for_the_default_in_the_cache(
        self, client: httpx.AsyncClient
    ) -> None:
        query = ("query Q($n: Int = 100) { helpArticles(first: $n) "
                 "{ edges { node { id } } } }")
        nulled = cost_of(await graphql(client, query, {"n": None}))["requested"]
        defaulted = cost_of(await graphql(client, query))["requested"]
        assert defaulted > nulled  # 100 articles, not the default page of 20

    async def test_a_field_written_twice_still_works(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, "{ helpVersion helpVersion }")
        assert "errors" not in body and cost_of(body)["requested"] == 2

    async def test_first_is_read_from_the_variables(self, client: httpx.AsyncClient) -> None:
        small = await graphql(client, HELP_PAGE, {"first": 10})
        large = await graphql(client, HELP_PAGE, {"first": 100})
        assert "errors" not in small
        assert cost_of(small)["requested"] == 101
        assert codes(large) == []  # 1,001 is under the anonymous cap of 1,500
        assert cost_of(large)["requested"] == 1001

    async def test_the_cap_depends_on_who_asks(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        two_pages = ("query { a: helpArticles(first: 100) { edges { node { ...Article } } } "
                     "b: helpArticles(first: 100) { edges { node { ...Article } } } }\n"
                     + ARTICLE)
        anonymous = await graphql(client, two_pages)
        assert codes(anonymous) == ["QUERY_TOO_COSTLY"]
        assert cost_of(anonymous) == {"requested": 2002, "limit": LIMITS.cost_anonymous}
        person = await create_insured_employee(committed)
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        citizen = await graphql(client, two_pages, token=token)
        assert "errors" not in citizen
        assert cost_of(citizen) == {"requested": 2002, "limit": LIMITS.cost_citizen}

    async def test_anonymous_callers_of_signed_in_fields_hear_sign_in(
        self, client: httpx.AsyncClient
    ) -> None:
        # The inbox at 100 items costs 21,604, over the anonymous cap; but ``me`` refuses an
        # anonymous caller before anything below it runs, so that is what it costs them.
        body = await graphql(client, operation("Inbox"), {"first": 100})
        assert codes(body) == ["UNAUTHENTICATED"]
        assert cost_of(body)["requested"] == 1

    async def test_home_screen_reports_its_cost(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        body = await graphql(client, HOME_SCREEN, token=token)
        assert data(body)["me"]["id"]
        assert cost_of(body) == {"requested": 92, "limit": LIMITS.cost_citizen}


class TestIntegratorBudget:
    async def test_a_costly_request_spends_more_of_the_minute(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        query = "query ($iins: [String!]!) { eligibility(iins: $iins) { iin valid found } }"
        iins = [new_iin(date(1990, 1, 1), "F") for _ in range(400)]
        heavy = await new_client(auth_service, Scope.ELIGIBILITY_READ, requests_per_minute=3)
        light = await new_client(auth_service, Scope.ELIGIBILITY_READ, requests_per_minute=3)
        heavy_token = await access_token(client, heavy)
        light_token = await access_token(client, light)
        first = await graphql(client, query, {"iins": iins}, token=heavy_token)
        assert len(data(first)["eligibility"]) == 400
        assert cost_of(first) == {"requested": 1 + 400 * 3, "limit": LIMITS.cost_integrator}
        # 1,201 costs two points of three: one more light request fits, then none.
        assert "errors" not in await graphql(client, query, {"iins": iins[:1]}, token=heavy_token)
        refused = await graphql(client, query, {"iins": iins[:1]}, token=heavy_token)
        assert codes(refused) == ["RATE_LIMITED"]
        assert refused["errors"][0]["extensions"]["retryAfter"] > 0
        for _ in range(3):  # the same three points buy three light requests
            assert "errors" not in await graphql(client, query, {"iins": iins[:1]},
                                                 token=light_token)


class TestAnonymousPace:
    def test_bursts_pass_then_work_waits_its_turn_then_is_refused(self) -> None:
        now = [100.0]
        pace = AnonymousPace(rate=1_000, burst=2_000, max_wait=1.0, clock=lambda: now[0])
        assert pace.turn(1_500) == 0  # within the burst
        assert pace.turn(500) == 0
        assert pace.turn(500) == pytest.approx(0.5)  # the burst is spent: half a second
        assert pace.turn(1_000) is None  # would wait 1.5 s: refused, nothing taken
        assert pace.retry_after(1_000) == 1
        now[0] += 1.5
        assert pace.turn(1_000) == pytest.approx(0.0)

    async def test_a_flood_is_refused_with_a_time_to_retry(
        self, engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService,
        committed: AsyncSession,
    ) -> None:
        # A pace of one cost unit a second: the first help page fits the burst, the next
        # would wait far past the limit.
        limits = Limits(anonymous_cost_per_second=1, anonymous_burst=1_500,
                        anonymous_wait_seconds=1)
        app = create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                         today=lambda: TODAY, limits=limits)
        transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            assert "errors" not in await graphql(http, HELP_PAGE, {"first": 100})
            refused = await graphql(http, HELP_PAGE, {"first": 100})
            assert codes(refused) == ["RATE_LIMITED"]
            assert refused["errors"][0]["extensions"]["retryAfter"] > 0
            person = await create_insured_employee(committed)
            token = auth_service.mint(str(person.id), Audience.MOBILE)
            assert "errors" not in await graphql(http, HELP_PAGE, {"first": 100}, token=token)


class TestOneLooperDoesNotHoldUpOthers:
    def test_an_address_takes_only_its_share_of_the_process_pace(self) -> None:
        now = [100.0]
        paces = AnonymousPaces(rate=3_000, per_address=1_000, burst=1_000, max_wait=1.0,
                               clock=lambda: now[0])
        refused = 0
        for _ in range(20):  # one address loops as fast as it can
            try:
                paces.turn("10.0.0.1", 500)
            except RateLimited as limited:
                refused += 1
                assert limited.retry_after >= 1
        assert refused == 16  # its burst and one second of its own pace: 4 of 20
        # Another address is not refused: it waits only for what the looper was let through.
        assert paces.turn("10.0.0.2", 500) == pytest.approx(0.5)
        assert paces.turn("10.0.0.2", 500) == pytest.approx(2 / 3)

    def test_a_refusal_by_the_process_charges_the_address_nothing(self) -> None:
        now = [100.0]
        paces = AnonymousPaces(rate=1_000, per_address=1_000, burst=1_000, max_wait=1.0,
                               clock=lambda: now[0])
        paces.turn("10.0.0.1", 1_000)
        paces.turn("10.0.0.1", 1_000)  # the process's burst and a second of waiting: full
        with pytest.raises(RateLimited):
            paces.turn("10.0.0.2", 1_000)
        with pytest.raises(RateLimited):
            paces.turn("10.0.0.2", 1_000)
        # 10.0.0.2 took nothing of its own share: its whole burst is still there.
        assert paces._of("10.0.0.2").wait(1_000) == 0.0

    def test_forgotten_addresses_are_bounded(self) -> None:
        paces = AnonymousPaces(rate=10**9, per_address=1, burst=1, max_wait=0.5,
                               max_addresses=2, clock=lambda: 0.0)
        paces.turn("a", 1)
        with pytest.raises(RateLimited):
            paces.turn("a", 1)
        paces.turn("b", 1)
        paces.turn("c", 1)  # "a" is forgotten: it starts again with a full burst
        assert paces.turn("a", 1) < 0.001

    async def test_a_looping_address_neither_blocks_others_nor_sign_in(
        self, engine: AsyncEngine, auth_settings: AuthSettings,
    ) -> None:
        limits = Limits(anonymous_cost_per_second=10**6, anonymous_burst=1_500,
                        anonymous_cost_per_second_per_address=1, anonymous_wait_seconds=1)
        app = create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                         today=lambda: TODAY, limits=limits)
        looper, other = (httpx.ASGITransport(app=app, client=(new_ip(), 1234))
                         for _ in range(2))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=looper, base_url="http://testserver") as looping,
            httpx.AsyncClient(transport=other, base_url="http://testserver") as someone,
        ):
            assert "errors" not in await graphql(looping, HELP_PAGE, {"first": 100})
            assert codes(await graphql(looping, HELP_PAGE, {"first": 100})) == [
                "RATE_LIMITED"]
            assert "errors" not in await graphql(someone, HELP_PAGE, {"first": 100})
            # Signing in is never paced behind help queries, not even the looper's own.
            asked = await graphql(looping, SIGN_IN_CODE, {"iin": "790303402568",
                                                          "phone": "+77011234567"})
            assert "errors" not in asked
            assert data(asked)["requestSignInCode"]["challengeId"]


SIGN_IN_CODE = """mutation Ask($iin: String!, $phone: String!) {
  requestSignInCode(iin: $iin, phone: $phone) { challengeId }
}"""


@pytest.fixture
async def hurried(engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService
                  ) -> AsyncIterator[httpx.AsyncClient]:
    """The app with no time at all for queries: any query that waits on anything is late."""
    app: FastAPI = create_app(AppSettings(environment="development"), auth_settings,
                              engine=engine, today=lambda: TODAY,
                              limits=Limits(query_seconds=0))
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


class TestTimeLimit:
    async def test_a_query_past_the_limit_is_stopped(
        self, hurried: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        body = await graphql(hurried, HOME_SCREEN, token=token)
        assert codes(body) == ["TIMEOUT"]
        assert body["data"] is None
        assert body["extensions"]["requestId"]

    async def test_a_mutation_is_never_cut_off(
        self, hurried: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed)
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        body = await graphql(hurried, "mutation { markAllNotificationsRead { unreadCount } }",
                             token=token)
        assert data(body)["markAllNotificationsRead"]["unreadCount"] == 0
