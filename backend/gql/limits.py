"""Guard rails on every request: body size, tokens, depth, aliases; parser and validation caches.

Each limit answers with a typed error (``extensions.code`` BAD_USER_INPUT and
``extensions.limit`` naming the limit) before any resolver runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graphql.error import GraphQLError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from backend.gql.context import language_from_header
from backend.messages import message


@dataclass(frozen=True)
class Limits:
    """The limits of one deployment (the defaults fit the mobile app's operations)."""

    max_body_bytes: int = 64 * 1024
    max_tokens: int = 2_000
    max_depth: int = 10
    max_aliases: int = 15
    cache_size: int = 512


class CachedParser(ParserCache):
    """Strawberry's ``ParserCache``, except that a document that fails to parse is left to
    Strawberry's own parse step, which turns the failure into a response error that the error
    extension labels (raised from the cache, it would bypass every extension)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            try:
                context.graphql_document = self.cached_parse_document(
                    context.query, **context.parse_options)
            except GraphQLError:
                context.graphql_document = None
        yield


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Strawberry extensions enforcing ``limits``, with the parse and validation caches.

    The depth and alias rules are built once: each limiter makes a new rule class when it is
    constructed, and the validation cache is keyed by the rule classes, so building them per
    request would make every request miss the cache (about 5 ms of validation each).
    """
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: CachedParser(maxsize=limits.cache_size),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=limits.cache_size),
    ]


_LIMIT_MESSAGES = (
    ("depth", re.compile(r"exceeds maximum operation depth of \d+")),
    ("aliases", re.compile(r"\d+ aliases found\. Allowed: \d+")),
    ("tokens", re.compile(r"Document contains more than \d+ tokens")),
)


def limit_of(error: GraphQLError) -> str | None:
    """Which limit a validation or syntax error reports (None: not a limit)."""
    for name, pattern in _LIMIT_MESSAGES:
        if pattern.search(error.message):
            return name
    return None


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` to ``path`` gets 413 and a typed
    GraphQL error, without being read into memory."""

    def __init__(self, app: ASGIApp, *, path: str, max_bytes: int) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        language = language_from_header(Headers(scope=scope).get("accept-language"))
        text = message("body_too_large", max=self.max_bytes)[language]
        body = json.dumps({"data": None, "errors": [{
            "message": text,
            "extensions": {"code": "BAD_USER_INPUT", "limit": "body_size"},
        }]}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    """Raised inside the app when a streamed body passes the limit."""
