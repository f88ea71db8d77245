"""firebase-admin's async HTTP client, made lean for FCM's one-call-per-message sends.

``messaging.send_each_async`` encodes each message (firebase-admin's own validation and
JSON shape) and calls ``HttpxAsyncClient.request('post', url, headers=..., json=...)`` once
per message.  Behind that call, httpx's ``AsyncClient`` built a ``Request`` (the URL parsed
again, headers merged case-insensitively, cookies), ran the auth flow, followed no redirects,
read the answer through its decoders and a cookie jar: with the transport fixed
(``notifications.transport``) that was most of what a message still cost.  ``FcmHttpClient``
keeps firebase-admin's ``HttpxAsyncClient`` (its API, its ``raise_for_status`` contract, the
errors firebase-admin maps) and answers that one call directly:

* the request head is made once per URL, header set and credential version, and the JSON
  body by orjson (compact UTF-8, as httpx writes it);
* the bytes go through the same pooled transport, and the answer becomes an
  ``httpx.Response`` (a non-2xx one raises ``httpx.HTTPStatusError`` with its request, as
  httpx's ``raise_for_status`` does: firebase-admin reads FCM's error from it);
* a 401 refreshes the credential and sends again, at most twice, as the SDK's flow does.

Anything else (another method, streaming, files), and every call while OpenTelemetry's httpx
instrumentation is on (so that each FCM call stays a client span), goes through the
``httpx.AsyncClient`` as before, on the same transport and credential.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

import google.auth.credentials
import google.auth.transport.requests
import httpx
import orjson
from firebase_admin._http_client import HttpxAsyncClient
from firebase_admin._retry import HttpxRetry
from google.auth import _helpers

from notifications.transport import PooledTransport, traced

METRICS_HEADER = "x-goog-api-client"


class CachedCredentialAuth(httpx.Auth):
    """firebase-admin's ``GoogleAuthCredentialFlow``, with the credential's headers computed
    once per token lifetime instead of once per request.

    The SDK's flow makes a ``google.auth`` transport (a ``requests.Session``) and runs the
    credential's ``before_request`` for every call; here the headers ``before_request`` sets
    (``Authorization``, the metrics header) are kept until the token is due for refresh
    (google-auth's threshold before ``expiry``; a token without expiry, never), and the
    refresh, an HTTP call to Google for a service account, runs in a thread, once for all the
    calls waiting on it.  As in the SDK, a 401 answer refreshes the credential and sends
    again, at most twice (FCM's THIRD_PARTY_AUTH_ERROR is a 401 too: it was not delivered).
    """

    MAX_REFRESHES = 2

    def __init__(self, credential: google.auth.credentials.Credentials) -> None:
        self._credential = credential
        self._headers: dict[str, str] = {}
        self._until = -math.inf  # time.monotonic() when the headers must be made again
        self.version = 0  # bumped at each refresh: a 401 on old headers needs none
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request,
                                                                   httpx.Response, None]:
        """Not for synchronous clients (firebase-admin's ``send`` uses requests)."""
        raise RuntimeError("CachedCredentialAuth works with httpx.AsyncClient only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request,
                                                                               httpx.Response]:
        """Sign ``request``; on a 401, refresh and send again (at most twice)."""
        url = str(request.url)
        for attempt in range(self.MAX_REFRESHES + 1):
            headers, used = await self.signed(request.headers, url)
            request.headers.update(headers)
            response = yield request
            if response.status_code != 401 or attempt == self.MAX_REFRESHES:
                return
            await self.rejected(used, request.headers, url)

    @property
    def due(self) -> bool:
        """Whether the headers must be made again (the token is due for refresh)."""
        return time.monotonic() >= self._until

    async def signed(self, base: Mapping[str, str], url: str) -> tuple[dict[str, str], int]:
        """The headers to sign a request with, and their version (made again when due;
        ``base``: the request's headers, whose metrics header the credential extends)."""
        if time.monotonic() >= self._until:
            await self._refresh(self.version, base, url, force=False)
        return self._headers, self.version

    async def rejected(self, used: int, base: Mapping[str, str], url: str) -> None:
        """FCM answered 401 to headers of version ``used``: refresh, unless done since."""
        await self._refresh(used, base, url, force=True)

    async def _refresh(self, used: int, base: Mapping[str, str], url: str, *,
                       force: bool) -> None:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:  # per loop: an asyncio.Lock belongs to the loop it first waited on
            self._locks.clear()
            lock = self._locks[loop] = asyncio.Lock()
        async with lock:
            if self.version != used:  # refreshed meanwhile, for another call
                return
            headers = {METRICS_HEADER: base[METRICS_HEADER]} if METRICS_HEADER in base else {}
            await asyncio.to_thread(self._make_headers, headers, url, force)

    def _make_headers(self, headers: dict[str, str], url: str, force: bool) -> None:
        """In a thread: refresh when needed (or ``force``d), then the headers to send."""
        transport = google.auth.transport.requests.Request()
        if force:
            self._credential.refresh(transport)  # type: ignore[no-untyped-call]
        self._credential.before_request(  # type: ignore[no-untyped-call]
            transport, "POST", url, headers)
        expiry = self._credential.expiry
        if expiry is None:
            self._until = math.inf
        else:
            left = (expiry - _helpers.REFRESH_THRESHOLD
                    - _helpers.utcnow())  # type: ignore[no-untyped-call]
            self._until = time.monotonic() + max(0.0, left.total_seconds())
        self._headers = headers
        self.version += 1


class _Head:
    """One request head made once: the URL, the headers, the bytes up to Content-Length."""

    def __init__(self, url: httpx.URL, headers: dict[str, str], version: int) -> None:
        self.url = url
        self.headers = headers
        self.version = version  # of the credential's headers among them
        lines = [f"POST {url.raw_path.decode('ascii')} HTTP/1.1",
                 *(f"{name}: {value}" for name, value in headers.items()),
                 "Content-Length: "]
        self.bytes = "\r\n".join(lines).encode("latin-1")


class FcmHttpClient(HttpxAsyncClient):  # type: ignore[misc]
    """``HttpxAsyncClient`` whose JSON POSTs skip httpx's client machinery (see the module)."""

    def __init__(self, credential: google.auth.credentials.Credentials, timeout: int,
                 connections: int) -> None:
        super().__init__(credential=credential, timeout=timeout,
                         retry_config=HttpxRetry(max_retries=0))  # the dispatcher retries
        self.auth = CachedCredentialAuth(credential)
        self.transport = PooledTransport(connections)
        self._async_client = httpx.AsyncClient(timeout=timeout, headers=self._headers,
                                               auth=self.auth, transport=self.transport)
        self._heads: dict[tuple[str, tuple[tuple[str, str], ...], int], _Head] = {}
        self._timeouts: dict[Any, dict[str, float | None]] = {}

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """firebase-admin's one entry point to HTTP: ``resp.raise_for_status()`` returned."""
        payload = kwargs.get("json")
        if (method.lower() != "post" or payload is None
                or not kwargs.keys() <= {"json", "headers", "timeout"} or traced()):
            response: httpx.Response = await super().request(method, url, **kwargs)
            return response
        body = orjson.dumps(payload)
        extra: Mapping[str, str] = kwargs.get("headers") or {}
        timeouts = self._timeouts_of(kwargs.get("timeout", self.timeout))
        full = self.base_url + url
        for attempt in range(CachedCredentialAuth.MAX_REFRESHES + 1):
            head = await self._head(full, extra)
            status, headers, content = await self.transport.exchange(
                head.url, b"%b%d\r\n\r\n%b" % (head.bytes, len(body), body), timeouts)
            if status != 401 or attempt == CachedCredentialAuth.MAX_REFRESHES:
                break
            await self.auth.rejected(head.version, head.headers, full)
        response = httpx.Response(status, headers=headers, content=content)
        if not 200 <= status < 300:  # as raise_for_status, which needs the request
            response.request = httpx.Request("POST", head.url, headers=head.headers,
                                             content=body)
            response.raise_for_status()
        return response

    async def _head(self, url: str, extra: Mapping[str, str]) -> _Head:
        if self.auth.due:  # sign again: a new version, new heads
            await self.auth.signed(self._headers, url)
        key = (url, tuple(extra.items()), self.auth.version)
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) > 64:  # heads of older credential versions
                self._heads = {k: v for k, v in self._heads.items()
                               if k[2] == self.auth.version}
            parsed = httpx.URL(url)
            headers = {"Host": parsed.netloc.decode("ascii"), "Accept": "*/*",
                       "Connection": "keep-alive",
                       "User-Agent": f"python-httpx/{httpx.__version__}",
                       **self._headers, **extra}
            signed, version = await self.auth.signed(headers, url)
            headers.update(signed)
            headers["Content-Type"] = "application/json"
            head = self._heads[(url, key[1], version)] = _Head(parsed, headers, version)
        return head

    def _timeouts_of(self, timeout: Any) -> dict[str, float | None]:
        found = self._timeouts.get(timeout)
        if found is None:
            found = self._timeouts[timeout] = httpx.Timeout(timeout).as_dict()
        return found
