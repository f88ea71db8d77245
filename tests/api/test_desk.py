"""The registry desk over HTTP: staff sign-in, the patient's consent, the consent window and
its limits, onboarding a new phone.

Staff accounts and windows live in the ``auth`` schema, which is not emptied between tests:
every test uses usernames of its own and a client address of its own.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.sessions import Device
from auth.settings import AuthSettings
from auth.staff import StaffMember
from auth.tokens import Audience
from backend.models import Person
from notifications import devices
from notifications.devices import Registration
from tests.api.conftest import new_ip
from tests.api.gql import codes, data, graphql
from tests.api.sms import last_code, new_phone
from tests.factories import (
    create_insured_employee,
    create_person,
    create_provider,
)

PASSWORD = "correct horse battery staple"
PROVIDER_NAME = "Городская поликлиника № 5"

STAFF_SIGN_IN = """
mutation StaffSignIn($username: String!, $password: String!, $device: DeviceInput) {
  staffSignIn(username: $username, password: $password, device: $device) {
    session { accessToken refreshToken tokenType }
    userErrors { code field message }
  }
}"""
CONSENT = "mutation { createConsentCode { code expiresAt } }"
OPEN_WINDOW = """
mutation Open($consentCode: String!) {
  openPatientWindow(consentCode: $consentCode) {
    window { id openedAt expiresAt }
    userErrors { code field message }
  }
}"""
WINDOW = """
query Window($id: ID!) {
  patientWindow(id: $id) {
    id
    patient {
      firstName lastName maskedIin
      insurance { status statusName guaranteedUntil }
      signedInDevices { deviceName platform signedInBy current }
    }
  }
}"""
PUSH_DEVICES = """query Window($id: ID!) { patientWindow(id: $id) { patient {
  pushDevices { platform appVersion pushOn pushOffReason } } } }"""
WINDOW_NAME = "query Window($id: ID!) { patientWindow(id: $id) { patient { firstName } } }"
WINDOWS = "{ patientWindows { id } }"
ONBOARDING = """
mutation Onboarding($windowId: ID!) {
  createOnboardingCode(windowId: $windowId) {
    onboardingCode { code qrText expiresAt }
    userErrors { code field message }
  }
}"""
REDEEM = """
mutation Redeem($code: String!) {
  redeemOnboardingCode(code: $code) {
    challengeId expiresAt codeLength
    userErrors { code field message }
  }
}"""
SIGN_IN = """
mutation SignIn($challengeId: ID!, $code: String!, $device: DeviceInput) {
  signIn(challengeId: $challengeId, code: $code, device: $device) {
    session { accessToken refreshToken }
    userErrors { code field message attemptsLeft }
  }
}"""
ME = "{ me { firstName } }"
REFRESH = """
mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) { session { accessToken refreshToken } }
}"""
SIGN_OUT = "mutation { signOut { sessionsEnded } }"
ME_DEVICES = "{ me { firstName signedInDevices { deviceName signedInBy current } } }"
TYPE_FIELDS = """
query Fields($name: String!) {
  __type(name: $name) {
    name kind
    fields { name type { name kind ofType { name kind ofType { name kind ofType { name } } } } }
  }
}"""
FORBIDDEN_FIELDS = {"contributions", "contributionMonths", "coveredServices", "moneyFlow",
                    "receipts", "accessLog", "phone", "iin", "birthDate"}
MONEY_TYPES = {"Contribution", "ContributionConnection", "ContributionMonth", "CoveredService",
               "CoveredServiceConnection", "MoneyFlowYear", "Money", "Payer", "Citizen"}


def new_username(prefix: str = "desk") -> str:
    """A staff username no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def window_key(window_id: str) -> uuid.UUID:
    """The consent window's key inside its global id."""
    type_name, _, key = base64.b64decode(window_id).decode().partition(":")
    assert type_name == "PatientWindow"
    return uuid.UUID(key)


def forbidden(body: dict[str, Any]) -> None:
    """``body`` is a FORBIDDEN refusal that carries no data."""
    assert body.get("data") is None, body
    assert codes(body) == ["FORBIDDEN"], body


