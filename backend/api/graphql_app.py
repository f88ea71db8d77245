"""The GraphQL endpoint as a plain ASGI app (Strawberry's), without FastAPI's router.

FastAPI's router solves dependencies and wraps every request in its own layers (7 % of the
home screen's CPU under load); ``/graphql`` needs none of that: its context is built from the
request's headers by ``context_factory``.

Reading the request is the one place where a request that cannot be read becomes HTTP 400
``BAD_REQUEST`` (localized, typed, with the request id): a body that is not UTF-8 or not JSON,
JSON that is not an object, JSON nested deeper than ``MAX_JSON_DEPTH`` (which would otherwise
exhaust the recursion of the JSON decoder or of variable coercion), and whatever Strawberry
refuses while reading (a wrong content type, no query, variables that are not an object).
Every GraphQL answer carries ``extensions.requestId``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.types import QueryParams
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from backend.api.graphiql import graphiql_page
from backend.api.problems import localized, problem
from backend.gql.context import Context
from backend.gql.fastpath import FastPath
from backend.logs import request_id
from backend.messages import message
from backend.observability.http import graphql_answered, label_operation

log = logging.getLogger(__name__)
MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects a request may use (the deepest input type needs 4)."""
_QUOTED = re.compile(r'"[^"]*"')


class Unreadable(Exception):
    """The request cannot be read; ``key`` names its message in ``backend.messages``."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def within_depth(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests no deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return True


def read_json(data: str | bytes) -> Any:
    """JSON from a request: UTF-8, parseable, not too deep, an object or an array."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        parsed = json.loads(text)
    except UnicodeDecodeError as error:
        raise Unreadable("request_not_utf8") from error
    except RecursionError as error:
        raise Unreadable("request_too_deep", max=MAX_JSON_DEPTH) from error
    except ValueError as error:
        raise Unreadable("request_not_json") from error
    if not isinstance(parsed, dict | list):
        raise Unreadable("request_not_object")
    if not within_depth(parsed):
        raise Unreadable("request_too_deep", max=MAX_JSON_DEPTH)
    return parsed


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our per-request ``Context`` and typed refusals."""

    def __init__(self, schema: BaseSchema, *,
                 context_factory: Callable[[Request], Awaitable[Context]],
                 graphiql: bool, query_seconds: float | None = None) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self._context_factory = context_factory
        self._query_seconds = query_seconds

    async def execute_single(
        self, request: Request, request_adapter: Any, sub_response: Response,
        context: Context, root_value: None, request_data: Any,
    ) -> ExecutionResult:
        """One operation within ``query_seconds`` (lifted for mutations by the guard rails,
        ``backend.gql.limits``): a query still running then is cancelled and answered with
        ``TIMEOUT``, so one slow request cannot hold a worker's time for ever."""
        try:
            async with asyncio.timeout(self._query_seconds) as deadline:
                context.deadline = deadline
                fast = await self._fast(request_adapter.method, context, request_data)
                if fast is not None:
                    return fast
                return await super().execute_single(request, request_adapter, sub_response,
                                                    context, root_value, request_data)
        except TimeoutError:
            seconds = f"{self._query_seconds:g}"
            text = message("query_timeout", seconds=seconds)[context.known_language]
            return ExecutionResult(data=None, errors=[GraphQLError(
                text, extensions={"code": "TIMEOUT", "limit": "time"})])

    async def _fast(self, method: str, context: Context, request_data: Any
                    ) -> ExecutionResult | None:
        """The answer of the fast path for persisted operations (``backend.gql.fastpath``),
        or None: the generic path answers (also after the plan gave up, with the request's
        context started over)."""
        fast_path = self.fast_path
        if (fast_path is None or (method == "GET" and not self.allow_queries_via_get)
                or not fast_path.covers(getattr(self.schema, "extensions", ()))):
            return None
        try:
            plan = fast_path.plan_for(request_data.query, request_data.extensions,
                                      request_data.operation_name)
            admitted = (fast_path.admit(plan, context, request_data.variables)
                        if plan is not None else None)
        except Exception as fault:  # the generic path meets (and words) the same problem
            log.warning("the fast path declined a request: %s", type(fault).__name__)
            return None
        if plan is None or admitted is None:
            return None
        try:
            data = await plan.run(context, admitted.variables)
        except Exception:  # an error, a null, a fault: the generic path words it
            fast_path.gave_up += 1
            context.start_over()
            return None
        fast_path.answered += 1
        label_operation(plan.name, context.principal)
        return ExecutionResult(data=data, errors=None, extensions=admitted.extensions)

    @property
    def fast_path(self) -> FastPath | None:
        """The schema's fast path (``enabled = False`` forces the generic path)."""
        return getattr(self.schema, "fast_path", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except Unreadable as refused:
            response = problem(400, "BAD_REQUEST",
                               localized(Headers(scope=scope), refused.key, **refused.values))
        except HTTPException as refused:
            code = "NOT_FOUND" if refused.status_code == 404 else "BAD_REQUEST"
            # Strawberry's reason may quote what was sent ("Unknown operation named ..."):
            # the quoted part is not repeated.
            detail = _QUOTED.sub('"…"', refused.reason)
            text = localized(Headers(scope=scope), "request_unreadable", detail=detail)
            response = problem(refused.status_code, code, text)
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET naming a persisted operation by hash (Apollo's clients send such a
        GET with ``Accept: */*``, which Strawberry takes for a browser asking for the IDE)."""
        return ("extensions" not in request.query_params
                and bool(super().should_render_graphql_ide(request)))

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page (assets from this server, no CDN), not Strawberry's."""
        return graphiql_page()

    def parse_json(self, data: str | bytes) -> Any:
        """The body, or ``variables``/``extensions`` of a GET, read by ``read_json``."""
        return read_json(data)

    def encode_json(self, data: object) -> bytes:
        """The answer as JSON in UTF-8 by orjson (issue 19): about 15 times faster than the
        standard library's, and a third smaller for Kazakh and Russian text, which it sends
        as UTF-8 instead of ``\\u`` escapes."""
        return orjson.dumps(data)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """A GET's parameters; ``variables=null`` is the same as none."""
        cleaned = {key: value for key, value in params.items()
                   if not (key in ("variables", "extensions") and value == "null")}
        return super().parse_query_params(cleaned)

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        """A new context (principal, loaders, language) for each request."""
        if not isinstance(request, Request) or not isinstance(response, Response):
            raise TypeError("subscriptions are not served")
        context = await self._context_factory(request)
        context.response = response
        return context

    async def process_result(self, request: Request,
                             result: ExecutionResult) -> GraphQLHTTPResponse:
        """Strawberry's answer with ``extensions.requestId`` (the one of the log lines)."""
        graphql_answered(result)  # error codes and cost for the request's metrics
        answer = await super().process_result(request, result)
        answer["extensions"] = {**(answer.get("extensions") or {}),
                                "requestId": request_id.get()}
        return answer
