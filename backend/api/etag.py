"""ETags and caching headers, set in this one place for every cacheable answer, so a client
can keep what it read and ask cheaply whether it changed (``If-None-Match`` → 304, no body).

The tag is a hash of the response body: the same data gives the same tag, on any server
(the answer's own ``requestId`` is left out of the hash: it differs on every request).

- ``/graphql``: answers vary by caller and language (``Vary``); a signed-in person's stay
  private to their device, an anonymous one (help articles, the public figures) may sit in
  shared caches for five minutes.
- ``/open-data/``: the public figures as files, the same for everyone (``public_always``),
  kept an hour (a month's figures change only when a late correction arrives).
- ``/log/``: the verifiable log's checkpoint and tiles, whose routes say how long each answer
  may be kept (``keep_cache_control``: a full tile forever, a checkpoint seconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.logs import request_id


@dataclass(frozen=True)
class ETagRule:
    """Error-free answers under ``path`` whose media type is one of ``media_types`` get a
    strong ETag and ``Cache-Control``.  ``public_always``: the answer is the same for
    everyone, so shared caches may keep it ``max_age`` seconds even when the request carried
    credentials; ``vary`` names the request headers it depends on; ``keep_cache_control``: an
    answer that says its own ``Cache-Control`` keeps it."""

    path: str
    media_types: tuple[str, ...] = ("application/json",)
    vary: str | None = "Authorization, Accept-Language"
    max_age: int = 300
    public_always: bool = False
    keep_cache_control: bool = False


class ETagMiddleware:
    """Applies the first of ``rules`` whose path starts the request's (the paths do not
    nest); 304 on a match.  One layer for every rule, so a request passes through one
    middleware, not one per cacheable path."""

    def __init__(self, app: ASGIApp, *, rules: Sequence[ETagRule]) -> None:
        self.app = app
        self.rules = tuple(rules)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = None
        if scope["type"] == "http":
            path = scope["path"]
            rule = next((rule for rule in self.rules if path.startswith(rule.path)), None)
        if rule is None:
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
            await self._finish(rule, start, b"".join(chunks), request_headers, send)

        await self.app(scope, receive, buffered)

    async def _finish(self, rule: ETagRule, start: Message, body: bytes, request: Headers,
                      send: Send) -> None:
        headers = MutableHeaders(scope=start)
        cacheable = headers.get("content-type", "").startswith(rule.media_types)
        # A response with errors is not worth keeping, and one the app marked ``no-store``
        # (a mutation: it may carry tokens) must not be kept: either is sent as it is.
        no_store = "no-store" in headers.get("cache-control", "")
        if start["status"] != 200 or not cacheable or b'"errors":' in body or no_store:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        own_id = f'"requestId":"{request_id.get()}"'.encode()
        etag = '"' + hashlib.sha256(body.replace(own_id, b"")).hexdigest()[:32] + '"'
        headers["etag"] = etag
        if rule.vary:
            headers["vary"] = rule.vary
        # Without credentials the answer is public (help articles): shared caches may keep it
        # a few minutes; with them it is the person's own and is revalidated every time.
        public = rule.public_always or "authorization" not in request
        if not (rule.keep_cache_control and "cache-control" in headers):
            headers["cache-control"] = (f"public, max-age={rule.max_age}" if public
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