class Desk:
    """A clinic, its staff, and the steps of helping a patient at the desk, over HTTP."""

    def __init__(self, client: httpx.AsyncClient, committed: AsyncSession,
                 auth_service: AuthService) -> None:
        self.client = client
        self.committed = committed
        self.auth = auth_service

    async def staff(self, display_name: str = "Айгерим Сапарова") -> StaffMember:
        """A new desk worker of a new clinic."""
        provider = await create_provider(self.committed)
        await self.committed.commit()
        return await self.auth.desk.create_staff(new_username(), display_name, PASSWORD,
                                                 provider.id, PROVIDER_NAME)

    async def sign_in(self, member: StaffMember) -> str:
        """The worker's access token, by name and password."""
        payload = data(await graphql(self.client, STAFF_SIGN_IN, {
            "username": member.username, "password": PASSWORD,
            "device": {"name": "Desk PC 3", "platform": "web"}}))["staffSignIn"]
        assert payload["userErrors"] == []
        token: str = payload["session"]["accessToken"]
        return token

    def citizen_token(self, person: Person) -> str:
        """An access token of the patient's own app."""
        return self.auth.mint(str(person.id), Audience.MOBILE)

    async def consent_code(self, person: Person) -> str:
        """A consent code the patient's app shows."""
        consent = data(await graphql(self.client, CONSENT,
                                     token=self.citizen_token(person)))["createConsentCode"]
        code: str = consent["code"]
        return code

    async def open(self, staff_token: str, code: str) -> dict[str, Any]:
        """``openPatientWindow`` with ``code``: its payload."""
        body = await graphql(self.client, OPEN_WINDOW, {"consentCode": code}, token=staff_token)
        payload: dict[str, Any] = data(body)["openPatientWindow"]
        return payload

    async def window_on(self, staff_token: str, person: Person) -> str:
        """A window on ``person`` for the worker: its id."""
        payload = await self.open(staff_token, await self.consent_code(person))
        assert payload["userErrors"] == []
        window_id: str = payload["window"]["id"]
        return window_id

    async def onboarding_code(self, staff_token: str, window_id: str) -> dict[str, Any]:
        """A new onboarding code in ``window_id``."""
        payload = data(await graphql(self.client, ONBOARDING, {"windowId": window_id},
                                     token=staff_token))["createOnboardingCode"]
        assert payload["userErrors"] == []
        code: dict[str, Any] = payload["onboardingCode"]
        return code


@pytest.fixture
def desk(client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService) -> Desk:
    """The desk of this test."""
    return Desk(client, committed, auth_service)


