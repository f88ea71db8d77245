"""The SMS operator's adapter (``auth.sms_mobizon``) over HTTP against sms-local, the fake
Mobizon served for real: what it sends, what each failure means, delivery states, the logs,
the configuration, and sign-in codes going through it."""

from __future__ import annotations

import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService, gateway_for
from auth.sessions import Device
from auth.settings import AuthSettings
from auth.sms import DevSmsSink, DisabledGateway, SmsDeliveryReports, SmsError
from auth.sms_local_state import STATUSES
from auth.sms_mobizon import STATES, MobizonGateway, _retry_after
from tests.auth.conftest import FakeDirectory
from tests.sms_local import SmsLocalServer, sms_local_fixture, sms_local_server_fixture  # noqa: F401

PHONE = "+77011234567"
KAZAKH = "Сақтандыру 3 күннен кейін тоқтайды: төлем 5 250 ₸ дейін 25.12"
LATIN = "MHI: your cover ends in 3 days. Pay 5250 KZT by 25 Dec in the app or any bank. " * 3


@pytest.fixture
async def adapter(sms_local: SmsLocalServer) -> AsyncIterator[MobizonGateway]:
    """The adapter on sms-local, sender and validity set."""
    async with sms_local.gateway(sender="MHI", validity_minutes=120) as gateway:
        yield gateway


@pytest.fixture
async def impatient(sms_local: SmsLocalServer) -> AsyncIterator[MobizonGateway]:
    """An adapter that waits 0.2 s for an answer (for the answers that never come)."""
    async with sms_local.gateway(timeout_seconds=0.2) as gateway:
        yield gateway


