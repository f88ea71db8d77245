"""The raw floor for the HomeScreen benchmark: the same JSON as GraphQL, with nothing between.

A minimal Starlette app with one ``POST /graphql`` route (the path and the request body are
the GraphQL server's, so one wrk script drives both).  Per request it does only the work that
any implementation of the home screen must do:

* verify the bearer token with ``auth``'s verifier (``AuthService.principal_from_header``);
* read the person, their category memberships, every contribution (the status engine needs
  the whole history) and the three latest covered services in **one** hand-written asyncpg
  statement, names already picked in the person's language;
* run the pure domain rules (``compute_status``, ``reason_text``, ``STATUS_NAMES``) with the
  rate book loaded once at startup;
* encode ``{"data": ...}`` exactly as the API does (``orjson.dumps``, ``GraphQLApp.encode_json``).

No Strawberry, no SQLAlchemy session, no DataLoader.  ``tests/api/test_bench_floor.py`` proves
the body is byte-for-byte the GraphQL HomeScreen response.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from graphql import parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.principals import Anonymous, Citizen
from auth.service import AuthService
from auth.settings import AuthSettings
from backend.contributions.types import SELF_NAME  # a text table (kk/ru/en), nothing more
from backend.db.engine import create_engine
from backend.gql.cost import estimate
from backend.gql.limits import Limits
from backend.gql.schema import build_schema
from backend.i18n import pick
from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.rates.repository import load_rate_book
from backend.status import ContributionFact, Membership, StatusResult, compute_status
from backend.status.texts import STATUS_NAMES, reason_text

JsonObject = dict[str, Any]


def _name(alias: str) -> str:
    """SQL for a trilingual row's name in the person's language (``p.language``)."""
    return (f"CASE p.language WHEN 'ru' THEN {alias}.name_ru WHEN 'en' THEN {alias}.name_en "
            f"ELSE {alias}.name_kk END")


HOME_SQL = f"""
SELECT p.first_name, p.language,
  ARRAY(SELECT ROW(m.category_code, m.valid_from, m.valid_to, {_name("c")})
        FROM core.category_membership m
        LEFT JOIN core.preferential_category c ON c.code = m.category_code
        WHERE m.person_id = p.id ORDER BY m.valid_from) AS memberships,
  ARRAY(SELECT ROW(k.id, k.period, k.kind, k.amount_tiyn, k.paid_on, y.kind, y.name)
        FROM core.contribution k
        LEFT JOIN LATERAL (SELECT y.kind, {_name("y")} AS name FROM core.payer y
                           WHERE y.id = k.payer_id OFFSET 0) y ON true
        WHERE k.person_id = p.id ORDER BY k.period, k.id) AS contributions,
  ARRAY(SELECT ROW(s.id, s.care_date, s.amount_tiyn, {_name("ms")}, {_name("pr")})
        FROM core.service_payment s
        JOIN core.medical_service ms ON ms.code = s.service_code
        JOIN core.provider pr ON pr.id = s.provider_id
        WHERE s.person_id = p.id ORDER BY s.care_date DESC, s.id DESC LIMIT 3) AS services
FROM core.person p WHERE p.id = $1
"""
"""Everything the home screen shows, in one round trip (each part on its own index).

The payer is looked up per receipt (``LATERAL ... OFFSET 0`` keeps it a parameterised index
probe): with a plain ``LEFT JOIN`` the planner, expecting ~500 receipts per person from the
column statistics, hashes the whole payer table (25,000 rows at 1M people) on every request,
so the cost would grow with the country instead of with the person's history.
"""

PAGE = 3
"""``contributions(first: 3)`` and ``coveredServices(first: 3)`` in HomeScreen.graphql."""


def global_id(type_name: str, node_id: object) -> str:
    """A Relay global id as Strawberry writes it: base64 of ``TypeName:id``."""
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def money(tiyn: int) -> JsonObject:
    """``Money`` as GraphQL serialises it: a two-decimal string and the currency."""
    whole, cents = divmod(abs(tiyn), 100)
    return {"amount": f"{'-' if tiyn < 0 else ''}{whole}.{cents:02d}", "currency": "KZT"}


def year_month(day: date) -> str:
    """The ``YearMonth`` scalar: ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def insurance(result: StatusResult, language: str, category_names: dict[str, str]) -> JsonObject:
    """The ``insurance`` block: status, its name, the reason, and what a self-payer owes."""
    reason = result.reason
    category = reason.facts.get("category")
    category_name = None if category is None else category_names.get(category, category)
    due = result.self_payment
    return {
        "status": result.status.value.upper(),
        "statusName": pick(STATUS_NAMES[result.status], language),
        "reason": {
            "code": reason.code.value.upper(),
            "text": reason_text(reason, language, category_name=category_name),
        },
        "guaranteedUntil": _iso(result.guaranteed_until),
        "selfPayment": None if due is None else {
            "nextPeriod": year_month(due.next_period),
            "nextDueDate": due.next_due_date.isoformat(),
            "monthlyAmount": money(due.monthly_amount_tiyn),
            "arrears": money(due.arrears_tiyn),
        },
    }


