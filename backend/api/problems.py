"""Typed error answers written below the GraphQL layer (plain ASGI), in the GraphQL shape.

A request the GraphQL engine never sees (unreadable, too large, failed before an answer) is
still answered as a GraphQL client expects: ``{"errors": [{"message", "extensions":
{"code", ...}}], "extensions": {"requestId"}}``, the message in the reader's language, the
code from ``backend.error_codes.CATALOGUE``.  ``data`` is absent: nothing was executed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope, Send

from backend.error_codes import CATALOGUE
from backend.gql.context import language_from_header
from backend.logs import request_id
from backend.messages import message


def problem_body(code: str, text: str, **extensions: object) -> bytes:
    """The JSON of an answer carrying one error with ``code`` (which must be catalogued)."""
    if code not in CATALOGUE:
        raise ValueError(f"{code} is not in the error catalogue")
    return json.dumps({
        "errors": [{"message": text, "extensions": {"code": code, **extensions}}],
        "extensions": {"requestId": request_id.get()},
    }, ensure_ascii=False).encode()


def localized(headers: Headers, key: str, **values: object) -> str:
    """Message ``key`` in the language the request's ``Accept-Language`` asks for."""
    return message(key, **values)[language_from_header(headers.get("accept-language"))]


def problem(status: int, code: str, text: str,
            headers: Mapping[str, str] | None = None, **extensions: object) -> Response:
    """A Starlette response for an app that answers with response objects."""
    return Response(problem_body(code, text, **extensions), status_code=status,
                    media_type="application/json",
                    headers={"cache-control": "no-store", **(headers or {})})


async def send_problem(scope: Scope, send: Send, status: int, code: str, text: str,
                       **extensions: object) -> None:
    """Send the answer straight through ``send`` (for ASGI middleware)."""
    await problem(status, code, text, None, **extensions)(scope, _nothing, send)


async def _nothing() -> dict[str, object]:
    return {"type": "http.disconnect"}
