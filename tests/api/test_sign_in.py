"""Citizen sign-in over HTTP: IIN and phone, a one-time code by SMS, sessions on devices.

The code travels through the development SMS sink (a JSON-lines file); it is sent in a
background task after the answer, so every test waits for the sender to drain before
reading the sink.  Throttle buckets (per IIN digest and per client address) live in the
``auth`` schema, which is not emptied between tests: each test gets a client address and
people (IINs, phones) of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.settings import AuthSettings
from auth.sms import DevSmsSink, Sms
from backend.models import Person
from tests.api.conftest import new_ip
from tests.api.gql import codes, data, graphql
from tests.factories import create_person, new_iin

REQUEST_CODE = """
mutation RequestSignInCode($iin: String!, $phone: String!) {
  requestSignInCode(iin: $iin, phone: $phone) {
    challengeId expiresAt codeLength
    userErrors { code field message attemptsLeft }
  }
}"""
SIGN_IN = """
mutation SignIn($challengeId: ID!, $code: String!, $device: DeviceInput) {
  signIn(challengeId: $challengeId, code: $code, device: $device) {
    session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt tokenType }
    userErrors { code field message attemptsLeft }
  }
}"""
REFRESH = """
mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) {
    session { accessToken refreshToken tokenType }
    userErrors { code field message }
  }
}"""
SIGN_OUT = "mutation { signOut { sessionsEnded } }"
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { sessionsEnded } }"
REDEEM = """
mutation Redeem($code: String!) {
  redeemOnboardingCode(code: $code) {
    challengeId expiresAt codeLength
    userErrors { code field message }
  }
}"""
ME = "{ me { firstName } }"
DEVICES = """
{ me { signedInDevices { id deviceName platform signedInBy signedInAt lastUsedAt current } } }"""

_CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


def new_phone() -> str:
    """A Kazakhstan mobile number of this test's own."""
    return f"+7701{secrets.randbelow(10 ** 7):07d}"


def other_code(code: str) -> str:
    """A 6-digit code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def broken_check_digit(iin: str) -> str:
    """``iin`` with its check digit changed: well-formed, but not a valid IIN."""
    return iin[:-1] + str((int(iin[-1]) + 1) % 10)


@pytest.fixture
def sink(auth_settings: AuthSettings) -> DevSmsSink:
    """The development SMS sink the app writes to."""
    return DevSmsSink(auth_settings.dev_sms_file)


class Phone:
    """Asking for codes and reading the SMS that arrive, the way a person's phone would."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient, sink: DevSmsSink) -> None:
        self.app = app
        self.client = client
        self.sink = sink

    def all_sent(self) -> list[Sms]:
        """Every SMS the sink holds, oldest first."""
        return list(reversed(self.sink.recent(1_000_000)))

    async def settled(self) -> list[Sms]:
        """Every SMS, once the codes handed to the gateway have all been sent."""
        await self.app.state.runtime.auth.login.drain()
        return self.all_sent()

    async def request(self, iin: str, phone: str,
                      headers: dict[str, str] | None = None) -> dict[str, Any]:
        """``requestSignInCode`` (the whole response body)."""
        return await graphql(self.client, REQUEST_CODE, {"iin": iin, "phone": phone},
                             headers=headers)

    async def challenge(self, person: Person) -> tuple[str, str]:
        """Ask for a code for ``person``: (challenge id, the code the SMS brought)."""
        assert person.phone is not None
        before = len(self.all_sent())
        payload = data(await self.request(person.iin, person.phone))["requestSignInCode"]
        assert payload["userErrors"] == []
        sent = (await self.settled())[before:]
        assert [sms.phone for sms in sent] == [person.phone]
        found = _CODE.findall(sent[0].text)
        assert len(found) == 1, sent[0].text
        return str(payload["challengeId"]), str(found[0])

    async def sign_in(self, person: Person, device: str = "Samsung Galaxy A14",
                      platform: str = "android") -> dict[str, Any]:
        """The whole flow for ``person`` on ``device``: the session it gives."""
        challenge, code = await self.challenge(person)
        payload = data(await graphql(self.client, SIGN_IN, {
            "challengeId": challenge, "code": code,
            "device": {"name": device, "platform": platform}}))["signIn"]
        assert payload["userErrors"] == []
        session: dict[str, Any] = payload["session"]
        return session


