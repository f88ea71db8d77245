"""fcm-local speaks FCM HTTP v1 as Google does: to raw HTTP and to firebase-admin 7.7.0."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import firebase_admin
import google.auth.transport
import google.oauth2.credentials
import httpx
import pytest
import uvicorn
from firebase_admin import exceptions, messaging
from firebase_admin._http_client import HttpxAsyncClient
from firebase_admin._retry import HttpxRetry

from notifications import fcm_local as fcm_local_module
from notifications.fcm_local import FcmLocal
from notifications.gateway import open_app
from notifications.settings import NotifySettings
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import wait_for

PROJECT = "mhi-local"
NAME = re.compile(r"projects/mhi-local/messages/0:\d{16}%[0-9a-f]{16}")
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
AUTH = {"Authorization": "Bearer local"}


def new_token() -> str:
    """A token of FCM's form that no other test uses."""
    return "tok:" + secrets.token_urlsafe(32)


def message(token: str, **fields: Any) -> Any:
    """A firebase-admin message to ``token`` (``Message.token`` warns of deprecation in 7.7)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(token=token, **fields)


async def close_app(app: Any) -> None:
    """Close the SDK's client, then delete the app outside the loop (``delete_app`` closes the
    client with ``asyncio.run``, which fails inside a running loop)."""
    await messaging._get_messaging_service(app)._async_client.aclose()
    await asyncio.to_thread(firebase_admin.delete_app, app)


@pytest.fixture
async def sdk(fcm_local: FcmLocalServer) -> AsyncIterator[Any]:
    """A firebase-admin app sending to fcm-local, its own retries off (``gateway.open_app``)."""
    app = open_app(NotifySettings(project_id=PROJECT, fcm_local_url=fcm_local.url))
    try:
        yield app
    finally:
        await close_app(app)


@pytest.fixture
async def http(fcm_local: FcmLocalServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fcm_local.url) as client:
        yield client


async def post(http: httpx.AsyncClient, body: Any,
               headers: dict[str, str] | None = None) -> httpx.Response:
    """A raw ``messages:send`` call."""
    return await http.post(f"/v1/projects/{PROJECT}/messages:send", json=body,
                           headers=AUTH if headers is None else headers)


def to(token: str) -> bytes:
    """The request body of a bare message to ``token``."""
    return json.dumps({"message": {"token": token}}).encode()


# --- firebase-admin's private hooks (gateway.open_app relies on them) --------------------------


async def test_the_sdk_hooks_we_rely_on_are_there(fcm_local: FcmLocalServer, sdk: Any) -> None:
    assert firebase_admin.__version__ == "7.7.0"
    assert messaging._MessagingService.FCM_URL.startswith("https://fcm.googleapis.com/v1/")
    service = messaging._get_messaging_service(sdk)
    assert service._fcm_url == f"{fcm_local.url}/v1/projects/{PROJECT}/messages:send"
    assert isinstance(service._async_client, HttpxAsyncClient)
    assert service._credential is not None
    token = new_token()
    name = await messaging.send_each_async([message(token)], app=sdk)
    assert NAME.fullmatch(name.responses[0].message_id)
    assert fcm_local.state.counts == {token: 1}


# --- sending --------------------------------------------------------------------------------


async def test_an_accepted_message_is_answered_and_recorded(
        fcm_local: FcmLocalServer, sdk: Any) -> None:
    token = new_token()
    push = message(token, notification=messaging.Notification(title="Взнос", body="5 000 ₸"),
                   data={"kind": "contribution.received", "id": "7"})
    batch = await messaging.send_each_async([push], app=sdk)
    assert batch.success_count == 1
    [record] = fcm_local.state.messages()
    assert record.name == batch.responses[0].message_id
    assert (record.seq, record.project, record.target) == (1, PROJECT, token)
    assert record.message["notification"] == {"title": "Взнос", "body": "5 000 ₸"}
    assert record.message["data"] == {"kind": "contribution.received", "id": "7"}
    assert record.received_at.endswith("+00:00")


async def test_fifty_messages_in_one_batch(fcm_local: FcmLocalServer, sdk: Any) -> None:
    tokens = [new_token() for _ in range(50)]
    batch = await messaging.send_each_async([message(t, data={"n": "1"}) for t in tokens],
                                            app=sdk)
    assert batch.success_count == 50
    names = {response.message_id for response in batch.responses}
    assert len(names) == 50
    assert all(NAME.fullmatch(name) for name in names)
    assert fcm_local.state.counts == dict.fromkeys(tokens, 1)
    assert fcm_local.state.stats() == {"accepted": 50, "errors": {}, "targets": 50}


async def test_raw_success_body_and_targets(fcm_local: FcmLocalServer,
                                            http: httpx.AsyncClient) -> None:
    for target in ({"token": new_token()}, {"fid": "fid-" + secrets.token_hex(8)},
                   {"topic": "news"}, {"condition": "'a' in topics"}):
        response = await post(http, {"message": {**target, "data": {"a": "b"}}})
        assert response.status_code == 200
        assert NAME.fullmatch(response.json()["name"])
    assert set(fcm_local.state.counts) >= {"news", "'a' in topics"}


# --- each error code, as firebase-admin sees it ------------------------------------------------

SDK_ERRORS = [
    ("UNREGISTERED", messaging.UnregisteredError, 404),
    ("SENDER_ID_MISMATCH", messaging.SenderIdMismatchError, 403),
    ("QUOTA_EXCEEDED", messaging.QuotaExceededError, 429),
    ("UNAVAILABLE", exceptions.UnavailableError, 503),
    ("INTERNAL", exceptions.InternalError, 500),
    ("INVALID_ARGUMENT", exceptions.InvalidArgumentError, 400),
]


@pytest.mark.parametrize(("code", "error", "status"), SDK_ERRORS)
async def test_each_error_code_maps_to_the_sdk_exception(
        fcm_local: FcmLocalServer, sdk: Any, code: str, error: Any, status: int) -> None:
    token = new_token()
    fcm_local.state.script_errors(token, [code])
    batch = await messaging.send_each_async([message(token)], app=sdk)
    exc = batch.responses[0].exception
    assert type(exc) is error
    assert exc.http_response.status_code == status
    assert exc.http_response.json()["error"]["details"][0] == {"@type": FCM_ERROR,
                                                               "errorCode": code}
    assert fcm_local.state.errors == {code: 1}
    assert fcm_local.state.accepted == 0


async def test_retry_after_when_set(fcm_local: FcmLocalServer, sdk: Any) -> None:
    token = new_token()
    fcm_local.state.configure(retry_after=7, script={token: ["QUOTA_EXCEEDED", "UNAVAILABLE"]})
    for _ in range(2):
        batch = await messaging.send_each_async([message(token)], app=sdk)
        assert batch.responses[0].exception.http_response.headers["Retry-After"] == "7"


async def test_an_invalid_token_is_invalid_argument(fcm_local: FcmLocalServer, sdk: Any) -> None:
    batch = await messaging.send_each_async([message("not a token!")], app=sdk)
    exc = batch.responses[0].exception
    assert isinstance(exc, exceptions.InvalidArgumentError)
    assert str(exc) == "The registration token is not a valid FCM registration token"
    violations = exc.http_response.json()["error"]["details"][1]["fieldViolations"]
    assert violations == [{"field": "message.token", "description": "Invalid registration token"}]


class RefreshingToken(google.oauth2.credentials.Credentials):
    """A static token that survives firebase-admin's refresh on a 401 (as a service account
    would); google-auth's own ``Credentials(token=...)`` raises ``RefreshError`` there."""

    def refresh(self, request: google.auth.transport.Request) -> None:
        return None


