"""fcm-local: a local server that speaks Firebase Cloud Messaging HTTP v1.

Development, tests and benchmarks point firebase-admin at it instead of Google.  It answers
``POST /v1/projects/{project}/messages:send`` with Google's bodies, records what it accepts and
fails when told to: ``rates`` (share of calls per error code), ``script`` (errors queued for a
target's next calls), ``unregistered`` (apps gone), ``latency_ms``.  ``/admin`` reads the records
and sets the faults; ``/`` shows the latest pushes as a demo phone would have received them.

A message is recorded as soon as the server decides to answer 200, before the latency sleep:
FCM would have accepted it even if the client stopped waiting.  ``validate_only`` is checked
the same way but not recorded, and named ``.../messages/fake_message_id`` as at FCM.

    FCM_LOCAL_PORT=8470 FCM_LOCAL_FAULTS='{"rates": {"UNAVAILABLE": 0.05}, "seed": 1}' \\
        python -m notifications.fcm_local
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
import os
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

log = logging.getLogger("notifications.fcm_local")

FCM_ERROR: Final = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST: Final = "type.googleapis.com/google.rpc.BadRequest"
MAX_MESSAGE_BYTES: Final = 4096
MAX_TOKEN_CHARS: Final = 4096
TARGET_KEYS: Final = ("token", "fid", "topic", "condition")
ERRORS: Final[dict[str, tuple[int, str, str]]] = {
    # FCM error code: (HTTP status, Google status, message)
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT",
                         "The registration token is not a valid FCM registration token"),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for the message target."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
}
DEFAULT_QUOTA_RETRY_AFTER: Final = 1  # seconds, for a 429 when retry_after is not set
UNAUTHENTICATED: Final = {"error": {
    "code": 401, "status": "UNAUTHENTICATED",
    "message": "Request is missing required authentication credential. Expected OAuth 2 access "
               "token, login cookie or other valid authentication credential."}}
_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]+")
# How long an idle keep-alive connection stays open.  Google's front ends keep one for
# minutes; uvicorn's default of 5 s is just above the sender's own 4 s (``transport.py``), and
# on a loaded machine the server's timer could close a connection while the worker was reusing
# it: the call then failed with no answer, its outcome unknown, and the push was never sent
# (bench/peak.py lost 21 of 2,000 that way).  The client drops idle connections first.
KEEP_ALIVE_SECONDS: Final = 620
_FAULT_KEYS: Final = {"rates", "retry_after", "latency_ms", "seed", "unregistered", "script"}


class Record(NamedTuple):
    """One accepted message; its request body is kept as it came (parsed, it would take four
    times the memory) and read when asked for."""

    seq: int
    at: float
    project: str
    target: str
    name: str
    body: bytes

    @property
    def received_at(self) -> str:
        """When it came, in UTC (ISO 8601)."""
        return datetime.fromtimestamp(self.at, UTC).isoformat(timespec="microseconds")

    @property
    def message(self) -> dict[str, Any]:
        """The message as sent."""
        message: dict[str, Any] = json.loads(self.body)["message"]
        return message

    def to_json(self) -> dict[str, Any]:
        """The record as the admin endpoints show it."""
        return {"seq": self.seq, "received_at": self.received_at, "project": self.project,
                "target": self.target, "message": self.message, "name": self.name}


class Answer(NamedTuple):
    """What ``messages:send`` answers: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] | None = None


def error_answer(code: str, kind: str = "token", retry_after: int | None = None) -> Answer:
    """FCM's answer for error ``code`` (one of ``ERRORS``) on a target of ``kind``."""
    status, google_status, text = ERRORS[code]
    details: list[dict[str, Any]] = [{"@type": FCM_ERROR, "errorCode": code}]
    if code == "INVALID_ARGUMENT":
        details.append({"@type": BAD_REQUEST, "fieldViolations": [
            {"field": f"message.{kind}", "description": "Invalid registration token"}]})
    headers = None
    if code == "QUOTA_EXCEEDED":
        wait = DEFAULT_QUOTA_RETRY_AFTER if retry_after is None else retry_after
        headers = {"Retry-After": str(wait)}
    elif code == "UNAVAILABLE" and retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    body = {"code": status, "message": text, "status": google_status, "details": details}
    return Answer(status, {"error": body}, headers)