class TestStaffSignIn:
    async def test_right_password_gives_a_desk_session(
        self, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        member = await desk.staff()
        payload = data(await graphql(client, STAFF_SIGN_IN, {
            "username": member.username.upper(), "password": PASSWORD}))["staffSignIn"]
        assert payload["userErrors"] == []
        assert payload["session"]["tokenType"] == "Bearer"
        assert payload["session"]["accessToken"] and payload["session"]["refreshToken"]
        windows = data(await graphql(client, WINDOWS, token=payload["session"]["accessToken"]))
        assert windows == {"patientWindows": []}

    async def test_wrong_password_and_unknown_name_are_refused_alike(
        self, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        member = await desk.staff()
        wrong = data(await graphql(client, STAFF_SIGN_IN, {
            "username": member.username, "password": PASSWORD + "!"}))["staffSignIn"]
        unknown = data(await graphql(client, STAFF_SIGN_IN, {
            "username": new_username("nobody"), "password": PASSWORD}))["staffSignIn"]
        assert wrong == unknown
        assert wrong["session"] is None
        assert [(e["code"], e["field"]) for e in wrong["userErrors"]] == [
            ("WRONG_CREDENTIALS", "password")]

    async def test_a_desk_token_is_not_a_citizen(
        self, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        token = await desk.sign_in(await desk.staff())
        forbidden(await graphql(client, ME, token=token))

    async def test_a_citizen_token_cannot_use_the_desk(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_person(committed)
        await committed.commit()
        token = desk.citizen_token(person)
        forbidden(await graphql(client, WINDOWS, token=token))
        body = await graphql(client, OPEN_WINDOW, {"consentCode": "ABCD-EFGH"}, token=token)
        forbidden(body)


    async def test_a_strangers_wrong_passwords_do_not_lock_the_worker_out(
        self, app: FastAPI, client: httpx.AsyncClient, desk: Desk
    ) -> None:
        member = await desk.staff()
        for _ in range(10):  # a stranger, from one address
            wrong = data(await graphql(client, STAFF_SIGN_IN, {
                "username": member.username, "password": "guess guess guess"}))["staffSignIn"]
            assert [e["code"] for e in wrong["userErrors"]] == ["WRONG_CREDENTIALS"]
        body = await graphql(client, STAFF_SIGN_IN, {"username": member.username,
                                                     "password": PASSWORD})
        assert body.get("data") is None
        assert codes(body) == ["RATE_LIMITED"]
        assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 900
        transport = httpx.ASGITransport(app=app, client=(new_ip(), 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as own:
            mine = data(await graphql(own, STAFF_SIGN_IN, {
                "username": member.username, "password": PASSWORD}))["staffSignIn"]
        assert mine["userErrors"] == [] and mine["session"]["accessToken"]

    async def test_a_desk_session_refreshes_and_keeps_its_worker(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        member = await desk.staff()
        payload = data(await graphql(client, STAFF_SIGN_IN, {
            "username": member.username, "password": PASSWORD}))["staffSignIn"]
        session = payload["session"]
        window_id = await desk.window_on(session["accessToken"], person)
        renewed = data(await graphql(client, REFRESH, {
            "refreshToken": session["refreshToken"]}))["refreshSession"]["session"]
        body = await graphql(client, WINDOW_NAME, {"id": window_id},
                             token=renewed["accessToken"])
        assert data(body)["patientWindow"]["patient"]["firstName"] == person.first_name
        out = data(await graphql(client, SIGN_OUT, token=renewed["accessToken"]))
        assert out == {"signOut": {"sessionsEnded": 1}}
        ended = await graphql(client, REFRESH, {"refreshToken": renewed["refreshToken"]})
        assert codes(ended) == ["UNAUTHENTICATED"]

    async def test_a_deactivated_worker_cannot_sign_in_or_refresh(
        self, client: httpx.AsyncClient, desk: Desk, auth_service: AuthService
    ) -> None:
        member = await desk.staff()
        session = data(await graphql(client, STAFF_SIGN_IN, {
            "username": member.username, "password": PASSWORD}))["staffSignIn"]["session"]
        assert await auth_service.desk.deactivate(member.username)
        again = data(await graphql(client, STAFF_SIGN_IN, {
            "username": member.username, "password": PASSWORD}))["staffSignIn"]
        assert [e["code"] for e in again["userErrors"]] == ["WRONG_CREDENTIALS"]
        ended = await graphql(client, REFRESH, {"refreshToken": session["refreshToken"]})
        assert codes(ended) == ["UNAUTHENTICATED"]


class TestConsent:
    async def test_without_consent_a_window_id_opens_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        first = await desk.sign_in(await desk.staff())
        second = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        theirs = await desk.window_on(first, person)
        made_up = base64.b64encode(f"PatientWindow:{uuid.uuid4()}".encode()).decode()
        for window_id in (made_up, theirs, "not-an-id",
                          base64.b64encode(f"Citizen:{person.id}".encode()).decode()):
            body = await graphql(client, WINDOW, {"id": window_id}, token=second)
            forbidden(body)
            assert person.first_name not in str(body)
        forbidden(await graphql(client, ONBOARDING, {"windowId": theirs}, token=second))

    async def test_consent_shows_name_status_and_devices(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_service: AuthService, engine: AsyncEngine
    ) -> None:
        person = await create_insured_employee(committed, first_name="Дана", last_name="Ахметова")
        async with engine.begin() as conn:  # the patient's own phone, signed in earlier
            await auth_service.sessions.start(conn, Audience.MOBILE, str(person.id),
                                              Device("Samsung Galaxy A14", "android"), "sms")
        token = await desk.sign_in(await desk.staff())
        code = await desk.consent_code(person)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code), code
        opened = await desk.open(token, code)
        assert opened["userErrors"] == []
        window = opened["window"]
        length = (datetime.fromisoformat(window["expiresAt"])
                  - datetime.fromisoformat(window["openedAt"]))
        assert length.total_seconds() == 900
        body = await graphql(client, WINDOW, {"id": window["id"]}, token=token,
                             headers={"Accept-Language": "en"})
        patient = data(body)["patientWindow"]["patient"]
        assert patient["firstName"] == "Дана"
        assert patient["lastName"] == "Ахметова"
        assert patient["maskedIin"].endswith(person.iin[-4:])
        assert person.iin not in patient["maskedIin"]
        assert person.iin[:8] not in str(body)
        assert patient["insurance"] == {"status": "INSURED", "statusName": "Insured",
                                        "guaranteedUntil": "2027-01-31"}
        assert patient["signedInDevices"] == [{
            "deviceName": "Samsung Galaxy A14", "platform": "android", "signedInBy": "sms",
            "current": False}]
        listed = data(await graphql(client, WINDOWS, token=token))["patientWindows"]
        assert [w["id"] for w in listed] == [window["id"]]

    async def test_the_desk_sees_whether_pushes_reach_the_patients_phone(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        async with engine.begin() as conn:
            await devices.register(conn, person.id, Registration(
                token="desk-test-token-1", platform="android", app_version="2.1.0",
                language="kk", time_zone="Asia/Almaty"))
        token = await desk.sign_in(await desk.staff())
        window = (await desk.open(token, await desk.consent_code(person)))["window"]
        body = await graphql(client, PUSH_DEVICES, {"id": window["id"]}, token=token)
        assert data(body)["patientWindow"]["patient"]["pushDevices"] == [
            {"platform": "ANDROID", "appVersion": "2.1.0", "pushOn": True,
             "pushOffReason": None}]
        assert "desk-test-token-1" not in str(body)

    async def test_a_consent_code_typed_loosely_still_opens(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        code = await desk.consent_code(person)
        opened = await desk.open(token, code.replace("-", " ").lower())
        assert opened["userErrors"] == []
        body = await graphql(client, WINDOW_NAME, {"id": opened["window"]["id"]}, token=token)
        assert data(body)["patientWindow"]["patient"]["firstName"] == person.first_name

    async def test_a_consent_code_works_once(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        first = await desk.sign_in(await desk.staff())
        second = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        code = await desk.consent_code(person)
        assert (await desk.open(first, code))["userErrors"] == []
        for token in (first, second):
            again = await desk.open(token, code)
            assert again["window"] is None
            assert [(e["code"], e["field"]) for e in again["userErrors"]] == [
                ("WRONG_CODE", "consentCode")]

    async def test_a_consent_code_expires_after_10_minutes(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        code = await desk.consent_code(person)
        await committed.execute(text(
            "UPDATE auth.consent_code SET expires_at = now() - interval '1 second' "
            "WHERE person_id = :person"), {"person": person.id})
        await committed.commit()
        late = await desk.open(token, code)
        assert late["window"] is None
        assert [e["code"] for e in late["userErrors"]] == ["WRONG_CODE"]

    async def test_ten_wrong_consent_codes_stop_the_worker(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        for number in range(10):
            wrong = await desk.open(token, f"ZZZZ-{number:04d}")
            assert [e["code"] for e in wrong["userErrors"]] == ["WRONG_CODE"]
        code = await desk.consent_code(person)
        body = await graphql(client, OPEN_WINDOW, {"consentCode": code}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["RATE_LIMITED"]
        other = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        assert (await desk.open(other, code))["userErrors"] == [], "the code was not spent"

    async def test_another_worker_cannot_use_the_window(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        first = await desk.sign_in(await desk.staff())
        second = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        window_id = await desk.window_on(first, person)
        assert data(await graphql(client, WINDOW_NAME, {"id": window_id}, token=first))
        forbidden(await graphql(client, WINDOW_NAME, {"id": window_id}, token=second))
        forbidden(await graphql(client, ONBOARDING, {"windowId": window_id}, token=second))
        assert data(await graphql(client, WINDOWS, token=second)) == {"patientWindows": []}

    async def test_the_window_closes_after_15_minutes(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        assert data(await graphql(client, WINDOW_NAME, {"id": window_id}, token=token))
        await committed.execute(text(
            "UPDATE auth.consent_window SET expires_at = now() - interval '1 second' "
            "WHERE id = :id"), {"id": window_key(window_id)})
        await committed.commit()
        body = await graphql(client, WINDOW, {"id": window_id}, token=token)
        forbidden(body)
        assert person.first_name not in str(body)
        forbidden(await graphql(client, ONBOARDING, {"windowId": window_id}, token=token))
        assert data(await graphql(client, WINDOWS, token=token)) == {"patientWindows": []}


    async def test_consent_does_not_open_the_patients_own_graph(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        await desk.window_on(token, person)
        citizen_id = base64.b64encode(f"Citizen:{person.id}".encode()).decode()
        body = await graphql(client, "query Node($id: ID!) { node(id: $id) { id } }",
                             {"id": citizen_id}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["FORBIDDEN"]
        receipts = await graphql(client, "{ me { contributions(first: 5) { edges { node {"
                                         " id } } } } }", token=token)
        assert codes(receipts) == ["FORBIDDEN"]


class TestNoMoneyAtTheDesk:
    @staticmethod
    def named(type_ref: dict[str, Any] | None) -> str | None:
        """The named type inside NON_NULL/LIST wrappers."""
        while type_ref is not None and type_ref.get("name") is None:
            type_ref = type_ref.get("ofType")
        return None if type_ref is None else str(type_ref["name"])

    async def test_desk_types_reach_no_receipts_services_or_money(
        self, client: httpx.AsyncClient
    ) -> None:
        seen: set[str] = set()
        waiting = ["PatientWindow"]
        while waiting:
            name = waiting.pop()
            if name in seen:
                continue
            seen.add(name)
            found = data(await graphql(client, TYPE_FIELDS, {"name": name}))["__type"]
            assert found is not None, name
            if found["kind"] != "OBJECT":
                continue
            fields = {field["name"] for field in found["fields"]}
            assert not fields & FORBIDDEN_FIELDS, (name, fields & FORBIDDEN_FIELDS)
            waiting.extend(str(self.named(field["type"])) for field in found["fields"])
        assert {"PatientWindow", "DeskPatient", "DeskInsurance", "DeviceSession"} <= seen
        assert not seen & MONEY_TYPES, seen & MONEY_TYPES

    async def test_desk_patient_has_only_what_onboarding_needs(
        self, client: httpx.AsyncClient
    ) -> None:
        found = data(await graphql(client, TYPE_FIELDS, {"name": "DeskPatient"}))["__type"]
        fields = {field["name"] for field in found["fields"]}
        assert not fields & {"contributions", "coveredServices", "moneyFlow"}
        assert fields == {"firstName", "lastName", "maskedIin", "insurance", "signedInDevices",
                          "pushDevices", "pushChoices"}
        device = data(await graphql(client, TYPE_FIELDS, {"name": "PushDevice"}))["__type"]
        assert {field["name"] for field in device["fields"]} == {
            "id", "platform", "appVersion", "language", "timeZone", "registeredAt",
            "lastSeenAt", "pushOn", "pushOffReason"}  # no token, no money


class TestOnboarding:
    async def test_the_code_and_its_qr_text(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        made = await desk.onboarding_code(token, await desk.window_on(token, person))
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", made["code"]), made
        assert re.fullmatch(r"[0-9A-Z]+", made["qrText"]), made
        assert made["code"].replace("-", "") in made["qrText"]
        assert made["expiresAt"]

    async def test_the_code_then_the_sms_code_sign_the_patient_in_on_a_new_phone(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, first_name="Нурлан",
                                               phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        made = await desk.onboarding_code(token, await desk.window_on(token, person))
        redeemed = data(await graphql(client, REDEEM, {"code": made["code"]}))
        payload = redeemed["redeemOnboardingCode"]
        assert payload["userErrors"] == [] and payload["codeLength"] == 6
        signed_in = data(await graphql(client, SIGN_IN, {
            "challengeId": payload["challengeId"],
            "code": await last_code(app, auth_settings, person.phone),
            "device": {"name": "Redmi 12", "platform": "android"}}))["signIn"]
        assert signed_in["userErrors"] == []
        me = data(await graphql(client, ME_DEVICES, token=signed_in["session"]["accessToken"]))
        assert me["me"]["firstName"] == "Нурлан"
        assert me["me"]["signedInDevices"] == [
            {"deviceName": "Redmi 12", "signedInBy": "desk onboarding", "current": True}]
        again = data(await graphql(client, REDEEM, {"code": made["code"]}))
        assert again["redeemOnboardingCode"]["challengeId"] is None
        assert [e["code"] for e in again["redeemOnboardingCode"]["userErrors"]] == [
            "WRONG_CODE"]

    async def test_the_desk_redeeming_the_code_itself_gets_no_session(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        made = await desk.onboarding_code(token, await desk.window_on(token, person))
        body = await graphql(client, REDEEM.replace("challengeId", "challengeId __typename"),
                             {"code": made["code"]})
        payload = data(body)["redeemOnboardingCode"]
        assert payload["__typename"] == "SignInCodePayload"  # no session in it
        assert "accessToken" not in str(body) and "rt." not in str(body)
        sent = await last_code(app, auth_settings, person.phone)  # to the patient's phone
        guess = data(await graphql(client, SIGN_IN, {
            "challengeId": payload["challengeId"],
            "code": f"{(int(sent) + 1) % 1_000_000:06d}"}))["signIn"]
        assert guess["session"] is None
        assert [(e["code"], e["attemptsLeft"]) for e in guess["userErrors"]] == [
            ("WRONG_CODE", 4)]
        devices = data(await graphql(client, ME_DEVICES, token=desk.citizen_token(person)))
        assert devices["me"]["signedInDevices"] == []

    async def test_no_code_for_a_patient_without_a_phone_on_record(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=None)
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        body = await graphql(client, ONBOARDING, {"windowId": window_id}, token=token,
                             headers={"Accept-Language": "en"})
        payload = data(body)["createOnboardingCode"]
        assert payload["onboardingCode"] is None
        [error] = payload["userErrors"]
        assert error["code"] == "NO_PHONE_ON_RECORD"
        assert "phone" in error["message"]

    async def test_an_onboarding_code_expires_after_10_minutes(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed)
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        made = await desk.onboarding_code(token, window_id)
        await committed.execute(text(
            "UPDATE auth.onboarding_code SET expires_at = now() - interval '1 second' "
            "WHERE window_id = :window"), {"window": window_key(window_id)})
        await committed.commit()
        late = data(await graphql(client, REDEEM, {"code": made["code"]}))
        assert late["redeemOnboardingCode"]["challengeId"] is None
        assert [e["code"] for e in late["redeemOnboardingCode"]["userErrors"]] == [
            "WRONG_CODE"]

    async def test_the_scanned_qr_text_signs_the_patient_in(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, first_name="Жанар", phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        made = await desk.onboarding_code(token, await desk.window_on(token, person))
        redeemed = data(await graphql(client, REDEEM, {"code": made["qrText"]}))
        payload = redeemed["redeemOnboardingCode"]
        assert payload["userErrors"] == [], payload
        signed_in = data(await graphql(client, SIGN_IN, {
            "challengeId": payload["challengeId"],
            "code": await last_code(app, auth_settings, person.phone)}))["signIn"]
        me = data(await graphql(client, ME, token=signed_in["session"]["accessToken"]))
        assert me["me"]["firstName"] == "Жанар"
