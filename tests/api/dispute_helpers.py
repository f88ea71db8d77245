"""What the tests of cases ("I did not receive this") share: a family with covered care, the
citizen's and the reviewer's operations, and readers of what the database holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.gql.nodes import global_id
from backend.models import MedicalService, Person, Provider, ServicePayment
from backend.settings import AppSettings
from tests.api.gql import data, graphql, operation
from tests.api.test_integrators import access_token, new_client
from tests.factories import (
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
)

REPORT = operation("ReportService")
NOT_GIVEN = {"careGiven": "NO"}
CASE_OF_SERVICE = """
query($id: ID!) { node(id: $id) { ... on CoveredService { case { id state deadline summary } } } }
"""
MY_CASES = """
query($first: Int, $after: String) { me { cases(first: $first, after: $after) {
  edges { node { id state category reporter summary resolution
                 recovered { amount } service { id } } }
  pageInfo { hasNextPage endCursor } } } }"""
ASSIGN = operation("AssignDispute")
RESOLVE = operation("ResolveDispute")
QUEUE = operation("Disputes")
EXPLANATION = {"kk": "Емхана жазбаларында бұл қабылдау жоқ.",
               "ru": "В записях поликлиники этого приёма нет.",
               "en": "The polyclinic's records show no such visit."}


@dataclass
class Family:
    """A mother in Astana who reads English, her daughter (8), their clinic and their care."""

    mother: Person
    child: Person
    provider: Provider
    service: MedicalService
    visit: ServicePayment
    """The mother's GP visit on 3 November 2025, 12,400 ₸."""
    child_visit: ServicePayment
    """The daughter's GP visit on 3 November 2025."""


async def family(session: AsyncSession, *, linked: bool = True) -> Family:
    """The family, committed; the mother is linked to the daughter as her parent."""
    mother = await create_person(session, first_name="Alina", last_name="Kim", language="en",
                                 region_code="KZ-71")
    child = await create_person(session, first_name="Dana", last_name="Omarova",
                                birth_date=date(2018, 9, 1), language="en", phone=None)
    provider = await create_provider(session, region_code="KZ-71")
    service = await create_medical_service(session)
    visit = await create_service_payment(session, mother, provider, service)
    child_visit = await create_service_payment(session, child, provider, service)
    await session.commit()
    if linked:
        await session.execute(text(
            "INSERT INTO core.guardianship (guardian_id, child_id, kind, valid_from, source,"
            " source_record_id) VALUES (:m, :c, 'parent', :b, 'test', :r)"),
            {"m": mother.id, "c": child.id, "b": child.birth_date, "r": str(child.id)})
        await session.commit()
    return Family(mother, child, provider, service, visit, child_visit)


def citizen(auth: AuthService, person: Person) -> str:
    """A mobile access token for ``person``."""
    return auth.mint(str(person.id), Audience.MOBILE)


def service_id(payment: ServicePayment | int) -> str:
    """The global id of a covered service."""
    return global_id("CoveredService", payment if isinstance(payment, int) else payment.id)


async def report(client: httpx.AsyncClient, token: str, payment: ServicePayment | int | str,
                 answers: dict[str, Any] | None = None, language: str = "en"
                 ) -> dict[str, Any]:
    """``reportService`` as the app sends it; the whole answer (errors included)."""
    target = payment if isinstance(payment, str) else service_id(payment)
    return await graphql(client, REPORT, {"serviceId": target, "input": answers or NOT_GIVEN},
                         token=token, headers={"Accept-Language": language})


async def reported(client: httpx.AsyncClient, token: str, payment: ServicePayment | int,
                   answers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A report that must succeed: its payload."""
    payload: dict[str, Any] = data(await report(client, token, payment, answers))[
        "reportService"]
    return payload


async def reviewer(client: httpx.AsyncClient, auth: AuthService,
                   *scopes: Scope) -> str:
    """An access token of a Fund system holding ``scopes`` (default: read and write cases)."""
    made = await new_client(auth, *(scopes or (Scope.DISPUTES_READ, Scope.DISPUTES_WRITE)),
                            requests_per_minute=100_000)
    return await access_token(client, made)


async def assign(client: httpx.AsyncClient, token: str, case: str,
                 assignee: str = "Сауле Ахметова") -> dict[str, Any]:
    """``assignDispute`` by the reviewer Ерлан Сейтқали; the whole answer."""
    return await graphql(client, ASSIGN, {"id": case, "assignee": assignee,
                                          "reviewer": "Ерлан Сейтқали"}, token=token)


async def resolve(client: httpx.AsyncClient, token: str, case: str, confirmed: bool,
                  explanation: dict[str, str] | None = None) -> dict[str, Any]:
    """``resolveDispute`` by the reviewer Сауле Ахметова; the whole answer."""
    return await graphql(client, RESOLVE, {
        "id": case, "confirmed": confirmed, "explanation": explanation or EXPLANATION,
        "reviewer": "Сауле Ахметова"}, token=token)


async def counts(engine: AsyncEngine) -> tuple[int, int, int, int, int]:
    """(cases, history lines, dispute events in the outbox, withdrawals, access-log lines)."""
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT (SELECT count(*) FROM core.dispute), (SELECT count(*) FROM"
            " core.dispute_event), (SELECT count(*) FROM notify.outbox WHERE kind ="
            " 'dispute.updated'), (SELECT count(*) FROM core.service_payment WHERE"
            " withdrawal_of IS NOT NULL), (SELECT count(*) FROM core.access_log)"))).one()
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


async def events(engine: AsyncEngine) -> list[tuple[Any, str, dict[str, Any]]]:
    """The ``dispute.updated`` events in the outbox: (person, dedupe key, payload), in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT person_id, dedupe_key, payload FROM notify.outbox"
            " WHERE kind = 'dispute.updated' ORDER BY id"))
        return [(row[0], row[1], row[2]) for row in rows]


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of a refused report, and that nothing came back."""
    assert body.get("data") is None, body
    [error] = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return {"message": error["message"], **extensions}


def limited_app(engine: AsyncEngine, auth_settings: AuthSettings, today: date,
                limit: int) -> FastAPI:
    """The app judging on ``today`` with a daily limit of ``limit`` reports."""
    return create_app(AppSettings(environment="development", dispute_daily_limit=limit),
                      auth_settings, engine=engine, today=lambda: today)


async def serve(app: FastAPI, call: Any) -> Any:
    """``call(http)`` on a client of ``app`` (lifespan included); its answer."""
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        return await call(http)