async def test_third_party_auth_error(fcm_local: FcmLocalServer, sdk: Any) -> None:
    service = messaging._get_messaging_service(sdk)
    await service._async_client.aclose()
    service._async_client = HttpxAsyncClient(
        credential=RefreshingToken(token="local"),  # type: ignore[no-untyped-call]
        retry_config=HttpxRetry(max_retries=0))
    token = new_token()
    # firebase-admin refreshes the credential and sends again twice on any 401.
    fcm_local.state.script_errors(token, ["THIRD_PARTY_AUTH_ERROR"] * 3)
    batch = await messaging.send_each_async([message(token)], app=sdk)
    assert isinstance(batch.responses[0].exception, messaging.ThirdPartyAuthError)
    assert fcm_local.state.errors == {"THIRD_PARTY_AUTH_ERROR": 3}


async def test_a_401_leaves_the_rest_of_the_batch_alone(fcm_local: FcmLocalServer,
                                                        sdk: Any) -> None:
    dead, fine = new_token(), new_token()
    fcm_local.state.script_errors(dead, ["THIRD_PARTY_AUTH_ERROR"] * 3)
    batch = await messaging.send_each_async([message(fine), message(dead)], app=sdk)
    assert batch.success_count == 1


# --- faults -----------------------------------------------------------------------------------


