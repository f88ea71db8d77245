"""The public page at ``/transparency``: where the country's insurance money goes, rendered on
the server in Kazakh, Russian or English, as the desk console is.

Every figure comes from ``backend.transparency.figures``, the functions behind ``publicStats``
and the open-data files, so the page publishes exactly what the API publishes (withheld cells
included).  The page has no script: charts are SVG drawn on the server (``charts``), and every
chart has a table beside it.

It is the same for everyone in a language, so it is cacheable: the app's ``ETagMiddleware``
gives it a strong ETag (a hash of the page; ``If-None-Match`` → 304) and ``public,
max-age``.  The language comes from ``?lang=``, else the cookie the language links set, else
``Accept-Language``; the page's own links always
carry ``lang``, so those URLs name one page each and need no ``Vary``.  Unknown parameters are
refused (400), so a cache never keeps two copies of one page under junk URLs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.care.repository import ProviderRow
from backend.gql.context import SUPPORTED_LANGUAGES, language_from_header
from backend.i18n import format_date, format_month
from backend.models.enums import QualityZone
from backend.months import add_months, month_start, months_between
from backend.reference.cache import ReferenceData
from backend.transparency import figures, open_data, texts
from backend.transparency.charts import Chart, Series, bar_chart
from backend.transparency.figures import Figure, ProviderFigures
from backend.transparency.page_texts import (
    LANGUAGE_NAMES,
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

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
STATIC_FILES = {"transparency.css": "text/css; charset=utf-8"}
LANGUAGE_COOKIE = "transparency_lang"
MONTHS = 12
"""The period shown: the 12 months before this one (``publicStats``'s default too)."""
PAGE_SIZE = 20
MAX_AGE = 300
PARAMETERS = ("lang", "region", "zone", "after")
ZONES = tuple(zone.value for zone in QualityZone)
_AFTER = re.compile(r"(KZ-[0-9]{2}):([0-9]{12})")


class Refusal(Exception):
    """A request the page answers with a short page of its own (status and words)."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Asked:
    """What a request asks for, checked: the language (``pinned``: by ``?lang``) and the
    providers' filter and page."""

    language: str
    pinned: bool
    region: str | None
    zone: str | None
    after: tuple[str, str] | None


@dataclass(frozen=True)
class Cell:
    """A figure as the page shows it: its words, its exact value (tiyn or a count, for the
    ``data-value`` of the cell), and whether it is withheld."""

    text: str
    value: int | None = None
    withheld: bool = False


@dataclass(frozen=True)
class Line:
    """A row of a table: what it is about, and its cells."""

    label: str
    cells: tuple[Cell, ...]
    key: str = ""


@dataclass(frozen=True)
class ProviderLine:
    """A provider's row: its name, region and zone, and its figures."""

    name: str
    bin: str
    region: str
    zone: str
    cells: tuple[Cell, ...]


def money_cell(figure: Figure, language: str) -> Cell:
    """An amount, or "withheld"."""
    if figure.amount_tiyn is None:
        return Cell(text("withheld", language), withheld=True)
    return Cell(amount(figure.amount_tiyn, language), figure.amount_tiyn)


def count_cell(count: int | None, language: str) -> Cell:
    """A count, or "withheld"."""
    if count is None:
        return Cell(text("withheld", language), withheld=True)
    return Cell(number(count, language), count)


def rate_cell(numerator: int | None, rate: float | None, services: Figure,
              language: str) -> Cell:
    """A rate per 100 services; "withheld" when a count it needs is; "—" with nothing paid."""
    if services.count is None or numerator is None:
        return Cell(text("withheld", language), withheld=True)
    if rate is None:
        return Cell("—")
    return Cell(per_hundred(rate, language))


class TransparencyPage:
    """The page's routes on one FastAPI app."""

    def __init__(self, today: Callable[[], date], *, secure_cookies: bool) -> None:
        self._today = today
        self._secure = secure_cookies
        self._templates = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.router = APIRouter(prefix="/transparency", include_in_schema=False)
        self.router.add_api_route("", self.page, methods=["GET", "HEAD"])
        self.router.add_api_route("/", self.page, methods=["GET", "HEAD"])
        self.router.add_api_route("/language/{code}", self.language, methods=["GET"])
        self.router.add_api_route("/static/{name}", self.static, methods=["GET", "HEAD"])
        self.router.add_api_route("/{rest:path}", self.unknown, methods=["GET", "HEAD"])

    # -- routes ---------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The page, or a 400 page naming what in the query is wrong."""
        reference: ReferenceData = await request.app.state.runtime.reference.get()
        try:
            asked = self._asked(request)
            if asked.region is not None and asked.region not in reference.regions:
                raise Refusal(400, "bad_region", value=asked.region)
        except Refusal as refusal:
            return self._refused(request, refusal)
        values = await self._figures(request, asked, reference)
        # The ETag, ``public, max-age`` and 304 come from ``backend.api.etag`` (as for
        # /graphql and /open-data/); only what varies is said here.
        headers = {"Content-Language": asked.language}
        if not asked.pinned:
            headers["Vary"] = "Accept-Language, Cookie"
        return HTMLResponse(self._render("page.html", asked.language, **values),
                            headers=headers)

    async def language(self, request: Request) -> Response:
        """Remember the language (a cookie) and go back to the page in it."""
        code = request.path_params["code"]
        if code not in SUPPORTED_LANGUAGES:
            return self._refused(request, Refusal(404, "not_found_text"))
        back = request.query_params.get("next", "")
        kept = [(name, value) for name, value in _query_pairs(back)
                if name in PARAMETERS and name != "lang"]
        response = RedirectResponse("/transparency?" + urlencode([("lang", code), *kept]),
                                    status_code=303)
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86_400, path="/transparency",
                            secure=self._secure, httponly=True, samesite="lax")
        return response

    async def static(self, request: Request) -> Response:
        """The stylesheet (the page has no script)."""
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "public, max-age=3600"})

    async def unknown(self, request: Request) -> Response:
        """Anything else under ``/transparency``: a 404 page."""
        return self._refused(request, Refusal(404, "not_found_text"))

    # -- plumbing -------------------------------------------------------------------------

    def _chosen_language(self, request: Request) -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        if chosen in SUPPORTED_LANGUAGES:
            return str(chosen)
        return language_from_header(request.headers.get("accept-language"))

    def _asked(self, request: Request) -> Asked:
        pairs = request.query_params.multi_items()
        for name, _ in pairs:
            if name not in PARAMETERS or sum(1 for other, _ in pairs if other == name) > 1:
                raise Refusal(400, "bad_parameter", value=name[:40],
                              known=", ".join(PARAMETERS))
        query = dict(pairs)
        language = query.get("lang")
        if language is not None and language not in SUPPORTED_LANGUAGES:
            raise Refusal(400, "bad_language", value=language[:20])
        region = query.get("region") or None
        if region is not None and not re.fullmatch(r"KZ-[0-9]{2}", region):
            raise Refusal(400, "bad_region", value=region[:20])
        zone = query.get("zone") or None
        if zone is not None and zone not in ZONES:
            raise Refusal(400, "bad_zone", value=zone[:20])
        after = None
        if query.get("after"):
            found = _AFTER.fullmatch(query["after"])
            if found is None:
                raise Refusal(400, "bad_after")
            after = (found.group(1), found.group(2))
        return Asked(language or self._chosen_language(request), language is not None,
                     region, zone, after)

    def _render(self, template: str, language: str, **values: Any) -> str:
        return self._templates.get_template(template).render(
            t=lambda key, **fill: text(key, language, **fill), lang=language,
            languages=LANGUAGE_NAMES, **values)

    def _refused(self, request: Request, refusal: Refusal) -> HTMLResponse:
        language = self._chosen_language(request)
        title = "not_found_title" if refusal.status == 404 else "error_title"
        page = self._render("message.html", language, title=text(title, language),
                            words=text(refusal.key, language, **refusal.values), next="")
        return HTMLResponse(page, status_code=refusal.status,
                            headers={"Cache-Control": "no-store"})

    async def _figures(self, request: Request, asked: Asked, reference: ReferenceData
                       ) -> dict[str, Any]:
        reads = request.app.state.runtime.reads
        language = asked.language
        today = self._today()
        current = month_start(today)
        last = add_months(current, -1)
        first = add_months(last, 1 - MONTHS)
        public = figures.figures_of(reads)
        balance, money_in, money_out, page, insured_month, last_insured = await asyncio.gather(
            figures.balance(reads, today),
            figures.money(public, figures.MONEY_IN, first, last, today, ("month", "region")),
            figures.money(public, figures.MONEY_OUT, first, last, today, ("month", "region")),
            figures.provider_page(reads, region_code=asked.region, zone=asked.zone,
                                  after=asked.after, limit=PAGE_SIZE + 1),
            figures.latest_insured_month(reads, current),
            figures.latest_insured_month(reads, last))
        providers = await figures.providers(public, page[:PAGE_SIZE], first, last, today)
        insured = None if insured_month is None else await figures.insured(
            public, insured_month, await public.regions())

        def region_name(code: str) -> str:
            region = reference.regions.get(code)
            return region.name_in(language) if region is not None else code

        period = text("period", language, first=format_month(first, language),
                      last=format_month(last, language))
        months = list(months_between(first, last))
        return {
            "period": period,
            "today": format_date(today, language),
            "balance": {"total": money(balance.balance_tiyn, language),
                        "received": money(balance.received_tiyn, language),
                        "paid": money(balance.paid_tiyn, language),
                        "value": balance.balance_tiyn},
            **self._by_month(months, money_in, money_out, language),
            **self._by_region(money_in, money_out, region_name, language),
            "providers": [self._provider(item, region_name, language) for item in providers],
            "more": _link(asked, after=_cursor(page[PAGE_SIZE - 1]))
            if len(page) > PAGE_SIZE else None,
            "first_page": _link(asked) if asked.after is not None else None,
            "filter": asked,
            "regions": sorted(((code, region_name(code)) for code in reference.regions),
                              key=lambda pair: sort_key(short_region(pair[1]), language)),
            "zones": ZONES,
            "insured": self._insured(insured, region_name, language),
            "open_month_name": format_month(last, language),
            "open_files": _open_files(last, language, with_insured=last_insured == last),
            "next": _link(asked, lang=False),
            "page_size": PAGE_SIZE,
        }

    def _by_month(self, months: Sequence[date], money_in: figures.MoneyFigures,
                  money_out: figures.MoneyFigures, language: str) -> dict[str, Any]:
        ins = {row.key: row.figure for row in money_in.tables["month"].rows}
        outs = {row.key: row.figure for row in money_out.tables["month"].rows}
        keys = [f"{month:%Y-%m}" for month in months]
        lines = [Line(format_month(month, language), (
            money_cell(ins[key], language), money_cell(outs[key], language)), key)
            for month, key in zip(months, keys, strict=True)]
        chart = bar_chart(
            chart_id="chart-months", labelled_by="months-chart-caption", language=language,
            labels=[year_month(month, language, with_year=True) for month in months],
            short_labels=axis_months(months, language),
            series=[Series(text("money_in", language), [ins[k].amount_tiyn for k in keys]),
                    Series(text("money_out", language), [outs[k].amount_tiyn for k in keys])])
        return {"months": lines, "months_chart": chart, "months_total": Line(
            text("total", language), (money_cell(money_in.total, language),
                                      money_cell(money_out.total, language)), "total")}

    def _by_region(self, money_in: figures.MoneyFigures, money_out: figures.MoneyFigures,
                   name: Callable[[str], str], language: str) -> dict[str, Any]:
        ins = {row.key: row.figure for row in money_in.tables["region"].rows}
        outs = {row.key: row.figure for row in money_out.tables["region"].rows}
        codes = sorted(set(ins) | set(outs),  # the code breaks ties (Almaty, Almaty Region)
                       key=lambda code: (sort_key(short_region(name(code)), language), code))
        nothing = Figure(0, 0)
        lines = [Line(name(code), (money_cell(ins.get(code, nothing), language),
                                   money_cell(outs.get(code, nothing), language)), code)
                 for code in codes]
        chart: Chart = bar_chart(
            chart_id="chart-regions", labelled_by="regions-chart-caption", language=language,
            horizontal=True, labels=[name(code) for code in codes],
            narrow_labels=short_regions([name(code) for code in codes]),
            series=[Series(text("money_in", language),
                           [ins.get(code, nothing).amount_tiyn for code in codes]),
                    Series(text("money_out", language),
                           [outs.get(code, nothing).amount_tiyn for code in codes])])
        return {"regions_lines": lines, "regions_chart": chart, "regions_total": Line(
            text("total", language), (money_cell(money_in.total, language),
                                      money_cell(money_out.total, language)), "total")}

    @staticmethod
    def _provider(item: ProviderFigures, name: Callable[[str], str],
                  language: str) -> ProviderLine:
        provider = item.provider
        return ProviderLine(
            name=provider.name_in(language), bin=provider.bin,
            region=name(provider.region_code), zone=provider.quality_zone,
            cells=(money_cell(item.money, language), count_cell(item.money.count, language),
                   rate_cell(item.flags, item.anomaly_rate, item.money, language),
                   rate_cell(item.cases, item.dispute_rate, item.money, language)))

    @staticmethod
    def _insured(found: figures.InsuredFigures | None, name: Callable[[str], str],
                 language: str) -> dict[str, Any] | None:
        if found is None:
            return None

        def cells(by_status: Mapping[str, int | None], total: int | None) -> tuple[Cell, ...]:
            return (*(count_cell(by_status[status], language) for status in figures.STATUSES),
                    count_cell(total, language))

        return {
            "month": format_month(found.month, language),
            "final": found.final,
            "statuses": [texts.STATUSES[status][language] for status in figures.STATUSES],
            "lines": sorted((Line(name(row.key), cells(row.by_status, row.total), row.key)
                             for row in found.rows),
                            key=lambda line: sort_key(short_region(line.label), language)),
            "total": Line(text("total", language), cells(found.by_status, found.total),
                          "total"),
        }


