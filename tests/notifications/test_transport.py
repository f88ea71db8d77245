"""The pooled HTTP/1.1 transport under firebase-admin (``notifications.transport``) and the
credential headers kept per token lifetime (``gateway.CachedCredentialAuth``): connections
are reused and bounded, a connection the server dropped is replaced without a failed call,
and every way a call can break reads as the gateway needs it (nothing sent: retry; maybe
delivered: never resent)."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import google.oauth2.credentials
import httpx
import pytest
from firebase_admin import messaging

from notifications.fcm_client import CachedCredentialAuth
from notifications.gateway import Gateway, Verdict, close_app, open_app
from notifications.settings import NotifySettings
from notifications.transport import PooledTransport
from tests.notifications.conftest import FcmLocalServer

TOKEN = "dGVzdA:APA91b" + "A" * 140
SEND = "/v1/projects/mhi-local/messages:send"


@dataclass
class RawServer:
    """A bare HTTP/1.1 server on loopback that answers as ``mode`` says: ``ok``, ``chunked``
    (the body in two chunks), ``close`` (answers with ``Connection: close``, then closes),
    ``idle`` (closes a connection idle for 0.2 s, as a server's keep-alive limit does),
    ``cut`` (half an answer, then closes), ``silent``."""

    mode: str = "ok"
    connections: int = 0
    requests: int = 0
    names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                                  0.2 if self.mode == "idle" else None)
                except TimeoutError:
                    return
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                json.loads(await reader.readexactly(length))
                self.requests += 1
                body = json.dumps({"name": f"projects/mhi-local/messages/{next(self.names)}"}
                                  ).encode()
                if self.mode == "silent":
                    await reader.read()  # until the client gives up and closes
                    return
                if self.mode == "cut":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"na")
                    await writer.drain()
                    return
                if self.mode == "chunked":
                    half = len(body) // 2
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n"
                                 + b"%x\r\n%s\r\n" % (half, body[:half])
                                 + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - half, body[half:]))
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 + (b"Connection: close\r\n" if self.mode == "close" else b"")
                                 + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                if self.mode == "close":
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[tuple[RawServer, str]]:
    """A ``RawServer`` and its URL."""
    server = RawServer()
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        listening.close()
        await listening.wait_closed()


def message(n: int = 0) -> messaging.Message:
    """A small data message to a token of its own."""
    return messaging.Message(data={"n": str(n)}, token=f"{TOKEN}{n}")


async def send(url: str, count: int, **settings: Any) -> list[Verdict]:
    """``count`` messages through ``open_app`` to ``url``: each one's verdict."""
    app = open_app(NotifySettings(fcm_local_url=url, **settings))
    try:
        outcomes = await Gateway(app).send([message(n) for n in range(count)])
        return [outcome.verdict for outcome in outcomes]
    finally:
        await close_app(app)


@pytest.mark.filterwarnings("ignore:Message.token is deprecated")
class TestPooledTransport:
    async def test_a_batch_shares_the_pools_connections(
            self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        assert await send(url, 120, connections=3) == [Verdict.SENT] * 120
        assert server.requests == 120
        assert server.connections == 3

    async def test_a_chunked_answer_is_read_whole(self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        server.mode = "chunked"
        assert await send(url, 10, connections=2) == [Verdict.SENT] * 10

    async def test_connection_close_is_obeyed(self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        server.mode = "close"
        assert await send(url, 8, connections=2) == [Verdict.SENT] * 8
        assert server.requests == server.connections == 8

    async def test_a_connection_the_server_dropped_is_replaced_without_a_failed_call(
            self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        server.mode = "idle"
        app = open_app(NotifySettings(fcm_local_url=url, connections=2))
        try:
            gateway = Gateway(app)
            for _ in range(3):
                outcomes = await gateway.send([message(n) for n in range(6)])
                assert [o.verdict for o in outcomes] == [Verdict.SENT] * 6
                await asyncio.sleep(0.5)  # the server drops both connections meanwhile
        finally:
            await close_app(app)
        assert server.requests == 18
        assert server.connections == 6  # two per batch: reused within it, new after

    async def test_half_an_answer_is_maybe_delivered(self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        server.mode = "cut"
        app = open_app(NotifySettings(fcm_local_url=url, connections=2))
        try:
            [outcome] = await Gateway(app).send([message()])
        finally:
            await close_app(app)
        assert outcome.verdict is Verdict.UNKNOWN  # FCM may have it: not sent again
        assert outcome.error == "NO_ANSWER (RemoteProtocolError)"

    async def test_no_answer_in_time_is_maybe_delivered(
            self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        server.mode = "silent"
        app = open_app(NotifySettings(fcm_local_url=url, connections=1, http_timeout_seconds=1))
        try:
            [outcome] = await Gateway(app).send([message()])
            pool = next(iter(messaging._get_messaging_service(app)._async_client
                             ._async_client._transport.pools.values()))
            assert pool.count == 0 and not pool.idle  # the connection was not reused
        finally:
            await close_app(app)
        assert (outcome.verdict, outcome.error) == (Verdict.UNKNOWN, "NO_ANSWER (ReadTimeout)")

    async def test_nobody_listening_is_retried(self, raw: tuple[RawServer, str]) -> None:
        _, url = raw
        port = int(url.rsplit(":", 1)[1])
        listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        free = listening.sockets[0].getsockname()[1]
        listening.close()
        await listening.wait_closed()
        assert free != port
        verdicts = await send(f"http://127.0.0.1:{free}", 3, connections=2)
        assert verdicts == [Verdict.RETRY] * 3  # nothing was sent

    async def test_waiting_calls_go_in_order_and_a_cancelled_one_frees_its_place(
            self, raw: tuple[RawServer, str]) -> None:
        server, url = raw
        transport = PooledTransport(connections=1)
        async with httpx.AsyncClient(transport=transport, base_url=url) as client:
            slow = asyncio.create_task(client.post(SEND, json={"message": {}}))
            waiting = asyncio.create_task(client.post(SEND, json={"message": {}}))
            await asyncio.sleep(0)
            waiting.cancel()
            answers = await asyncio.gather(slow, client.post(SEND, json={"message": {}}),
                                           return_exceptions=True)
        assert [a.status_code for a in answers if isinstance(a, httpx.Response)] == [200, 200]
        assert waiting.cancelled()
        assert server.connections == 1


class CountingToken(google.oauth2.credentials.Credentials):
    """A token that expires in ``lifetime`` and counts how often it is applied or refreshed."""

    def __init__(self, lifetime: datetime.timedelta) -> None:
        super().__init__(token="t0")  # type: ignore[no-untyped-call]
        self.lifetime = lifetime
        self.expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + lifetime
        self.applied = 0
        self.refreshed = 0

    def apply(self, headers: Any, token: str | None = None) -> None:
        self.applied += 1
        super().apply(headers, token)  # type: ignore[no-untyped-call]

    def refresh(self, request: Any) -> None:
        self.refreshed += 1
        self.token = f"t{self.refreshed}"
        self.expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + self.lifetime


async def test_the_credential_is_applied_once_per_token_lifetime(
        fcm_local: FcmLocalServer) -> None:
    token = CountingToken(datetime.timedelta(hours=1))
    async with httpx.AsyncClient(auth=CachedCredentialAuth(token), base_url=fcm_local.url,
                                 transport=PooledTransport(4)) as client:
        answers = await asyncio.gather(*(client.post(SEND, json={"message": {
            "token": f"{TOKEN}{n}"}}) for n in range(40)))
    assert [a.status_code for a in answers] == [200] * 40
    assert (token.applied, token.refreshed) == (1, 0)
    assert fcm_local.state.accepted == 40


async def test_a_token_due_for_refresh_is_refreshed_once_for_all_calls(
        fcm_local: FcmLocalServer) -> None:
    token = CountingToken(datetime.timedelta(minutes=2))  # within google-auth's threshold
    async with httpx.AsyncClient(auth=CachedCredentialAuth(token), base_url=fcm_local.url,
                                 transport=PooledTransport(4)) as client:
        answers = await asyncio.gather(*(client.post(SEND, json={"message": {
            "token": f"{TOKEN}{n}"}}) for n in range(10)))
        assert [a.status_code for a in answers] == [200] * 10
        assert answers[-1].request.headers["authorization"].startswith("Bearer t")
    # stale at once (2 min < 3 min 45 s): refreshed on each pass, never once per call
    assert token.refreshed <= token.applied < 10
