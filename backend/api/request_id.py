"""Every request gets an id: the ``x-request-id`` header of its answer, ``extensions.requestId``
of a GraphQL answer, and the ``[id]`` of every log line written while handling it.

A client (or a proxy in front) may bring its own id in ``x-request-id``; it is kept only if it
matches ``SAFE_ID`` and redaction would not touch it (an IIN or a phone sent as an id would
otherwise be written to the log as it is); anything else gets a fresh one.

The middleware is also the last word on a request that failed: an exception no layer below
handled is logged here (with the id) and answered as a typed ``INTERNAL`` 500 carrying the
same id, instead of Starlette's plain-text page and uvicorn's log line without the id.
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.problems import send_problem
from backend.gql.errors import INTERNAL_MESSAGE
from backend.logs import redact, request_id

SAFE_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
HEADER = "x-request-id"
log = logging.getLogger(__name__)


def new_request_id() -> str:
    """A fresh random id (32 hex digits) that redaction leaves as it is."""
    while True:
        candidate = uuid.uuid4().hex
        if redact(candidate) == candidate:
            return candidate


def request_id_for(incoming: str | None) -> str:
    """The client's id when it is safe to log, else a fresh one."""
    if incoming and SAFE_ID.fullmatch(incoming) and redact(incoming) == incoming:
        return incoming
    return new_request_id()


class RequestIdMiddleware:
    """Sets the request's id for its whole handling and stamps it on the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        current = request_id_for(Headers(scope=scope).get(HEADER))
        token = request_id.set(current)
        started = False

        async def stamped(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = current
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception:  # the last layer: whatever escaped becomes a typed, logged 500
            # Neither the path nor the exception's text is in the message itself: both can
            # quote what the client sent (the traceback, redacted, is for the developer).
            log.exception("unhandled error answering a %s request", scope.get("method"))
            if not started:
                await send_problem(scope, stamped, 500, "INTERNAL", INTERNAL_MESSAGE)
        finally:
            request_id.reset(token)