async def test_scripted_errors_then_success(fcm_local: FcmLocalServer,
                                            http: httpx.AsyncClient) -> None:
    token = new_token()
    script = await http.post("/admin/script", json={"target": token,
                                                    "errors": ["UNAVAILABLE", "QUOTA_EXCEEDED"]})
    assert script.json() == {"queued": 2}
    answers = [await post(http, {"message": {"token": token}}) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 429, 200]
    # retry_after unset: none on a 503, one second on a 429
    assert "Retry-After" not in answers[0].headers and answers[1].headers["Retry-After"] == "1"
    assert answers[0].json()["error"]["message"] == "The service is currently unavailable."
    assert fcm_local.state.stats() == {
        "accepted": 1, "errors": {"UNAVAILABLE": 1, "QUOTA_EXCEEDED": 1}, "targets": 1}


async def test_seeded_rates_repeat(fcm_local: FcmLocalServer, http: httpx.AsyncClient) -> None:
    faults = {"rates": {"UNAVAILABLE": 0.3, "INTERNAL": 0.2}, "seed": 42}

    async def run() -> list[int]:
        assert (await http.put("/admin/faults", json=faults)).status_code == 200
        return [(await post(http, {"message": {"topic": "t"}})).status_code for _ in range(60)]

    first = await run()
    assert first == await run()
    assert {503, 500, 200} == set(first)
    assert fcm_local.state.accepted == 2 * first.count(200)


async def test_an_unregistered_token_stays_unregistered(fcm_local: FcmLocalServer,
                                                        http: httpx.AsyncClient) -> None:
    token, other = new_token(), new_token()
    fcm_local.state.configure(rates={"UNREGISTERED": 1.0})
    assert (await post(http, {"message": {"token": token}})).status_code == 404
    fcm_local.state.configure()  # no more random faults: the app is still gone
    answer = await post(http, {"message": {"token": token}})
    assert answer.json() == {"error": {
        "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
        "details": [{"@type": FCM_ERROR, "errorCode": "UNREGISTERED"}]}}
    assert (await http.post("/admin/unregister", json={"targets": [other]})).json() == {
        "unregistered": 2}
    assert (await post(http, {"message": {"token": other}})).status_code == 404


async def test_latency_and_recording_before_the_answer(fcm_local: FcmLocalServer,
                                                       http: httpx.AsyncClient) -> None:
    """The record is there while the answer still waits: polled for, not slept on (a fixed
    sleep short of the latency is a race on a loaded machine)."""
    fcm_local.state.latency_ms = 2000
    started = time.monotonic()
    pending = asyncio.create_task(post(http, {"message": {"token": new_token()}}))

    async def recorded() -> bool:
        return fcm_local.state.accepted == 1

    await wait_for(recorded, seconds=30)
    assert not pending.done()
    assert (await pending).status_code == 200
    assert time.monotonic() - started >= 2.0


# --- the request itself -----------------------------------------------------------------------


