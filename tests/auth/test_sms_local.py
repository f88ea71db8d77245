"""sms-local speaks Mobizon's SMS API as its reference writes it: raw HTTP against the served
fake (the adapter's side is ``test_sms_operator``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from auth import sms_local as sms_local_module
from auth.sms_local_state import FAULTS, SmsLocal
from tests.sms_local import (
    API_KEY,
    SmsLocalServer,
    sms_local_fixture,  # noqa: F401
    sms_local_server_fixture,  # noqa: F401
)

QUERY = {"output": "json", "api": "v1", "apiKey": API_KEY}
SEND = "/service/Message/SendSmsMessage"
STATUS = "/service/message/getsmsstatus"


@pytest.fixture
async def http(sms_local: SmsLocalServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sms_local.url) as client:
        yield client


async def call(http: httpx.AsyncClient, path: str, form: dict[str, Any] | None = None,
               **query: str) -> Any:
    """A POST as Mobizon's examples make it: key in the query, form body; the JSON answer."""
    answer = await http.post(path, params={**QUERY, **query}, data=form or {})
    assert answer.status_code == 200, answer.text
    return answer.json()


class TestEnvelope:
    async def test_a_send_is_answered_with_ids_in_the_envelope(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        body = await call(http, SEND, {"recipient": "77011234567", "text": "Сәлем",
                                       "from": "MHI", "params[validity]": "60"})
        [record] = sms_local.state.messages()
        assert body == {"code": 0, "message": "", "data": {
            "campaignId": record.id, "messageId": record.id, "status": 2}}
        assert (record.sender, record.validity, record.segments.encoding) == ("MHI", 60, "UCS-2")

    async def test_get_with_query_parameters_and_a_plus_work_as_well(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        answer = await http.get(SEND.lower(), params={**QUERY, "recipient": "+77011234567",
                                                      "text": "hi"})
        assert answer.json()["code"] == 0
        assert sms_local.state.messages("+77011234567")[0].recipient == "77011234567"

    @pytest.mark.parametrize(("query", "path", "code"), [
        ({"apiKey": "wrong"}, SEND, 8),
        ({"output": "xml"}, SEND, 6),
        ({}, "/service/nope/sendsmsmessage", 4),
        ({}, "/service/message/nope", 5),
    ])
    async def test_key_format_module_and_method_are_checked(
            self, http: httpx.AsyncClient, query: dict[str, str], path: str, code: int) -> None:
        body = await call(http, path, {"recipient": "77011234567", "text": "hi"}, **query)
        assert body["code"] == code and body["data"] == []

    @pytest.mark.parametrize(("form", "field"), [
        ({"recipient": "7701123456", "text": "hi"}, "recipient"),
        ({"recipient": "77171234567x", "text": "hi"}, "recipient"),
        ({"recipient": "79161234567", "text": "hi"}, "recipient"),
        ({"text": "hi"}, "recipient"),
        ({"recipient": "77011234567", "text": ""}, "text"),
        ({"recipient": "77011234567", "text": "hi", "params[validity]": "59"}, "validity"),
    ])
    async def test_bad_input_is_a_validation_error_naming_the_field(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient, form: dict[str, str],
            field: str) -> None:
        body = await call(http, SEND, form)
        assert body["code"] == 1 and list(body["data"]) == [field]
        assert sms_local.state.accepted == 0


class TestStatus:
    async def test_ids_in_every_form_a_form_encoder_gives(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        ids = [(await call(http, SEND, {"recipient": "77011234567", "text": f"m{n}"}))
               ["data"]["messageId"] for n in range(2)]
        forms: list[dict[str, Any]] = [{"ids": f"{ids[0]},{ids[1]},5"}, {"ids[]": [*ids, "5"]},
                 {"ids[0]": ids[0], "ids[1]": ids[1]}]
        for form in forms:
            body = await call(http, STATUS, form)
            assert body["code"] == 0 and [item["id"] for item in body["data"]] == ids
        item = body["data"][0]
        assert (item["status"], item["segNum"]) == ("ACCEPTD", 1)
        assert set(item) == {"id", "status", "segNum", "startSendTs", "statusUpdateTs"}

    async def test_none_and_too_many_ids_are_refused(self, http: httpx.AsyncClient) -> None:
        assert (await call(http, STATUS, {}))["code"] == 2
        many = ",".join(str(n) for n in range(101))
        assert (await call(http, STATUS, {"ids": many}))["code"] == 12

    async def test_delivery_follows_the_clock_and_forced_statuses_stick(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        sms_local.state.configure(deliver_after_ms=5000, unreachable=["+77029998877"])
        first = (await call(http, SEND, {"recipient": "77011234567", "text": "a"}))["data"]
        second = (await call(http, SEND, {"recipient": "77029998877", "text": "b"}))["data"]
        ids = f"{first['messageId']},{second['messageId']}"

        async def statuses() -> list[str]:
            return [item["status"] for item in (await call(http, STATUS, {"ids": ids}))["data"]]

        sms_local.clock.advance(4.9)
        assert await statuses() == ["ACCEPTD", "ACCEPTD"]
        sms_local.clock.advance(0.1)
        assert await statuses() == ["DELIVRD", "UNDELIV"]
        answer = await http.post("/admin/status", json={"ids": [first["messageId"], 7],
                                                        "status": "EXPIRED"})
        assert answer.json() == {"changed": 1}
        assert await statuses() == ["EXPIRED", "UNDELIV"]


class TestFaults:
    async def test_scripted_faults_come_in_order_then_success(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        answer = await http.post("/admin/script", json={"recipient": "+77011234567",
                                                        "errors": ["HTTP_503", "LOGIN"]})
        assert answer.json() == {"queued": 2}
        form = {"recipient": "77011234567", "text": "hi"}
        first = await http.post(SEND, params=QUERY, data=form)
        assert (first.status_code, first.text) == (503, FAULTS["HTTP_503"].message)
        assert (await call(http, SEND, form))["code"] == 8
        assert (await call(http, SEND, form))["code"] == 0
        assert sms_local.state.stats() == {"accepted": 1, "recipients": 1,
                                           "errors": {"HTTP_503": 1, "LOGIN": 1}}

    async def test_seeded_rates_repeat(self, http: httpx.AsyncClient) -> None:
        faults = {"rates": {"SERVICE_ERROR": 0.5}, "seed": 7}
        runs = []
        for _ in range(2):
            assert (await http.put("/admin/faults", json=faults)).status_code == 200
            runs.append([(await call(http, SEND, {"recipient": "77011234567", "text": "x"}))
                         ["code"] for _ in range(12)])
        assert runs[0] == runs[1] and set(runs[0]) == {0, 999}

    async def test_bad_faults_are_refused_and_change_nothing(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        bad_faults: list[Any] = [{"rates": {"NOPE": 0.1}}, {"latency_ms": -1},
                                 {"rates": {"HTTP_500": 0.8, "LOGIN": 0.3}}, {"color": 1},
                                 {"unreachable": "77011234567"}, []]
        for bad in bad_faults:
            answer = await http.put("/admin/faults", json=bad)
            assert answer.status_code == 400 and "error" in answer.json()
        bad_script = await http.post("/admin/script", json={"recipient": "1", "errors": ["X"]})
        assert bad_script.status_code == 400
        assert (await http.get("/admin/faults")).json() == SmsLocal().faults()

    async def test_unreachable_numbers_through_admin(
            self, sms_local: SmsLocalServer, http: httpx.AsyncClient) -> None:
        answer = await http.post("/admin/unreachable", json={"recipients": ["+77029998877"]})
        assert answer.json() == {"unreachable": 1}
        await call(http, SEND, {"recipient": "77029998877", "text": "x"})
        assert sms_local.state.messages()[0].fate == "UNDELIV"


class TestAdmin:
    async def test_messages_stats_and_clear(self, sms_local: SmsLocalServer,
                                            http: httpx.AsyncClient) -> None:
        for number in ("77011234567", "77021234567", "77011234567"):
            await call(http, SEND, {"recipient": number, "text": "Hello {name}"})
        listed = (await http.get("/admin/messages", params={"recipient": "+77011234567",
                                                            "limit": 1})).json()
        [message] = listed["messages"]
        assert (message["seq"], message["text"], message["encoding"], message["segments"]) == (
            3, "Hello {name}", "GSM-7", 1)
        assert (await http.get("/admin/stats")).json() == {
            "accepted": 3, "errors": {}, "recipients": 2}
        await http.delete("/admin/messages")
        assert (await http.get("/admin/messages")).json() == {"messages": []}

    async def test_the_page_escapes_and_shows_only_the_end_of_a_number(
            self, http: httpx.AsyncClient) -> None:
        await call(http, SEND, {"recipient": "77011234567", "text": "<b>x</b> & y",
                                "from": "A<B"})
        page = (await http.get("/")).text
        assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "A&lt;B" in page
        assert "<b>x" not in page and "7011234567" not in page and "…4567" in page
        assert (await http.get("/healthz")).text == "ok"


def test_records_are_bounded_and_statuses_of_the_forgotten_go_too() -> None:
    state = SmsLocal(keep=2)
    for n in range(3):
        state.call("message", "sendsmsmessage", {"apiKey": ["sms-local"],
                                                 "recipient": ["77011234567"], "text": [f"{n}"]})
    assert [r.text for r in state.messages()] == ["2", "1"] and state.accepted == 3
    assert state.force_status([r.id for r in state.messages()], "DELIVRD") == 2


def test_main_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(app: Any, **options: Any) -> None:
        seen.update(options, state=app.state.sms)

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("SMS_LOCAL_PORT", "8499")
    monkeypatch.setenv("SMS_LOCAL_API_KEY", "k1")
    monkeypatch.setenv("SMS_LOCAL_FAULTS", '{"rates": {"HTTP_500": 0.5}, "retry_after": 3}')
    sms_local_module.main()
    assert (seen["host"], seen["port"], seen["access_log"]) == ("127.0.0.1", 8499, False)
    state = seen["state"]
    assert (state.api_key, state.rates, state.retry_after) == ("k1", {"HTTP_500": 0.5}, 3)
