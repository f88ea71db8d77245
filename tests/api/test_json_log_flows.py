"""The lines a citizen's real flows write, as the run's log audit holds them (JSON, through the
production formatter): sign-in by IIN, phone and SMS code, a refresh, an FCM token
registered, wrong identifiers and a fault quoting them, all at DEBUG for every logger.  Each
line parses, none carries personal data, and the fault's line names its request."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from auth.settings import AuthSettings
from tests.api.gql import data, graphql
from tests.api.sms import last_code, new_phone
from tests.factories import create_person
from tests.log_audit import audit_of, findings

FCM = "eHh4eHh4eHh4eHh4eHh4eA:APA91bGQ7Zr3UvK2mHq8Yx1Lw5NnE0aTbC4dF6gH9iJ-kL_mN2oP3qR4sT5uV6"
REQUEST = """mutation ($iin: String!, $phone: String!) {
  requestSignInCode(iin: $iin, phone: $phone) { challengeId userErrors { code } } }"""
SIGN_IN = """mutation ($c: ID!, $code: String!) {
  signIn(challengeId: $c, code: $code, device: {name: "Galaxy A14", platform: "android"}) {
    session { accessToken refreshToken } userErrors { code } } }"""
REFRESH = """mutation ($r: String!) {
  refreshSession(refreshToken: $r) { session { accessToken refreshToken } } }"""
REGISTER = """mutation ($d: PushDeviceInput!) { registerPushDevice(device: $d) { id pushOn } }"""


async def test_a_citizens_flows_leave_json_lines_without_personal_data(
        app: FastAPI, client: httpx.AsyncClient, committed: AsyncSession,
        auth_settings: AuthSettings, request: pytest.FixtureRequest) -> None:
    audit = audit_of(request.config)
    start = audit.path.stat().st_size

    @app.get("/test-fault")
    async def fault(value: str) -> None:
        raise RuntimeError(f"could not store {value}")

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        person = await create_person(committed, phone=new_phone())
        await committed.commit()
        assert person.phone is not None
        asked = data(await graphql(client, REQUEST, {"iin": person.iin,
                                                     "phone": person.phone}))
        challenge = asked["requestSignInCode"]["challengeId"]
        code = await last_code(app, auth_settings, person.phone)
        session = data(await graphql(client, SIGN_IN, {"c": challenge, "code": code}))[
            "signIn"]["session"]
        renewed = data(await graphql(client, REFRESH, {"r": session["refreshToken"]}))[
            "refreshSession"]["session"]
        registered = data(await graphql(client, REGISTER, {"d": {
            "token": FCM, "platform": "ANDROID", "appVersion": "1.4.0", "language": "kk"}},
            token=renewed["accessToken"]))["registerPushDevice"]
        assert registered["pushOn"] is True
        wrong: dict[str, Any] = await graphql(client, REQUEST, {
            "iin": person.iin[:-1] + str((int(person.iin[-1]) + 1) % 10),
            "phone": person.phone})
        assert wrong["data"]["requestSignInCode"]["userErrors"]
        failed = await client.get("/test-fault", params={
            "value": f"{person.iin} {person.phone} {FCM} {session['accessToken']}"})
        assert failed.status_code == 500
    finally:
        root.setLevel(level)
    with audit.path.open(encoding="utf-8") as lines:
        lines.seek(start)
        written = [json.loads(line) for line in lines]
    assert written, "the flows wrote lines"
    assert [entry for entry in written if findings(entry)] == []
    dumped = json.dumps(written, ensure_ascii=False)
    for secret in (person.iin, person.phone, person.phone[-10:], FCM,
                   session["accessToken"], session["refreshToken"], renewed["refreshToken"]):
        assert secret not in dumped
    assert not re.search(rf"(?<!\w){code}(?!\w)", dumped), "the code (hex ids may hold it)"
    [fault_line] = [entry for entry in written
                    if entry["message"] == "unhandled error answering a GET request"]
    assert fault_line["request_id"] == failed.headers["x-request-id"]
    assert fault_line["level"] == "ERROR" and "[iin] [phone]" in str(fault_line["exception"])
