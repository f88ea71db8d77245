"""The servers of the public figures' benchmark (``bench/public_stats.py``), as uvicorn factories
configured by environment like ``bench/servers.py``'s (``BENCH_DATABASE_URL``, ``BENCH_TODAY``):

    python -m uvicorn --factory bench.public_floor:api_cold_app   # or api_warm_app, floor_app

* ``api_warm_app``: the real API (``create_app``) on a fixed day, with the anonymous pace lifted
  (one wrk address would otherwise measure the pace, 10,000 cost units a second, not the work)
  and the query time limit at 60 s (32 requests queue on one worker);
* ``api_cold_app``: the same, and every request gets its own empty ``PublicFigures`` (the
  figures' minute cache): each request reads the editions and its months' released cells
  again, as the first request after the minute has passed does, and no request finds what a
  concurrent one has just read;
* ``floor_app``: the raw floor.  For each of the three requests it issues, on one pooled asyncpg
  connection, the same SELECTs over the same ``stats`` tables as ``backend.transparency.figures``
  does for it (the statements are the module's own: the editions, the released cells of the
  months asked, the balance, insured people, the providers), sums the released cells into the
  cells the answer shows (their true values) and writes them out: JSON of the ``PublicStats``
  operation's shape, the same CSV columns as ``money-out-by-provider.csv``, a plain HTML page
  of the page's tables.  No privacy rule (nothing withheld), no GraphQL, no chart, no template.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import html
import io
import json
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.gql.limits import Limits
from backend.i18n import format_month
from backend.months import add_months, month_start, months_between
from backend.settings import AppSettings
from backend.transparency import figures
from backend.transparency.figures import PublicFigures
from bench.raw_floor import asyncpg_dsn
from bench.servers import DEFAULT_TODAY

JsonObject = dict[str, Any]
LANGUAGE = "kk"
"""What the API answers a request without Accept-Language (the floor writes the same names)."""
PAGE = 20
"""``providers(first: 20)``: PublicStats.graphql's default, and the page's."""
UNPACED = 10**12
QUERY_SECONDS = 60.0
"""The query time limit (10 s in production): 32 requests queued on one cold worker near it."""
CSV_TYPE = "text/csv; charset=utf-8; header=present"

# The statements of ``backend.transparency.figures``, not copies: the floor reads what it reads.
RELEASED = figures.RELEASED  # a measure's released cells of some months
EDITIONS = "SELECT measure, as_of, months, withheld, later, released_at FROM stats.edition"
REGIONS = "SELECT code FROM core.region ORDER BY code"  # ``PublicFigures.regions``
INSURED = ("SELECT region_code, status, people, final FROM stats.insured"
           " WHERE month = $1 ORDER BY region_code, status")  # ``figures.insured``
ALL_PROVIDERS = ("SELECT id, bin, region_code, quality_zone, name_kk, name_ru, name_en"
                 " FROM core.provider ORDER BY region_code, bin")  # ``open_data``


def _database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise RuntimeError("set BENCH_DATABASE_URL to the demo database")
    return url


def _today() -> date:
    return date.fromisoformat(os.environ.get("BENCH_TODAY", DEFAULT_TODAY))


# --- the API, warm and cold ----------------------------------------------------------------


def _api() -> FastAPI:
    day = _today()
    limits = Limits(anonymous_cost_per_second=UNPACED, anonymous_burst=UNPACED,
                    anonymous_cost_per_second_per_address=UNPACED, query_seconds=QUERY_SECONDS)
    return create_app(AppSettings(), AuthSettings(), database_url=_database_url(),
                      today=lambda: day, limits=limits)


def api_warm_app() -> FastAPI:
    """The real API as deployed (protected months kept a minute), the anonymous pace lifted."""
    return _api()


_REQUEST_FIGURES: ContextVar[PublicFigures | None] = ContextVar("bench_figures", default=None)


class _PerRequest:
    """Stands in for ``figures._PER_READS`` in the cold app: ``figures_of`` finds the figures of
    the request it runs in (sibling fields of one request share them, as in the real app)."""

    def get(self, _reads: object) -> PublicFigures | None:
        return _REQUEST_FIGURES.get()

    def __setitem__(self, _reads: object, value: PublicFigures) -> None:
        _REQUEST_FIGURES.set(value)


class ColdFigures:
    """Gives every HTTP request new, empty ``PublicFigures`` (the minute cache starts empty),
    sharing the process's limit of three statements at once as the one instance does."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.connections = asyncio.Semaphore(3)
        setattr(figures, "_PER_READS", _PerRequest())  # noqa: B010  (a private module global)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = getattr(self.app.state, "runtime", None)
        if scope["type"] == "http" and runtime is not None:
            _REQUEST_FIGURES.set(PublicFigures(runtime.reads, _connections=self.connections))
        await self.app(scope, receive, send)


