"""Every operation of the app, end to end over HTTP, on a small demo country; in kk, ru, en."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.tokens import Audience
from backend.demo import generator
from backend.demo.cast import CAST
from tests.api.conftest import TODAY
from tests.api.gql import OPERATIONS, data, graphql, operation

KAZAKH, RUSSIAN, ENGLISH = CAST[0], CAST[1], CAST[3]


@pytest.fixture
async def demo(engine: AsyncEngine) -> AsyncIterator[None]:
    """A demo country of 60 people (the cast first), removed afterwards."""
    await generator.generate(engine, people=60, seed=3, as_of=TODAY, quiet=True)
    try:
        yield
    finally:
        async with engine.begin() as conn:
            tables = ", ".join(f"core.{table}" for table in generator.DEMO_TABLES)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def token(auth_service: AuthService, index: int) -> str:
    return auth_service.mint(str(CAST[index].id), Audience.MOBILE)


async def run(client: httpx.AsyncClient, name: str, token: str | None,
              variables: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    return data(await graphql(client, operation(name), variables, token=token, headers=headers))


@pytest.mark.usefixtures("demo")
class TestEveryOperation:
    async def test_each_operation_runs_for_each_cast_member(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        names = {path.stem for path in OPERATIONS.glob("*.graphql")}
        covered: set[str] = set()
        for index in range(len(CAST)):
            bearer = token(auth_service, index)
            home = (await run(client, "HomeScreen", bearer))["me"]
            assert home["insurance"]["reason"]["text"]
            covered.add("HomeScreen")
            for name in ("InsuranceStatus", "Receipts", "ContributionMonths",
                         "CoveredServices", "WhereMyMoneyWent"):
                assert (await run(client, name, bearer))["me"]["id"] == home["id"]
                covered.add(name)
            services = home["coveredServices"]["edges"]
            if services:
                detail = await run(client, "ServiceDetail", bearer,
                                   {"id": services[0]["node"]["id"]})
                assert detail["node"]["id"] == services[0]["node"]["id"]
                covered.add("ServiceDetail")
        listing = await run(client, "HelpList", None, {"audience": "CITIZEN"})
        slug = listing["helpArticles"]["edges"][0]["node"]["slug"]
        article = await run(client, "HelpArticle", None, {"slug": slug})
        assert article["helpArticle"]["body"]
        found = await run(client, "HelpSearch", None, {"query": article["helpArticle"]["title"]
                                                        .split()[0]})
        assert found["searchHelp"]["edges"]
        covered |= {"HelpList", "HelpArticle", "HelpSearch"}
        assert covered == names

    async def test_the_cast_shows_every_status(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        statuses = set()
        for index in range(len(CAST)):
            home = (await run(client, "HomeScreen", token(auth_service, index)))["me"]
            statuses.add(home["insurance"]["status"])
        assert statuses == {"INSURED", "CONDITIONALLY_INSURED", "NOT_INSURED"}


@pytest.mark.usefixtures("demo")
class TestLanguages:
    @pytest.mark.parametrize(("index", "language", "word"), [
        (0, "KK", "Сақтандырылғансыз"), (1, "RU", "застрахованы"), (3, "EN", "Insured")])
    async def test_the_home_screen_speaks_the_persons_language(
        self, client: httpx.AsyncClient, auth_service: AuthService, index: int, language: str,
        word: str,
    ) -> None:
        home = (await run(client, "HomeScreen", token(auth_service, index),
                          headers={"Accept-Language": "de, en;q=0.1"}))["me"]
        assert home["language"] == language
        assert word in home["insurance"]["reason"]["text"]

    @pytest.mark.parametrize(("header", "expected"), [
        (None, "KK"), ("ru-RU,ru;q=0.9", "RU"), ("en-US", "EN")])
    async def test_help_for_a_visitor_follows_accept_language(
        self, client: httpx.AsyncClient, header: str | None, expected: str
    ) -> None:
        headers = {"Accept-Language": header} if header else None
        body = await run(client, "HelpArticle", None, {"slug": "install-the-app"},
                         headers=headers)
        assert body["helpArticle"]["language"] == expected