def axis_months(months: Sequence[date], language: str) -> list[str]:
    """The months under a wide chart: the year with January, and with the first month unless
    January follows it at once (two long labels side by side would overlap)."""
    return [year_month(month, language, with_year=month.month == 1 or (
        index == 0 and not (len(months) > 1 and months[1].month == 1)))
        for index, month in enumerate(months)]


@dataclass(frozen=True)
class OpenFile:
    """A month's open-data file: its name, what it holds, its two addresses."""

    name: str
    description: str
    csv: str
    json: str


def _open_files(month: date, language: str, *, with_insured: bool) -> list[OpenFile]:
    """The files of ``month`` at ``/open-data/`` (insured people only when counted then)."""
    return [OpenFile(name, texts.FILES[name][language], f"/open-data/{month:%Y-%m}/{name}.csv",
                     f"/open-data/{month:%Y-%m}/{name}.json")
            for name, spec in open_data.FILES.items()
            if spec.measure != "insured" or with_insured]


def _cursor(provider: ProviderRow) -> tuple[str, str]:
    return (provider.region_code, provider.bin)


def _link(asked: Asked, *, after: tuple[str, str] | None = None, lang: bool = True) -> str:
    """The page's URL with the same filter (and ``after``), in the same language."""
    pairs = [("lang", asked.language)] if lang else []
    pairs += [(name, value) for name, value in (("region", asked.region), ("zone", asked.zone))
              if value]
    if after is not None:
        pairs.append(("after", f"{after[0]}:{after[1]}"))
    return "/transparency" + ("?" + urlencode(pairs) if pairs else "")


def _query_pairs(url: str) -> list[tuple[str, str]]:
    """The query of a same-page URL (``next`` of a language link), as pairs."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/transparency"):
        return []
    try:
        return parse_qsl(parts.query, max_num_fields=10)
    except ValueError:  # more fields than the page has: none of them is kept
        return []


def add_transparency_page(app: FastAPI, today: Callable[[], date], *,
                          secure_cookies: bool) -> None:
    """Mount the public page at ``/transparency`` (``today``: the app's clock)."""
    app.include_router(TransparencyPage(today, secure_cookies=secure_cookies).router)