def api_cold_app() -> ColdFigures:
    """The real API, every request with the figures' minute cache empty."""
    return ColdFigures(_api())


# --- the floor: the same rows, summed into the same cells ----------------------------------


@dataclass
class Sums:
    """A measure's rows summed by month, by region, by provider, and in total."""

    count: int = 0
    amount: int = 0
    by_month: dict[date, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_region: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_provider: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0]))


def _sums(rows: Iterable[asyncpg.Record]) -> Sums:
    """Released cells summed over their months: the month totals, the regions, the providers
    (every cell's true value: the floor withholds nothing)."""
    sums = Sums()
    for row in rows:
        count, amount, dimension = int(row["count"]), int(row["amount"]), row["dimension"]
        if dimension == "total":
            cell = sums.by_month[row["month"]]
            sums.count += count
            sums.amount += amount
        elif dimension == "region":
            cell = sums.by_region[row["key"]]
        elif dimension == "provider":
            cell = sums.by_provider[row["key"]]
        else:
            continue
        cell[0] += count
        cell[1] += amount
    return sums


def _per_provider(rows: Iterable[asyncpg.Record]) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for row in rows:
        found[row["key"]] += int(row["count"])
    return found


def _rate(numerator: int, services: int) -> float | None:
    return None if services <= 0 else round(numerator / services, 4)


def _kzt(tiyn: int) -> str:
    return f"{'-' if tiyn < 0 else ''}{abs(tiyn) // 100}.{abs(tiyn) % 100:02d}"


@dataclass
class Page:
    """Everything the page and ``PublicStats`` show, unprotected."""

    months: list[date]
    regions: list[str]
    balance: tuple[int, int]
    money_in: Sums
    money_out: Sums
    providers: list[asyncpg.Record]
    flags: dict[str, int]
    cases: dict[str, int]
    insured_month: date | None
    insured: list[asyncpg.Record]


class Floor:
    """The floor's reads on a pool (one connection per request, its statements in a row)."""

    def __init__(self, pool: asyncpg.Pool, today: date, region_names: dict[str, str]) -> None:
        self.pool = pool
        self.today = today
        self.region_names = region_names

    async def page(self, second_insured_month: bool) -> Page:
        """The SELECTs of the page (``second_insured_month``) or of ``PublicStats``."""
        last = figures.last_ended(self.today)
        months = list(months_between(add_months(last, -11), last))
        current = month_start(self.today)
        async with self.pool.acquire() as conn:
            balance = await figures.balance(conn, self.today)
            await conn.fetch(EDITIONS)  # the cross-month rule's inputs
            money_in = _sums(await conn.fetch(RELEASED, figures.MONEY_IN, months))
            money_out = _sums(await conn.fetch(RELEASED, figures.MONEY_OUT, months))
            regions = [str(row["code"]) for row in await conn.fetch(REGIONS)]
            providers = await conn.fetch(figures.PROVIDER_PAGE, None, None, None, None,
                                         PAGE + 1)
            flags = _per_provider(await conn.fetch(RELEASED, "flags", months))
            cases = _per_provider(await conn.fetch(RELEASED, "cases", months))
            insured_month = await figures.latest_insured_month(conn, current)
            if second_insured_month:
                await figures.latest_insured_month(conn, last)
            insured = ([] if insured_month is None
                       else await conn.fetch(INSURED, insured_month))
        return Page(months, regions, (balance.received_tiyn, balance.paid_tiyn), money_in,
                    money_out, list(providers), flags, cases, insured_month, list(insured))

    async def provider_csv(self, month: date) -> bytes:
        """``money-out-by-provider.csv`` of ``month``, from the same SELECTs."""
        async with self.pool.acquire() as conn:
            await conn.fetch(EDITIONS)  # ``months_with_data``
            providers = await conn.fetch(ALL_PROVIDERS)
            money = _sums(await conn.fetch(RELEASED, figures.MONEY_OUT, [month]))
            flags = _per_provider(await conn.fetch(RELEASED, "flags", [month]))
            cases = _per_provider(await conn.fetch(RELEASED, "cases", [month]))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(("month", "provider_id", "bin", "region_code", "quality_zone", "name_kk",
                         "name_ru", "name_en", "services", "amount_kzt", "flags", "anomaly_rate",
                         "cases", "dispute_rate", "suppressed"))
        shown = f"{month:%Y-%m}"
        for row in providers:
            key = str(row["id"])
            services, amount = money.by_provider.get(key, (0, 0))
            flagged, reported = flags.get(key, 0), cases.get(key, 0)
            rates = [_rate(flagged, services), _rate(reported, services)]
            writer.writerow((shown, key, row["bin"], row["region_code"], row["quality_zone"],
                             row["name_kk"], row["name_ru"], row["name_en"], services,
                             _kzt(amount), flagged, "" if rates[0] is None else rates[0],
                             reported, "" if rates[1] is None else rates[1], "false"))
        return buffer.getvalue().encode("utf-8")


