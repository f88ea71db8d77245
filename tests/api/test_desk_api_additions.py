"""The desk's GraphQL added with the console, over HTTP: consent by an SMS code read out
(``sendConsentSms``, ``openPatientWindowBySms``), the status's reason sentence
(``DeskInsurance.reason``), an onboarding's progress (``PatientWindow.onboarding``) and the
notification check (``checkNotifications``, ``PatientWindow.notificationCheck``).

As in ``test_desk``: every test has its own clinic, staff usernames and client address.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.sms import DevSmsSink
from backend.models import Person
from notifications import devices
from notifications.devices import Registration
from tests.api.gql import codes, data, graphql
from tests.api.sms import codes_sent, last_code, new_phone
from tests.api.test_desk import PROVIDER_NAME, Desk, window_key
from tests.factories import create_insured_employee, create_person, new_iin

SEND_SMS = """
mutation Send($iin: String!) {
  sendConsentSms(iin: $iin) {
    challengeId expiresAt maskedPhone
    userErrors { code field message }
  }
}"""
OPEN_BY_SMS = """
mutation OpenBySms($challengeId: ID!, $code: String!) {
  openPatientWindowBySms(challengeId: $challengeId, code: $code) {
    window { id openedAt expiresAt }
    userErrors { code field message attemptsLeft }
  }
}"""
WINDOW_NAME = "query Window($id: ID!) { patientWindow(id: $id) { patient { firstName } } }"
WINDOWS = "{ patientWindows { id } }"
REASON = """query Reason($id: ID!) { patientWindow(id: $id) { patient {
  insurance { status statusName reason guaranteedUntil } } } }"""
CITIZEN_REASON = "{ me { insurance { status reason { text } } } }"
ONBOARDING = """query Onboarding($id: ID!) { patientWindow(id: $id) {
  onboarding { step codeExpiresAt scannedAt signedInAt deviceName } } }"""
REDEEM = """mutation Redeem($code: String!) { redeemOnboardingCode(code: $code) {
  challengeId userErrors { code } } }"""
SIGN_IN = """mutation SignIn($challengeId: ID!, $code: String!, $device: DeviceInput) {
  signIn(challengeId: $challengeId, code: $code, device: $device) {
    session { accessToken } userErrors { code } } }"""
REGISTER = """mutation Register($device: PushDeviceInput!) {
  registerPushDevice(device: $device) { id pushOn } }"""
CHECK = """mutation Check($windowId: ID!) { checkNotifications(windowId: $windowId) {
  check { id sentAt dispatched finished
    devices { platform appVersion lastSeenAt state heldUntil heldFor notReached } } } }"""
CHECK_STATE = """query CheckState($id: ID!, $check: ID!) { patientWindow(id: $id) {
  notificationCheck(id: $check) { id sentAt dispatched finished
    devices { platform state notReached } } } }"""
ACCESS_LOG = """{ me { accessLog(first: 50) { edges { node { purpose actorName } } } } }"""


@pytest.fixture
def desk(client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService) -> Desk:
    """The desk of this test (``tests.api.test_desk``'s helpers)."""
    return Desk(client, committed, auth_service)


def node_id(type_name: str, key: object) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def send_sms(client: httpx.AsyncClient, token: str, iin: str,
                   language: str = "en") -> dict[str, Any]:
    payload: dict[str, Any] = data(await graphql(
        client, SEND_SMS, {"iin": iin}, token=token,
        headers={"Accept-Language": language}))["sendConsentSms"]
    return payload


async def open_by_sms(client: httpx.AsyncClient, token: str, challenge: str,
                      code: str) -> dict[str, Any]:
    payload: dict[str, Any] = data(await graphql(
        client, OPEN_BY_SMS, {"challengeId": challenge, "code": code},
        token=token))["openPatientWindowBySms"]
    return payload


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestConsentBySms:
    async def test_the_code_read_out_opens_a_window(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, first_name="Нурлан",
                                               phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        before = datetime.now(UTC)
        sent = await send_sms(client, token, person.iin)
        assert sent["userErrors"] == []
        assert sent["maskedPhone"] == f"+7 ••• ••• •• {person.phone[-2:]}"
        expires = datetime.fromisoformat(sent["expiresAt"])
        assert before + timedelta(seconds=auth_settings.consent_sms_ttl_seconds - 1) <= expires
        assert expires <= datetime.now(UTC) + timedelta(
            seconds=auth_settings.consent_sms_ttl_seconds)
        code = await last_code(app, auth_settings, person.phone)
        opened = await open_by_sms(client, token, sent["challengeId"], code)
        assert opened["userErrors"] == []
        window = opened["window"]
        assert (datetime.fromisoformat(window["expiresAt"])
                - datetime.fromisoformat(window["openedAt"])) == timedelta(minutes=15)
        body = await graphql(client, WINDOW_NAME, {"id": window["id"]}, token=token)
        assert data(body)["patientWindow"]["patient"]["firstName"] == "Нурлан"
        assert data(await graphql(client, WINDOWS, token=token))["patientWindows"] == [
            {"id": window["id"]}]
        again = await open_by_sms(client, token, sent["challengeId"], code)
        assert [e["code"] for e in again["userErrors"]] == ["WRONG_CODE"]

    async def test_the_sms_names_the_clinic_and_no_iin(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        await send_sms(client, token, person.iin)
        assert len(await codes_sent(app, auth_settings, person.phone)) == 1
        [message] = [sms.text for sms in DevSmsSink(auth_settings.dev_sms_file).recent(10_000)
                     if sms.phone == person.phone]
        assert PROVIDER_NAME in message
        assert "регистратуре" in message and "registry desk" in message
        assert "Тіркеу орнына" in message
        assert person.iin not in message

    async def test_wrong_codes_count_down_then_the_challenge_is_spent(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        sent = await send_sms(client, token, person.iin)
        code = await last_code(app, auth_settings, person.phone)
        left = []
        for _ in range(auth_settings.consent_sms_max_attempts):
            wrong = await open_by_sms(client, token, sent["challengeId"], other_code(code))
            assert wrong["window"] is None
            [error] = wrong["userErrors"]
            assert (error["code"], error["field"]) == ("WRONG_CODE", "code")
            left.append(error["attemptsLeft"])
        assert left == [4, 3, 2, 1, 0]
        spent = await open_by_sms(client, token, sent["challengeId"], code)
        assert spent["window"] is None
        assert [e["code"] for e in spent["userErrors"]] == ["CODE_ATTEMPTS_EXHAUSTED"]
        assert data(await graphql(client, WINDOWS, token=token)) == {"patientWindows": []}

    async def test_an_expired_code_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        sent = await send_sms(client, token, person.iin)
        code = await last_code(app, auth_settings, person.phone)
        await committed.execute(text(
            "UPDATE auth.consent_challenge SET expires_at = now() - interval '1 second' "
            "WHERE id = :id"), {"id": sent["challengeId"]})
        await committed.commit()
        late = await open_by_sms(client, token, sent["challengeId"], code)
        assert [e["code"] for e in late["userErrors"]] == ["CODE_EXPIRED"]

    async def test_another_worker_and_made_up_challenges_open_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        mine = await desk.sign_in(await desk.staff())
        theirs = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        sent = await send_sms(client, mine, person.iin)
        code = await last_code(app, auth_settings, person.phone)
        for token, challenge in ((theirs, sent["challengeId"]), (mine, "not-a-uuid"),
                                 (mine, node_id("PatientWindow", sent["challengeId"])),
                                 (mine, "00000000-0000-0000-0000-000000000000")):
            refused = await open_by_sms(client, token, challenge, code)
            assert refused["window"] is None
            assert [(e["code"], e["attemptsLeft"]) for e in refused["userErrors"]] == [
                ("WRONG_CODE", 0)]
        assert (await open_by_sms(client, mine, sent["challengeId"], code))["userErrors"] == []

    @pytest.mark.parametrize("iin", ["123456789012", "12345", "abcdefghijkl", ""])
    async def test_an_iin_that_cannot_be_is_a_user_error(
        self, client: httpx.AsyncClient, desk: Desk, iin: str
    ) -> None:
        token = await desk.sign_in(await desk.staff())
        sent = await send_sms(client, token, iin)
        assert (sent["challengeId"], sent["maskedPhone"], sent["expiresAt"]) == (None,) * 3
        assert [(e["code"], e["field"]) for e in sent["userErrors"]] == [("IIN_INVALID", "iin")]

    async def test_no_phone_on_record_is_a_user_error_in_the_readers_language(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_person(committed, phone=None)
        await committed.commit()
        token = await desk.sign_in(await desk.staff())
        for iin in (person.iin, new_iin(datetime(1990, 1, 1).date(), "M")):  # nobody has it
            english = await send_sms(client, token, iin, "en")
            [error] = english["userErrors"]
            assert (error["code"], error["field"]) == ("NO_PHONE_ON_RECORD", "iin")
            assert "phone" in error["message"] and iin not in error["message"]
            russian = await send_sms(client, token, iin, "ru")
            assert russian["userErrors"][0]["message"] != error["message"]

    async def test_only_desk_staff_may_send(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        citizen = await graphql(client, SEND_SMS, {"iin": person.iin},
                                token=desk.citizen_token(person))
        assert citizen.get("data") is None and codes(citizen) == ["FORBIDDEN"]
        anonymous = await graphql(client, SEND_SMS, {"iin": person.iin})
        assert anonymous.get("data") is None and codes(anonymous) == ["UNAUTHENTICATED"]
        opened = await graphql(client, OPEN_BY_SMS, {"challengeId": "x", "code": "123456"},
                               token=desk.citizen_token(person))
        assert codes(opened) == ["FORBIDDEN"]

    async def test_a_worker_sends_a_limited_number_an_hour(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        token = await desk.sign_in(await desk.staff())
        for number in range(auth_settings.consent_sms_per_staff):
            nobody = new_iin(datetime(1991, 2, 3).date(), "F")
            sent = await send_sms(client, token, nobody)
            assert [e["code"] for e in sent["userErrors"]] == ["NO_PHONE_ON_RECORD"], number
        person = await create_insured_employee(committed, phone=new_phone())
        body = await graphql(client, SEND_SMS, {"iin": person.iin}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["RATE_LIMITED"]
        assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 3600
        other = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        assert (await send_sms(client, other, person.iin))["userErrors"] == []

    async def test_a_patient_gets_a_limited_number_a_day(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        token = await desk.sign_in(await desk.staff())
        for _ in range(auth_settings.consent_sms_per_person):
            assert (await send_sms(client, token, person.iin))["userErrors"] == []
        other = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        body = await graphql(client, SEND_SMS, {"iin": person.iin}, token=other)
        assert codes(body) == ["RATE_LIMITED"]
        assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 86_400


class TestReason:
    async def test_the_desk_reads_the_reason_the_patients_app_shows(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, language="ru")
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        own = data(await graphql(client, CITIZEN_REASON, token=desk.citizen_token(person)))
        russian = data(await graphql(client, REASON, {"id": window_id}, token=token,
                                     headers={"Accept-Language": "ru"}))
        english = data(await graphql(client, REASON, {"id": window_id}, token=token,
                                     headers={"Accept-Language": "en"}))
        at_desk = russian["patientWindow"]["patient"]["insurance"]
        assert at_desk["reason"] == own["me"]["insurance"]["reason"]["text"]
        assert at_desk["status"] == own["me"]["insurance"]["status"] == "INSURED"
        in_english = english["patientWindow"]["patient"]["insurance"]
        assert in_english["reason"] and in_english["reason"] != at_desk["reason"]
        assert in_english["statusName"] == "Insured"
        for money in ("₸", "KZT", "15 300", "15300"):
            assert money not in in_english["reason"] and money not in at_desk["reason"]

    async def test_an_uninsured_patient_has_a_reason_too(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_person(committed, language="en")
        await committed.commit()
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        insurance = data(await graphql(client, REASON, {"id": window_id}, token=token,
                                       headers={"Accept-Language": "en"}))[
            "patientWindow"]["patient"]["insurance"]
        own = data(await graphql(client, CITIZEN_REASON, token=desk.citizen_token(person)))
        assert insurance["status"] != "INSURED"
        assert insurance["reason"] == own["me"]["insurance"]["reason"]["text"]


class TestOnboardingProgress:
    async def onboarding(self, client: httpx.AsyncClient, token: str,
                         window_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = data(await graphql(
            client, ONBOARDING, {"id": window_id}, token=token))["patientWindow"]["onboarding"]
        return found

    async def test_the_steps_as_the_patient_takes_them(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        assert await self.onboarding(client, token, window_id) is None

        made = await desk.onboarding_code(token, window_id)
        shown = await self.onboarding(client, token, window_id)
        assert shown == {"step": "CODE_SHOWN", "codeExpiresAt": made["expiresAt"],
                         "scannedAt": None, "signedInAt": None, "deviceName": None}

        redeemed = data(await graphql(client, REDEEM, {"code": made["qrText"]}))
        challenge = redeemed["redeemOnboardingCode"]["challengeId"]
        assert challenge
        scanned = await self.onboarding(client, token, window_id)
        assert scanned is not None and scanned["step"] == "SCANNED" and scanned["scannedAt"]
        assert scanned["signedInAt"] is None

        signed_in = data(await graphql(client, SIGN_IN, {
            "challengeId": challenge, "code": await last_code(app, auth_settings, person.phone),
            "device": {"name": "Redmi 12", "platform": "android"}}))["signIn"]
        assert signed_in["userErrors"] == []
        progress = await self.onboarding(client, token, window_id)
        assert progress is not None
        assert (progress["step"], progress["deviceName"]) == ("SIGNED_IN", "Redmi 12")
        assert progress["scannedAt"] <= progress["signedInAt"]

        registered = data(await graphql(client, REGISTER, {"device": {
            "token": "onboarding-progress-token", "platform": "ANDROID", "appVersion": "2.1.0",
            "language": "kk"}}, token=signed_in["session"]["accessToken"]))
        assert registered["registerPushDevice"]["pushOn"] is True
        done = await self.onboarding(client, token, window_id)
        assert done is not None and done["step"] == "NOTIFICATIONS_ON"

    async def test_an_older_phone_registered_before_does_not_count(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        auth_settings: AuthSettings, engine: AsyncEngine
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        assert person.phone is not None
        async with engine.begin() as conn:
            await devices.register(conn, person.id, Registration(
                token="an-older-phone", platform="ios", app_version="2.0.0", language="ru",
                time_zone="Asia/Almaty"))
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        made = await desk.onboarding_code(token, window_id)
        challenge = data(await graphql(client, REDEEM, {"code": made["code"]}))[
            "redeemOnboardingCode"]["challengeId"]
        data(await graphql(client, SIGN_IN, {
            "challengeId": challenge, "code": await last_code(app, auth_settings, person.phone),
            "device": {"name": "New phone", "platform": "android"}}))
        progress = await self.onboarding(client, token, window_id)
        assert progress is not None and progress["step"] == "SIGNED_IN"

    async def test_an_unused_code_expires(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        await desk.onboarding_code(token, window_id)
        await committed.execute(text(
            "UPDATE auth.onboarding_code SET expires_at = now() - interval '1 second' "
            "WHERE window_id = :window"), {"window": window_key(window_id)})
        await committed.commit()
        expired = await self.onboarding(client, token, window_id)
        assert expired is not None and expired["step"] == "CODE_EXPIRED"

    async def test_another_worker_cannot_follow_it(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        mine = await desk.sign_in(await desk.staff())
        theirs = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        window_id = await desk.window_on(mine, person)
        await desk.onboarding_code(mine, window_id)
        body = await graphql(client, ONBOARDING, {"id": window_id}, token=theirs)
        assert body.get("data") is None and codes(body) == ["FORBIDDEN"]


class TestNotificationCheck:
    async def check(self, client: httpx.AsyncClient, token: str,
                    window_id: str) -> dict[str, Any]:
        body = await graphql(client, CHECK, {"windowId": window_id}, token=token)
        check: dict[str, Any] = data(body)["checkNotifications"]["check"]
        return check

    async def events(self, engine: AsyncEngine, person: Person) -> list[tuple[int, str]]:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT id, payload::text FROM notify.outbox WHERE person_id = :p "
                "AND kind = 'desk.check' ORDER BY id"), {"p": person.id})).all()
        return [(int(row[0]), str(row[1])) for row in rows]

    async def test_a_check_goes_through_the_outbox_and_is_followed(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        engine: AsyncEngine
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        async with engine.begin() as conn:
            await devices.register(conn, person.id, Registration(
                token="check-token-1", platform="android", app_version="2.1.0",
                language="kk", time_zone="Asia/Almaty"))
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        check = await self.check(client, token, window_id)
        assert (check["dispatched"], check["finished"]) == (False, False)
        assert check["devices"] == [{
            "platform": "ANDROID", "appVersion": "2.1.0",
            "lastSeenAt": check["devices"][0]["lastSeenAt"], "state": None,
            "heldUntil": None, "heldFor": None, "notReached": None}]
        [(event, payload)] = await self.events(engine, person)
        assert check["id"] == node_id("NotificationCheck", event)
        assert PROVIDER_NAME in payload or "Городская поликлиника" in payload
        assert "check-token-1" not in str(check)
        followed = data(await graphql(client, CHECK_STATE, {"id": window_id,
                                                            "check": check["id"]},
                                      token=token))["patientWindow"]["notificationCheck"]
        assert followed["id"] == check["id"] and followed["sentAt"] == check["sentAt"]
        assert followed["devices"] == [{"platform": "ANDROID", "state": None,
                                        "notReached": None}]

    async def test_the_fourth_check_in_an_hour_is_rate_limited(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        engine: AsyncEngine, auth_settings: AuthSettings
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        first = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(first, person)
        for _ in range(auth_settings.desk_checks_per_person):
            await self.check(client, first, window_id)
        body = await graphql(client, CHECK, {"windowId": window_id}, token=first)
        assert body.get("data") is None
        assert codes(body) == ["RATE_LIMITED"]
        assert 0 < body["errors"][0]["extensions"]["retryAfter"] <= 3600
        # Per patient, whoever asks: another worker's consent does not start a new hour.
        second = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        theirs = await desk.window_on(second, person)
        again = await graphql(client, CHECK, {"windowId": theirs}, token=second)
        assert codes(again) == ["RATE_LIMITED"]
        assert len(await self.events(engine, person)) == auth_settings.desk_checks_per_person

    async def test_a_check_is_found_only_in_its_patients_window(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        other = await create_insured_employee(committed, phone=new_phone())
        token = await desk.sign_in(await desk.staff())
        earlier = await desk.window_on(token, person)
        old_check = await self.check(client, token, earlier)
        mine = await desk.window_on(token, person)  # a new consent: the old check is not in it
        elsewhere = await desk.window_on(token, other)
        check = await self.check(client, token, mine)
        colleague = await desk.sign_in(await desk.staff())
        theirs = await self.check(client, colleague, await desk.window_on(colleague, person))
        for window_id, check_id in (
                (elsewhere, check["id"]), (mine, old_check["id"]),
                (mine, theirs["id"]),  # the same patient, sent later, from another window
                (mine, node_id("NotificationCheck", 10 ** 12)),
                (mine, node_id("PatientWindow", window_key(mine))),
                (mine, node_id("NotificationCheck", "abc"))):
            body = await graphql(client, CHECK_STATE, {"id": window_id, "check": check_id},
                                 token=token)
            assert body.get("data") is None
            assert codes(body) == ["NOT_FOUND"], (window_id, check_id, body)
        for forged in ("garbage", node_id("NotificationCheck", "1 OR 1=1")):
            body = await graphql(client, CHECK_STATE, {"id": mine, "check": forged},
                                 token=token)
            assert codes(body) == ["BAD_USER_INPUT"]  # as every forged global id
        found = data(await graphql(client, CHECK_STATE, {"id": mine, "check": check["id"]},
                                   token=token))
        assert found["patientWindow"]["notificationCheck"]["id"] == check["id"]

    async def test_only_the_windows_worker_may_check(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk,
        engine: AsyncEngine
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        mine = await desk.sign_in(await desk.staff())
        theirs = await desk.sign_in(await desk.staff("Ерлан Муканов"))
        window_id = await desk.window_on(mine, person)
        check = await self.check(client, mine, window_id)
        for body in (await graphql(client, CHECK, {"windowId": window_id}, token=theirs),
                     await graphql(client, CHECK_STATE, {"id": window_id,
                                                         "check": check["id"]}, token=theirs),
                     await graphql(client, CHECK, {"windowId": window_id},
                                   token=desk.citizen_token(person))):
            assert body.get("data") is None and codes(body) == ["FORBIDDEN"]
        assert len(await self.events(engine, person)) == 1

    async def test_a_patient_without_phones_gets_a_check_with_no_devices(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        token = await desk.sign_in(await desk.staff())
        check = await self.check(client, token, await desk.window_on(token, person))
        assert check["devices"] == []

    async def test_the_check_is_in_the_patients_access_log_once(
        self, client: httpx.AsyncClient, committed: AsyncSession, desk: Desk
    ) -> None:
        person = await create_insured_employee(committed, phone=new_phone())
        token = await desk.sign_in(await desk.staff())
        window_id = await desk.window_on(token, person)
        check = await self.check(client, token, window_id)
        for _ in range(3):
            await graphql(client, CHECK_STATE, {"id": window_id, "check": check["id"]},
                          token=token)
        await self.check(client, token, window_id)
        events = data(await graphql(client, ACCESS_LOG, token=desk.citizen_token(person)))[
            "me"]["accessLog"]["edges"]
        assert [e["node"]["purpose"] for e in events].count("notification_check") == 1
