"""``Query.publicStats`` over HTTP, anonymous: the page's query under the anonymous cost cap,
cacheable (ETag, 304, ``public, max-age``); the figures are the rollups' sums with no count of
1–10 published; providers in keyset pages; every bad argument a typed, localized error; and a
fixed number of SQL statements, fewer once the months are kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from graphql import parse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.demo import generator
from backend.demo.cast import CAST
from backend.gql.cost import estimate
from backend.gql.schema import build_schema
from tests.api.gql import codes, data, graphql, operation
from tests.api.public_stats_world import ENDED, client_of, load_country, unpaced_app
from tests.api.test_statement_counts import counting

PAGE = {"from": "2025-11", "until": "2026-10", "month": "2026-10"}


@pytest.fixture(scope="module")
async def country(engine: AsyncEngine) -> AsyncIterator[None]:
    """A demo country of 500 people, its rollups filled the real way."""
    await load_country(engine, people=500, seed=5)
    try:
        yield
    finally:
        await generator.clear(engine)


@pytest.fixture
def quick_app(engine: AsyncEngine, auth_settings: AuthSettings) -> FastAPI:
    return unpaced_app(engine, auth_settings)


@pytest.fixture
async def quick(quick_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(quick_app) as http:
        yield http


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), params))


def published_counts(stats: dict[str, Any]) -> list[int]:
    """Every count the answer publishes."""
    found = []
    for figures in (stats["moneyIn"], stats["moneyOut"]):
        for row in [figures["total"], *figures["byMonth"], *figures["byRegion"]]:
            if row["count"] is not None:
                found.append(row["count"])
    for row in [stats["insured"]["total"], *stats["insured"]["byRegion"]]:
        found += [v for k, v in row.items() if k not in ("key", "name") and v is not None]
    found += [edge["node"]["services"] for edge in stats["providers"]["edges"]
              if edge["node"]["services"] is not None]
    return found


@pytest.mark.usefixtures("country")
class TestThePage:
    async def test_the_pages_query_is_anonymous_cheap_and_small_cells_free(
        self, client: httpx.AsyncClient
    ) -> None:
        document = parse(operation("PublicStats"))
        found = estimate(build_schema()._schema, document, None, PAGE, anonymous=True)
        assert found is not None and found[0].cost <= 1_500
        stats = data(await graphql(client, operation("PublicStats"), PAGE))["publicStats"]
        assert stats["moneyIn"]["from"] == "2025-11" and len(stats["moneyIn"]["byMonth"]) == 12
        assert len(stats["moneyOut"]["byRegion"]) == 20
        assert stats["insured"]["month"] == "2026-10" and stats["insured"]["final"]
        counts = published_counts(stats)
        assert counts and not [n for n in counts if 1 <= n <= 10]
        assert any(row["count"] is None for row in stats["moneyOut"]["byRegion"]) or all(
            row["count"] >= 11 or row["count"] == 0 for row in stats["moneyOut"]["byRegion"])

    async def test_it_is_cacheable_with_an_etag(self, client: httpx.AsyncClient) -> None:
        body = {"query": operation("PublicStats"), "variables": PAGE}
        first = await client.post("/graphql", json=body)
        assert first.status_code == 200 and "errors" not in first.json()
        assert first.headers["cache-control"] == "public, max-age=300"
        etag = first.headers["etag"]
        again = await client.post("/graphql", json=body, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")

    async def test_a_citizen_reads_the_same_figures(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        bearer = auth_service.mint(str(CAST[0].id), Audience.MOBILE)
        query = "query { publicStats { moneyOut(from: \"2026-10\", until: \"2026-10\") {" \
                " total { count } } } }"
        signed_in = data(await graphql(client, query, token=bearer))
        assert signed_in == data(await graphql(client, query))

    async def test_published_figures_are_the_rollups_sums(
        self, quick: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        query = """query { publicStats {
          moneyOut(from: "2026-10", until: "2026-10") {
            total { count amount { amount } } byRegion { key count amount { amount } } }
          moneyIn(from: "2026-10", until: "2026-10") { byKind { key count } } } }"""
        stats = data(await graphql(quick, query))["publicStats"]
        sums = {row[0]: (row[1], row[2]) for row in await rows(engine, """
            SELECT region_code, sum(services), sum(amount_tiyn) FROM stats.money_out
            WHERE month = :month GROUP BY region_code""", month=ENDED)}
        for row in stats["moneyOut"]["byRegion"]:
            if row["count"] is not None:
                count, tiyn = sums.get(row["key"], (0, 0))
                assert (row["count"], row["amount"]["amount"]) == (count, f"{tiyn / 100:.2f}")
        total = stats["moneyOut"]["total"]
        assert total["count"] == sum(count for count, _ in sums.values())
        kinds = {row[0]: row[1] for row in await rows(engine, """
            SELECT kind, sum(payments) FROM stats.money_in WHERE month = :month
            GROUP BY kind""", month=ENDED)}
        assert {r["key"]: r["count"] for r in stats["moneyIn"]["byKind"]
                if r["count"] is not None}.items() <= kinds.items()

    async def test_the_balance_is_what_moved_up_to_the_day(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        query = "query($on: Date) { publicStats { balance(on: $on) { on received { amount }" \
                " paidOut { amount } balance { amount } } } }"
        [(received, paid)] = await rows(engine, """
            SELECT sum(in_tiyn), sum(out_tiyn) FROM stats.cash_day WHERE day <= '2026-06-14'""")
        found = data(await graphql(client, query, {"on": "2026-06-14"}))["publicStats"]
        assert found["balance"] == {
            "on": "2026-06-14", "received": {"amount": f"{received / 100:.2f}"},
            "paidOut": {"amount": f"{paid / 100:.2f}"},
            "balance": {"amount": f"{(received - paid) / 100:.2f}"}}
        today = data(await graphql(client, query))["publicStats"]["balance"]
        assert today["on"] == "2026-11-23"


@pytest.mark.usefixtures("country")
class TestProviders:
    async def test_pages_walk_every_provider_once_in_order(
        self, quick: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        seen: list[str] = []
        after = None
        while True:
            page = data(await graphql(quick, operation("PublicStatsProviders"), {
                "first": 7, "after": after, "from": "2026-10", "until": "2026-10"}))
            found = page["publicStats"]["providers"]
            seen += [edge["node"]["provider"]["id"] for edge in found["edges"]]
            if not found["pageInfo"]["hasNextPage"]:
                break
            after = found["pageInfo"]["endCursor"]
        [(providers,)] = await rows(engine, "SELECT count(*) FROM core.provider")
        assert len(seen) == len(set(seen)) == providers

    async def test_a_region_and_a_zone_filter_the_list(
        self, quick: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        [(region, zone, expected)] = await rows(engine, """
            SELECT region_code, quality_zone, count(*) FROM core.provider
            GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1""")
        query = """query($r: String, $z: QualityZone) { publicStats {
          providers(regionCode: $r, zone: $z, first: 100) {
            edges { node { provider { qualityZone region { code } } services } } } } }"""
        found = data(await graphql(quick, query, {"r": region, "z": zone.upper()}))
        edges = found["publicStats"]["providers"]["edges"]
        assert len(edges) == expected
        assert {(e["node"]["provider"]["region"]["code"], e["node"]["provider"]["qualityZone"])
                for e in edges} == {(region, zone.upper())}

    async def test_rates_are_published_only_with_their_counts(
        self, quick: httpx.AsyncClient
    ) -> None:
        query = """query { publicStats { providers(first: 100) {
          edges { node { services received { amount } anomalyRate disputeRate } } } } }"""
        edges = data(await graphql(quick, query))["publicStats"]["providers"]["edges"]
        for edge in edges:
            node = edge["node"]
            assert (node["services"] is None) == (node["received"] is None)
            if node["services"] is None:
                assert node["anomalyRate"] is None and node["disputeRate"] is None
            else:
                assert node["services"] == 0 or node["services"] >= 11


@pytest.mark.usefixtures("country")
class TestRefusals:
    @pytest.mark.parametrize(("field", "arguments", "reason", "pointed"), [
        ("moneyIn", 'from: "2026-05", until: "2026-01"', "PERIOD_REVERSED", "until"),
        ("moneyOut", 'from: "2020-01", until: "2026-01"', "PERIOD_TOO_LONG", "from"),
        ("moneyIn", 'until: "2026-11"', "MONTH_NOT_OVER", "until"),
        ("providers", 'from: "2026-12"', "MONTH_NOT_OVER", "until"),
        ("moneyOut", 'until: "0001-01"', "MONTH_TOO_EARLY", "until"),
        ("insured", 'month: "2027-01"', "MONTH_NOT_YET", "month"),
    ])
    async def test_a_bad_period_is_refused_in_the_readers_language(
        self, client: httpx.AsyncClient, field: str, arguments: str, reason: str,
        pointed: str
    ) -> None:
        query = f"query {{ publicStats {{ {field}({arguments}) {{ __typename }} }} }}"
        body = await graphql(client, query, headers={"Accept-Language": "ru"})
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": reason,
                                       "field": pointed}
        assert any(letter in error["message"] for letter in "аеиоу")  # Russian

    @pytest.mark.parametrize("literal", ["5", '["2026-01"]', "true", '"2026-1"', '"26-01"'])
    async def test_a_month_that_is_not_a_month_is_bad_input_not_a_fault(
        self, client: httpx.AsyncClient, literal: str
    ) -> None:
        query = f"query {{ publicStats {{ moneyIn(from: {literal}) {{ from }} }} }}"
        assert set(codes(await graphql(client, query))) <= {"BAD_USER_INPUT",
                                                            "GRAPHQL_VALIDATION_FAILED"}

    async def test_an_unknown_region_and_a_foreign_cursor_are_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        query = "query($r: String, $a: String) { publicStats {" \
                " providers(regionCode: $r, after: $a) { edges { cursor } } } }"
        unknown = await graphql(client, query, {"r": "KZ-99"})
        assert unknown["errors"][0]["extensions"]["reason"] == "UNKNOWN_REGION"
        assert "KZ-99" not in unknown["errors"][0]["message"]
        assert codes(await graphql(client, query, {"a": "bm90IG91cnM"})) == ["BAD_USER_INPUT"]
        assert codes(await graphql(client, query.replace("after: $a", "first: 101"))) == [
            "BAD_USER_INPUT"]

    async def test_a_future_day_and_a_month_without_figures_are_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        future = await graphql(client, 'query { publicStats { balance(on: "2026-11-24") {'
                                       " balance { amount } } } }",
                               headers={"Accept-Language": "kk"})
        assert future["errors"][0]["extensions"]["reason"] == "DAY_NOT_YET"
        missing = await graphql(client, 'query { publicStats { insured(month: "2025-03") {'
                                        " month } } }", headers={"Accept-Language": "en"})
        assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "March 2025" in missing["errors"][0]["message"]


@pytest.mark.usefixtures("country")
async def test_the_page_costs_few_statements_and_fewer_once_kept(
    quick_app: FastAPI, quick: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    with counting(quick_app, engine) as cold:
        data(await graphql(quick, operation("PublicStats"), PAGE))
    with counting(quick_app, engine) as warm:
        data(await graphql(quick, operation("PublicStats"), PAGE))
    # Cold: the editions, each measure's released cells (money in, money out, flags, cases),
    # the balance, insured (the month, its cells), the provider page, region codes; and the
    # process's reference data (3, once per process).  None reads a rollup of money.
    assert len(cold) <= 13, "\n".join(sql[:70] for sql in cold)
    assert not [sql for sql in cold if "money_" in sql or "provider_flags" in sql]
    assert len(warm) <= 5, [sql[:60] for sql in warm]
    assert not [sql for sql in warm if "release_cell" in sql]


@pytest.mark.usefixtures("country")
async def test_each_read_can_use_the_rollups_keys(engine: AsyncEngine) -> None:
    from backend.transparency.figures import PROVIDER_PAGE, RELEASED, SQL

    plans = []
    async with engine.connect() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        for sql in SQL.values():
            plan = await driver.fetch(f"EXPLAIN {sql}", [ENDED])
            plans.append("\n".join(row[0] for row in plan))
        plan = await driver.fetch(f"EXPLAIN {RELEASED}", "money_out", [ENDED])
        plans.append("\n".join(row[0] for row in plan))
        plan = await driver.fetch(f"EXPLAIN {PROVIDER_PAGE}", "KZ-75", None, None, None, 20)
        plans.append("\n".join(row[0] for row in plan))
    assert all("Index" in plan and "Seq Scan" not in plan for plan in plans), plans


async def test_no_demo_no_figures_but_no_error(client: httpx.AsyncClient,
                                               engine: AsyncEngine) -> None:
    await generator.clear(engine)
    query = 'query { publicStats { moneyIn(from: "2026-01", until: "2026-03") {' \
            " total { count } byMonth { count } } } }"
    found = data(await graphql(client, query))["publicStats"]["moneyIn"]
    assert found == {"total": {"count": 0}, "byMonth": [{"count": 0}] * 3}


async def test_no_dates_in_the_future_come_from_the_defaults(client: httpx.AsyncClient) -> None:
    query = "query { publicStats { moneyOut { from until } } }"
    found = data(await graphql(client, query))["publicStats"]["moneyOut"]
    assert found == {"from": "2025-11", "until": "2026-10"}
    assert date.fromisoformat(found["until"] + "-01") == ENDED