async def refused(adapter: MobizonGateway, phone: str = PHONE, text: str = "hi") -> SmsError:
    """The ``SmsError`` that sending raises."""
    with pytest.raises(SmsError) as caught:
        await adapter.send(phone, text)
    return caught.value


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestSend:
    async def test_a_message_goes_with_its_sender_and_validity_and_gets_an_id(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        message_id = await adapter.send(PHONE, KAZAKH)
        [record] = sms_local.state.messages()
        assert message_id == str(record.id) and message_id.isdecimal()
        assert (record.recipient, record.text, record.sender, record.validity) == (
            "77011234567", KAZAKH, "MHI", 120)
        assert (record.segments.encoding, record.segments.count) == ("UCS-2", 1)

    async def test_segments_are_recorded_as_the_operator_bills_them(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        await adapter.send(PHONE, LATIN)
        await adapter.send(PHONE, KAZAKH * 2)
        latin, kazakh = reversed(sms_local.state.messages())
        assert (latin.segments.encoding, latin.segments.units, latin.segments.count) == (
            "GSM-7", len(LATIN), 2)
        assert (kazakh.segments.encoding, kazakh.segments.count) == ("UCS-2", 2)

    async def test_without_sender_or_validity_the_account_defaults_apply(
            self, sms_local: SmsLocalServer) -> None:
        async with sms_local.gateway() as plain:
            await plain.send(PHONE, "hi")
        [record] = sms_local.state.messages()
        assert (record.sender, record.validity) == (None, None)

    async def test_a_number_not_in_e164_is_refused_before_any_request(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        for phone in ("87011234567", "77011234567", "+7 701 123 45 67", ""):
            error = await refused(adapter, phone)
            assert (error.code, error.retry, error.maybe_sent) == ("INVALID_NUMBER", False, False)
        assert sms_local.state.stats() == {"accepted": 0, "errors": {}, "recipients": 0}

    async def test_a_number_the_operator_rejects_is_not_retried(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        error = await refused(adapter, "+79161234567")  # Russian: not in the fake's range
        assert (error.code, error.retry, error.maybe_sent) == (
            "MOBIZON_1_VALIDATION:recipient", False, False)
        assert sms_local.state.accepted == 0

    @pytest.mark.parametrize(("fault", "code", "retry", "maybe_sent"), [
        ("INVALID_TEXT", "MOBIZON_1_VALIDATION:text", False, False),
        ("LOGIN", "MOBIZON_8_LOGIN", False, False),
        ("METHOD_DENIED", "MOBIZON_9_METHOD_DENIED", False, False),
        ("WRONG_SERVER", "MOBIZON_13_WRONG_SERVER", False, False),
        ("ACCOUNT_BLOCKED", "MOBIZON_14_ACCOUNT_BLOCKED", False, False),
        ("NOT_SAVED", "MOBIZON_10_NOT_SAVED", True, False),
        ("OPERATION_FAILED", "MOBIZON_15_OPERATION_FAILED", True, False),
        ("RATE_LIMITED", "MOBIZON_30_RATE_LIMITED", True, False),
        ("SERVICE_ERROR", "MOBIZON_999_SERVICE_ERROR", True, False),
        ("HTTP_429", "HTTP_429", True, False),
        ("HTTP_500", "HTTP_500", True, False),
        ("HTTP_502", "HTTP_502", True, False),
        ("HTTP_503", "HTTP_503", True, False),
        ("HTTP_504", "HTTP_504", True, True),
    ])
    async def test_each_refusal_says_whether_to_retry(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway, fault: str, code: str,
            retry: bool, maybe_sent: bool) -> None:
        sms_local.state.script_errors(PHONE, [fault])
        error = await refused(adapter)
        assert (error.code, error.retry, error.maybe_sent) == (code, retry, maybe_sent)
        assert sms_local.state.accepted == 0 and sms_local.state.errors == {fault: 1}
        assert await adapter.send(PHONE, "again") is not None  # the script is spent

    async def test_a_wrong_key_is_an_account_problem_logged_for_the_operators(
            self, sms_local: SmsLocalServer, caplog: pytest.LogCaptureFixture) -> None:
        async with MobizonGateway(sms_local.url, "not-the-key") as wrong:
            with caplog.at_level(logging.ERROR, logger="auth.sms_mobizon"):
                error = await refused(wrong)
        assert (error.code, error.retry) == ("MOBIZON_8_LOGIN", False)
        assert "AUTH_SMS_API_KEY" in caplog.text and sms_local.state.accepted == 0

    async def test_retry_after_is_read_from_the_answer(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        sms_local.state.configure(retry_after=7)
        for fault in ("RATE_LIMITED", "HTTP_429", "HTTP_503"):
            sms_local.state.script_errors(PHONE, [fault])
            assert (await refused(adapter)).retry_after == 7.0
        sms_local.state.configure()  # a 429 without a configured wait still says one second
        sms_local.state.script_errors(PHONE, ["HTTP_429", "SERVICE_ERROR"])
        assert (await refused(adapter)).retry_after == 1.0
        assert (await refused(adapter)).retry_after is None

    def test_retry_after_may_be_an_http_date(self) -> None:
        when = datetime.now(UTC) + timedelta(seconds=120)
        answer = httpx.Response(503, headers={"Retry-After": format_datetime(when, True)})
        assert 100 < (_retry_after(answer) or 0) <= 120
        assert _retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None

    async def test_no_answer_after_the_request_left_may_have_sent_it(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway,
            impatient: MobizonGateway) -> None:
        sms_local.state.script_errors(PHONE, ["TIMEOUT", "DROP"])
        timeout, dropped = await refused(impatient), await refused(adapter)
        assert (timeout.code, timeout.retry, timeout.maybe_sent) == (
            "NO_ANSWER (ReadTimeout)", True, True)
        assert (dropped.code, dropped.maybe_sent) == ("NO_ANSWER (RemoteProtocolError)", True)
        assert sms_local.state.accepted == 2  # the operator took both

    async def test_a_refused_connection_sent_nothing_and_is_retried(self) -> None:
        async with MobizonGateway(f"http://127.0.0.1:{free_port()}", "key") as nowhere:
            error = await refused(nowhere)
            with pytest.raises(SmsError) as status_error:
                await nowhere.delivery_states(["1"])
        assert (error.code, error.retry, error.maybe_sent) == (
            "NOT_CONNECTED (ConnectError)", True, False)
        assert status_error.value.retry and not status_error.value.maybe_sent


class TestDeliveryStates:
    async def test_pending_until_the_operator_reports_then_delivered_or_not(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        sms_local.state.make_unreachable(["+77029998877"])
        good = await adapter.send(PHONE, "hi")
        lost = await adapter.send("+77029998877", "hi")
        assert good and lost
        assert await adapter.delivery_states([good, lost]) == {good: "pending",
                                                               lost: "pending"}
        sms_local.clock.advance(2)
        assert await adapter.delivery_states([good, lost]) == {good: "delivered",
                                                               lost: "undelivered"}

    async def test_every_status_of_mobizon_has_one_state(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        ids = {status: await adapter.send(PHONE, status) for status in STATUSES}
        for status, message_id in ids.items():
            sms_local.state.force_status([int(str(message_id))], status)
        states = await adapter.delivery_states([str(i) for i in ids.values()])
        assert {status: states[str(i)] for status, i in ids.items()} == {
            "NEW": "pending", "ENQUEUD": "pending", "ACCEPTD": "pending",
            "PDLIVRD": "pending", "DELIVRD": "delivered", "UNDELIV": "undelivered",
            "REJECTD": "undelivered", "EXPIRED": "undelivered", "DELETED": "undelivered"}
        assert set(STATES) == set(STATUSES)

    async def test_ids_the_operator_does_not_know_are_left_out(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        known = await adapter.send(PHONE, "hi")
        assert known
        asked = ["dev-0a1b", "12", "", "x9", known, known]
        assert await adapter.delivery_states(asked) == {known: "pending"}
        assert await adapter.delivery_states([]) == {}
        assert await adapter.delivery_states(["999"]) == {}

    async def test_many_ids_are_asked_a_hundred_at_a_time(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        sent = [await adapter.send(PHONE, f"m{n}") for n in range(3)]
        unknown = [str(n) for n in range(1, 248)]  # sms-local refuses > 100 ids a call
        sms_local.clock.advance(2)
        states = await adapter.delivery_states([*unknown[:120], *map(str, sent), *unknown])
        assert states == dict.fromkeys(map(str, sent), "delivered")

    async def test_a_failed_query_raises_for_the_worker_to_ask_later(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway) -> None:
        known = await adapter.send(PHONE, "hi")
        assert known
        sms_local.state.script_errors("status", ["HTTP_503", "LOGIN"])
        for retry in (True, False):
            with pytest.raises(SmsError) as caught:
                await adapter.delivery_states([known])
            assert caught.value.retry is retry
        assert await adapter.delivery_states([known]) == {known: "pending"}


class TestLogs:
    async def test_no_number_or_text_reaches_a_log(
            self, sms_local: SmsLocalServer, adapter: MobizonGateway,
            impatient: MobizonGateway, caplog: pytest.LogCaptureFixture) -> None:
        secret_text = "Код 482913: никому не сообщайте"
        sms_local.state.script_errors(PHONE, ["TIMEOUT", "LOGIN", "WRONG_SERVER", "HTTP_503",
                                              "DROP", "INVALID_TEXT"])
        with caplog.at_level(logging.DEBUG):
            await refused(impatient, PHONE, secret_text)
            for _ in range(5):
                await refused(adapter, PHONE, secret_text)
            sent = await adapter.send(PHONE, secret_text)
            await adapter.delivery_states([str(sent), "dev-1"])
            await refused(adapter, "+79161234567", secret_text)
            sms_local.state.force_status([int(str(sent))], "NEW")
        assert caplog.records, "the account problems are logged"
        for record in caplog.records:
            line = record.getMessage() + (record.exc_text or "")
            for needle in ("7011234567", "9161234567", "482913", "никому"):
                assert needle not in line, (record.name, line)
            if record.name != "httpx":  # the app's handlers strip httpx's query strings
                assert sms_local.state.api_key not in line


class TestConfiguration:
    def test_the_operator_setting_builds_the_mobizon_adapter(
            self, sms_local: SmsLocalServer, auth_settings: AuthSettings) -> None:
        built = gateway_for(sms_local.settings(auth_settings))
        assert isinstance(built, MobizonGateway)
        assert isinstance(built, SmsDeliveryReports)

    def test_the_operator_refuses_to_start_without_a_key(
            self, auth_settings: AuthSettings) -> None:
        settings = auth_settings.model_copy(update={"sms_gateway": "mobizon"})
        with pytest.raises(RuntimeError, match="AUTH_SMS_API_KEY"):
            gateway_for(settings)

    def test_production_sends_the_key_over_https_only(
            self, sms_local: SmsLocalServer, auth_settings: AuthSettings) -> None:
        production = sms_local.settings(auth_settings, environment="production")
        with pytest.raises(RuntimeError, match="https"):
            gateway_for(production)
        https = production.model_copy(update={"sms_api_url": "https://api.mobizon.kz"})
        assert isinstance(gateway_for(https), MobizonGateway)

    def test_the_settings_check_sender_and_validity(self, auth_settings: AuthSettings) -> None:
        for bad in ({"sms_sender": "TWELVE-CHARS"}, {"sms_sender": "МХИ"},
                    {"sms_validity_minutes": 30}, {"sms_validity_minutes": 1441}):
            with pytest.raises(ValueError):
                AuthSettings.model_validate(bad)
        assert AuthSettings(sms_sender="MHI KZ", sms_validity_minutes=60).sms_sender == "MHI KZ"

    async def test_the_other_gateways_report_delivery_too(self, tmp_path: Path) -> None:
        sink = DevSmsSink(tmp_path / "sms.jsonl")
        sent = await sink.send(PHONE, "hi")
        assert sent and await sink.delivery_states([sent, "123"]) == {sent: "delivered"}
        assert await DisabledGateway().delivery_states([sent]) == {}
        assert isinstance(sink, SmsDeliveryReports)


class TestSignIn:
    async def test_a_sign_in_code_goes_through_the_operator(
            self, sms_local: SmsLocalServer, engine: AsyncEngine,
            auth_settings: AuthSettings, new_iin: Callable[[], str],
            new_ip: Callable[[], str]) -> None:
        iin, person = new_iin(), uuid.uuid4()
        directory = FakeDirectory({iin: (person, PHONE)})
        service = await AuthService.open(engine, sms_local.settings(auth_settings),
                                         directory=directory)
        assert isinstance(service.gateway, MobizonGateway)
        try:
            address = new_ip()
            challenge = await service.login.request_code(iin, "8 701 123 45 67", address)
            await service.login.drain()
            [record] = sms_local.state.messages(PHONE)
            code = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", record.text)[0]
            tokens = await service.login.verify(str(challenge.id), code,
                                                Device("Galaxy A54", "android"), address)
        finally:
            await service.gateway.aclose()
        assert tokens.access_token and record.segments.encoding == "UCS-2"

    async def test_the_service_closes_the_operators_connections_when_it_stops(
            self, sms_local: SmsLocalServer, engine: AsyncEngine,
            auth_settings: AuthSettings) -> None:
        service = await AuthService.open(engine, sms_local.settings(auth_settings))
        assert isinstance(service.gateway, MobizonGateway)
        async with service.maintained():
            assert await service.gateway.send(PHONE, "MHI test") is not None
        with pytest.raises(RuntimeError):  # the pool is closed: no more sends
            await service.gateway._client.post("message/sendsmsmessage")
