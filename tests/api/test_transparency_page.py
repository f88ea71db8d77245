"""The public page ``/transparency`` over HTTP (ASGI), on a demo country whose rollups were
filled the real way: 200 in kk, ru and en (``?lang``, the cookie, ``Accept-Language``);
headers (the CSP, a strong ETag and 304, ``public, max-age``, ``Vary`` only where the
language is not in the URL); every number in the tables equals what
``backend.transparency.figures`` returns (the functions behind ``publicStats`` and the
open-data files), withheld cells written as withheld and never as 0; providers in keyset
pages and filtered; every bad query a clear 4xx page; every word in three languages."""

from __future__ import annotations

import re
import string
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.api.headers import CONTENT_SECURITY_POLICY
from backend.db.reads import Reads
from backend.demo import generator
from backend.i18n import format_month
from backend.models.enums import QualityZone
from backend.months import add_months
from backend.transparency import charts, figures
from backend.transparency.figures import Figure, figures_of
from backend.transparency.page import MONTHS, PAGE_SIZE, axis_months
from backend.transparency.page_texts import (
    TEXTS,
    amount,
    money,
    number,
    per_hundred,
    short_region,
    short_regions,
    sort_key,
    text,
    year_month,
)
from tests.api.conftest import TODAY
from tests.api.public_stats_world import ENDED, client_of, load_country, unpaced_app

LANGUAGES = ("kk", "ru", "en")
TITLES = {"kk": "Сақтандыру ақшасы қайда жұмсалады",
          "ru": "Куда идут деньги медицинского страхования",
          "en": "Where the health insurance money goes"}
FIRST = add_months(ENDED, 1 - MONTHS)
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "backend/transparency/templates").glob("*.html"))


# --- reading the page's tables ------------------------------------------------------------


@dataclass
class Cell:
    """A cell as the page wrote it."""

    tag: str
    classes: set[str]
    value: str | None
    text: str = ""


@dataclass
class Row:
    key: str | None
    cells: list[Cell] = field(default_factory=list)


class Tables(HTMLParser):
    """Every ``<table id=...>`` of a page: its rows (``data-key``) and their cells."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[Row]] = {}
        self._table: list[Row] | None = None
        self._cell: Cell | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id"):
            self._table = self.tables.setdefault(str(found["id"]), [])
        elif tag == "tr" and self._table is not None:
            self._table.append(Row(found.get("data-key")))
        elif tag in ("td", "th") and self._table is not None and self._table:
            self._cell = Cell(tag, set((found.get("class") or "").split()),
                              found.get("data-value"))
            self._table[-1].cells.append(self._cell)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data

    def rows(self, table: str) -> dict[str, list[Cell]]:
        """The rows of ``table`` that have a key, by key (the header row has none)."""
        return {row.key: row.cells for row in self.tables[table] if row.key is not None}


def shows_money(cell: Cell, figure: Figure, language: str) -> None:
    """The cell shows ``figure``'s amount exactly, or says it is withheld."""
    if figure.amount_tiyn is None:
        assert cell.text == text("withheld", language) and "withheld" in cell.classes
        assert cell.value is None
    else:
        assert cell.value == str(figure.amount_tiyn)
        assert cell.text == amount(figure.amount_tiyn, language)


def shows_count(cell: Cell, count: int | None, language: str) -> None:
    if count is None:
        assert cell.text == text("withheld", language) and "withheld" in cell.classes
        assert cell.value is None
    else:
        assert cell.value == str(count) and cell.text == number(count, language)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def country(engine: AsyncEngine) -> AsyncIterator[None]:
    """A demo country of 500 people (small: many cells withheld), rollups filled."""
    await load_country(engine, people=500, seed=11)
    try:
        yield
    finally:
        await generator.clear(engine)


@pytest.fixture
def page_app(engine: AsyncEngine, auth_settings: AuthSettings) -> FastAPI:
    return unpaced_app(engine, auth_settings)