def _bad(text: str, field: str) -> Answer:
    """A 400 for a malformed request, as Google words them."""
    return Answer(400, {"error": {"code": 400, "message": text, "status": "INVALID_ARGUMENT",
                                  "details": [
        {"@type": BAD_REQUEST, "fieldViolations": [{"field": field, "description": text}]},
        {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"}]}})


def check_payload(payload: Any, size: int) -> tuple[dict[str, Any], str, str] | Answer:
    """``(message, target kind, target)`` of a ``messages:send`` body of ``size`` bytes, or the
    400 that FCM would answer."""
    if not isinstance(payload, dict):
        return _bad("Invalid JSON payload received.", "")
    message = payload.get("message")
    if not isinstance(message, dict):
        return _bad("Request contains an invalid argument.", "message")
    kinds = [key for key in TARGET_KEYS if message.get(key) is not None]
    if not kinds:
        return _bad("Recipient of the message is not set.", "message")
    if len(kinds) > 1:
        return _bad("Invalid value at 'message' (oneof), oneof field 'target' is already set. "
                    f"Cannot set '{kinds[1]}'", "message")
    kind = kinds[0]
    target = message[kind]
    if not isinstance(target, str):
        return _bad(f"Invalid value at 'message.{kind}' (TYPE_STRING)", f"message.{kind}")
    data = message.get("data")
    if data is not None and not isinstance(data, dict):
        return _bad("Invalid value at 'message.data' (type.googleapis.com/"
                    "google.firebase.fcm.v1.Message.DataEntry)", "message.data")
    for index, value in enumerate((data or {}).values()):
        if not isinstance(value, str):
            field = f"message.data[{index}].value"
            return _bad(f"Invalid value at '{field}' (TYPE_STRING), {json.dumps(value)}", field)
    if kind in ("token", "fid") and not (0 < len(target) <= MAX_TOKEN_CHARS
                                         and _TOKEN.fullmatch(target)):
        return error_answer("INVALID_ARGUMENT", kind)
    # The body bounds the message from above: measure exactly only when it might be too big.
    if size > MAX_MESSAGE_BYTES and len(json.dumps(
            message, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_MESSAGE_BYTES:
        return _bad(f"Message is too big. Messages must not exceed {MAX_MESSAGE_BYTES} bytes.",
                    "message")
    return message, kind, target


class FcmLocal:
    """What fcm-local accepted and how it is told to fail.  One per app, asyncio only (no
    locks).  The fault attributes may be changed directly at any time; ``configure`` and
    ``set_faults`` check the values first and restart the random source from ``seed``."""

    def __init__(self, *, rates: dict[str, float] | None = None, retry_after: int | None = None,
                 latency_ms: float = 0.0, seed: int | None = None,
                 unregistered: Iterable[str] | None = None,
                 script: dict[str, list[str]] | None = None, keep: int = 200_000) -> None:
        self.records: deque[Record] = deque(maxlen=keep)
        self.counts: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.accepted = 0
        self._ids = 0
        self._epoch_us = time.time_ns() // 1000
        self._suffix = secrets.token_hex(8)
        self.configure(rates=rates, retry_after=retry_after, latency_ms=latency_ms, seed=seed,
                       unregistered=unregistered or (), script=script or {})

    def configure(self, *, rates: dict[str, float] | None = None, retry_after: int | None = None,
                  latency_ms: float = 0.0, seed: int | None = None,
                  unregistered: Iterable[str] | None = None,
                  script: dict[str, list[str]] | None = None) -> None:
        """Replace the dials (rates, retry_after, latency, seed).  ``unregistered`` and
        ``script`` are replaced only when given, since they are the devices' state."""
        rates = dict(rates or {})
        for code, share in rates.items():
            _expect(code in ERRORS, f"unknown error code {code!r}")
            _expect(0.0 <= share <= 1.0, "a rate is a share between 0 and 1")
        _expect(sum(rates.values()) <= 1.0 + 1e-9, "the rates add up to more than 1")
        _expect(retry_after is None or retry_after >= 0, "retry_after is seconds, >= 0")
        _expect(latency_ms >= 0, "latency_ms must be >= 0")
        for codes in (script or {}).values():
            _check_codes(codes)
        if script is not None:
            self.script = {target: list(codes) for target, codes in script.items() if codes}
        if unregistered is not None:
            self.unregistered = set(unregistered)
        self.rates, self.retry_after, self.latency_ms = rates, retry_after, float(latency_ms)
        self.seed, self._rng = seed, random.Random(seed)  # noqa: S311 - not for security

    def set_faults(self, data: Any) -> None:
        """``configure`` from the JSON form (``PUT /admin/faults``, ``FCM_LOCAL_FAULTS``): a
        missing or null key means its default.  Raises ``ValueError`` on a bad value."""
        _expect(isinstance(data, dict) and not set(data) - _FAULT_KEYS,
                f"faults are a JSON object with keys among {sorted(_FAULT_KEYS)}")
        for key in ("retry_after", "seed"):
            value = data.get(key)
            _expect(value is None or type(value) is int, f"{key} is an integer or null")
        for key in ("unregistered", "script"):
            _expect(not isinstance(data.get(key), str), f"{key} is not a string")
        try:
            self.configure(**{key: value for key, value in data.items() if value is not None})
        except (TypeError, AttributeError) as problem:
            raise ValueError(f"bad faults: {problem}") from None

    def faults(self) -> dict[str, Any]:
        """The faults in their JSON form."""
        return {"rates": self.rates, "retry_after": self.retry_after,
                "latency_ms": self.latency_ms, "seed": self.seed,
                "unregistered": sorted(self.unregistered), "script": self.script}

    def unregister(self, targets: Iterable[str]) -> None:
        """Mark tokens as belonging to apps that are gone: UNREGISTERED from now on."""
        self.unregistered.update(targets)

    def script_errors(self, target: str, codes: Iterable[str]) -> None:
        """Answer the next calls to ``target`` with ``codes``, in order (then normally)."""
        codes = list(codes)
        _check_codes(codes)
        if codes:
            self.script.setdefault(target, []).extend(codes)

    def clear(self) -> None:
        """Forget the records and the counters (the faults stay)."""
        self.records.clear()
        self.counts.clear()
        self.errors.clear()
        self.accepted = 0

    def reset(self) -> None:
        """Back to new: no records, no counters, no faults."""
        self.clear()
        self.configure(unregistered=(), script={})

    def messages(self, target: str | None = None, limit: int = 50) -> list[Record]:
        """The newest accepted messages first, to ``target`` only when given."""
        found = (r for r in reversed(self.records) if target is None or r.target == target)
        return list(itertools.islice(found, max(0, limit)))

    def stats(self) -> dict[str, Any]:
        """Totals: accepted messages, errors by code, distinct targets."""
        return {"accepted": self.accepted, "errors": dict(self.errors),
                "targets": len(self.counts)}

    def refuse(self, code: str, answer: Answer) -> Answer:
        """Count an error answer under ``code`` and pass it on."""
        self.errors[code] = self.errors.get(code, 0) + 1
        return answer

    def send(self, project: str, body: bytes) -> Answer:
        """Answer one authenticated ``messages:send`` call as FCM would; record it when the
        answer is 200."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        checked = check_payload(payload, len(body))
        if isinstance(checked, Answer):
            return self.refuse("INVALID_ARGUMENT", checked)
        _, kind, target = checked
        code = self._fault(kind, target)
        if code is not None:
            return self.refuse(code, error_answer(code, kind, self.retry_after))
        if payload.get("validate_only") is True:
            return Answer(200, {"name": f"projects/{project}/messages/fake_message_id"})
        self._ids += 1
        name = f"projects/{project}/messages/0:{self._epoch_us + self._ids}%{self._suffix}"
        self.accepted += 1
        self.counts[target] = self.counts.get(target, 0) + 1
        self.records.append(Record(self.accepted, time.time(), project, target, name, body))
        return Answer(200, {"name": name})

    def _fault(self, kind: str, target: str) -> str | None:
        """The error code this call to ``target`` gets, if any."""
        device = kind in ("token", "fid")
        if device and target in self.unregistered:
            return "UNREGISTERED"
        queue = self.script.get(target)
        if queue:
            code = queue.pop(0)
            if not queue:
                del self.script[target]
            return code
        if self.rates:
            roll = self._rng.random()
            for code, share in self.rates.items():
                roll -= share
                if roll < 0:
                    if code == "UNREGISTERED" and device:
                        self.unregistered.add(target)  # the app is gone: retries fail too
                    return code
        return None


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(problem)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_codes(codes: Iterable[str]) -> None:
    for code in codes:
        _expect(code in ERRORS, f"unknown error code {code!r}")


def _bearer(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


class _Api:
    """The endpoints, over one ``FcmLocal``."""

    def __init__(self, state: FcmLocal) -> None:
        self.state = state

    async def send(self, request: Request) -> Response:
        state = self.state
        if not _bearer(request.headers.get("authorization", "")):
            answer = state.refuse("UNAUTHENTICATED", Answer(401, UNAUTHENTICATED, {
                "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}))
        else:
            answer = state.send(request.path_params["project"], await request.body())
        if state.latency_ms > 0:
            await asyncio.sleep(state.latency_ms / 1000)
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
                found = state.messages(query.get("target") or None, int(query.get("limit", 50)))
                return {"messages": [record.to_json() for record in found]}
            case "DELETE", "messages":
                state.clear()
            case "GET", "counts":
                return state.counts
            case "PUT", "faults":
                state.set_faults(await request.json())
            case "POST", "unregister":
                targets = _field(await request.json(), "targets")
                _expect(_is_strings(targets), "targets is a list of strings")
                state.unregister(targets)
                return {"unregistered": len(state.unregistered)}
            case "POST", "script":
                data = await request.json()
                target, codes = _field(data, "target"), _field(data, "errors")
                _expect(isinstance(target, str) and _is_strings(codes),
                        "a target (string) and its errors (a list of error codes)")
                state.script_errors(target, codes)
                return {"queued": len(state.script.get(target, []))}
        return state.faults() if request.url.path.endswith("faults") else state.stats()

    async def page(self, request: Request) -> Response:
        return HTMLResponse(render_page(self.state.messages(limit=100), self.state.stats()))

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")


def _field(data: Any, key: str) -> Any:
    _expect(isinstance(data, dict), "the body is a JSON object")
    return data.get(key)


def render_page(records: Iterable[Record], stats: dict[str, Any]) -> str:
    """The latest pushes as a demo phone would have received them, every value escaped."""
    rows = []
    for record in records:
        note = record.message.get("notification")
        note = note if isinstance(note, dict) else {}
        cells = (record.received_at[:23].replace("T", " "), "…" + record.target[-8:],
                 str(note.get("title", "")), str(note.get("body", "")),
                 json.dumps(record.message.get("data", {}), ensure_ascii=False))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    errors = ", ".join(f"{html.escape(code)}: {n}" for code, n in sorted(stats["errors"].items()))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' "
        "content='5'><title>fcm-local</title></head><body><h1>fcm-local</h1>"
        f"<p>accepted {stats['accepted']}, targets {stats['targets']}; errors: "
        f"{errors or 'none'}</p><table border='1' cellpadding='4'><tr><th>time (UTC)</th>"
        "<th>target</th><th>title</th><th>body</th><th>data</th></tr>"
        f"{''.join(rows)}</table></body></html>")


def create_app(state: FcmLocal | None = None) -> Starlette:
    """The fcm-local ASGI app over ``state`` (a new one when not given; ``app.state.fcm``)."""
    api = _Api(state if state is not None else FcmLocal())
    app = Starlette(routes=[
        Route("/v1/projects/{project}/messages:send", api.send, methods=["POST"]),
        Route("/admin/messages", api.admin, methods=["GET", "DELETE"]),
        Route("/admin/stats", api.admin, methods=["GET"]),
        Route("/admin/counts", api.admin, methods=["GET"]),
        Route("/admin/faults", api.admin, methods=["GET", "PUT"]),
        Route("/admin/unregister", api.admin, methods=["POST"]),
        Route("/admin/script", api.admin, methods=["POST"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/", api.page, methods=["GET"]),
    ])
    app.state.fcm = api.state
    return app


def main() -> None:
    """Serve fcm-local with uvicorn (``FCM_LOCAL_HOST``, ``FCM_LOCAL_PORT``,
    ``FCM_LOCAL_FAULTS``).  Logs counts only, never tokens."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)  # under `mhi`, whose root logger (JSON lines) says WARNING
    host = os.environ.get("FCM_LOCAL_HOST", "127.0.0.1")
    port = int(os.environ.get("FCM_LOCAL_PORT", "8470"))
    state = FcmLocal()
    faults = os.environ.get("FCM_LOCAL_FAULTS")
    if faults:
        state.set_faults(json.loads(faults))
    log.info("fcm-local on http://%s:%d (%d error rates set)", host, port, len(state.rates))
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning", access_log=False,
                lifespan="off", log_config=None,  # uvicorn's lines through the root's handler
                timeout_keep_alive=KEEP_ALIVE_SECONDS)
    log.info("fcm-local stopped: %d accepted, %d refused", state.accepted,
             sum(state.errors.values()))


if __name__ == "__main__":
    main()
