"""Guard rails on every request: tokens, depth, aliases, cost; persisted operations and
introspection in production; parser and validation caches.

(The body size limit is HTTP, not GraphQL: ``backend.api.body_limit``, with the sizes here.)

Each limit answers with a typed error before any resolver runs: BAD_USER_INPUT with
``extensions.limit`` for tokens, depth and aliases; QUERY_TOO_COSTLY (``backend.gql.cost``)
for cost; PERSISTED_QUERY_* (``backend.gql.persisted``) and FORBIDDEN for production's rules.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLSchema, parse
from graphql.error import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from auth.errors import AuthError, RateLimited
from auth.principals import Anonymous, Citizen, Integrator, Principal, Staff
from auth.throttle import Limit, hit
from backend.errors import AppError, Forbidden
from backend.gql.cost import CostModel, Estimate, QueryTooCostly
from backend.gql.persisted import PersistedQueryRequired, Safelist
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
    max_repeats: int = 4
    """Fields answering at one place of the response (see ``backend.gql.cost``)."""
    cost_anonymous: int = 1_500
    cost_citizen: int = 25_000
    cost_staff: int = 10_000
    cost_integrator: int = 20_000
    cost_per_point: int = 1_000
    """An integrator's request spends ceil(cost / this) of its ``rpm`` points per minute."""
    query_seconds: float = 10.0
    """A query (not a mutation) still running after this is stopped: TIMEOUT."""
    anonymous_cost_per_second: int = 30_000
    """Anonymous work one process takes on: cost units a second (``AnonymousPace``)..."""
    anonymous_burst: int = 5_000
    """...with bursts of this much at once..."""
    anonymous_wait_seconds: float = 2.0
    """...and a request waiting at most this long for its turn (else RATE_LIMITED)."""
    anonymous_cost_per_second_per_address: int = 10_000
    """The share of that pace one client address may take (``AnonymousPaces``)."""

    def max_cost(self, principal: Principal | None) -> int:
        """The cost cap of one request by ``principal`` (anonymous: the smallest)."""
        if isinstance(principal, Citizen):
            return self.cost_citizen
        if isinstance(principal, Staff):
            return self.cost_staff
        if isinstance(principal, Integrator):
            return self.cost_integrator
        return self.cost_anonymous


@dataclass(frozen=True)
class Policy:
    """Production's rules: the app's audiences (anonymous, citizens) send only the safelist's
    operations, by hash; only signed-in integrators may introspect.  Elsewhere anyone may
    send documents and introspect, and hashes of the safelist still work."""

    production: bool = False
    safelist: Safelist | None = None