@contextlib.asynccontextmanager
async def at_another_address(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app from an address no other client has."""
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        yield other


@pytest.fixture
def phone(app: FastAPI, client: httpx.AsyncClient, sink: DevSmsSink) -> Phone:
    """The person's phone for this test."""
    return Phone(app, client, sink)


async def new_person(committed: AsyncSession, **overrides: Any) -> Person:
    """A committed person with a phone number of their own."""
    person = await create_person(committed, phone=new_phone(), **overrides)
    await committed.commit()
    return person


def ended(body: dict[str, Any]) -> None:
    """``body`` is a refusal of an ended session: UNAUTHENTICATED, reason SESSION_ENDED."""
    assert body.get("data") is None, body
    assert codes(body) == ["UNAUTHENTICATED"], body
    assert body["errors"][0]["extensions"].get("reason") == "SESSION_ENDED", body


def rate_limited(body: dict[str, Any]) -> int:
    """``body`` is a RATE_LIMITED refusal; the seconds it says to wait."""
    assert body.get("data") is None, body
    assert codes(body) == ["RATE_LIMITED"], body
    retry_after = body["errors"][0]["extensions"].get("retryAfter")
    assert isinstance(retry_after, int) and not isinstance(retry_after, bool), body
    assert retry_after > 0
    return retry_after


class TestFullFlow:
    async def test_code_by_sms_signs_in_and_sessions_refresh_and_end(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed, first_name="Айгерим")
        challenge, code = await phone.challenge(person)
        payload = data(await graphql(client, SIGN_IN, {
            "challengeId": challenge, "code": code,
            "device": {"name": "Samsung Galaxy A14", "platform": "android"}}))["signIn"]
        assert payload["userErrors"] == []
        session = payload["session"]
        assert session["tokenType"] == "Bearer"
        assert session["accessToken"] and session["refreshToken"]
        assert session["accessTokenExpiresAt"] < session["refreshTokenExpiresAt"]
        me = data(await graphql(client, ME, token=session["accessToken"]))["me"]
        assert me == {"firstName": "Айгерим"}

        refreshed = data(await graphql(client, REFRESH, {
            "refreshToken": session["refreshToken"]}))["refreshSession"]
        assert refreshed["userErrors"] == []
        renewed = refreshed["session"]
        assert renewed["accessToken"] != session["accessToken"]
        assert renewed["refreshToken"] != session["refreshToken"]
        me = data(await graphql(client, ME, token=renewed["accessToken"]))["me"]
        assert me == {"firstName": "Айгерим"}

        # The old refresh token again: someone holds a copy, so the whole family ends.
        ended(await graphql(client, REFRESH, {"refreshToken": session["refreshToken"]}))
        ended(await graphql(client, REFRESH, {"refreshToken": renewed["refreshToken"]}))

    async def test_a_code_works_once(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        challenge, code = await phone.challenge(person)
        first = data(await graphql(client, SIGN_IN, {"challengeId": challenge, "code": code}))
        assert first["signIn"]["session"] is not None
        again = data(await graphql(client, SIGN_IN, {"challengeId": challenge, "code": code}))
        assert again["signIn"]["session"] is None
        assert [e["code"] for e in again["signIn"]["userErrors"]] == ["WRONG_CODE"]

    async def test_the_same_code_sent_twice_at_once_gives_one_session(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        challenge, code = await phone.challenge(person)
        bodies = await asyncio.gather(*(
            graphql(client, SIGN_IN, {"challengeId": challenge, "code": code})
            for _ in range(2)))
        sessions = [data(body)["signIn"]["session"] for body in bodies]
        assert sum(session is not None for session in sessions) == 1

    async def test_sign_out_ends_this_session(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        session = await phone.sign_in(person)
        out = data(await graphql(client, SIGN_OUT, token=session["accessToken"]))
        assert out["signOut"] == {"sessionsEnded": 1}
        ended(await graphql(client, REFRESH, {"refreshToken": session["refreshToken"]}))

    async def test_sign_out_leaves_the_other_device_signed_in(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        leaving = await phone.sign_in(person, "iPhone 13", "ios")
        staying = await phone.sign_in(person, "Galaxy Tab A8", "android")
        data(await graphql(client, SIGN_OUT, token=leaving["accessToken"]))
        devices = data(await graphql(client, DEVICES, token=staying["accessToken"]))
        assert [d["deviceName"] for d in devices["me"]["signedInDevices"]] == ["Galaxy Tab A8"]
        refreshed = data(await graphql(client, REFRESH, {
            "refreshToken": staying["refreshToken"]}))["refreshSession"]
        assert refreshed["session"]["accessToken"]

    async def test_an_unknown_refresh_token_is_an_ended_session(
        self, client: httpx.AsyncClient
    ) -> None:
        ended(await graphql(client, REFRESH, {"refreshToken": "rt." + secrets.token_urlsafe(32)}))

    async def test_sign_out_everywhere_ends_every_device(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        phone_session = await phone.sign_in(person, "iPhone 13", "ios")
        tablet_session = await phone.sign_in(person, "Galaxy Tab A8", "android")
        out = data(await graphql(client, SIGN_OUT_EVERYWHERE,
                                 token=phone_session["accessToken"]))
        assert out["signOutEverywhere"] == {"sessionsEnded": 2}
        ended(await graphql(client, REFRESH, {"refreshToken": phone_session["refreshToken"]}))
        ended(await graphql(client, REFRESH, {"refreshToken": tablet_session["refreshToken"]}))
        devices = data(await graphql(client, DEVICES, token=phone_session["accessToken"]))
        assert devices["me"]["signedInDevices"] == []

    async def test_signed_in_devices_mark_the_one_asking(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        phone_session = await phone.sign_in(person, "iPhone 13", "ios")
        tablet_session = await phone.sign_in(person, "Galaxy Tab A8", "android")
        for session, asking in ((phone_session, "iPhone 13"), (tablet_session, "Galaxy Tab A8")):
            devices = data(await graphql(client, DEVICES, token=session["accessToken"]))
            listed = devices["me"]["signedInDevices"]
            assert sorted(d["deviceName"] for d in listed) == ["Galaxy Tab A8", "iPhone 13"]
            assert {d["deviceName"]: d["current"] for d in listed} == {
                name: name == asking for name in ("Galaxy Tab A8", "iPhone 13")}
            assert {d["deviceName"]: d["platform"] for d in listed} == {
                "Galaxy Tab A8": "android", "iPhone 13": "ios"}
            assert {d["signedInBy"] for d in listed} == {"sms"}
            assert len({d["id"] for d in listed}) == 2

    async def test_another_persons_token_does_not_list_these_devices(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        other = await new_person(committed)
        await phone.sign_in(person, "iPhone 13", "ios")
        other_session = await phone.sign_in(other, "Redmi Note 12", "android")
        devices = data(await graphql(client, DEVICES, token=other_session["accessToken"]))
        assert [d["deviceName"] for d in devices["me"]["signedInDevices"]] == ["Redmi Note 12"]


class TestSameAnswerForEveryone:
    @staticmethod
    def shape(response: httpx.Response) -> str:
        """The response text with the challenge's id, its expiry and the request's id blanked
        (they always differ)."""
        body = response.json()
        payload = body["data"]["requestSignInCode"]
        assert payload["challengeId"] and payload["expiresAt"]
        text = response.text
        request_id = body.get("extensions", {}).get("requestId")  # differs for every answer
        for value in (payload["challengeId"], payload["expiresAt"],
                      *([request_id] if request_id else [])):
            assert text.count(json.dumps(value)) == 1
            text = text.replace(json.dumps(value), '"…"')
        return text

    async def test_unknown_iin_and_wrong_phone_look_like_a_known_person(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None
        unknown_iin = new_iin(date(1990, 7, 7), "M")

        async def ask(iin: str, number: str) -> httpx.Response:
            response = await client.post("/graphql", json={
                "query": REQUEST_CODE, "variables": {"iin": iin, "phone": number}})
            assert response.status_code == 200
            return response

        before = len(await phone.settled())
        known = await ask(person.iin, person.phone)
        assert len(await phone.settled()) == before + 1
        unknown = await ask(unknown_iin, person.phone)
        wrong_phone = await ask(person.iin, new_phone())
        assert len(await phone.settled()) == before + 1, "no SMS for details that match no one"

        assert self.shape(unknown) == self.shape(known)
        assert self.shape(wrong_phone) == self.shape(known)
        assert "errors" not in unknown.json()
        assert unknown.json()["data"] == {"requestSignInCode": {
            "challengeId": unknown.json()["data"]["requestSignInCode"]["challengeId"],
            "expiresAt": unknown.json()["data"]["requestSignInCode"]["expiresAt"],
            "codeLength": 6, "userErrors": []}}

    async def test_a_person_without_a_phone_on_record_gets_no_code(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await create_person(committed, phone=None)
        await committed.commit()
        for typed in ("+7 701 555 12 34", "+7 000 000 00 00"):
            before = len(await phone.settled())
            body = await phone.request(person.iin, typed)
            assert data(body)["requestSignInCode"]["userErrors"] == []
            sent = (await phone.settled())[before:]
            assert sent == [], f"an SMS went to {[sms.phone for sms in sent]} for {typed!r}"

    async def test_wrong_codes_count_down_alike_for_no_one(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None

        async def countdown(iin: str, number: str) -> list[Any]:
            body = await phone.request(iin, number)
            challenge = data(body)["requestSignInCode"]["challengeId"]
            seen = []
            for _ in range(6):
                result = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                              "code": "000000"}))["signIn"]
                seen.append([(e["code"], e["attemptsLeft"]) for e in result["userErrors"]])
            return seen

        real = await countdown(person.iin, person.phone)
        if real[0] == []:  # 000000 happened to be the code: a one-in-a-million chance
            pytest.skip("the code sent was 000000")
        assert await countdown(person.iin, new_phone()) == real
        assert await countdown(new_iin(date(1989, 6, 6), "F"), new_phone()) == real

    async def test_a_challenge_for_no_one_never_signs_in(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        body = await phone.request(person.iin, new_phone())
        challenge = data(body)["requestSignInCode"]["challengeId"]
        for guess in ("000000", "123456"):
            result = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                          "code": guess}))["signIn"]
            assert result["session"] is None
            assert [e["code"] for e in result["userErrors"]] == ["WRONG_CODE"]


class TestWrongCodes:
    async def test_each_wrong_code_counts_down_and_the_fifth_exhausts(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        challenge, code = await phone.challenge(person)
        wrong = other_code(code)
        left = []
        for _ in range(4):
            result = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                          "code": wrong}))["signIn"]
            assert result["session"] is None
            [error] = result["userErrors"]
            assert (error["code"], error["field"]) == ("WRONG_CODE", "code")
            left.append(error["attemptsLeft"])
        assert left == [4, 3, 2, 1]
        fifth = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                     "code": wrong}))["signIn"]
        assert [e["code"] for e in fifth["userErrors"]] == ["CODE_ATTEMPTS_EXHAUSTED"]
        # Even the right code cannot sign in now.
        right = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                     "code": code}))["signIn"]
        assert right["session"] is None
        assert [e["code"] for e in right["userErrors"]] == ["CODE_ATTEMPTS_EXHAUSTED"]

    async def test_a_wrong_code_then_the_right_one_signs_in(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        challenge, code = await phone.challenge(person)
        wrong = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                     "code": other_code(code)}))["signIn"]
        assert [(e["code"], e["attemptsLeft"]) for e in wrong["userErrors"]] == [
            ("WRONG_CODE", 4)]
        typed = f"{code[:3]} {code[3:]}"  # as a person might type it
        right = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                     "code": typed}))["signIn"]
        assert right["userErrors"] == []
        assert right["session"]["accessToken"]

    async def test_an_expired_code_is_refused_even_when_right(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        challenge, code = await phone.challenge(person)
        await committed.execute(text(
            "UPDATE auth.login_challenge SET expires_at = now() - interval '1 second' "
            "WHERE id = CAST(:id AS uuid)"), {"id": challenge})
        await committed.commit()
        result = data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                      "code": code}))["signIn"]
        assert result["session"] is None
        assert [e["code"] for e in result["userErrors"]] == ["CODE_EXPIRED"]

    async def test_a_bad_onboarding_code_is_a_wrong_code(
        self, client: httpx.AsyncClient
    ) -> None:
        result = data(await graphql(client, REDEEM, {"code": "ABCD-EFGH-JKMN"}))
        payload = result["redeemOnboardingCode"]
        assert payload["challengeId"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("WRONG_CODE", "code")]


