"""Request bodies are limited while they stream in, on every route that reads one.

A body whose declared ``content-length`` passes its route's limit is refused before a byte of
it is read; a body sent without a length (chunked) is counted as the app reads it, and the
read that passes the limit stops it: the server never holds more than the limit plus one
network chunk, whatever the client sends.  The answer is HTTP 413 with the typed error
``BAD_REQUEST`` (``extensions.limit: body_size``), in the route's own shape: GraphQL errors on
``/graphql``, RFC 6749 §5.2 JSON on ``/oauth/token``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.problems import localized, send_problem

MAX_TOKEN_PAYLOAD = 4096
"""Characters of a bearer token's payload worth decoding (ours are a few hundred)."""


@dataclass(frozen=True)
class BodyRule:
    """The limit of the routes under ``prefix``.

    A bearer token whose audience is ``integrator`` may send up to ``integrator_max_bytes``
    (batches of records).  The token is only read, not verified, and only once a body passes
    ``max_bytes``: the app verifies it as for any request, so a forged claim buys at most
    reading the larger body before the refusal.
    """

    prefix: str
    max_bytes: int
    integrator_max_bytes: int | None = None
    shape: Literal["graphql", "oauth"] = "graphql"


class BodyLimit:
    """ASGI middleware applying the first ``BodyRule`` whose prefix the path starts with
    (paths under no rule pass untouched)."""

    def __init__(self, app: ASGIApp, *, rules: Sequence[BodyRule]) -> None:
        self.app = app
        self.rules = tuple(rules)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._rule_for(scope)
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit = rule.max_bytes
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            limit = _limit_for(scope, rule)
            if int(declared) > limit:
                await _reject(scope, send, rule, limit)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen, limit
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and limit == rule.max_bytes:
                    limit = _limit_for(scope, rule)
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _reject(scope, send, rule, limit)

    def _rule_for(self, scope: Scope) -> BodyRule | None:
        if scope["type"] != "http":
            return None
        path: str = scope["path"]
        return next((rule for rule in self.rules if path.startswith(rule.prefix)), None)


def _limit_for(scope: Scope, rule: BodyRule) -> int:
    """The larger limit when the bearer token says it is an integrator's."""
    if rule.integrator_max_bytes is None:
        return rule.max_bytes
    _, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > MAX_TOKEN_PAYLOAD:
        return rule.max_bytes
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return rule.max_bytes
    if isinstance(claims, dict) and claims.get("aud") == "integrator":
        return rule.integrator_max_bytes
    return rule.max_bytes


async def _reject(scope: Scope, send: Send, rule: BodyRule, limit: int) -> None:
    if rule.shape == "oauth":
        # RFC 6749 §5.2: error_description is ASCII, so English.
        response = JSONResponse(
            {"error": "invalid_request",
             "error_description": f"The request body is larger than {limit} bytes."},
            status_code=413, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
        await response(scope, _disconnected, send)
        return
    text = localized(Headers(scope=scope), "body_too_large", max=limit)
    await send_problem(scope, send, 413, "BAD_REQUEST", text, limit="body_size",
                       maxBytes=limit)


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


class _BodyTooLarge(Exception):
    """Raised inside the app when a streamed body passes the limit."""
