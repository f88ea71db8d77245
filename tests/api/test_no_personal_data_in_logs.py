"""No log record carries what identifies a person or lets someone act as them: IINs, phone
numbers, one-time codes, tokens, consent and onboarding codes, client secrets, passwords.

Every record of every logger is captured at DEBUG (root, with the loggers of uvicorn and
strawberry made to propagate) while the identity flows run over HTTP; the raw message and
any traceback are checked, before any formatter could redact them.
"""

from __future__ import annotations

import logging
import re
import secrets
import traceback
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principals import Scope
from auth.settings import AuthSettings
from auth.sms import DevSmsSink
from tests.api.gql import codes, data, graphql
from tests.factories import create_contribution, create_employer, create_person, create_provider

PASSWORD = "Kaz-desk-pass-7731!"
PROPAGATING = ("uvicorn", "uvicorn.error", "uvicorn.access", "strawberry",
               "strawberry.execution", "httpx", "sqlalchemy", "asyncio")

REQUEST_CODE = """
mutation RequestSignInCode($iin: String!, $phone: String!) {
  requestSignInCode(iin: $iin, phone: $phone) { challengeId userErrors { code } }
}"""
SIGN_IN = """
mutation SignIn($challengeId: ID!, $code: String!, $device: DeviceInput) {
  signIn(challengeId: $challengeId, code: $code, device: $device) {
    session { accessToken refreshToken } userErrors { code attemptsLeft }
  }
}"""
REFRESH = """
mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) { session { accessToken refreshToken } }
}"""
STAFF_SIGN_IN = """
mutation StaffSignIn($username: String!, $password: String!) {
  staffSignIn(username: $username, password: $password) {
    session { accessToken refreshToken } userErrors { code }
  }
}"""
CONSENT = "mutation { createConsentCode { code } }"
OPEN_WINDOW = """
mutation Open($consentCode: String!) {
  openPatientWindow(consentCode: $consentCode) { window { id } userErrors { code } }
}"""
ONBOARDING = """
mutation Onboarding($windowId: ID!) {
  createOnboardingCode(windowId: $windowId) {
    onboardingCode { code qrText } userErrors { code }
  }
}"""
REDEEM = """
mutation Redeem($code: String!) {
  redeemOnboardingCode(code: $code) { challengeId userErrors { code } }
}"""
ELIGIBILITY = """
query Eligibility($iins: [String!]!) { eligibility(iins: $iins) { found status } }"""
ME = "{ me { firstName insurance { status } } }"


@pytest.fixture
def every_logger_propagates() -> Iterator[None]:
    """Loggers that might keep their records to themselves hand them to the root too."""
    saved = {name: logging.getLogger(name).propagate for name in PROPAGATING}
    for name in PROPAGATING:
        logging.getLogger(name).propagate = True
    try:
        yield
    finally:
        for name, value in saved.items():
            logging.getLogger(name).propagate = value


def logged_text(records: list[logging.LogRecord]) -> list[str]:
    """Each record's message, with its traceback and stack when it has them."""
    lines = []
    for record in records:
        parts = [record.getMessage()]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        lines.append(f"{record.name}: " + "\n".join(parts))
    return lines


def leaks(lines: list[str], secrets_: dict[str, str]) -> list[tuple[str, str]]:
    """(what, line) for every secret a line contains (digits only as a whole number)."""
    found: list[tuple[str, str]] = []
    for what, value in secrets_.items():
        if value.isdigit():
            pattern = re.compile(rf"(?<![0-9]){re.escape(value)}(?![0-9])")
        else:
            pattern = re.compile(re.escape(value))
        found.extend((what, line[:300]) for line in lines if pattern.search(line))
    return found


