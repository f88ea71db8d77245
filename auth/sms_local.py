"""sms-local: a local server that speaks Mobizon's SMS HTTP API (see ``auth.sms_mobizon``).

Development and tests point ``AUTH_SMS_API_URL`` at it instead of ``https://api.mobizon.kz``.
``/service/{module}/{method}`` (any letter case, GET or POST, parameters in the query or a
form body, as Mobizon takes them) is answered by ``auth.sms_local_state.SmsLocal``, which says
what is checked, recorded and faked.  ``/admin`` reads the records, sets the faults
(``PUT /admin/faults``, or ``SMS_LOCAL_FAULTS`` at start), queues faults for a number
(``/admin/script``), makes numbers unreachable and forces statuses; ``/`` shows the latest
messages, a number by its last four digits.  Nothing here logs a number or a text.

    SMS_LOCAL_PORT=8471 SMS_LOCAL_API_KEY=sms-local \\
        SMS_LOCAL_FAULTS='{"rates": {"SERVICE_ERROR": 0.05}, "seed": 1}' python -m auth.sms_local
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import os
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from auth.sms_local_state import Record, SmsLocal, expect, iso, target_of

log = logging.getLogger("auth.sms_local")
HOLD_SECONDS: Final = 30.0  # the longest a TIMEOUT answer waits for its client to go


class _Dropped(Response):
    """Starts an answer and stops: uvicorn closes the connection mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"64")]})


class _Api:
    """The endpoints, over one ``SmsLocal``."""

    def __init__(self, state: SmsLocal) -> None:
        self.state = state

    async def service(self, request: Request) -> Response:
        params: dict[str, list[str]] = {}
        body = (await request.body()).decode("utf-8", "replace")
        for key, value in [*request.query_params.multi_items(),
                           *parse_qsl(body, keep_blank_values=True)]:
            params.setdefault(key, []).append(value)
        answer = self.state.call(request.path_params["module"].lower(),
                                 request.path_params["method"].lower(), params)
        if self.state.latency_ms > 0:
            await asyncio.sleep(self.state.latency_ms / 1000)
        if answer.lost == "DROP":
            return _Dropped()
        if answer.lost == "TIMEOUT":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_until_gone(request), HOLD_SECONDS)
        if isinstance(answer.body, str):
            return PlainTextResponse(answer.body, answer.status, headers=answer.headers)
        return JSONResponse(answer.body, answer.status, headers=answer.headers)

    async def admin(self, request: Request) -> Response:
        """Every ``/admin`` endpoint; a bad request is answered 400 ``{"error": ...}``."""
        try:
            return JSONResponse(await self._admin(request))
        except ValueError as problem:  # bad JSON included
            return JSONResponse({"error": str(problem)}, 400)

    async def _admin(self, request: Request) -> Any:
        state, query = self.state, request.query_params
        match request.method, request.url.path.removeprefix("/admin/"):
            case "GET", "messages":
                found = state.messages(query.get("recipient") or None,
                                       int(query.get("limit", 50)))
                return {"messages": [r.to_json(state.status_of(r)) for r in found]}
            case "DELETE", "messages":
                state.clear()
            case "PUT", "faults":
                state.set_faults(await request.json())
            case "GET", "faults":
                return state.faults()
            case "POST", "unreachable":
                numbers = _field(await request.json(), "recipients")
                expect(_is_strings(numbers), "recipients is a list of strings")
                state.make_unreachable(numbers)
                return {"unreachable": len(state.unreachable)}
            case "POST", "script":
                data = await request.json()
                target, faults = _field(data, "recipient"), _field(data, "errors")
                expect(isinstance(target, str) and _is_strings(faults),
                       "a recipient (string) and its errors (a list of fault names)")
                state.script_errors(target, faults)
                return {"queued": len(state.script.get(target_of(target), []))}
            case "POST", "status":
                data = await request.json()
                ids, status = _field(data, "ids"), _field(data, "status")
                expect(isinstance(ids, list) and all(type(i) is int for i in ids)
                       and isinstance(status, str), "ids (integers) and a status")
                return {"changed": state.force_status(ids, status)}
        return state.stats()

    async def page(self, request: Request) -> Response:
        return HTMLResponse(render_page(self.state, self.state.messages(limit=100)))

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")


async def _until_gone(request: Request) -> None:
    """Return once the client has closed the connection (its body is read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _field(data: Any, key: str) -> Any:
    expect(isinstance(data, dict), "the body is a JSON object")
    return data.get(key)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def render_page(state: SmsLocal, records: Iterable[Record]) -> str:
    """The latest messages as the phones would have received them, every value escaped; a
    number shows only its last four digits."""
    rows = []
    for record in records:
        cells = (iso(record.at)[:23].replace("T", " "), "…" + record.recipient[-4:],
                 record.sender or "", f"{record.segments.encoding} × {record.segments.count}",
                 state.status_of(record), record.text)
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    stats = state.stats()
    errors = ", ".join(f"{html.escape(name)}: {n}" for name, n in sorted(stats["errors"].items()))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta http-equiv='refresh'"
        " content='5'><title>sms-local</title></head><body><h1>sms-local</h1>"
        f"<p>accepted {stats['accepted']}, recipients {stats['recipients']}; errors: "
        f"{errors or 'none'}</p><table border='1' cellpadding='4'><tr><th>time (UTC)</th>"
        "<th>to</th><th>from</th><th>segments</th><th>status</th><th>text</th></tr>"
        f"{''.join(rows)}</table></body></html>")


def create_app(state: SmsLocal | None = None) -> Starlette:
    """The sms-local ASGI app over ``state`` (a new one when not given; ``app.state.sms``)."""
    api = _Api(state if state is not None else SmsLocal())
    app = Starlette(routes=[
        Route("/service/{module}/{method}", api.service, methods=["GET", "POST"]),
        Route("/admin/messages", api.admin, methods=["GET", "DELETE"]),
        Route("/admin/stats", api.admin, methods=["GET"]),
        Route("/admin/faults", api.admin, methods=["GET", "PUT"]),
        Route("/admin/unreachable", api.admin, methods=["POST"]),
        Route("/admin/script", api.admin, methods=["POST"]),
        Route("/admin/status", api.admin, methods=["POST"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/", api.page, methods=["GET"]),
    ])
    app.state.sms = api.state
    return app


def main() -> None:
    """Serve sms-local with uvicorn (``SMS_LOCAL_HOST``, ``SMS_LOCAL_PORT``,
    ``SMS_LOCAL_API_KEY``, ``SMS_LOCAL_FAULTS``).  Logs counts only."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)  # under `mhi`, whose root logger (JSON lines) says WARNING
    host = os.environ.get("SMS_LOCAL_HOST", "127.0.0.1")
    port = int(os.environ.get("SMS_LOCAL_PORT", "8471"))
    state = SmsLocal(api_key=os.environ.get("SMS_LOCAL_API_KEY", "sms-local"))
    faults = os.environ.get("SMS_LOCAL_FAULTS")
    if faults:
        state.set_faults(json.loads(faults))
    log.info("sms-local on http://%s:%d (%d fault rates set)", host, port, len(state.rates))
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning", access_log=False,
                lifespan="off", log_config=None)  # uvicorn's lines through the root's handler
    log.info("sms-local stopped: %d accepted, %d refused", state.accepted,
             sum(state.errors.values()))


if __name__ == "__main__":
    main()