async def test_validate_only_checks_without_recording(fcm_local: FcmLocalServer,
                                                      http: httpx.AsyncClient, sdk: Any) -> None:
    good = await post(http, {"message": {"token": new_token()}, "validate_only": True})
    assert good.json() == {"name": f"projects/{PROJECT}/messages/fake_message_id"}
    bad = await post(http, {"message": {"token": ""}, "validate_only": True})
    assert bad.status_code == 400
    batch = await messaging.send_each_async([message(new_token())], app=sdk, dry_run=True)
    assert batch.success_count == 1
    assert fcm_local.state.accepted == 0 and fcm_local.state.counts == {}


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}])
async def test_a_call_without_a_bearer_token_is_unauthenticated(
        fcm_local: FcmLocalServer, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await post(http, {"message": {"token": new_token()}}, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"error": {
        "code": 401, "status": "UNAUTHENTICATED",
        "message": "Request is missing required authentication credential. Expected OAuth 2 "
                   "access token, login cookie or other valid authentication credential."}}
    assert fcm_local.state.accepted == 0


@pytest.mark.parametrize("token", ["", "x" * 4097, "has space", "slash/no", "é"])
async def test_malformed_tokens(fcm_local: FcmLocalServer, http: httpx.AsyncClient,
                                token: str) -> None:
    answer = await post(http, {"message": {"token": token}})
    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["errorCode"] == "INVALID_ARGUMENT"


async def test_a_long_token_is_fine(fcm_local: FcmLocalServer,
                                         http: httpx.AsyncClient) -> None:
    assert (await post(http, {"message": {"token": "a:b_c.d-" * 500}})).status_code == 200


@pytest.mark.parametrize(("body", "text"), [
    ({"message": {"data": {"a": "b"}}}, "Recipient of the message is not set."),
    ({"message": {"token": "abc", "topic": "news"}}, "oneof field 'target' is already set"),
    ({"message": {"token": "abc", "data": {"n": 1}}}, "'message.data[0].value' (TYPE_STRING)"),
    ({"message": {"token": "abc", "data": ["x"]}}, "Invalid value at 'message.data'"),
    ({"message": {"token": 5}}, "Invalid value at 'message.token'"),
    ({"message": "hello"}, "Request contains an invalid argument."),
    ([1], "Invalid JSON payload received."),
])
async def test_malformed_messages(fcm_local: FcmLocalServer, http: httpx.AsyncClient,
                                  body: Any, text: str) -> None:
    answer = await post(http, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and text in error["message"]
    assert fcm_local.state.errors == {"INVALID_ARGUMENT": 1}


async def test_broken_json(fcm_local: FcmLocalServer, http: httpx.AsyncClient) -> None:
    answer = await http.post(f"/v1/projects/{PROJECT}/messages:send", content=b"{nope",
                             headers=AUTH)
    assert answer.status_code == 400


async def test_a_message_over_4096_bytes_is_too_big(fcm_local: FcmLocalServer,
                                                    http: httpx.AsyncClient) -> None:
    def body(size: int) -> dict[str, Any]:
        frame = len(json.dumps({"token": "abc", "data": {"p": ""}}, separators=(",", ":")))
        return {"message": {"token": "abc", "data": {"p": "x" * (size - frame)}}}

    assert (await post(http, body(4096))).status_code == 200
    too_big = await post(http, body(4097))
    assert too_big.status_code == 400
    assert too_big.json()["error"]["message"].startswith("Message is too big")


# --- the admin endpoints and the page ----------------------------------------------------------


async def test_admin_messages_stats_counts_and_clear(fcm_local: FcmLocalServer,
                                                     http: httpx.AsyncClient) -> None:
    a, b = new_token(), new_token()
    for target in (a, b, a):
        await post(http, {"message": {"token": target, "data": {"to": target[-4:]}}})
    newest = (await http.get("/admin/messages")).json()["messages"]
    assert [m["target"] for m in newest] == [a, b, a]
    assert [m["seq"] for m in newest] == [3, 2, 1]
    assert set(newest[0]) == {"seq", "received_at", "project", "target", "message", "name"}
    only_a = (await http.get("/admin/messages", params={"target": a, "limit": 1})).json()
    assert [m["seq"] for m in only_a["messages"]] == [3]
    assert (await http.get("/admin/messages", params={"limit": "x"})).status_code == 400
    assert (await http.get("/admin/stats")).json() == {"accepted": 3, "errors": {}, "targets": 2}
    assert (await http.get("/admin/counts")).json() == {a: 2, b: 1}
    assert (await http.delete("/admin/messages")).status_code == 200
    assert (await http.get("/admin/stats")).json() == {"accepted": 0, "errors": {}, "targets": 0}
    assert (await http.get("/admin/messages")).json() == {"messages": []}


async def test_admin_faults(fcm_local: FcmLocalServer, http: httpx.AsyncClient) -> None:
    await http.post("/admin/unregister", json={"targets": ["gone"]})
    faults = {"rates": {"UNAVAILABLE": 0.05}, "retry_after": 1, "latency_ms": 0, "seed": 1}
    put = await http.put("/admin/faults", json=faults)
    assert put.json() == {**faults, "unregistered": ["gone"], "script": {}}
    assert (await http.get("/admin/faults")).json() == put.json()
    bad_faults: list[Any] = [
        {"rates": {"NOPE": 0.1}}, {"rates": {"INTERNAL": 2}}, {"seed": "x"}, {"latency_ms": -1},
        {"rates": {"INTERNAL": 0.6, "UNAVAILABLE": 0.6}}, {"rates": {"INTERNAL": "x"}},
        {"colour": 1}, [], {"unregistered": "x"}]
    for bad in bad_faults:
        assert (await http.put("/admin/faults", json=bad)).status_code == 400, bad
    assert (await http.put("/admin/faults", content=b"{")).status_code == 400
    assert (await http.get("/admin/faults")).json() == put.json()
    bad_scripts: list[Any] = [{"target": "t", "errors": ["NOPE"]}, {"target": 1, "errors": []}, []]
    for bad_script in bad_scripts:
        assert (await http.post("/admin/script", json=bad_script)).status_code == 400
    assert (await http.post("/admin/unregister", json={"targets": "x"})).status_code == 400


async def test_the_page_shows_pushes_escaped(fcm_local: FcmLocalServer,
                                             http: httpx.AsyncClient) -> None:
    token = new_token()
    await post(http, {"message": {"token": token, "notification": {
        "title": "<script>alert(1)</script>", "body": "Взнос & пеня"}, "data": {"k": "<b>"}}})
    page = await http.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Взнос &amp; пеня" in page.text and "&lt;b&gt;" in page.text
    assert token not in page.text and token[-8:] in page.text
    assert (await http.get("/healthz")).status_code == 200


# --- the standalone server ---------------------------------------------------------------------


def test_main_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(app: Any, **options: Any) -> None:
        seen.update(options, state=app.state.fcm)

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("FCM_LOCAL_PORT", "8499")
    monkeypatch.setenv("FCM_LOCAL_FAULTS", '{"rates": {"INTERNAL": 0.5}, "retry_after": 3}')
    fcm_local_module.main()
    assert (seen["host"], seen["port"], seen["access_log"]) == ("127.0.0.1", 8499, False)
    assert seen["state"].rates == {"INTERNAL": 0.5} and seen["state"].retry_after == 3


def test_records_are_bounded_but_counts_are_not() -> None:
    state = FcmLocal(keep=3)
    for n in range(5):
        state.send(PROJECT, to(f"t{n % 2}"))
    assert [r.seq for r in state.messages()] == [5, 4, 3]
    assert state.counts == {"t0": 3, "t1": 2} and state.accepted == 5


def test_faults_at_construction() -> None:
    state = FcmLocal(rates={"SENDER_ID_MISMATCH": 1.0}, unregistered=["u"],
                     script={"s": ["INTERNAL"]})
    assert [state.send(PROJECT, to(t)).status for t in ("u", "s", "s")] == [404, 500, 403]
    with pytest.raises(ValueError, match="unknown error code"):
        FcmLocal(script={"s": ["NOPE"]})