def _money(key: str, name: str, cell: Sequence[int]) -> JsonObject:
    return {"key": key, "name": name, "amount": {"amount": _kzt(cell[1])}, "count": cell[0]}


def _money_json(sums: Sums, page: Page, names: dict[str, str]) -> JsonObject:
    return {
        "from": f"{page.months[0]:%Y-%m}", "until": f"{page.months[-1]:%Y-%m}",
        "total": {"amount": {"amount": _kzt(sums.amount)}, "count": sums.count,
                  "suppressed": False},
        "byMonth": [_money(f"{m:%Y-%m}", format_month(m, LANGUAGE), sums.by_month.get(m, (0, 0)))
                    for m in page.months],
        "byRegion": [_money(code, names.get(code, code), sums.by_region.get(code, (0, 0)))
                     for code in page.regions],
    }


def _insured(page: Page) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    by_region: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total: dict[str, int] = defaultdict(int)
    for row in page.insured:
        by_region[row["region_code"]][row["status"]] += int(row["people"])
        total[row["status"]] += int(row["people"])
    return by_region, total


def _insured_figure(key: str, name: str, cells: dict[str, int]) -> JsonObject:
    return {"key": key, "name": name, "insured": cells.get("INSURED", 0),
            "conditionallyInsured": cells.get("CONDITIONALLY_INSURED", 0),
            "notInsured": cells.get("NOT_INSURED", 0), "total": sum(cells.values())}


def _provider_json(page: Page) -> JsonObject:
    edges = []
    for row in page.providers[:PAGE]:
        key = str(row["id"])
        services, amount = page.money_out.by_provider.get(key, (0, 0))
        edges.append({"node": {
            "provider": {"id": base64.b64encode(f"Provider:{key}".encode()).decode(),
                         "name": row[f"name_{LANGUAGE}"],
                         "qualityZone": str(row["quality_zone"]).upper(),
                         "region": {"code": row["region_code"]}},
            "received": {"amount": _kzt(amount)}, "services": services,
            "anomalyRate": _rate(page.flags.get(key, 0), services),
            "disputeRate": _rate(page.cases.get(key, 0), services)}})
    last = page.providers[:PAGE][-1] if page.providers else None
    cursor = None if last is None else base64.urlsafe_b64encode(json.dumps(
        ["public_providers", last["region_code"], last["bin"]],
        separators=(",", ":")).encode()).decode().rstrip("=")
    return {"edges": edges, "pageInfo": {"hasNextPage": len(page.providers) > PAGE,
                                         "endCursor": cursor}}


def public_stats_json(page: Page, today: date, names: dict[str, str]) -> JsonObject:
    """``data`` of PublicStats.graphql from the unprotected cells."""
    received, paid = page.balance
    by_region, total = _insured(page)
    return {"publicStats": {
        "balance": {"on": today.isoformat(), "received": {"amount": _kzt(received)},
                    "paidOut": {"amount": _kzt(paid)},
                    "balance": {"amount": _kzt(received - paid), "currency": "KZT"}},
        "moneyIn": _money_json(page.money_in, page, names),
        "moneyOut": _money_json(page.money_out, page, names),
        "insured": None if page.insured_month is None else {
            "month": f"{page.insured_month:%Y-%m}",
            "final": all(bool(row["final"]) for row in page.insured),
            "total": _insured_figure("total", "Барлығы", total),
            "byRegion": [_insured_figure(code, names.get(code, code), by_region.get(code, {}))
                         for code in page.regions]},
        "providers": _provider_json(page),
    }}