class AnonymousPace:
    """How fast one process takes on anonymous work: ``rate`` cost units a second, ``burst``
    at once (the generic cell rate algorithm, GCRA, with a request's cost as its size).

    Caps bound one request; a loop of capped requests from a few connections still took the
    whole event loop (signed-in requests wait on the database between steps, anonymous ones
    read help from memory and never yield), HomeScreen's p99 tripled in ``bench/cost.py``.
    A request over the pace waits its turn, at most ``max_wait`` seconds; beyond that it is
    refused.  The pace protects this process's event loop, so it is kept in the process.
    """

    def __init__(self, rate: float, burst: float, max_wait: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._max_wait = max_wait
        self._clock = clock
        self._theoretical = 0.0

    def wait(self, cost: int) -> float | None:
        """What ``turn`` would answer, without taking anything."""
        now = self._clock()
        wait = max(self._theoretical, now) + (cost - self._burst) / self._rate - now
        return None if wait > self._max_wait else max(0.0, wait)

    def turn(self, cost: int) -> float | None:
        """Seconds to wait before running work of ``cost`` (0: at once), counted as taken;
        None: the wait would be over ``max_wait`` (nothing taken)."""
        wait = self.wait(cost)
        if wait is not None:
            self._theoretical = max(self._theoretical, self._clock()) + cost / self._rate
        return wait

    def retry_after(self, cost: int) -> int:
        """Whole seconds after which work of ``cost`` would not wait too long."""
        now = self._clock()
        after = max(self._theoretical, now) + cost / self._rate
        return max(1, math.ceil(after - self._burst / self._rate - now - self._max_wait))


class AnonymousPaces:
    """The anonymous pace of the process, and a smaller one for each client address.

    One looping client must not fill the process's pace for everyone: each address may take
    only its share (``per_address`` units a second, the same burst), so that a single
    address looping the costliest help query makes only itself wait.  The addresses seen
    last are kept (at most ``max_addresses``; an address forgotten starts with a full burst).
    Only anonymous *queries* are paced: anonymous mutations are sign-in, refresh and
    onboarding, which auth throttles per address and per person, and which must never wait
    behind somebody else's help queries.
    """

    def __init__(self, rate: float, per_address: float, burst: float, max_wait: float,
                 max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._process = AnonymousPace(rate, burst, max_wait, clock)
        self._per_address = per_address
        self._burst = burst
        self._max_wait = max_wait
        self._clock = clock
        self._max_addresses = max_addresses
        self._addresses: OrderedDict[str, AnonymousPace] = OrderedDict()

    def _of(self, address: str) -> AnonymousPace:
        pace = self._addresses.get(address)
        if pace is None:
            pace = AnonymousPace(self._per_address, self._burst, self._max_wait, self._clock)
            self._addresses[address] = pace
            if len(self._addresses) > self._max_addresses:
                self._addresses.popitem(last=False)
        else:
            self._addresses.move_to_end(address)
        return pace

    def turn(self, address: str, cost: int) -> float:
        """Seconds to wait before running work of ``cost`` from ``address``; ``RateLimited``
        (with the seconds after which to try again) when the wait would be too long, and
        then neither pace is charged."""
        own = self._of(address)
        for pace in (own, self._process):
            if pace.wait(cost) is None:
                raise RateLimited(pace.retry_after(cost))
        return max(float(own.turn(cost) or 0.0), float(self._process.turn(cost) or 0.0))


_REFUSED = parse("query Refused { __typename }")
"""Stands in for a document that was refused before parsing (Strawberry needs one)."""


class GuardRails(SchemaExtension):
    """The token, depth, alias and cost limits, production's rules, and the parse and
    validation caches, as one extension (each extension costs every request a few context
    managers).

    The depth and alias rules are built once, by ``limit_extensions``: each Strawberry limiter
    makes a new rule class when constructed, and the validation cache is keyed by the rule
    classes, so rules built per request would miss the cache every time (about 5 ms of
    validation).  A document that fails to parse is left to Strawberry's own parse step, which
    turns the failure into a response error that the error extension labels.

    The cost is estimated before validation: validation is what the worst documents make
    expensive (see ``backend.gql.cost``).  Refusals become pre-execution errors, so the error
    extension labels them like any other.

    Anonymous requests are paced per process (``AnonymousPace``): a flood of them, each under
    the cap, would otherwise take the whole event loop from signed-in people, whose requests
    wait on the database between steps while anonymous ones (help, in memory) never do.
    """

    def __init__(self, limits: Limits, rules: tuple[type[ASTValidationRule], ...],
                 policy: Policy, costs: CostModel, pace: AnonymousPaces) -> None:
        super().__init__()
        self._limits = limits
        self._rules = rules
        self._pace = pace
        self._policy = policy
        self._costs = costs
        self._refusal: AppError | None = None
        self._cost: tuple[int, int] | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self._limits.max_tokens
        context.validation_rules = (*context.validation_rules, *self._rules)
        if self._policy.safelist is not None or self._policy.production:
            self._persisted(context)
        yield

    def _persisted(self, context: ExecutionContext) -> None:
        """Put the safelisted document named by hash in place, or note the refusal."""
        try:
            found = (self._policy.safelist.resolve(context.operation_extensions, context.query)
                     if self._policy.safelist is not None else None)
            if (found is None and context.query and self._policy.production
                    and isinstance(_principal(context), Anonymous | Citizen)):
                raise PersistedQueryRequired(message("persisted_query_required"))
        except AppError as refusal:
            self._refusal = refusal
            context.graphql_document = _REFUSED
            context._provided_operation_name = None  # the refused name is not ours to find
            return
        if found is not None:
            context.query = found.text
            context.graphql_document = found.document

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            try:
                context.graphql_document = _cached_parse(self._limits.cache_size)(
                    context.query, **context.parse_options)
            except GraphQLError:
                context.graphql_document = None
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            try:
                context.pre_execution_errors = await self._admit(context)
            except Exception as fault:  # a fault here must not leak its text
                context.pre_execution_errors = [_error(fault)]  # masked INTERNAL, logged
        yield

    async def _admit(self, context: ExecutionContext) -> list[GraphQLError]:
        """Refusals first (cheap: no validation yet), then validation (cached), then the
        caller's budget: an integrator's per-minute points, or the anonymous pace."""
        document = context.graphql_document
        if self._refusal is not None or document is None:
            return [_error(self._refusal)] if self._refusal is not None else []
        principal = _principal(context)
        estimate = self._costs.estimate(
            context.schema._schema, context.query or "", document,
            context.operation_name, context.variables,
            anonymous=isinstance(principal, Anonymous))
        if estimate is not None:
            refusal = self._refusal_of(estimate, principal)
            if refusal is not None:
                return [_error(refusal)]
        errors: list[GraphQLError] = _cached_validate(self._limits.cache_size)(
            context.schema._schema, _Parsed(context.query or "", document),
            context.validation_rules)
        if errors or estimate is None:
            return errors
        if isinstance(principal, Integrator):
            try:
                await self._spend(context, principal, estimate.cost)
            except AuthError as refused:
                return [_error(refused)]
        query = context.operation_type is OperationType.QUERY
        deadline = getattr(context.context, "deadline", None)
        if deadline is not None and not query:
            deadline.reschedule(None)  # a write is never cut off halfway
        if isinstance(principal, Anonymous) and query:
            address = getattr(context.context, "client_address", "unknown")
            try:
                wait = self._pace.turn(address, estimate.cost)
            except RateLimited as refused:
                return [_error(refused)]
            if wait > 0:
                await asyncio.sleep(wait)  # counts against the query's time limit
        return []

    def _refusal_of(self, estimate: Estimate, principal: Principal | None) -> AppError | None:
        limit = self._limits.max_cost(principal)
        self._cost = (estimate.cost, limit)
        if (estimate.introspects and self._policy.production
                and not isinstance(principal, Integrator)):
            return Forbidden(message("introspection_forbidden"))
        if estimate.repeats > self._limits.max_repeats:
            return QueryTooCostly(message("query_repeats", count=estimate.repeats,
                                          max=self._limits.max_repeats))
        if estimate.cost > limit:
            return QueryTooCostly(message("query_too_costly", cost=estimate.cost, limit=limit))
        return None

    async def _spend(self, context: ExecutionContext, principal: Integrator, cost: int) -> None:
        """Spend ceil(cost / point) points of the client's per-minute budget (its ``rpm``),
        one counted hit each, on auth's shared throttle (``RateLimited`` beyond it)."""
        engine = getattr(context.context, "engine", None)
        if engine is None:
            return
        points = max(1, math.ceil(cost / self._limits.cost_per_point))
        budget = Limit(principal.requests_per_minute, 60)
        async with engine.begin() as conn:
            for _ in range(points):
                await hit(conn, f"cost:{principal.client_id}", budget)

    def get_results(self) -> dict[str, Any]:
        """``extensions.cost`` on every answer whose cost was estimated."""
        if self._cost is None:
            return {}
        return {"cost": {"requested": self._cost[0], "limit": self._cost[1]}}


def _principal(context: ExecutionContext) -> Principal | None:
    principal: Principal | None = getattr(context.context, "principal", None)
    return principal


def _error(refusal: Exception) -> GraphQLError:
    return GraphQLError(str(refusal), original_error=refusal)


@cache
def _cached_parse(size: int) -> Callable[..., DocumentNode]:
    return lru_cache(maxsize=size)(parse)


@cache
def _cached_validate(size: int) -> Callable[..., list[GraphQLError]]:
    from strawberry.schema.schema import validate_document

    def validate(schema: GraphQLSchema, parsed: _Parsed,
                 rules: tuple[type[ASTValidationRule], ...]) -> list[GraphQLError]:
        return validate_document(schema, parsed.document, rules)

    return lru_cache(maxsize=size)(validate)


class _Parsed:
    """A document as a cache key by its text: a parsed document is a frozen dataclass whose
    hash walks the whole tree on every lookup (27 µs for HomeScreen, 0.5 ms for the issue's
    document); the text it was parsed from (with the same options) names it as well."""

    __slots__ = ("document", "text")

    def __init__(self, text: str, document: DocumentNode) -> None:
        self.text = text
        self.document = document

    def __hash__(self) -> int:
        return hash(self.text) if self.text else id(self.document)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Parsed):
            return NotImplemented
        if self.text or other.text:
            return self.text == other.text
        return self.document is other.document


def limit_extensions(limits: Limits, policy: Policy | None = None
                     ) -> list[Callable[[], SchemaExtension]]:
    """The guard-rail extension factory for ``limits`` and ``policy`` (its rules and its cost
    cache built once, here)."""
    rules = (
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    )
    costs = CostModel(limits.cache_size, expand_limit=max(
        limits.cost_anonymous, limits.cost_citizen, limits.cost_staff, limits.cost_integrator))
    chosen = policy or Policy()
    pace = AnonymousPaces(limits.anonymous_cost_per_second,
                          limits.anonymous_cost_per_second_per_address,
                          limits.anonymous_burst, limits.anonymous_wait_seconds)
    return [lambda: GuardRails(limits, rules, chosen, costs, pace)]


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


def validations(limits: Limits) -> int:
    """How many documents have reached validation, from the cache or not (for tests)."""
    info = _cached_validate(limits.cache_size).cache_info()  # type: ignore[attr-defined]
    return int(info.hits + info.misses)