def contribution_edges(rows: Sequence[tuple[Any, ...]], language: str) -> list[JsonObject]:
    """The newest ``PAGE`` receipts (``rows`` are oldest first, as the status engine reads)."""
    edges = []
    for row_id, period, kind, amount, paid_on, payer_kind, payer_name in rows[::-1][:PAGE]:
        payer = ({"kind": "SELF", "name": pick(SELF_NAME, language)} if payer_kind is None
                 else {"kind": payer_kind.upper(), "name": payer_name})
        edges.append({"node": {
            "id": global_id("Contribution", row_id), "period": year_month(period),
            "kind": kind.upper(), "amount": money(amount), "paidOn": paid_on.isoformat(),
            "payer": payer,
        }})
    return edges


def service_edges(rows: Sequence[tuple[Any, ...]]) -> list[JsonObject]:
    """The latest covered services, newest care first."""
    return [
        {"node": {
            "id": global_id("CoveredService", row_id), "careDate": care_date.isoformat(),
            "amount": money(amount), "service": {"name": service}, "provider": {"name": provider},
        }}
        for row_id, care_date, amount, service, provider in rows
    ]


def home_screen(row: asyncpg.Record, person_id: uuid.UUID, today: date,
                rates: RateBook) -> JsonObject:
    """``data`` of the HomeScreen operation from the one row of ``HOME_SQL``."""
    language: str = row["language"]
    contributions = row["contributions"]
    result = compute_status(
        as_of=today,
        memberships=[Membership(code, since, until) for code, since, until, _ in
                     row["memberships"]],
        contributions=[ContributionFact(period, ContributionKind(kind), amount, paid_on, name)
                       for _, period, kind, amount, paid_on, _, name in contributions],
        rates=rates,
    )
    category_names = {code: name for code, _, _, name in row["memberships"] if name is not None}
    return {"me": {
        "id": global_id("Citizen", person_id),
        "firstName": row["first_name"],
        "language": language.upper(),
        "insurance": insurance(result, language, category_names),
        "contributions": {"edges": contribution_edges(contributions, language)},
        "coveredServices": {"edges": service_edges(row["services"])},
        "unreadNotifications": 0,
    }}


def home_screen_cost() -> JsonObject:
    """``extensions.cost`` of HomeScreen for a citizen, as the API answers it (estimated once:
    the API caches its estimate per document too)."""
    text = (Path(__file__).resolve().parent.parent / "mobile_contract" / "operations"
            / "HomeScreen.graphql").read_text()
    found = estimate(build_schema()._schema, parse(text), None, None)
    assert found is not None
    return {"requested": found[0].cost, "limit": Limits().cost_citizen}


def _json(body: JsonObject) -> Response:
    encoded = orjson.dumps(body)  # what the API's GraphQLApp.encode_json does
    return Response(encoded, media_type="application/json")


def _error(message: str, code: str) -> Response:
    return _json({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]})


async def _load_rates(database_url: str) -> RateBook:
    """The rate book, read once (the GraphQL server caches it per process the same way)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return await load_rate_book(conn)
    finally:
        await engine.dispose()


def asyncpg_dsn(database_url: str) -> str:
    """A plain ``postgresql://`` DSN for asyncpg from a SQLAlchemy URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_floor_app(database_url: str, auth_settings: AuthSettings, *,
                     today: Callable[[], date], pool_size: int = 20) -> Starlette:
    """The floor app on ``database_url`` (a pool of up to ``pool_size`` connections)."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        keys_engine = create_engine(database_url, pool_size=1, max_overflow=0)
        state["auth"] = await AuthService.open(keys_engine, auth_settings)
        state["rates"] = await _load_rates(database_url)
        state["cost"] = home_screen_cost()
        state["pool"] = await asyncpg.create_pool(
            asyncpg_dsn(database_url), min_size=min(10, pool_size), max_size=pool_size,
            server_settings={"timezone": "UTC", "application_name": "mhi-floor"})
        try:
            yield
        finally:
            await state["pool"].close()
            await keys_engine.dispose()

    async def home(request: Request) -> Response:
        auth: AuthService = state["auth"]
        principal = await auth.principal_from_header(request.headers.get("authorization"))
        payload = json.loads(await request.body())
        if not isinstance(payload, dict) or "query" not in payload:
            return _error("Send a JSON body with a query.", "BAD_USER_INPUT")
        if not isinstance(principal, Citizen):
            failure = principal.failure if isinstance(principal, Anonymous) else None
            return _error(failure.message if failure else "Sign in to see this.",
                          "UNAUTHENTICATED")
        async with state["pool"].acquire() as conn:
            row = await conn.fetchrow(HOME_SQL, principal.person_id)
        if row is None:
            return _error("Your profile was not found.", "NOT_FOUND")
        return _json({"data": home_screen(row, principal.person_id, today(), state["rates"]),
                      "extensions": {"cost": state["cost"], "requestId": uuid.uuid4().hex}})

    async def healthz(_: Request) -> Response:
        return _json({"status": "ok"})

    return Starlette(routes=[Route("/graphql", home, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])], lifespan=lifespan)