class TestThrottling:
    async def test_the_fourth_code_for_one_iin_in_15_minutes_is_refused(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None
        before = len(await phone.settled())
        for _ in range(3):
            assert data(await phone.request(person.iin, person.phone))[
                "requestSignInCode"]["userErrors"] == []
        body = await phone.request(person.iin, person.phone)
        assert 0 < rate_limited(body) <= 900
        assert len(await phone.settled()) == before + 3

    async def test_a_stranger_with_the_iin_and_the_phone_locks_no_one_out(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None
        for _ in range(3):
            await phone.request(person.iin, person.phone)
        assert 0 < rate_limited(await phone.request(person.iin, person.phone)) <= 900
        async with at_another_address(app) as own:
            session = await Phone(app, own, phone.sink).sign_in(person)
        assert session["accessToken"]

    async def test_over_the_daily_sms_ceiling_the_code_already_sent_signs_in(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone,
        auth_settings: AuthSettings
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None
        ceiling = auth_settings.otp_sms_per_subject
        before = len(await phone.settled())
        for number in range(ceiling):  # strangers, from addresses of their own
            async with at_another_address(app) as stranger:
                body = await Phone(app, stranger, phone.sink).request(person.iin, person.phone)
            assert data(body)["requestSignInCode"]["userErrors"] == [], number
        sent = (await phone.settled())[before:]
        assert len(sent) == ceiling
        body = await phone.request(person.iin, person.phone)
        payload = data(body)["requestSignInCode"]
        assert (payload["userErrors"], payload["codeLength"]) == ([], 6)
        assert len(await phone.settled()) == before + ceiling, "no SMS over the ceiling"
        code = _CODE.findall(sent[-1].text)[0]
        signed_in = data(await graphql(client, SIGN_IN, {
            "challengeId": payload["challengeId"], "code": code}))["signIn"]
        assert signed_in["userErrors"] == [] and signed_in["session"]["accessToken"]

    async def test_new_challenges_give_a_guesser_no_new_guesses(
        self, app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        for _ in range(2):  # the guesser cannot read the SMS: every guess is wrong
            challenge, code = await phone.challenge(person)
            for _ in range(5):
                data(await graphql(client, SIGN_IN, {"challengeId": challenge,
                                                     "code": other_code(code)}))
        challenge, code = await phone.challenge(person)
        body = await graphql(client, SIGN_IN, {"challengeId": challenge, "code": code})
        assert 0 < rate_limited(body) <= 3600
        async with at_another_address(app) as own:
            session = await Phone(app, own, phone.sink).sign_in(person)
        assert session["accessToken"]

    async def test_an_unknown_iin_is_throttled_alike(
        self, client: httpx.AsyncClient, phone: Phone
    ) -> None:
        unknown_iin, typed = new_iin(date(1991, 8, 8), "F"), new_phone()
        for _ in range(3):
            body = await phone.request(unknown_iin, typed)
            assert data(body)["requestSignInCode"]["userErrors"] == []
        assert 0 < rate_limited(await phone.request(unknown_iin, typed)) <= 900

    async def test_a_stranger_with_the_iin_but_another_phone_locks_no_one_out(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None
        stranger = new_phone()
        for _ in range(3):
            await phone.request(person.iin, stranger)
        rate_limited(await phone.request(person.iin, stranger))
        body = await phone.request(person.iin, person.phone)
        assert data(body)["requestSignInCode"]["userErrors"] == []

    async def test_one_address_asks_for_at_most_30_codes_an_hour(
        self, client: httpx.AsyncClient, phone: Phone
    ) -> None:
        for number in range(30):
            body = await phone.request(new_iin(date(1994, 10, 10), "F"), new_phone())
            assert data(body)["requestSignInCode"]["userErrors"] == [], number
        retry_after = rate_limited(await phone.request(new_iin(date(1994, 10, 10), "F"),
                                                       new_phone()))
        assert retry_after <= 3600

    async def test_the_refusal_speaks_the_readers_language(
        self, client: httpx.AsyncClient, phone: Phone
    ) -> None:
        unknown_iin, typed = new_iin(date(1992, 9, 9), "M"), new_phone()
        for _ in range(3):
            await phone.request(unknown_iin, typed)
        body = await phone.request(unknown_iin, typed, headers={"Accept-Language": "ru"})
        seconds = rate_limited(body)
        message = body["errors"][0]["message"]
        assert re.search("[а-яА-Я]", message), message
        assert str(seconds) in message


class TestInvalidInput:
    async def test_invalid_iin_is_a_user_error_in_the_readers_language(
        self, client: httpx.AsyncClient, phone: Phone
    ) -> None:
        iin = broken_check_digit(new_iin(date(1988, 3, 3), "F"))
        body = await phone.request(iin, new_phone(), headers={"Accept-Language": "ru"})
        payload = data(body)["requestSignInCode"]
        assert payload["challengeId"] is None
        [error] = payload["userErrors"]
        assert (error["code"], error["field"]) == ("IIN_INVALID", "iin")
        assert re.search("[а-яА-Я]", error["message"]), error["message"]
        assert "ИИН" in error["message"]

    async def test_invalid_iin_in_english_and_kazakh(
        self, client: httpx.AsyncClient, phone: Phone
    ) -> None:
        iin = broken_check_digit(new_iin(date(1988, 4, 4), "M"))
        english = data(await phone.request(iin, new_phone(),
                                           headers={"Accept-Language": "en"}))
        kazakh = data(await phone.request(iin, new_phone()))
        [en] = english["requestSignInCode"]["userErrors"]
        [kk] = kazakh["requestSignInCode"]["userErrors"]
        assert en["code"] == kk["code"] == "IIN_INVALID"
        assert "IIN" in en["message"]
        assert "ЖСН" in kk["message"]

    async def test_invalid_phone_is_a_user_error(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        payload = data(await phone.request(person.iin, "12345"))["requestSignInCode"]
        assert payload["challengeId"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("PHONE_INVALID", "phone")]

    async def test_a_phone_typed_the_local_way_gets_the_code(
        self, client: httpx.AsyncClient, committed: AsyncSession, phone: Phone
    ) -> None:
        person = await new_person(committed)
        assert person.phone is not None
        digits = person.phone[2:]
        typed = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
        before = len(await phone.settled())
        payload = data(await phone.request(person.iin, typed))["requestSignInCode"]
        assert payload["userErrors"] == []
        sent = (await phone.settled())[before:]
        assert [sms.phone for sms in sent] == [person.phone]