@pytest.fixture
async def http(page_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(page_app) as client:
        yield client


@pytest.fixture
def public(engine: AsyncEngine) -> figures.PublicFigures:
    """The figures as ``figures.py`` gives them, read on a connection of the test's own."""
    return figures.PublicFigures(Reads(engine))


async def page_of(http: httpx.AsyncClient, query: str = "", **headers: str) -> httpx.Response:
    answer = await http.get("/transparency" + query, headers=headers)
    assert answer.status_code == 200, answer.text[:500]
    return answer


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.usefixtures("country")
class TestLanguages:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_each_language_by_query(self, http: httpx.AsyncClient, language: str) -> None:
        answer = await page_of(http, f"?lang={language}")
        assert f'<html lang="{language}">' in answer.text
        assert f"<h1>{TITLES[language]}</h1>" in answer.text
        assert answer.headers["content-language"] == language
        period = text("period", language, first=format_month(FIRST, language),
                      last=format_month(ENDED, language))
        assert text("lead", language, period=period) in answer.text.replace("&#39;", "'")

    async def test_accept_language_then_the_cookie_then_the_query(
        self, http: httpx.AsyncClient
    ) -> None:
        assert (await page_of(http, **{"Accept-Language": "ru-RU,ru;q=0.9"})
                ).headers["content-language"] == "ru"
        assert (await page_of(http)).headers["content-language"] == "kk"  # the default
        switched = await http.get("/transparency/language/en",
                                  params={"next": "/transparency?lang=ru&region=KZ-75&x=1"})
        assert switched.status_code == 303
        assert switched.headers["location"] == "/transparency?lang=en&region=KZ-75"
        assert "transparency_lang=en" in switched.headers["set-cookie"]
        assert "Path=/transparency" in switched.headers["set-cookie"]
        http.cookies.set("transparency_lang", "en")
        assert (await page_of(http, **{"Accept-Language": "ru"})
                ).headers["content-language"] == "en"
        assert (await page_of(http, "?lang=kk")).headers["content-language"] == "kk"

    async def test_the_language_link_goes_nowhere_else(self, http: httpx.AsyncClient) -> None:
        for back in ("https://evil.example/transparency", "//evil.example/", "/desk/",
                     "/transparency?" + "&".join(["zone=red"] * 11)):
            answer = await http.get("/transparency/language/ru", params={"next": back})
            assert answer.headers["location"] == "/transparency?lang=ru"
        assert (await http.get("/transparency/language/de")).status_code == 404


@pytest.mark.usefixtures("country")
class TestHeaders:
    async def test_cacheable_with_a_strong_etag_and_304(self, http: httpx.AsyncClient) -> None:
        answer = await page_of(http, "?lang=en")
        assert answer.headers["cache-control"] == "public, max-age=300"
        etag = answer.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        assert "vary" not in answer.headers  # the URL names the language
        again = await http.get("/transparency?lang=en", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        other = await page_of(http, "?lang=ru")
        assert other.headers["etag"] != etag
        assert (await page_of(http)).headers["vary"] == "Accept-Language, Cookie"

    async def test_same_figures_same_bytes(self, http: httpx.AsyncClient) -> None:
        first = await page_of(http, "?lang=kk")
        second = await page_of(http, "?lang=kk")
        assert first.content == second.content

    async def test_the_security_headers_and_no_script(self, http: httpx.AsyncClient) -> None:
        answer = await page_of(http, "?lang=ru")
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        page = answer.text
        assert "<script" not in page and "style=" not in page and "<style" not in page
        assert re.findall(r'(?:href|src)="(https?:)?//', page) == []  # nothing from elsewhere

    async def test_head_and_the_stylesheet(self, http: httpx.AsyncClient) -> None:
        head = await http.head("/transparency?lang=en")
        assert head.status_code == 200 and head.headers["etag"]
        css = await http.get("/transparency/static/transparency.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "svg.chart" in css.text
        assert (await http.get("/transparency/static/other.js")).status_code == 404


@pytest.mark.usefixtures("country")
class TestTheFigures:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_the_tables_are_what_figures_returns(
        self, http: httpx.AsyncClient, public: figures.PublicFigures, language: str
    ) -> None:
        tables = Tables((await page_of(http, f"?lang={language}")).text)
        money_in = await figures.money(public, figures.MONEY_IN, FIRST, ENDED, TODAY)
        money_out = await figures.money(public, figures.MONEY_OUT, FIRST, ENDED, TODAY)
        for table, by in (("months-table", "month"), ("regions-table", "region")):
            rows = tables.rows(table)
            ins = {row.key: row.figure for row in money_in.tables[by].rows}
            outs = {row.key: row.figure for row in money_out.tables[by].rows}
            assert set(rows) == set(ins) | {"total"} == set(outs) | {"total"}
            for key, cells in rows.items():
                shows_money(cells[1], money_in.total if key == "total" else ins[key], language)
                shows_money(cells[2], money_out.total if key == "total" else outs[key],
                            language)
        months = list(tables.rows("months-table"))
        assert months == [f"{m:%Y-%m}" for m in figures.period_months(FIRST, ENDED)] + ["total"]

    async def test_the_balance_is_todays(self, http: httpx.AsyncClient,
                                         engine: AsyncEngine) -> None:
        found = await figures.balance(Reads(engine), TODAY)
        page = (await page_of(http, "?lang=ru")).text
        assert f'<p class="big" data-value="{found.balance_tiyn}">' \
               f'{money(found.balance_tiyn, "ru")}</p>' in page
        assert f"<dd>{money(found.received_tiyn, 'ru')}</dd>" in page
        assert f"<dd>{money(found.paid_tiyn, 'ru')}</dd>" in page
        assert "на 23 ноября 2026 г." in page

    async def test_insured_people_by_region(self, http: httpx.AsyncClient,
                                            engine: AsyncEngine) -> None:
        reads = Reads(engine)
        month = await figures.latest_insured_month(reads, TODAY.replace(day=1))
        assert month is not None
        found = await figures.insured(figures_of(reads), month,
                                      await figures_of(reads).regions())
        assert found is not None
        rows = Tables((await page_of(http, "?lang=en")).text).rows("insured-table")
        expected = {row.key: row for row in found.rows}
        assert set(rows) == set(expected) | {"total"}
        for key, cells in rows.items():
            by_status, total = ((found.by_status, found.total) if key == "total" else
                                (expected[key].by_status, expected[key].total))
            for cell, status in zip(cells[1:4], figures.STATUSES, strict=True):
                shows_count(cell, by_status[status], "en")
            shows_count(cells[4], total, "en")

    async def test_the_first_providers_page(self, http: httpx.AsyncClient,
                                            public: figures.PublicFigures) -> None:
        page = await figures.provider_page(public.db, region_code=None, zone=None, after=None,
                                           limit=PAGE_SIZE)
        found = {str(item.provider.bin): item
                 for item in await figures.providers(public, page, FIRST, ENDED, TODAY)}
        rows = Tables((await page_of(http, "?lang=kk")).text).rows("providers-table")
        assert list(rows) == [provider.bin for provider in page]
        for key, cells in rows.items():
            item = found[key]
            assert cells[0].text == item.provider.name_kk
            assert cells[2].text == text(f"zone_{item.provider.quality_zone}", "kk")
            shows_money(cells[3], item.money, "kk")
            shows_count(cells[4], item.money.count, "kk")
            for cell, numerator, rate in ((cells[5], item.flags, item.anomaly_rate),
                                          (cells[6], item.cases, item.dispute_rate)):
                if item.money.count is None or numerator is None:
                    assert cell.text == text("withheld", "kk")
                elif rate is None:
                    assert cell.text == "—" and item.money.count == 0
                else:
                    assert cell.text == per_hundred(rate, "kk")

    async def test_withheld_cells_say_so_never_zero(self, http: httpx.AsyncClient) -> None:
        for language in LANGUAGES:
            tables = Tables((await page_of(http, f"?lang={language}")).text)
            withheld = [cell for rows in tables.tables.values() for row in rows
                        for cell in row.cells if "withheld" in cell.classes]
            assert len(withheld) > 5  # a 500-person country withholds many cells
            assert {cell.text for cell in withheld} == {text("withheld", language)}
            page = (await page_of(http, f"?lang={language}")).text
            assert text("withheld_long", language) in page.replace("&#39;", "'")


@pytest.mark.usefixtures("country")
class TestProviders:
    async def test_pages_follow_one_another_in_region_and_bin_order(
        self, http: httpx.AsyncClient
    ) -> None:
        seen: list[str] = []
        query = "?lang=en"
        for _ in range(4):
            page = (await page_of(http, query)).text
            rows = Tables(page).tables["providers-table"]
            seen += [str(row.key) for row in rows if row.key is not None]
            found = re.search(r'<a href="(/transparency\?[^"#]+)#providers" rel="next">', page)
            assert found is not None
            query = found.group(1).replace("&amp;", "&").removeprefix("/transparency")
            assert "lang=en" in query and "after=KZ-" in query
        assert len(seen) == len(set(seen)) == 4 * PAGE_SIZE
        assert 'href="/transparency?lang=en#providers"' in page  # back to the first page

    async def test_a_region_and_a_zone(self, http: httpx.AsyncClient,
                                       public: figures.PublicFigures) -> None:
        page = (await page_of(http, "?lang=ru&region=KZ-75&zone=green")).text
        rows = Tables(page).rows("providers-table")
        expected = await figures.provider_page(public.db, region_code="KZ-75", zone="green",
                                               after=None, limit=PAGE_SIZE)
        assert list(rows) == [provider.bin for provider in expected] and rows
        assert {cells[1].text for cells in rows.values()} == {"Алматы"}
        assert '<option value="KZ-75" selected>' in page
        assert '<option value="green" selected>' in page

    async def test_nothing_matches(self, http: httpx.AsyncClient) -> None:
        page = (await page_of(http, "?lang=en&region=KZ-75&after=KZ-99:999999999999")).text
        assert text("providers_none", "en") in page and "providers-table" not in page


@pytest.mark.usefixtures("country")
class TestRefusals:
    @pytest.mark.parametrize(("query", "words"), [
        ("?lang=de", "There is no language “de”"),
        ("?lang=en&lang=ru", "The page has no parameter “lang”"),
        ("?utm_source=x", "The page has no parameter “utm_source”"),
        ("?region=KZ-99", "There is no region “KZ-99”"),
        ("?region=<b>", "There is no region “&lt;b&gt;”"),
        ("?zone=blue", "There is no zone “blue”"),
        ("?after=KZ-75", "The page marker is not valid"),
    ])
    async def test_a_bad_query_is_a_clear_400_page(
        self, http: httpx.AsyncClient, query: str, words: str
    ) -> None:
        answer = await http.get("/transparency" + query, headers={"Accept-Language": "en"})
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "<h1>This page cannot be shown</h1>" in answer.text
        assert words in answer.text
        assert 'href="/transparency?lang=en"' in answer.text

    async def test_the_refusal_speaks_the_readers_language(
        self, http: httpx.AsyncClient
    ) -> None:
        answer = await http.get("/transparency?lang=xx", headers={"Accept-Language": "ru"})
        assert answer.status_code == 400 and '<html lang="ru">' in answer.text
        assert "Языка «xx» нет" in answer.text

    async def test_an_unknown_page_is_404(self, http: httpx.AsyncClient) -> None:
        answer = await http.get("/transparency/providers.php")
        assert answer.status_code == 404 and "<h1>Бет табылмады</h1>" in answer.text


class TestTheWords:
    @pytest.mark.parametrize("key", sorted(TEXTS))
    def test_every_key_in_three_languages_with_the_same_blanks(self, key: str) -> None:
        words = TEXTS[key]
        assert set(words) == set(LANGUAGES), key
        blanks = [{name for _, name, _, _ in string.Formatter().parse(words[language]) if name}
                  for language in LANGUAGES]
        assert blanks[0] == blanks[1] == blanks[2], key
        assert all(words[language].strip() == words[language] != "" for language in LANGUAGES)

    def test_every_key_the_templates_ask_for_exists(self) -> None:
        call = re.compile(r"""\bt\(\s*(["'])([^"']*)\1\s*([,)~])""")
        asked = {(match.group(2), match.group(3)) for path in TEMPLATES
                 for match in call.finditer(path.read_text(encoding="utf-8"))}
        assert len(asked) > 40
        assert sorted(key for key, after in asked if after != "~" and key not in TEXTS) == []
        assert {key for key, after in asked if after == "~"} == {"zone_"}
        assert all(f"zone_{zone.value}" in TEXTS for zone in QualityZone)

    @pytest.mark.parametrize(("language", "tiyn", "written"), [
        ("en", 1_234_567_891, "12,345,678.91"), ("ru", 1_234_567_800, "12 345 678,00"),
        ("kk", -5, "-0,05"), ("en", 0, "0.00"),
    ])
    def test_amounts_in_tables(self, language: str, tiyn: int, written: str) -> None:
        assert amount(tiyn, language) == written.replace(" ", "\u00a0")

    def test_numbers_rates_and_months(self) -> None:
        assert number(139_774, "en") == "139,774"
        assert number(139_774, "kk") == "139\u00a0774"
        assert per_hundred(0.0123, "ru") == "1,23" and per_hundred(0.5, "en") == "50.00"
        assert year_month(TODAY, "kk", with_year=True) == "2026\u00a0қар"
        assert year_month(TODAY, "ru", with_year=False) == "ноя"
        assert year_month(TODAY, "en", with_year=True) == "Nov\u00a02026"

    def test_regions_sort_in_each_alphabet(self) -> None:
        names = ["Ұлытау облысы", "Ақмола облысы", "Абай облысы", "Атырау облысы"]
        assert sorted(names, key=lambda n: sort_key(short_region(n), "kk")) == [
            "Абай облысы", "Ақмола облысы", "Атырау облысы", "Ұлытау облысы"]
        assert short_region("область Абай") == "Абай"
        assert short_region("North Kazakhstan Region") == "North Kazakhstan"
        assert short_regions(["Almaty Region", "Almaty", "Abai Region"]) == [
            "Almaty Region", "Almaty", "Abai"]


class TestTheCharts:
    def test_pygal_drawn_without_what_the_csp_forbids_and_the_same_each_time(self) -> None:
        def draw() -> charts.Chart:
            return charts.bar_chart(
                chart_id="c", labelled_by="cap", language="en", labels=["a", "b", "c"],
                series=[charts.Series("in", [10**10, None, 5 * 10**9]),
                        charts.Series("out", [3 * 10**9, 0, None])])
        chart = draw()
        assert chart == draw() and chart.unit == "million ₸"
        for svg in (chart.wide, chart.narrow):
            assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
            assert 'role="img"' in svg and 'aria-labelledby="cap"' in svg
            for forbidden in ("<script", "<style", "style=", "pygal.org", "<title"):
                assert forbidden not in svg
            # four bars: a withheld figure draws none (it is not zero; a zero draws a flat one)
            assert svg.count('class="rect reactive tooltip-trigger"') == 4
        assert 'id="c-wide"' in chart.wide and 'id="c-narrow"' in chart.narrow

    def test_pygal_leaves_no_finder_without_find_spec_on_the_import_path(self) -> None:
        assert "pygal" in sys.modules and charts.STYLE is not None  # imported, and then
        assert [finder for finder in sys.meta_path if not hasattr(finder, "find_spec")] == []

    def test_the_scale_follows_the_biggest_figure(self) -> None:
        def unit(tiyn: int) -> int:
            return charts.scale_of([charts.Series("x", [tiyn, None])])
        assert unit(5 * 10**13) == 1_000_000_000 and unit(5 * 10**10) == 1_000_000
        assert unit(5 * 10**6) == 1_000 and unit(5_000) == 1 and unit(0) == 1


class TestTheAxis:
    def test_years_where_they_change_and_never_two_long_labels_side_by_side(self) -> None:
        from_december = list(figures.period_months(date(2025, 12, 1), date(2026, 11, 1)))
        assert axis_months(from_december, "ru")[:3] == ["дек", "янв\u00a02026", "фев"]
        from_march = list(figures.period_months(date(2025, 3, 1), date(2026, 2, 1)))
        labels = axis_months(from_march, "en")
        assert labels[0] == "Mar\u00a02025" and labels[10] == "Jan\u00a02026"
        assert sum("\u00a0" in label for label in labels) == 2
