"""How the API is served: uvicorn's options, and the read timeouts uvicorn lacks.

uvicorn (0.54) closes an idle keep-alive connection after ``timeout_keep_alive`` but bounds
neither the time a client may take to send its headers nor its body: a connection that sends
``POST`` headers and then one byte a minute (slowloris) stays open, and holds a task, forever.
Two layers close that, both modelled on Apache's ``mod_reqtimeout``
(``header=20, body=20, MinRate=500``):

* **headers**: ``HeaderDeadlineProtocol``, uvicorn's httptools protocol with a deadline from a
  connection's (or a request's) first byte to the end of its headers (``header_seconds``), and
  a cap on the bytes of one request's headers (``max_header_bytes``, 431).  Past the deadline
  the connection is closed.  It hooks uvicorn's protocol class (``connection_made``,
  ``on_message_begin``, ``on_headers_complete``): ``tests/api/test_server.py`` fails if those
  change, as it must when uvicorn is upgraded.
* **bodies**: ``BodyReadTimeout``, ASGI middleware that bounds the time the app spends waiting
  for the client's body: no single read may wait more than ``body_seconds``, and all waits
  together may not pass ``body_seconds`` plus one second per ``body_min_rate`` bytes received,
  so a large upload (an NDJSON file of any size) at a normal rate is never cut, a trickle is.
  Only time spent waiting for the client counts, not time the app spends processing.  The
  answer is 408 with ``REQUEST_TIMEOUT`` (typed, localized) and ``connection: close``.

A reverse proxy in front (nginx's ``client_header_timeout``/``client_body_timeout``) adds the
same protection before traffic reaches uvicorn; these layers make the API safe without one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.api.problems import localized, send_problem
from backend.settings import AppSettings


@dataclass(frozen=True)
class ReadTimeouts:
    """How long a client may take to send a request (the defaults are Apache's)."""

    header_seconds: float = 20.0
    max_header_bytes: int = 32 * 1024
    body_seconds: float = 20.0
    body_min_rate: int = 500
    """Bytes a second that earn a body more time beyond ``body_seconds``."""
    keep_alive_seconds: int = 5
    limit_concurrency: int = 1000
    """Connections plus running requests above which uvicorn answers 503 at once (a bound on
    memory; with the timeouts above, a slow client holds a slot for seconds, not forever)."""


class _BodyTooSlow(Exception):
    """Raised inside the app when the client is too slow sending its body."""


class BodyReadTimeout:
    """ASGI middleware: 408 when a request's body arrives too slowly (see the module)."""

    def __init__(self, app: ASGIApp, *, timeouts: ReadTimeouts) -> None:
        self.app = app
        self.seconds = timeouts.body_seconds
        self.min_rate = timeouts.body_min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        waited = 0.0
        received = 0
        done = False
        timed_out = False
        started = False

        async def timed_receive() -> Message:
            nonlocal waited, received, done, timed_out
            if done:  # the body is in; what remains is waiting for a disconnect
                return await receive()
            allowed = min(self.seconds, self.seconds + received / self.min_rate - waited)
            began = loop.time()
            try:
                async with asyncio.timeout(max(allowed, 0.0)):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                raise _BodyTooSlow from None
            waited += loop.time() - began
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                done = not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if timed_out:  # the app caught the timeout and answered: ours goes out instead
                raise _BodyTooSlow
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except Exception:
            if not timed_out or started:
                raise
        if timed_out and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        text = localized(Headers(scope=scope), "body_too_slow", seconds=int(self.seconds),
                         rate=self.min_rate)

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        await send_problem(scope, closing, 408, "REQUEST_TIMEOUT", text, limit="body_time")


class _HeadersTooLarge(Exception):
    """Complete request headers over the limit (httptools turns a callback's error into a
    parser error, which uvicorn answers with ``send_400_response``)."""


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that closes a connection whose request headers take
    longer than ``header_seconds`` or pass ``max_header_bytes`` (see the module)."""

    header_seconds: float = ReadTimeouts.header_seconds
    max_header_bytes: int = ReadTimeouts.max_header_bytes
    _deadline: asyncio.TimerHandle | None = None
    _header_bytes: int = 0
    _oversized: bool = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection: its first request's headers are due within the deadline."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Gone: no deadline to keep."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Count the bytes that arrive while a request's headers are incomplete (headers
        that never end); complete ones are measured in ``on_headers_complete``."""
        super().data_received(data)
        if self._deadline is not None:  # the headers are still incomplete after this chunk
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._too_large()

    def _too_large(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 b"content-length: 0\r\nconnection: close\r\n\r\n")
            self.transport.close()

    def on_message_begin(self) -> None:
        """The first byte of a request (also a keep-alive connection's next one)."""
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        """The headers are in (within the size, or refused): the body's time is
        ``BodyReadTimeout``'s business.  Headers that arrived whole in one read are measured
        here, where the parser has them all."""
        self._disarm()
        size = len(self.url) + sum(len(name) + len(value) for name, value in self.headers)
        if size > self.max_header_bytes:
            self._oversized = True
            raise _HeadersTooLarge  # the parser stops; uvicorn answers its 400, made a 431
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request the parser gave up on: 431 when it was our limit."""
        if self._oversized:
            self._too_large()
        else:
            super().send_400_response(msg)

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._deadline = self.loop.call_later(self.header_seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: AppSettings,
                    timeouts: ReadTimeouts | None = None) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.Config`` for the API (``mhi serve``, ``mhi dev``):
    no ``server`` banner, the timeouts above, the proxies whose forwarded addresses count."""
    timeouts = timeouts or ReadTimeouts()
    protocol = type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {
        "header_seconds": timeouts.header_seconds,
        "max_header_bytes": timeouts.max_header_bytes,
    })
    return {
        "host": settings.host, "port": settings.port, "log_config": None,
        "http": protocol, "server_header": False,
        "timeout_keep_alive": timeouts.keep_alive_seconds,
        "limit_concurrency": timeouts.limit_concurrency,
        "proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
