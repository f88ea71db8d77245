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

A ``POST`` of JSON that the fast path for persisted operations answers (``backend.gql.fastpath``:
the app's screens) skips Strawberry's view (``GraphQLApp._skip_view``): the request is read,
refused and answered as the view would, byte for byte, without its adapters, content-type
parsing and response objects (about 0.06 ms of a home screen's 1.3 ms of CPU, measured in
process).  Whatever the fast path does not answer is handed to the view with what was already
made (the context, the parsed body, the time already spent), so it goes on exactly as if it
had started there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
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
_JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8",
                         b"application/json;charset=utf-8"})
"""The content types of a ``POST`` the view may be skipped for (any other goes to the view,
which reads or refuses it as it always did)."""


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


@dataclass
class _Begun:
    """What ``GraphQLApp.__call__`` made of a request before handing it to Strawberry's
    view, for the view to go on with instead of making it again."""

    sub_response: Response
    request_data: GraphQLRequestData | None
    """The parsed body (None: the view parses it again, and refuses it as it does)."""
    tried: bool = False
    """Whether the fast path was tried (and left the request to the view)."""
    deadline: float | None = None
    """When the operation's time ends, once the fast path was tried (the loop's clock;
    None: no limit)."""


_begun: ContextVar[_Begun | None] = ContextVar("mhi_graphql_begun", default=None)


class _Answer:
    """A finished answer: the ASGI messages Strawberry's ``create_response`` would send."""

    __slots__ = ("background", "body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
                 background: BackgroundTask | None) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.background = background

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status,
                    "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})
        if self.background is not None:
            await self.background()


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our per-request ``Context`` and typed refusals."""

    def __init__(self, schema: BaseSchema, *,
                 context_factory: Callable[[Request], Awaitable[Context]],
                 graphiql: bool, query_seconds: float | None = None) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self._context_factory = context_factory
        self._query_seconds = query_seconds
        self.skip_view = True
        """Whether the fast path's answers skip Strawberry's view (``False``: every request
        goes through it, the other side of ``tests/api/test_view_bypass.py``)."""
        self.answered_without_view = 0
        """Requests answered without the view (tests and the benchmark's check)."""

    async def execute_single(
        self, request: Request, request_adapter: Any, sub_response: Response,
        context: Context, root_value: None, request_data: Any,
    ) -> ExecutionResult:
        """One operation within ``query_seconds`` (lifted for mutations by the guard rails,
        ``backend.gql.limits``): a query still running then is cancelled and answered with
        ``TIMEOUT``, so one slow request cannot hold a worker's time for ever."""
        begun = _begun.get()
        try:
            if begun is not None and begun.tried:  # by ``_skip_view``: its time counts
                async with asyncio.timeout_at(begun.deadline) as deadline:
                    context.deadline = deadline
                    return await super().execute_single(request, request_adapter,
                                                        sub_response, context, root_value,
                                                        request_data)
            async with asyncio.timeout(self._query_seconds) as deadline:
                context.deadline = deadline
                fast = await self._fast(request_adapter.method, context, request_data)
                if fast is not None:
                    return fast
                return await super().execute_single(request, request_adapter, sub_response,
                                                    context, root_value, request_data)
        except TimeoutError:
            return self._timed_out(context)

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
        request = Request(scope=scope, receive=receive)
        try:
            response: Response | _Answer = await self._skip_view(request, scope)
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

    async def _skip_view(self, request: Request, scope: Scope) -> Response | _Answer:
        """The answer to a request, without Strawberry's view when the fast path answers it.

        The steps are the view's own for a ``POST`` of JSON (``AsyncBaseHTTPView.run``), in
        its order: the sub-response and the context, the body read and parsed (refused with
        the same errors), then the operation within ``query_seconds``.  Anything else (GET,
        another content type, a streaming ``Accept``, a batch, a body the view would refuse
        in its own words, an operation the fast path leaves) is the view's, from where this
        stopped."""
        fast_path = self.fast_path
        if (not self.skip_view or fast_path is None or not fast_path.enabled
                or scope["method"] != "POST"
                or _content_type(scope) not in _JSON_TYPES
                or self._get_stream_transport_from_headers(request.headers) is not None):
            return await self.run(request)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        data = read_json(await request.body())
        request_data = _request_data(data)
        if request_data is None:  # a batch, or a part of the wrong type: the view's words
            return await self._view(request, context, _Begun(sub_response, None))
        try:
            async with asyncio.timeout(self._query_seconds) as deadline:
                context.deadline = deadline
                result = await self._fast("POST", context, request_data)
        except TimeoutError:
            result = self._timed_out(context)
        if result is None:  # the view goes on, within the time that is left
            return await self._view(request, context, _Begun(
                sub_response, request_data, tried=True, deadline=deadline.when()))
        self.answered_without_view += 1
        answer = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, answer)
        body = self.encode_json(answer)
        return _Answer(sub_response.status_code or 200, [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
            *sub_response.headers.raw], body, sub_response.background)

    async def _view(self, request: Request, context: Context, begun: _Begun) -> Response:
        """Strawberry's view, going on from ``begun``."""
        token = _begun.set(begun)
        try:
            return await self.run(request, context=context)
        finally:
            _begun.reset(token)

    def _timed_out(self, context: Context) -> ExecutionResult:
        seconds = f"{self._query_seconds:g}"
        text = message("query_timeout", seconds=seconds)[context.known_language]
        return ExecutionResult(data=None, errors=[GraphQLError(
            text, extensions={"code": "TIMEOUT", "limit": "time"})])

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Strawberry's empty sub-response, or the one ``_skip_view`` made already."""
        begun = _begun.get()
        if begun is not None:
            return begun.sub_response
        return await super().get_sub_response(request)

    async def parse_http_body(self, request: Any) -> Any:
        """Strawberry's reading of the request, or what ``_skip_view`` read already."""
        begun = _begun.get()
        if begun is not None and begun.request_data is not None:
            return begun.request_data
        return await super().parse_http_body(request)

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


def _content_type(scope: Scope) -> bytes | None:
    """The request's ``content-type`` header as sent (Strawberry's view reads it case and
    all: ``Application/JSON`` is refused there), or None."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value)
    return None


def _request_data(data: Any) -> GraphQLRequestData | None:
    """One operation's parts from a parsed body, as Strawberry's ``parse_http_body`` makes
    them; None for what it answers itself (a batch, a part of the wrong type)."""
    if not isinstance(data, dict):
        return None
    query = data.get("query")
    variables = data.get("variables")
    extensions = data.get("extensions")
    if (not isinstance(query, str | None) or not isinstance(variables, dict | None)
            or not isinstance(extensions, dict | None)):
        return None
    return GraphQLRequestData(query=query, variables=variables,
                              operation_name=data.get("operationName"),
                              extensions=extensions, protocol="http")
