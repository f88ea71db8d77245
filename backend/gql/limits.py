"""Guard rails on every request: tokens, depth, aliases; parser and validation caches.

(The body size limit is HTTP, not GraphQL: ``backend.api.body_limit``, with the sizes here.)

Each limit answers with a typed error (``extensions.code`` BAD_USER_INPUT and
``extensions.limit`` naming the limit) before any resolver runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from graphql import ASTValidationRule, DocumentNode, parse
from graphql.error import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension


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


def cache_hits(limits: Limits) -> tuple[int, int]:
    """How often the parse and the validation caches have answered (for metrics and tests)."""
    parse_cache = _cached_parse(limits.cache_size)
    validate_cache = _cached_validate(limits.cache_size)
    return (parse_cache.cache_info().hits,  # type: ignore[attr-defined]
            validate_cache.cache_info().hits)  # type: ignore[attr-defined]