async def test_identity_flows_log_no_personal_data_or_secrets(
    app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession,
    auth_settings: AuthSettings, caplog: pytest.LogCaptureFixture,
    every_logger_propagates: None,
) -> None:
    # Everything the flows need, made before capture (the factories' own SQL is no app log).
    phone = f"+7702{secrets.randbelow(10 ** 7):07d}"
    person = await create_person(committed, phone=phone, first_name="Гульнара")
    employer = await create_employer(committed)
    for number in range(5, 11):
        await create_contribution(
            committed, person, kind="employer_deduction", payment_code=121,
            payer_id=employer.id, payer_kind="employer", period=date(2026, number, 1),
            paid_on=date(2026, number + 1, 10), amount_tiyn=1_530_000)
    provider = await create_provider(committed)
    await committed.commit()
    runtime_auth = app.state.runtime.auth
    username = f"desk-{uuid.uuid4().hex[:12]}"
    await runtime_auth.desk.create_staff(username, "Айгерим Сапарова", PASSWORD, provider.id,
                                         "Городская поликлиника № 5")
    integrator = await runtime_auth.clients.create("Qamqor MIS", "ТОО «Дамумед»",
                                                   [Scope.ELIGIBILITY_READ])
    sink = DevSmsSink(auth_settings.dev_sms_file)
    iin = person.iin
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    secret_values: dict[str, str] = {
        "IIN": iin, "phone (+7)": phone, "phone (10 digits)": phone[2:],
        "staff password": PASSWORD, "client secret": integrator.secret,
    }

    def keep(what: str, value: str) -> str:
        secret_values[what] = value
        return value

    # Citizen: ask for a code, type a wrong one, then the right one, then refresh.
    asked = data(await graphql(client, REQUEST_CODE, {"iin": iin, "phone": phone}))
    challenge = asked["requestSignInCode"]["challengeId"]
    await runtime_auth.login.drain()
    [sms] = [m for m in sink.recent(5) if m.phone == phone][:1]
    code = keep("OTP code", re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", sms.text)[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = data(await graphql(client, SIGN_IN, {"challengeId": challenge, "code": wrong}))
    assert refused["signIn"]["userErrors"][0]["code"] == "WRONG_CODE"
    signed = data(await graphql(client, SIGN_IN, {
        "challengeId": challenge, "code": code,
        "device": {"name": "Samsung Galaxy A14", "platform": "android"}}))["signIn"]["session"]
    keep("citizen access token", signed["accessToken"])
    keep("citizen refresh token", signed["refreshToken"])
    renewed = data(await graphql(client, REFRESH, {
        "refreshToken": signed["refreshToken"]}))["refreshSession"]["session"]
    keep("refreshed access token", renewed["accessToken"])
    keep("refreshed refresh token", renewed["refreshToken"])
    # The used refresh token again: the session ends (an error the server records).
    reused = await graphql(client, REFRESH, {"refreshToken": signed["refreshToken"]})
    assert codes(reused) == ["UNAUTHENTICATED"]

    # Desk: sign in, the patient's consent, a window, an onboarding code, redeemed.
    staff = data(await graphql(client, STAFF_SIGN_IN, {
        "username": username, "password": PASSWORD}))["staffSignIn"]["session"]
    keep("staff access token", staff["accessToken"])
    keep("staff refresh token", staff["refreshToken"])
    wrong_staff = data(await graphql(client, STAFF_SIGN_IN, {
        "username": username, "password": PASSWORD + "x"}))["staffSignIn"]
    assert wrong_staff["userErrors"][0]["code"] == "WRONG_CREDENTIALS"
    secret_values["mistyped staff password"] = PASSWORD + "x"
    consent = data(await graphql(client, CONSENT, token=renewed["accessToken"]))
    consent_code = keep("consent code", consent["createConsentCode"]["code"])
    keep("consent code (plain)", consent_code.replace("-", ""))
    window = data(await graphql(client, OPEN_WINDOW, {"consentCode": consent_code},
                                token=staff["accessToken"]))["openPatientWindow"]["window"]
    made = data(await graphql(client, ONBOARDING, {"windowId": window["id"]},
                              token=staff["accessToken"]))["createOnboardingCode"]
    onboarding = keep("onboarding code", made["onboardingCode"]["code"])
    keep("onboarding code (plain)", onboarding.replace("-", ""))
    keep("onboarding QR text", made["onboardingCode"]["qrText"])
    redeemed = data(await graphql(client, REDEEM, {"code": onboarding}))
    await app.state.runtime.auth.login.drain()  # the patient confirms with the SMS code
    [sms] = [m for m in sink.recent(5) if m.phone == phone][:1]
    confirmation = keep("onboarding SMS code",
                        re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", sms.text)[0])
    session = data(await graphql(client, SIGN_IN, {
        "challengeId": redeemed["redeemOnboardingCode"]["challengeId"],
        "code": confirmation}))["signIn"]["session"]
    keep("onboarded access token", session["accessToken"])
    keep("onboarded refresh token", session["refreshToken"])

    # Integrator: a token by client credentials, an eligibility check with the IIN.
    issued = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(integrator.info.id, integrator.secret))
    assert issued.status_code == 200, issued.text
    integrator_token = keep("integrator token", issued.json()["access_token"])
    refused_client = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": integrator.info.id,
        "client_secret": integrator.secret + "x"})
    assert refused_client.status_code == 401
    checked = data(await graphql(client, ELIGIBILITY, {"iins": [iin]}, token=integrator_token))
    assert checked["eligibility"] == [{"found": True, "status": "INSURED"}]

    # A query with an invalid token (a real one with its signature spoiled).
    head, body, signature = renewed["accessToken"].split(".")
    forged = keep("forged token", f"{head}.{body}.{signature[::-1]}")
    invalid = await graphql(client, ME, token=forged)
    assert codes(invalid) == ["UNAUTHENTICATED"]

    # What a careless client sends: the IIN and phone inline in the query text, until
    # throttled, and a query that fails validation around an inline IIN.
    inline = f'mutation {{ requestSignInCode(iin: "{iin}", phone: "{phone}") {{ challengeId }} }}'
    answers = [await graphql(client, inline) for _ in range(3)]
    assert codes(answers[-1]) == ["RATE_LIMITED"]
    typo = await graphql(client, f'{{ eligibility(iins: ["{iin}"]) {{ fonud }} }}',
                         token=integrator_token)
    assert codes(typo) == ["GRAPHQL_VALIDATION_FAILED"]
    await runtime_auth.login.drain()
    for sent in sink.recent(10):
        if sent.phone == phone:
            for number, sent_code in enumerate(re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])",
                                                          sent.text)):
                keep(f"OTP code {sent.sent_at} {number}", sent_code)

    lines = logged_text(caplog.records)
    assert lines, "the flows log something (else this test would prove nothing)"
    found = leaks(lines, secret_values)
    assert found == [], "\n".join(f"{what}: {line}" for what, line in found)


def test_leak_detector_sees_a_leak() -> None:
    """The check itself: a message carrying a secret is found, digits only as whole numbers."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s to %s",
                               ("123456", "+77011234567"), None)
    lines = logged_text([record])
    secrets_: dict[str, Any] = {"code": "123456", "phone": "+77011234567", "other": "12345"}
    assert [what for what, _ in leaks(lines, secrets_)] == ["code", "phone"]
