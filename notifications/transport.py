"""An HTTP/1.1 keep-alive transport for firebase-admin's httpx client, tuned for many small
requests: one FCM call per message, hundreds a second.

firebase-admin's ``send_each_async`` makes one HTTP call per message through an
``httpx.AsyncClient``.  Under httpx's own transport (httpcore on anyio, h11 or h2 in pure
Python) a call cost the worker 1.8-5 ms of CPU (``bench/notify.py``; ``docs/performance.md``
has the profile): most of it went to httpcore's pool, which on every request and every
answer scans all its connections and all queued requests and asks each connection whether
its socket turned readable (a ``poll`` and anyio's attribute lookups each time).  This
transport keeps what the calls need and nothing else:

* a fixed number of connections per origin (``connections``), handed over in O(1): an idle
  one is popped, a finished one goes to the oldest waiting request or back on the stack;
* each connection an ``asyncio.Protocol`` whose answers are parsed by ``httptools`` (llhttp,
  in C; uvicorn's parser, locked with it), so a connection the server closed is known when it
  happens, not probed before each use; an idle connection is dropped after ``keepalive``
  seconds, before the server's own limit (uvicorn's and fcm-local's is 5 s);
* the request written in one ``write`` (request line, headers, body): one segment for the
  kernel, no wait on Nagle's algorithm.

What a call may fail with is what httpx's transport raises, so the gateway's reading of
outcomes (``gateway.classify``) holds: ``ConnectError``/``ConnectTimeout`` before anything
was written (nothing sent: retried), ``ReadTimeout``, ``ReadError`` or
``RemoteProtocolError`` once the request was written (FCM may have it: not resent),
``PoolTimeout`` when no connection came free in time (nothing sent).

HTTPS (Google) is the same over TLS (``ssl`` with certifi's roots, ALPN ``http/1.1``):
throughput per connection is one call per round trip, so ``connections`` must cover the
rate times FCM's latency (``docs/notifications.md``).  OpenTelemetry's httpx instrumentation
wraps ``httpx.AsyncHTTPTransport.handle_async_request``; this transport calls that wrapper
around its own send when it is there, so an FCM call is still a client span when tracing is
on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

import certifi
import httptools
import httpx

KEEPALIVE_SECONDS = 4.0
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, raw headers, body
_HTTP11 = {"http_version": b"HTTP/1.1"}
_SKIP_HEADERS = frozenset({b"transfer-encoding"})


def traced() -> Callable[..., Any] | None:
    """OpenTelemetry's wrapper of httpx's transport, when httpx is instrumented (wrapt keeps
    the wrapper function as ``_self_wrapper``); else None."""
    wrapper: Callable[..., Any] | None = getattr(
        httpx.AsyncHTTPTransport.__dict__["handle_async_request"], "_self_wrapper", None)
    return wrapper


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set at once
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.idle_since = 0.0
        self.keep_alive = True
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Connected (asyncio sets TCP_NODELAY on TCP sockets)."""
        self.transport = transport  # type: ignore[assignment]  # a stream: asyncio.Transport

    def data_received(self, data: bytes) -> None:
        """Feed the parser; an answer that is not HTTP breaks the connection."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {error}"))

    def eof_received(self) -> bool:
        """The server closed its side: an answer under way is cut short."""
        self._fail(httpx.RemoteProtocolError("the server closed the connection before "
                                             "the whole answer came"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Gone (by us, by the server, or broken)."""
        self._fail(httpx.ReadError(str(exc) if exc else "connection closed"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        """An answer starts."""
        self._headers = []
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header (the parser joins a header split across reads)."""
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        """Part of the body (chunked encoding already taken off)."""
        self._body.append(body)

    def on_message_complete(self) -> None:
        """The whole answer is here."""
        self.keep_alive = self.parser.should_keep_alive()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), self._headers,
                               b"".join(self._body)))
        else:  # an answer nobody asked for: the connection cannot be trusted
            self.close()

    # ours

    def _fail(self, error: Exception) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        """Close now (an answer under way fails)."""
        self.closed = True
        self.transport.close()


class _Pool:
    """The connections to one origin: at most ``limit``, idle ones on a stack."""

    def __init__(self, scheme: str, host: str, port: int, limit: int,
                 ssl_context: ssl.SSLContext | None, keepalive: float) -> None:
        self.host, self.port, self.limit, self.keepalive = host, port, limit, keepalive
        self.ssl = ssl_context if scheme == "https" else None
        self.idle: list[_Connection] = []
        self.count = 0  # open or opening
        self.closed = False  # the transport was closed: connections in use close when done
        self.waiters: collections.deque[asyncio.Future[_Connection | None]] = (
            collections.deque())

    async def acquire(self, timeouts: Mapping[str, float | None]) -> _Connection:
        """An idle connection, a new one, or the next one released (``PoolTimeout``)."""
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and now - conn.idle_since < self.keepalive:
                return conn
            conn.close()
            self.count -= 1
        while self.count >= self.limit:
            waiter: asyncio.Future[_Connection | None] = (
                asyncio.get_running_loop().create_future())
            self.waiters.append(waiter)
            try:
                async with _deadline(timeouts.get("pool"), httpx.PoolTimeout):
                    conn_or_slot = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._pass_on(waiter.result())  # handed over as we gave up: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        self.waiters.remove(waiter)
                raise
            if conn_or_slot is not None:
                return conn_or_slot
            # a slot came free: loop (someone may have taken it back meanwhile)
        self.count += 1
        try:
            return await self._connect(timeouts.get("connect"))
        except BaseException:
            self.count -= 1
            self._pass_on(None)
            raise

    async def _connect(self, seconds: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with _deadline(seconds, httpx.ConnectTimeout):
                _, conn = await loop.create_connection(
                    _Connection, self.host, self.port, ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None)
        except OSError as error:
            raise httpx.ConnectError(str(error)) from error
        return conn

    def release(self, conn: _Connection) -> None:
        """Back to the pool after a whole answer; closed if it cannot carry another."""
        if conn.closed or not conn.keep_alive or self.closed:
            conn.close()
            self.count -= 1
            self._pass_on(None)
            return
        conn.idle_since = time.monotonic()
        self._pass_on(conn)

    def discard(self, conn: _Connection) -> None:
        """A connection left mid-request (an error, a timeout, a cancelled call)."""
        conn.close()
        self.count -= 1
        self._pass_on(None)

    def _pass_on(self, conn: _Connection | None) -> None:
        """To the oldest waiting request; else an idle connection goes on the stack."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self.idle.append(conn)

    def close(self) -> None:
        """Close the idle connections; those in use close when their call ends."""
        self.closed = True
        for conn in self.idle:
            conn.close()
        self.count -= len(self.idle)
        self.idle.clear()


class _Timer:
    """``async with _deadline(seconds, Error)``: the block is cancelled at the deadline and
    ``Error`` raised instead (``asyncio.timeout`` with httpx's exception)."""

    def __init__(self, seconds: float | None, error: type[httpx.TimeoutException]) -> None:
        self.seconds, self.error = seconds, error
        self.scope: asyncio.Timeout | None = None

    async def __aenter__(self) -> None:
        if self.seconds is not None:
            self.scope = asyncio.timeout(self.seconds)
            await self.scope.__aenter__()

    async def __aexit__(self, kind: Any, value: Any, trace: Any) -> None:
        if self.scope is None:
            return
        try:
            await self.scope.__aexit__(kind, value, trace)
        except TimeoutError as error:
            raise self.error(f"no {self.error.__name__} within {self.seconds} s") from error


_deadline = _Timer


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's transport interface over ``_Pool``s (see the module)."""

    def __init__(self, connections: int = 16, keepalive: float = KEEPALIVE_SECONDS,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        # httpx.AsyncHTTPTransport's own __init__ builds an httpcore pool: not called.  The
        # class is its subclass only so that tracing's wrapper finds it (see the module).
        self.connections = connections
        self.keepalive = keepalive
        self.ssl_context = ssl_context
        self.pools: dict[tuple[str, str, int], _Pool] = {}

    def _pool_for(self, url: httpx.URL) -> _Pool:
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        pool = self.pools.get(key)
        if pool is None:
            if scheme not in ("http", "https"):
                raise httpx.UnsupportedProtocol(f"{scheme!r} is not http or https")
            if scheme == "https" and self.ssl_context is None:
                self.ssl_context = ssl.create_default_context(cafile=certifi.where())
                self.ssl_context.set_alpn_protocols(["http/1.1"])
            pool = self.pools[key] = _Pool(scheme, url.host, port, self.connections,
                                           self.ssl_context, self.keepalive)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; through tracing's wrapper when httpx is instrumented."""
        wrapper = traced()
        if wrapper is None:
            return await self.send(request)
        response: httpx.Response = await wrapper(self.send, self, (request,), {})
        return response

    async def send(self, request: httpx.Request) -> httpx.Response:
        """One request, one answer, its body read whole (FCM's are small)."""
        body = await request.aread()
        head = [request.method.encode(), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
        length = False
        for name, value in request.headers.raw:
            lower = name.lower()
            if lower in _SKIP_HEADERS:
                continue
            length = length or lower == b"content-length"
            head += (name, b": ", value, b"\r\n")
        if body and not length:
            head += (b"Content-Length: ", str(len(body)).encode(), b"\r\n")
        head += (b"\r\n", body)
        status, headers, content = await self.exchange(
            request.url, b"".join(head), request.extensions.get("timeout", {}))
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content),
                              extensions=_HTTP11)

    async def exchange(self, url: httpx.URL, data: bytes,
                       timeouts: Mapping[str, float | None]) -> Answer:
        """Write ``data`` (a whole request) on a connection to ``url``'s origin and wait for
        the answer: (status, raw headers, body)."""
        pool = self._pool_for(url)
        conn = await pool.acquire(timeouts)
        try:
            waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            conn.waiter = waiter
            conn.transport.write(data)
            async with _deadline(timeouts.get("read"), httpx.ReadTimeout):
                answer = await waiter
        except BaseException:
            pool.discard(conn)
            raise
        pool.release(conn)
        return answer

    async def __aenter__(self) -> PooledTransport:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every idle connection (those in use close when their call ends)."""
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
