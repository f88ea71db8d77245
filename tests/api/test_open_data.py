"""Open data over HTTP: the index, each month's CSV and JSON files (the same numbers as
``publicStats``, suppressed figures empty with their flag), the data dictionary in three
languages, strong ETags with 304, public caching, and 404 problem answers for months that
have not ended, have no figures, or files that do not exist."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.demo import generator
from backend.transparency.open_data import FILES
from tests.api.gql import data, graphql
from tests.api.public_stats_world import client_of, load_country, unpaced_app


@pytest.fixture(scope="module")
async def country(engine: AsyncEngine) -> AsyncIterator[None]:
    await load_country(engine, people=400, seed=8)
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


def read_csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv; charset=utf-8")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


@pytest.mark.usefixtures("country")
class TestFiles:
    async def test_the_index_lists_ended_months_and_their_files(
        self, quick: httpx.AsyncClient
    ) -> None:
        index = (await quick.get("/open-data/")).json()
        months = [entry["month"] for entry in index["months"]]
        assert months[0] == "2026-10" and "2026-11" not in months
        assert months == sorted(months, reverse=True)
        october = {f["name"]: f for f in index["months"][0]["files"]}
        assert set(october) == set(FILES)
        assert october["money-in-by-region"]["csv"] == "/open-data/2026-10/money-in-by-region.csv"
        # Insured people only where the month has its month-end count.
        assert "insured-by-region" not in {f["name"] for f in index["months"][1]["files"]}

    async def test_every_file_of_the_month_has_its_columns_and_no_small_figure(
        self, quick: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        async with engine.connect() as conn:
            providers = (await conn.execute(text("SELECT count(*) FROM core.provider"))).scalar()
        for name, spec in FILES.items():
            response = await quick.get(f"/open-data/2026-10/{name}.csv")
            rows = read_csv(response)
            header = response.content.decode().split("\r\n", 1)[0]
            assert header == ",".join(spec.columns)
            assert rows and {row["month"] for row in rows} == {"2026-10"}
            counts = [c for c in spec.columns
                      if c in ("payments", "services", "insured", "conditionally_insured",
                               "not_insured", "people", "flags", "cases")]
            for row in rows:
                values = [row[c] for c in counts]
                assert all(v == "" or int(v) == 0 or int(v) >= 11 for v in values), (name, row)
                assert row["suppressed"] == ("true" if "" in values else "false"), (name, row)
            if name == "money-out-by-provider":
                assert len(rows) == providers
            else:
                assert rows[-1][spec.columns[1]] == "TOTAL"

    async def test_the_json_has_the_same_rows(self, quick: httpx.AsyncClient) -> None:
        as_csv = read_csv(await quick.get("/open-data/2026-10/money-out-by-category.csv"))
        as_json = (await quick.get("/open-data/2026-10/money-out-by-category.json")).json()
        assert as_json["columns"] == list(FILES["money-out-by-category"].columns)
        assert [{k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in row.items()} for row in as_json["rows"]] == as_csv

    async def test_the_files_say_what_publicstats_says(self, quick: httpx.AsyncClient) -> None:
        query = """query { publicStats { moneyIn(from: "2026-10", until: "2026-10") {
          byRegion { key count amount { amount } } total { count amount { amount } } }
          insured(month: "2026-10") { byRegion { key insured total } } } }"""
        stats = data(await graphql(quick, query))["publicStats"]
        rows = read_csv(await quick.get("/open-data/2026-10/money-in-by-region.csv"))
        by_key = {row["region_code"]: row for row in rows}
        for figure in [*stats["moneyIn"]["byRegion"], {**stats["moneyIn"]["total"],
                                                       "key": "TOTAL"}]:
            row = by_key[figure["key"]]
            assert row["payments"] == ("" if figure["count"] is None else str(figure["count"]))
            amount = figure["amount"]["amount"] if figure["amount"] else ""
            assert row["amount_kzt"] == amount
        insured = {r["region_code"]: r for r in read_csv(
            await quick.get("/open-data/2026-10/insured-by-region.csv"))}
        for figure in stats["insured"]["byRegion"]:
            assert insured[figure["key"]]["people"] == (
                "" if figure["total"] is None else str(figure["total"]))

    async def test_a_file_is_tagged_cached_publicly_and_answers_304(
        self, quick: httpx.AsyncClient
    ) -> None:
        url = "/open-data/2026-10/money-out-by-region.csv"
        first = await quick.get(url, headers={"Authorization": "Bearer whatever"})
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, max-age=3600"
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        again = await quick.get(url, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert (await quick.get(url)).headers["etag"] == etag

    @pytest.mark.parametrize("path", [
        "/open-data/2026-11/money-in-by-region.csv",  # the month is not over
        "/open-data/2027-01/money-in-by-region.csv",
        "/open-data/2019-01/money-in-by-region.csv",  # no figures
        "/open-data/2026-13/money-in-by-region.csv",
        "/open-data/0000-01/money-in-by-region.csv",
        "/open-data/2026-10/money-in-by-nothing.csv",
        "/open-data/2026-10/money-in-by-region.xlsx",
        "/open-data/dictionary.xml",
    ])
    async def test_what_is_not_published_is_a_404_problem(
        self, quick: httpx.AsyncClient, path: str
    ) -> None:
        response = await quick.get(path, headers={"Accept-Language": "ru"})
        assert response.status_code == 404
        body: dict[str, Any] = response.json()
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "открытых данных" in body["errors"][0]["message"]
        assert response.headers["cache-control"] == "no-store"


async def test_the_dictionary_describes_every_column_in_three_languages(
    quick: httpx.AsyncClient
) -> None:
    document = (await quick.get("/open-data/dictionary.json")).json()
    described = {(f["name"], c["name"]) for f in document["files"] for c in f["columns"]}
    assert described == {(name, column) for name, spec in FILES.items()
                         for column in spec.columns}
    for entry in document["files"]:
        assert all(entry["description"][language] for language in ("kk", "ru", "en"))
        for column in entry["columns"]:
            assert all(column["description"][language] for language in ("kk", "ru", "en"))
    rows = read_csv(await quick.get("/open-data/dictionary.csv"))
    assert {(row["file"], row["column"]) for row in rows} == described
    assert all(row["description_kk"] and row["description_ru"] and row["description_en"]
               for row in rows)
