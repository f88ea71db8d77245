"""The API under a real uvicorn on 127.0.0.1, started with the options ``mhi serve`` uses
(``backend.api.server.uvicorn_options``): no ``server`` banner, and slow clients cut off.

The read timeouts are shortened (one second) so that the tests are quick; every assertion
leaves seconds of margin, and a server without the timeouts fails by the client's own
deadline (``GIVE_UP``) instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.api.server import ReadTimeouts, uvicorn_options
from backend.settings import AppSettings
from tests.servers import serving

TIMEOUTS = ReadTimeouts(header_seconds=1.0, max_header_bytes=4096, body_seconds=1.0,
                        body_min_rate=100)
GIVE_UP = 8.0
"""Seconds after which the client stops waiting (a server without timeouts never answers)."""


@dataclass(frozen=True)
class Served:
    """The running server's port."""

    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw TCP connection to it."""
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
async def served(engine: AsyncEngine, auth_settings: AuthSettings) -> AsyncIterator[Served]:
    """The app as ``mhi serve`` serves it (development settings), on a free port."""
    settings = AppSettings(environment="development")
    app = create_app(settings, auth_settings, engine=engine, read_timeouts=TIMEOUTS)
    config = uvicorn.Config(app, **uvicorn_options(settings, TIMEOUTS), log_level="warning")
    async with serving(config) as port:
        yield Served(port)


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (or ``GIVE_UP``).

    A client still trickling bytes after the server's answer and close makes the server's
    kernel reset the connection: the reset then ends the stream instead of an end of file,
    after the answer was read (seen once in a clean-clone run), so it counts as closed."""
    received = bytearray()
    async with asyncio.timeout(GIVE_UP):
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                received += chunk
    return bytes(received)


async def trickle(writer: asyncio.StreamWriter, every: float) -> None:
    """One byte of body every ``every`` seconds, until the server hangs up."""
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            writer.write(b"{")
            await writer.drain()
            await asyncio.sleep(every)


def head(method: str, path: str, length: int, *extra: str) -> bytes:
    """A request line and headers announcing a body of ``length`` bytes."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}",
             "Content-Type: application/json", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_and_json(answer: bytes) -> tuple[int, dict[str, object], bytes]:
    """The status, the JSON body and the raw headers of one HTTP/1.1 answer."""
    headers, _, body = answer.partition(b"\r\n\r\n")
    return int(headers.split(b" ", 2)[1]), json.loads(body), headers.lower()


class TestBanner:
    async def test_no_server_header_but_nosniff(self, served: Served) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}") as http:
            health = await http.get("/healthz")
            page = await http.get("/graphql", headers={"Accept": "text/html"})
        for response in (health, page):
            assert "server" not in response.headers
            assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


class TestSlowBodies:
    async def test_a_trickled_body_is_answered_408_and_closed(self, served: Served) -> None:
        reader, writer = await served.connect()
        writer.write(head("POST", "/graphql", 10_000))
        started = time.monotonic()
        dripping = asyncio.create_task(trickle(writer, every=0.1))  # 10 bytes/s < 100
        answer = await read_until_closed(reader)
        elapsed = time.monotonic() - started
        dripping.cancel()
        writer.close()
        status, body, headers = status_and_json(answer)
        assert status == 408
        assert body["errors"][0]["extensions"] == {  # type: ignore[index]
            "code": "REQUEST_TIMEOUT", "limit": "body_time"}
        assert b"connection: close" in headers
        # 1 s plus 1 s per 100 bytes received: about 1.1 s at 10 bytes/s, far below the
        # 1,000 s the body would take.
        assert 1.0 <= elapsed < 1.0 + 5.0

    async def test_a_body_that_stops_coming_is_answered_408(self, served: Served) -> None:
        reader, writer = await served.connect()
        writer.write(head("POST", "/graphql", 100, "Accept-Language: ru") + b'{"query"')
        started = time.monotonic()
        answer = await read_until_closed(reader)
        elapsed = time.monotonic() - started
        writer.close()
        status, body, _ = status_and_json(answer)
        assert status == 408
        assert "медленно" in body["errors"][0]["message"]  # type: ignore[index]
        assert 1.0 <= elapsed < 1.0 + 5.0

    async def test_an_ingest_upload_is_bounded_too(
        self, served: Served, auth_service: AuthService
    ) -> None:
        made = await auth_service.clients.create(
            f"Slow ETL {secrets.token_hex(4)}", "НАО «ФСМС»", [Scope.CONTRIBUTIONS_WRITE])
        token = (await auth_service.clients.token(made.info.id, made.secret, None)).access_token
        reader, writer = await served.connect()
        writer.write(head("POST", "/ingest/contributions", 1_000_000,
                          f"Authorization: Bearer {token}"))
        dripping = asyncio.create_task(trickle(writer, every=0.1))
        answer = await read_until_closed(reader)
        dripping.cancel()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408 ")

    async def test_a_body_sent_at_a_normal_pace_is_served(self, served: Served) -> None:
        document = json.dumps({"query": "{ __typename }"}).encode()
        reader, writer = await served.connect()
        writer.write(head("POST", "/graphql", len(document)) + document[:10])
        await writer.drain()
        await asyncio.sleep(0.5)  # a pause shorter than the 1 s a read may wait
        writer.write(document[10:])
        async with asyncio.timeout(GIVE_UP):
            answer = await reader.readuntil(b"}}")
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200 ")


class TestSlowHeaders:
    async def test_a_silent_connection_is_closed(self, served: Served) -> None:
        reader, writer = await served.connect()
        started = time.monotonic()
        assert await read_until_closed(reader) == b""
        assert time.monotonic() - started < 1.0 + 5.0
        writer.close()

    async def test_headers_that_never_end_are_closed(self, served: Served) -> None:
        reader, writer = await served.connect()
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()

        async def drip() -> None:
            with contextlib.suppress(ConnectionError):
                while not writer.is_closing():
                    writer.write(b"a")
                    await writer.drain()
                    await asyncio.sleep(0.1)

        dripping = asyncio.create_task(drip())
        assert await read_until_closed(reader) == b""
        dripping.cancel()
        writer.close()
        assert 1.0 <= time.monotonic() - started < 1.0 + 5.0

    async def test_oversized_headers_get_431(self, served: Served) -> None:
        reader, writer = await served.connect()
        padding = b"X-Padding: " + b"p" * 1000 + b"\r\n"
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding * 8)  # 8 KiB
        answer = await read_until_closed(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 431 ")

    async def test_oversized_headers_sent_whole_get_431(self, served: Served) -> None:
        """Complete headers in one write (the parser finishes them within one read)."""
        reader, writer = await served.connect()
        padding = b"X-Padding: " + b"p" * 1000 + b"\r\n"
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding * 30 + b"\r\n")
        answer = await read_until_closed(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 431 ")

    async def test_headers_within_the_size_are_served(self, served: Served) -> None:
        reader, writer = await served.connect()
        padding = b"X-Padding: " + b"p" * 1000 + b"\r\n"
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     + padding * 3 + b"\r\n")
        answer = await read_until_closed(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200 ")

    async def test_a_kept_alive_connection_answers_its_next_request(
        self, served: Served
    ) -> None:
        reader, writer = await served.connect()
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            async with asyncio.timeout(GIVE_UP):
                answer = await reader.readuntil(b'{"status":"ok"}')
            assert answer.startswith(b"HTTP/1.1 200 ")
        writer.close()
