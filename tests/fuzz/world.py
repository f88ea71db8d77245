"""The people and credentials the fuzz run speaks as, made the way the API tests make them.

Five kinds of caller: nobody, a citizen (the app's token), a desk worker with no consent
window, a desk worker with a window open on the citizen, and an integrator holding every
scope.  The desk sessions come from ``staffSignIn`` and the integrator's token from
``/oauth/token``, as a real client gets them.  Access tokens are stateless (a signed-out
session's token lives out its 15 minutes), so a generated ``signOut`` does not end the run's
coverage; ``World.check`` says so at the end of each test.

``known`` collects real values of this world (ids, cursors, codes, refresh tokens, the IIN and
the phone) for the generator, so that generated requests also reach the paths behind a
successful look-up.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.tokens import Audience
from backend.gql.nodes import global_id
from tests.api.gql import graphql
from tests.factories import (
    create_insured_employee,
    create_medical_service,
    create_provider,
    create_service_payment,
)

PASSWORD = "correct horse battery staple"
STAFF_SIGN_IN = """mutation($username: String!, $password: String!) {
  staffSignIn(username: $username, password: $password) {
    session { accessToken refreshToken } userErrors { code } } }"""
CONSENT = "mutation { createConsentCode { code } }"
OPEN_WINDOW = """mutation($code: String!) {
  openPatientWindow(consentCode: $code) { window { id } userErrors { code } } }"""
ONBOARDING = """mutation($id: ID!) {
  createOnboardingCode(windowId: $id) { onboardingCode { code } userErrors { code } } }"""
CITIZEN_HARVEST = """{ me { id
  contributions(first: 3) { edges { cursor node { id } } }
  coveredServices(first: 3) { edges { cursor node { id provider { id } } } }
  accessLog(first: 3) { edges { cursor } }
  cases(first: 3) { edges { cursor node { id } } }
  notifications(first: 3) { edges { cursor node { id } } }
  signedInDevices { id } pushDevices { id } }
  helpArticles(first: 3) { edges { cursor node { id slug } } } }"""
INTEGRATOR_HARVEST = """{ serviceAnomalies(first: 3) { edges { cursor } }
  disputes(first: 3) { edges { cursor node { id } } } }"""
REPORT = """mutation($id: ID!) {
  reportService(serviceId: $id, input: {careGiven: NO}) { case { id } } }"""
PROBES = {"citizen": "{ me { id } }", "desk": "{ patientWindows { id } }",
          "desk_window": "{ patientWindows { id } }",
          "integrator": '{ eligibility(iins: ["000000000000"]) { valid } }'}


@dataclass
class World:
    """The tokens of each kind of caller and the real values worth trying."""

    tokens: dict[str, str | None]
    known: tuple[str, ...] = ()

    def __repr__(self) -> str:  # Hypothesis prints it with every failure: keep it short
        return f"World({len(self.tokens)} kinds of caller, {len(self.known)} known values)"

    def headers(self, kind: str) -> dict[str, str]:
        """The request headers of ``kind``."""
        token = self.tokens[kind]
        return {} if token is None else {"Authorization": f"Bearer {token}"}

    async def check(self, client: httpx.AsyncClient) -> list[str]:
        """The kinds whose credentials no longer work (empty when coverage held)."""
        lost = []
        for kind, probe in PROBES.items():
            body = await graphql(client, probe, token=self.tokens[kind])
            if body.get("errors"):
                lost.append(kind)
        return lost


async def build_world(client: httpx.AsyncClient, committed: AsyncSession,
                      auth: AuthService) -> World:
    """A citizen with contributions and care, two desk workers (one helping the citizen) and
    an integrator, all signed in over HTTP."""
    person = await create_insured_employee(committed)
    provider = await create_provider(committed)
    service = await create_medical_service(committed)
    payment = await create_service_payment(committed, person, provider, service)
    await committed.commit()
    citizen = auth.mint(str(person.id), Audience.MOBILE)
    known: list[str] = [person.iin, person.phone or "", PASSWORD, service.code]
    desk, desk_refresh = await _staff_session(client, auth, provider.id, known)
    helper, helper_refresh = await _staff_session(client, auth, provider.id, known)
    known += [desk_refresh, helper_refresh]
    window_id = await _window(client, citizen, helper, known)
    onboarding = await graphql(client, ONBOARDING, {"id": window_id}, token=helper)
    known += _harvest(onboarding)
    known += _harvest(await graphql(client, CONSENT, token=citizen))
    # An open case ("I did not receive this"), so reviewers' and case ids are real ones.
    known += _harvest(await graphql(client, REPORT, {
        "id": global_id("CoveredService", payment.id)}, token=citizen))
    integrator = await _integrator(client, auth, known)
    known += _harvest(await graphql(client, CITIZEN_HARVEST, token=citizen))
    known += _harvest(await graphql(client, INTEGRATOR_HARVEST, token=integrator))
    tokens: dict[str, str | None] = {"anonymous": None, "citizen": citizen, "desk": desk,
                                     "desk_window": helper, "integrator": integrator}
    return World(tokens, tuple(sorted({value for value in known if value})))


async def _staff_session(client: httpx.AsyncClient, auth: AuthService,
                         provider_id: uuid.UUID, known: list[str]) -> tuple[str, str]:
    """A new desk worker at the clinic, signed in: (access token, refresh token)."""
    member = await auth.desk.create_staff(f"fuzz-{uuid.uuid4().hex[:12]}", "Айгерим Сапарова",
                                          PASSWORD, provider_id, "Городская поликлиника № 5")
    known.append(member.username)
    body = await graphql(client, STAFF_SIGN_IN, {"username": member.username,
                                                 "password": PASSWORD})
    session = body["data"]["staffSignIn"]["session"]
    return session["accessToken"], session["refreshToken"]


async def _window(client: httpx.AsyncClient, citizen: str, staff: str, known: list[str]
                  ) -> str:
    """A consent window of ``staff`` on the citizen: its id."""
    code = (await graphql(client, CONSENT, token=citizen))["data"]["createConsentCode"]["code"]
    opened = await graphql(client, OPEN_WINDOW, {"code": code}, token=staff)
    window_id: str = opened["data"]["openPatientWindow"]["window"]["id"]
    known.append(window_id)
    return window_id


async def _integrator(client: httpx.AsyncClient, auth: AuthService, known: list[str]) -> str:
    """An access token of a client holding every scope, with a budget the run never spends."""
    made = await auth.clients.create(f"Fuzz MIS {secrets.token_hex(4)}", "ТОО «Дамумед»",
                                     list(Scope), requests_per_minute=1_000_000)
    known.append(made.info.id)
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(made.info.id, made.secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _harvest(body: Any) -> list[str]:
    """Every id, cursor, slug and code in an answer."""
    return list(_strings(body.get("data") if isinstance(body, dict) else None))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"id", "cursor", "slug", "code"} and isinstance(item, str):
                yield item
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
