"""The GraphQL endpoint as a plain ASGI app (Strawberry's), without FastAPI's router.

FastAPI's router solves dependencies and wraps every request in its own layers (7 % of the
home screen's CPU under load); ``/graphql`` needs none of that: its context is built from the
request's headers by ``context_factory``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from backend.gql.context import Context


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our per-request ``Context``."""

    def __init__(self, schema: BaseSchema, *,
                 context_factory: Callable[[Request], Awaitable[Context]],
                 graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self._context_factory = context_factory

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        """A new context (principal, loaders, language) for each request."""
        if not isinstance(request, Request) or not isinstance(response, Response):
            raise TypeError("subscriptions are not served")
        context = await self._context_factory(request)
        context.response = response
        return context