def _table(caption: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row)
                    + "</tr>" for row in rows)
    header = "".join(f"<th>{html.escape(name)}</th>" for name in head)
    return f"<table><caption>{html.escape(caption)}</caption><tr>{header}</tr>{cells}</table>"


def page_html(page: Page, names: dict[str, str]) -> bytes:
    """The page's tables as plain HTML (no chart, no template)."""
    received, paid = page.balance
    by_region, _ = _insured(page)
    parts = [
        "<!doctype html><html lang=en><title>Transparency</title><main>",
        _table("Balance", ("received", "paid out", "balance"),
               [(_kzt(received), _kzt(paid), _kzt(received - paid))]),
        _table("By month", ("month", "in", "payments", "out", "services"),
               [(format_month(m, "en"), _kzt(page.money_in.by_month.get(m, (0, 0))[1]),
                 page.money_in.by_month.get(m, (0, 0))[0],
                 _kzt(page.money_out.by_month.get(m, (0, 0))[1]),
                 page.money_out.by_month.get(m, (0, 0))[0]) for m in page.months]),
        _table("By region", ("region", "in", "out"),
               [(names.get(code, code), _kzt(page.money_in.by_region.get(code, (0, 0))[1]),
                 _kzt(page.money_out.by_region.get(code, (0, 0))[1]))
                for code in page.regions]),
        _table("Providers", ("provider", "region", "zone", "received", "services", "flags",
                             "cases"),
               [(row["name_en"], row["region_code"], row["quality_zone"],
                 _kzt(page.money_out.by_provider.get(str(row["id"]), (0, 0))[1]),
                 page.money_out.by_provider.get(str(row["id"]), (0, 0))[0],
                 page.flags.get(str(row["id"]), 0), page.cases.get(str(row["id"]), 0))
                for row in page.providers[:PAGE]]),
        _table("Insured", ("region", "insured", "conditionally", "not insured"),
               [(names.get(code, code), by_region.get(code, {}).get("INSURED", 0),
                 by_region.get(code, {}).get("CONDITIONALLY_INSURED", 0),
                 by_region.get(code, {}).get("NOT_INSURED", 0)) for code in page.regions]),
        "</main></html>",
    ]
    return "".join(parts).encode("utf-8")


def create_floor_app(database_url: str, *, today: date, pool_size: int = 20) -> Starlette:
    """The floor on ``database_url`` (a pool of up to ``pool_size`` connections)."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            asyncpg_dsn(database_url), min_size=min(10, pool_size), max_size=pool_size,
            server_settings={"timezone": "UTC", "application_name": "mhi-public-floor"})
        names = {lang: {str(row["code"]): str(row[f"name_{lang}"]) for row in await pool.fetch(
            "SELECT code, name_kk, name_en FROM core.region")} for lang in (LANGUAGE, "en")}
        state["floor"], state["names"] = Floor(pool, today, names[LANGUAGE]), names
        try:
            yield
        finally:
            await pool.close()

    async def graphql(request: Request) -> Response:
        payload = json.loads(await request.body())
        if not isinstance(payload, dict) or "query" not in payload:
            return Response(b'{"errors":[{"message":"Send a query."}]}',
                            media_type="application/json")
        page = await state["floor"].page(second_insured_month=False)
        body = {"data": public_stats_json(page, today, state["names"][LANGUAGE])}
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    async def month_file(request: Request) -> Response:
        month = date.fromisoformat(f"{request.path_params['month']}-01")
        return Response(await state["floor"].provider_csv(month), media_type=CSV_TYPE)

    async def transparency(_: Request) -> Response:
        page = await state["floor"].page(second_insured_month=True)
        return Response(page_html(page, state["names"]["en"]),
                        media_type="text/html; charset=utf-8")

    async def healthz(_: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[
        Route("/graphql", graphql, methods=["POST"]),
        Route("/open-data/{month}/money-out-by-provider.csv", month_file, methods=["GET"]),
        Route("/transparency", transparency, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)


def floor_app() -> Starlette:
    """The floor with a pool as large as the API's."""
    settings = AppSettings()
    return create_floor_app(_database_url(), today=_today(),
                            pool_size=settings.db_pool_size + settings.db_max_overflow)
