"""The access log a person reads about themself: every look at their data by a desk worker
(with their consent) or an integrated system (under its contract), newest first, in the
person's language, over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.models import Person
from tests.api.gql import data, graphql
from tests.api.sms import last_code, new_phone
from tests.factories import (
    create_insured_employee,
    create_provider,
)

PASSWORD = "correct horse battery staple"
STAFF_NAME = "Айгерим Сапарова"
CLINIC = "Городская поликлиника № 5"
SYSTEM = "Qamqor MIS"
COMPANY = "ТОО «Дамумед»"

ACCESS_LOG = """
query AccessLog($first: Int, $after: String) {
  me {
    accessLog(first: $first, after: $after) {
      edges { cursor node { actorKind actorName organization purpose reason text at } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}"""
OWN_DATA = """
{ me { firstName insurance { status } signedInDevices { deviceName }
       accessLog(first: 5) { edges { node { purpose } } } } }"""
STAFF_SIGN_IN = """
mutation StaffSignIn($username: String!, $password: String!) {
  staffSignIn(username: $username, password: $password) {
    session { accessToken } userErrors { code }
  }
}"""
CONSENT = "mutation { createConsentCode { code } }"
OPEN_WINDOW = """
mutation Open($consentCode: String!) {
  openPatientWindow(consentCode: $consentCode) { window { id } userErrors { code } }
}"""
STATUS_AT_DESK = """
query Window($id: ID!) {
  patientWindow(id: $id) { patient { firstName insurance { status } } }
}"""
ONBOARDING = """
mutation Onboarding($windowId: ID!) {
  createOnboardingCode(windowId: $windowId) { onboardingCode { code } userErrors { code } }
}"""
REDEEM = """
mutation Redeem($code: String!) { redeemOnboardingCode(code: $code) { challengeId } }"""
REQUEST_CODE = """
mutation Ask($iin: String!, $phone: String!) { requestSignInCode(iin: $iin, phone: $phone) {
  challengeId } }"""
SIGN_IN = """
mutation SignIn($challengeId: ID!, $code: String!) {
  signIn(challengeId: $challengeId, code: $code) { session { accessToken } }
}"""
ELIGIBILITY = """
query Eligibility($iins: [String!]!) { eligibility(iins: $iins) { found status } }"""


class World:
    """The people, the desk worker and the integrator of one test, all over HTTP."""

    def __init__(self, client: httpx.AsyncClient, committed: AsyncSession,
                 auth_service: AuthService) -> None:
        self.client = client
        self.committed = committed
        self.auth = auth_service

    def citizen(self, person: Person) -> str:
        """The person's own app token."""
        return self.auth.mint(str(person.id), Audience.MOBILE)

    async def staff_token(self) -> str:
        """A desk worker of the clinic, signed in by name and password."""
        provider = await create_provider(self.committed)
        await self.committed.commit()
        member = await self.auth.desk.create_staff(f"desk-{uuid.uuid4().hex[:12]}", STAFF_NAME,
                                                   PASSWORD, provider.id, CLINIC)
        payload = data(await graphql(self.client, STAFF_SIGN_IN, {
            "username": member.username, "password": PASSWORD}))["staffSignIn"]
        assert payload["userErrors"] == []
        token: str = payload["session"]["accessToken"]
        return token

    async def window_on(self, staff_token: str, person: Person) -> str:
        """A consent window on ``person``, opened with the code the person's app shows."""
        code = data(await graphql(self.client, CONSENT, token=self.citizen(person)))[
            "createConsentCode"]["code"]
        opened = data(await graphql(self.client, OPEN_WINDOW, {"consentCode": code},
                                    token=staff_token))["openPatientWindow"]
        assert opened["userErrors"] == []
        window_id: str = opened["window"]["id"]
        return window_id

    async def integrator_token(self) -> str:
        """An eligibility token of the clinic system, from ``/oauth/token``."""
        made = await self.auth.clients.create(SYSTEM, COMPANY, [Scope.ELIGIBILITY_READ])
        response = await self.client.post("/oauth/token",
                                          data={"grant_type": "client_credentials"},
                                          auth=(made.info.id, made.secret))
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def log(self, person: Person, first: int = 10,
                  after: str | None = None) -> dict[str, Any]:
        """A page of ``person``'s access log, read by the person."""
        body = await graphql(self.client, ACCESS_LOG, {"first": first, "after": after},
                             token=self.citizen(person))
        page: dict[str, Any] = data(body)["me"]["accessLog"]
        return page

    async def events(self, person: Person) -> list[dict[str, Any]]:
        """Every event in ``person``'s log (one page of up to 50)."""
        page = await self.log(person, first=50)
        assert page["pageInfo"]["hasNextPage"] is False
        return [edge["node"] for edge in page["edges"]]


@pytest.fixture
def world(client: httpx.AsyncClient, committed: AsyncSession,
          auth_service: AuthService) -> World:
    """This test's world."""
    return World(client, committed, auth_service)


class TestWhoLooked:
    async def test_desk_and_integrator_looks_are_listed_newest_first(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed, language="ru")
        assert await world.events(person) == []
        staff = await world.staff_token()
        window_id = await world.window_on(staff, person)
        seen = data(await graphql(client, STATUS_AT_DESK, {"id": window_id}, token=staff))
        assert seen["patientWindow"]["patient"]["insurance"]["status"] == "INSURED"
        checked = data(await graphql(client, ELIGIBILITY, {"iins": [person.iin]},
                                     token=await world.integrator_token()))
        assert checked["eligibility"] == [{"found": True, "status": "INSURED"}]

        page = await world.log(person)
        assert page["pageInfo"]["hasNextPage"] is False
        events = [edge["node"] for edge in page["edges"]]
        assert [(e["actorKind"], e["purpose"]) for e in events] == [
            ("INTEGRATOR", "eligibility"), ("STAFF", "insurance_status"), ("STAFF", "profile")]
        integrator, status, profile = events
        assert (integrator["actorName"], integrator["organization"]) == (SYSTEM, COMPANY)
        assert integrator["reason"] == "scope"
        for event in (status, profile):
            assert (event["actorName"], event["organization"], event["reason"]) == (
                STAFF_NAME, CLINIC, "consent")
        times = [datetime.fromisoformat(e["at"]) for e in events]
        assert times == sorted(times, reverse=True)
        assert integrator["text"] == (
            f"{SYSTEM} ({COMPANY}) по разрешению договора проверил ваш статус страхования.")
        assert status["text"] == (
            f"{STAFF_NAME} ({CLINIC}) с вашего согласия просмотрел(а) ваш статус страхования.")
        assert profile["text"] == (
            f"{STAFF_NAME} ({CLINIC}) с вашего согласия просмотрел(а) ваше имя и последние "
            "цифры ИИН.")

    async def test_the_text_follows_the_persons_language_not_the_header(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed, language="en")
        data(await graphql(client, ELIGIBILITY, {"iins": [person.iin]},
                           token=await world.integrator_token()))
        body = await graphql(client, ACCESS_LOG, {"first": 5}, token=world.citizen(person),
                             headers={"Accept-Language": "ru"})
        [edge] = data(body)["me"]["accessLog"]["edges"]
        assert edge["node"]["text"] == (
            f"{SYSTEM} ({COMPANY}) checked your insurance status under its contract's "
            "permission.")

    async def test_an_onboarding_code_is_recorded_as_an_action(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed, language="ru")
        staff = await world.staff_token()
        window_id = await world.window_on(staff, person)
        made = data(await graphql(client, ONBOARDING, {"windowId": window_id}, token=staff))
        assert made["createOnboardingCode"]["userErrors"] == []
        [event] = await world.events(person)
        assert (event["actorKind"], event["purpose"], event["actorName"]) == (
            "STAFF", "onboarding_code", STAFF_NAME)
        assert event["text"] == (
            f"{STAFF_NAME} ({CLINIC}) с вашего согласия создал код входа для нового телефона.")

    async def test_a_desk_onboarding_confirmed_by_sms_is_recorded_for_the_worker(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, world: World,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, language="ru", phone=new_phone())
        assert person.phone is not None
        staff = await world.staff_token()
        window_id = await world.window_on(staff, person)
        made = data(await graphql(client, ONBOARDING, {"windowId": window_id}, token=staff))
        redeemed = data(await graphql(client, REDEEM, {
            "code": made["createOnboardingCode"]["onboardingCode"]["code"]}))
        challenge = redeemed["redeemOnboardingCode"]["challengeId"]
        assert [e["purpose"] for e in await world.events(person)] == ["onboarding_code"]
        signed_in = data(await graphql(client, SIGN_IN, {
            "challengeId": challenge,
            "code": await last_code(app, auth_settings, person.phone)}))["signIn"]
        assert signed_in["session"]["accessToken"]
        events = await world.events(person)
        assert [(e["actorKind"], e["purpose"], e["actorName"], e["reason"]) for e in events] == [
            ("STAFF", "onboarding_sign_in", STAFF_NAME, "consent"),
            ("STAFF", "onboarding_code", STAFF_NAME, "consent")]
        assert events[0]["text"] == (
            f"{STAFF_NAME} ({CLINIC}) с вашего согласия помог(ла) войти на новом телефоне по "
            "вашему SMS-коду.")

    async def test_a_sign_in_by_sms_alone_records_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, world: World,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        asked = data(await graphql(client, REQUEST_CODE, {"iin": person.iin,
                                                          "phone": person.phone}))
        signed_in = data(await graphql(client, SIGN_IN, {
            "challengeId": asked["requestSignInCode"]["challengeId"],
            "code": await last_code(app, auth_settings, person.phone)}))["signIn"]
        assert signed_in["session"]["accessToken"]
        assert await world.events(person) == []

    async def test_a_window_records_each_look_once(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed)
        staff = await world.staff_token()
        window_id = await world.window_on(staff, person)
        query = """query Twice($id: ID!) {
          a: patientWindow(id: $id) { patient { firstName insurance { status } } }
          b: patientWindow(id: $id) { patient { lastName insurance { guaranteedUntil } } }
        }"""
        data(await graphql(client, query, {"id": window_id}, token=staff))
        events = await world.events(person)
        assert sorted(e["purpose"] for e in events) == ["insurance_status", "profile"]
        data(await graphql(client, query, {"id": window_id}, token=staff))
        assert len(await world.events(person)) == 2  # the same window: nothing new
        data(await graphql(client, query, {"id": await world.window_on(staff, person)},
                           token=staff))
        assert len(await world.events(person)) == 4  # a new consent: recorded again


    async def test_a_refreshed_desk_session_is_still_named(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World,
        auth_service: AuthService
    ) -> None:
        person = await create_insured_employee(committed, language="kk")
        provider = await create_provider(committed)
        await committed.commit()
        member = await auth_service.desk.create_staff(f"desk-{uuid.uuid4().hex[:12]}",
                                                      STAFF_NAME, PASSWORD, provider.id, CLINIC)
        signed = data(await graphql(client, """
            mutation S($u: String!, $p: String!) {
              staffSignIn(username: $u, password: $p) { session { refreshToken } }
            }""", {"u": member.username, "p": PASSWORD}))["staffSignIn"]["session"]
        renewed = data(await graphql(client, """
            mutation R($t: String!) { refreshSession(refreshToken: $t) {
              session { accessToken } } }""", {"t": signed["refreshToken"]}))
        staff = renewed["refreshSession"]["session"]["accessToken"]
        window_id = await world.window_on(staff, person)
        data(await graphql(client, STATUS_AT_DESK, {"id": window_id}, token=staff))
        events = await world.events(person)
        assert {(e["actorName"], e["organization"]) for e in events} == {(STAFF_NAME, CLINIC)}
        assert [e["text"] for e in events] == [
            f"{STAFF_NAME} ({CLINIC}) сіздің келісіміңізбен сақтандыру мәртебеңізді қарады.",
            f"{STAFF_NAME} ({CLINIC}) сіздің келісіміңізбен атыңызды және ЖСН-нің соңғы "
            "цифрларын қарады.",
        ]


class TestWhatIsNotRecorded:
    async def test_reading_ones_own_data_adds_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed)
        data(await graphql(client, ELIGIBILITY, {"iins": [person.iin]},
                           token=await world.integrator_token()))
        before = await world.events(person)
        assert len(before) == 1
        for _ in range(3):
            own = data(await graphql(client, OWN_DATA, token=world.citizen(person)))
            assert own["me"]["insurance"]["status"] == "INSURED"
        assert await world.events(person) == before

    async def test_another_persons_log_is_unaffected(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed)
        other = await create_insured_employee(committed)
        staff = await world.staff_token()
        window_id = await world.window_on(staff, person)
        data(await graphql(client, STATUS_AT_DESK, {"id": window_id}, token=staff))
        data(await graphql(client, ELIGIBILITY, {"iins": [person.iin, "12345"]},
                           token=await world.integrator_token()))
        assert len(await world.events(person)) == 3
        assert await world.events(other) == []

    async def test_unknown_and_invalid_iins_record_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed)
        broken = person.iin[:-1] + str((int(person.iin[-1]) + 1) % 10)
        answers = data(await graphql(client, ELIGIBILITY, {"iins": [broken, "12345"]},
                                     token=await world.integrator_token()))
        assert [a["found"] for a in answers["eligibility"]] == [False, False]
        assert await world.events(person) == []


class TestPages:
    async def test_pages_of_two_walk_every_look_once_newest_first(
        self, client: httpx.AsyncClient, committed: AsyncSession, world: World
    ) -> None:
        person = await create_insured_employee(committed)
        token = await world.integrator_token()
        for _ in range(5):
            data(await graphql(client, ELIGIBILITY, {"iins": [person.iin]}, token=token))
        staff = await world.staff_token()
        data(await graphql(client, STATUS_AT_DESK, {"id": await world.window_on(staff, person)},
                           token=staff))
        everything = await world.events(person)
        assert len(everything) == 7

        walked: list[dict[str, Any]] = []
        pages: list[tuple[int, bool, bool]] = []
        after: str | None = None
        while True:
            page = await world.log(person, first=2, after=after)
            walked.extend(edge["node"] for edge in page["edges"])
            info = page["pageInfo"]
            pages.append((len(page["edges"]), info["hasNextPage"], info["hasPreviousPage"]))
            if not info["hasNextPage"]:
                break
            assert info["endCursor"] == page["edges"][-1]["cursor"]
            after = info["endCursor"]
        assert pages == [(2, True, False), (2, True, True), (2, True, True), (1, False, True)]
        assert walked == everything
        times = [datetime.fromisoformat(e["at"]) for e in walked]
        assert times == sorted(times, reverse=True)
        assert [e["purpose"] for e in walked] == (
            ["insurance_status", "profile"] + ["eligibility"] * 5)
