"""ETags on GraphQL responses, so the app can keep what it read offline and ask cheaply
whether it changed (``If-None-Match`` → 304 with no body).

The tag is a hash of the response body: the same data gives the same tag, on any server
(the answer's own ``requestId`` is left out of the hash: it differs on every request).
Responses vary by caller and language (``Vary``); a signed-in person's stay private to their
device, an anonymous one (help articles) may sit in shared caches for five minutes.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.logs import request_id


class ETagMiddleware:
    """Adds a strong ETag to error-free JSON responses under ``path``; 304 on a match."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(start, b"".join(chunks), request_headers, send)

        await self.app(scope, receive, buffered)

    @staticmethod
    async def _finish(start: Message, body: bytes, request: Headers, send: Send) -> None:
        headers = MutableHeaders(scope=start)
        is_json = headers.get("content-type", "").startswith("application/json")
        # A response with errors is not worth keeping, and one the app marked ``no-store``
        # (a mutation: it may carry tokens) must not be kept: either is sent as it is.
        no_store = "no-store" in headers.get("cache-control", "")
        if start["status"] != 200 or not is_json or b'"errors":' in body or no_store:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        own_id = f'"requestId":"{request_id.get()}"'.encode()
        etag = '"' + hashlib.sha256(body.replace(own_id, b"")).hexdigest()[:32] + '"'
        headers["etag"] = etag
        headers["vary"] = "Authorization, Accept-Language"
        # Without credentials the answer is public (help articles): shared caches may keep it
        # a few minutes; with them it is the person's own and is revalidated every time.
        anonymous = "authorization" not in request
        headers["cache-control"] = ("public, max-age=300" if anonymous
                                    else "private, no-cache")
        if etag in [tag.strip() for tag in request.get("if-none-match", "").split(",")]:
            del headers["content-length"]
            del headers["content-type"]
            start["status"] = 304
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})
