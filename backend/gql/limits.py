"""Guard rails on every request: body size, tokens, depth, aliases; parser and validation caches.

Each limit answers with a typed error (``extensions.code`` BAD_USER_INPUT and
``extensions.limit`` naming the limit) before any resolver runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from graphql import ASTValidationRule, DocumentNode, parse
from graphql.error import GraphQLError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

from backend.gql.context import language_from_header
from backend.messages import message


@dataclass(frozen=True)
class Limits:
    """The limits of one deployment (the defaults fit the mobile app's operations)."""

    max_body_bytes: int = 64 * 1024
    # An integrator's batch of 1,000 records, sent as variables, is about 250 KiB.
    max_integrator_body_bytes: int = 1024 * 1024
    max_tokens: int = 2_000
    max_depth: int = 10
    max_aliases: int = 15
    cache_size: int = 512


class GuardRails(SchemaExtension):
    """The token, depth and alias limits, with the parse and validation caches, as one
    extension (each extension costs every request a few context managers).

    The depth and alias rules are built once, by ``limit_extensions``: each Strawberry limiter
    makes a new rule class when constructed, and the validation cache is keyed by the rule
    classes, so rules built per request would miss the cache every time (about 5 ms of
    validation).  A document that fails to parse is left to Strawberry's own parse step, which
    turns the failure into a response error that the error extension labels.
    """

    def __init__(self, limits: Limits, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__()
        self._limits = limits
        self._rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self._limits.max_tokens
        context.validation_rules = (*context.validation_rules, *self._rules)
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            try:
                context.graphql_document = _cached_parse(self._limits.cache_size)(
                    context.query, **context.parse_options)
            except GraphQLError:
                context.graphql_document = None
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            context.pre_execution_errors = _cached_validate(self._limits.cache_size)(
                context.schema._schema, context.graphql_document, context.validation_rules)
        yield


@cache
def _cached_parse(size: int) -> Callable[..., DocumentNode]:
    return lru_cache(maxsize=size)(parse)


@cache
def _cached_validate(size: int) -> Callable[..., list[GraphQLError]]:
    from strawberry.schema.schema import validate_document

    return lru_cache(maxsize=size)(validate_document)


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """The guard-rail extension factory for ``limits`` (its rules built once, here)."""
    rules = (
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    )
    return [lambda: GuardRails(limits, rules)]


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
    GraphQL error, without being read into memory.

    A bearer token whose audience is ``integrator`` may send up to ``integrator_max_bytes``
    (batches of records).  The token is only read, not verified, and only once a body passes
    ``max_bytes``: the app verifies it as for any request, so a forged claim buys at most
    reading the larger body before the refusal.
    """

    def __init__(self, app: ASGIApp, *, path: str, max_bytes: int,
                 integrator_max_bytes: int | None = None) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes
        self.integrator_max_bytes = integrator_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            limit = self._limit_for(scope)
            if int(declared) > limit:
                await self._reject(scope, send, limit)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen, limit
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and limit == self.max_bytes:
                    limit = self._limit_for(scope)
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await self._reject(scope, send, limit)

    def _limit_for(self, scope: Scope) -> int:
        """The larger limit when the bearer token says it is an integrator's."""
        authorization = Headers(scope=scope).get("authorization", "")
        _, _, token = authorization.partition(" ")
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError, binascii.Error):
            return self.max_bytes
        if isinstance(claims, dict) and claims.get("aud") == "integrator":
            return self.integrator_max_bytes
        return self.max_bytes

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        language = language_from_header(Headers(scope=scope).get("accept-language"))
        text = message("body_too_large", max=limit)[language]
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


def cache_hits(limits: Limits) -> tuple[int, int]:
    """How often the parse and the validation caches have answered (for metrics and tests)."""
    parse_cache = _cached_parse(limits.cache_size)
    validate_cache = _cached_validate(limits.cache_size)
    return (parse_cache.cache_info().hits,  # type: ignore[attr-defined]
            validate_cache.cache_info().hits)  # type: ignore[attr-defined]
