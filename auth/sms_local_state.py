"""What sms-local (``auth.sms_local``) knows and answers: Mobizon's SMS API as its reference
writes it (see ``auth.sms_mobizon``), with the faults a test or a demo asks for.

``SmsLocal.call`` answers ``message/sendsmsmessage`` and ``message/getsmsstatus`` in Mobizon's
envelope ``{"code", "data", "message"}``.  It checks the key (``apiKey``, else code 8), the
format (``output=json``, else 6), the recipient (a Kazakhstan number in international digits,
``77XXXXXXXXX``, a leading ``+`` allowed; else code 1 on ``recipient``), the text (code 1 on
``text`` when empty) and the validity (60-1440 minutes); it records each accepted message with
its encoding and segments (``auth.sms_segments``) and gives it an id.  The status query lists
the ids it knows: ``ACCEPTD`` until ``deliver_after_ms`` has passed on its clock, then
``DELIVRD``, or ``UNDELIV`` when the number was unreachable when it was sent;
``force_status`` puts any of Mobizon's statuses on chosen ids.

Faults, as fcm-local takes them: ``rates`` (share of sends answered with each fault),
``script`` (faults queued for a number's next sends; the key ``status`` queues them for the
next status queries), ``unreachable`` (numbers whose messages end ``UNDELIV``),
``latency_ms``, ``retry_after`` (seconds, sent with ``RATE_LIMITED``, ``HTTP_429`` and
``HTTP_503``), ``deliver_after_ms`` and ``seed``.  A fault (``FAULTS``) is one of Mobizon's
API codes, a bare HTTP error as a proxy in front would give, or a lost answer: ``TIMEOUT``
takes the message and answers only once the client has gone, ``DROP`` takes it and closes the
connection in the middle of the answer (the server carries those out).
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from auth.sms_segments import Segments, segments


class Fault(NamedTuple):
    """An error answer: HTTP status, Mobizon's API code (None: a bare HTTP error), message,
    data."""

    status: int
    code: int | None
    message: str
    data: Any = None


FAULTS: Final[dict[str, Fault]] = {
    "INVALID_RECIPIENT": Fault(200, 1, "", {"recipient": "Invalid recipient phone number."}),
    "INVALID_TEXT": Fault(200, 1, "", {"text": "The message text is not allowed."}),
    "LOGIN": Fault(200, 8, "Login error: the API key is not valid."),
    "METHOD_DENIED": Fault(200, 9, "Access to this API method is denied."),
    "NOT_SAVED": Fault(200, 10, "The data could not be saved, try again."),
    "WRONG_SERVER": Fault(200, 13, "This account is served by another API server.",
                          {"server": "api.mobizon.kz"}),
    "ACCOUNT_BLOCKED": Fault(200, 14, "The account is blocked."),
    "OPERATION_FAILED": Fault(200, 15, "The operation could not be completed."),
    "RATE_LIMITED": Fault(200, 30, "Too many requests to this method, slow down."),
    "SERVICE_ERROR": Fault(200, 999, "Service error."),
    "HTTP_429": Fault(429, None, "Too Many Requests"),
    "HTTP_500": Fault(500, None, "Internal Server Error"),
    "HTTP_502": Fault(502, None, "Bad Gateway"),
    "HTTP_503": Fault(503, None, "Service Unavailable"),
    "HTTP_504": Fault(504, None, "Gateway Timeout"),
    "TIMEOUT": Fault(200, 0, ""),  # taken; answered only after the client has gone
    "DROP": Fault(200, 0, ""),  # taken; the connection closes in the middle of the answer
}
LOST: Final = frozenset({"TIMEOUT", "DROP"})
WAIT_HEADERS: Final = frozenset({"RATE_LIMITED", "HTTP_429", "HTTP_503"})
STATUSES: Final = ("NEW", "ENQUEUD", "ACCEPTD", "UNDELIV", "REJECTD", "PDLIVRD", "DELIVRD",
                   "EXPIRED", "DELETED")
MAX_STATUS_IDS: Final = 100
DEFAULT_DELIVER_AFTER_MS: Final = 1000.0
_RECIPIENT = re.compile(r"77[0-9]{9}")
_FAULT_KEYS: Final = {"rates", "script", "unreachable", "latency_ms", "retry_after",
                      "deliver_after_ms", "seed"}


class Record(NamedTuple):
    """One accepted message."""

    seq: int
    id: int
    at: float
    recipient: str
    sender: str | None
    text: str
    validity: int | None
    segments: Segments
    fate: str  # DELIVRD, or UNDELIV for a number that was unreachable

    def to_json(self, status: str) -> dict[str, Any]:
        """The record as the admin endpoints show it."""
        return {"seq": self.seq, "id": self.id, "received_at": iso(self.at),
                "recipient": self.recipient, "from": self.sender, "text": self.text,
                "validity": self.validity, "encoding": self.segments.encoding,
                "units": self.segments.units, "segments": self.segments.count,
                "status": status}


@dataclass(frozen=True)
class Answer:
    """What a call answers: HTTP status, body, headers; ``lost`` names a lost answer."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] | None = None
    lost: str | None = None


@dataclass
class SmsLocal:
    """What sms-local accepted and how it is told to fail.  One per app, asyncio only.
    ``clock`` (seconds) decides when messages are delivered: tests pass one they move."""

    api_key: str = "sms-local"
    clock: Callable[[], float] = time.time
    keep: int = 100_000
    records: OrderedDict[int, Record] = field(default_factory=OrderedDict)
    forced: dict[int, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    recipients: set[str] = field(default_factory=set)
    accepted: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(int(time.time() * 1000))  # never reused across restarts
        self.configure(unreachable=(), script={})

    def configure(self, *, rates: dict[str, float] | None = None,
                  script: dict[str, list[str]] | None = None,
                  unreachable: Iterable[str] | None = None, latency_ms: float = 0.0,
                  retry_after: int | None = None,
                  deliver_after_ms: float = DEFAULT_DELIVER_AFTER_MS,
                  seed: int | None = None) -> None:
        """Replace the dials; ``script`` and ``unreachable`` only when given (they are the
        numbers' state).  Raises ``ValueError`` on a bad value."""
        rates = dict(rates or {})
        _check_faults(rates)
        expect(all(0.0 <= share <= 1.0 for share in rates.values())
               and sum(rates.values()) <= 1.0 + 1e-9, "rates are shares adding up to <= 1")
        expect(latency_ms >= 0 and deliver_after_ms >= 0, "times are >= 0")
        expect(retry_after is None or retry_after >= 0, "retry_after is seconds, >= 0")
        for faults in (script or {}).values():
            _check_faults(faults)
        if script is not None:
            self.script = {target_of(key): list(faults) for key, faults in script.items()
                           if faults}
        if unreachable is not None:
            self.unreachable = {_digits(number) for number in unreachable}
        self.rates, self.latency_ms, self.retry_after = rates, float(latency_ms), retry_after
        self.deliver_after_ms = float(deliver_after_ms)
        self.seed, self._rng = seed, random.Random(seed)  # noqa: S311 - not for security

    def set_faults(self, data: Any) -> None:
        """``configure`` from JSON (``PUT /admin/faults``, ``SMS_LOCAL_FAULTS``); a missing or
        null key means its default."""
        expect(isinstance(data, dict) and not set(data) - _FAULT_KEYS,
               f"faults are a JSON object with keys among {sorted(_FAULT_KEYS)}")
        expect(not isinstance(data.get("unreachable"), str), "unreachable is a list")
        try:
            self.configure(**{key: value for key, value in data.items() if value is not None})
        except (TypeError, AttributeError) as problem:
            raise ValueError(f"bad faults: {problem}") from None

    def faults(self) -> dict[str, Any]:
        """The faults in their JSON form."""
        return {"rates": self.rates, "script": self.script,
                "unreachable": sorted(self.unreachable), "latency_ms": self.latency_ms,
                "retry_after": self.retry_after, "deliver_after_ms": self.deliver_after_ms,
                "seed": self.seed}

    def script_errors(self, recipient: str, faults: Iterable[str]) -> None:
        """Answer the next sends to ``recipient`` (or status queries: ``"status"``) with
        ``faults``, in order, then normally."""
        queued = list(faults)
        _check_faults(queued)
        if queued:
            self.script.setdefault(target_of(recipient), []).extend(queued)

    def make_unreachable(self, recipients: Iterable[str]) -> None:
        """Messages sent to these numbers from now on end ``UNDELIV``."""
        self.unreachable.update(_digits(number) for number in recipients)

    def force_status(self, ids: Iterable[int], status: str) -> int:
        """Give these messages ``status`` from now on; how many of them exist."""
        expect(status in STATUSES, f"status is one of {', '.join(STATUSES)}")
        known = [number for number in ids if number in self.records]
        self.forced.update(dict.fromkeys(known, status))
        return len(known)

    def status_of(self, record: Record) -> str:
        """The message's status now."""
        forced = self.forced.get(record.id)
        if forced is not None:
            return forced
        due = (self.clock() - record.at) * 1000 >= self.deliver_after_ms
        return record.fate if due else "ACCEPTD"

    def messages(self, recipient: str | None = None, limit: int = 50) -> list[Record]:
        """The newest accepted messages first, to ``recipient`` only when given."""
        wanted = None if recipient is None else _digits(recipient)
        found = (r for r in reversed(self.records.values())
                 if wanted is None or r.recipient == wanted)
        return list(itertools.islice(found, max(0, limit)))

    def stats(self) -> dict[str, Any]:
        """Totals: accepted messages, errors by fault, distinct recipients."""
        return {"accepted": self.accepted, "errors": dict(self.errors),
                "recipients": len(self.recipients)}

    def clear(self) -> None:
        """Forget the messages and counters (the faults stay)."""
        self.records.clear()
        self.forced.clear()
        self.errors.clear()
        self.recipients.clear()
        self.accepted = 0

    def reset(self) -> None:
        """Back to new: no messages, no counters, no faults."""
        self.clear()
        self.configure(unreachable=(), script={})

    def call(self, module: str, method: str, params: dict[str, list[str]]) -> Answer:
        """Answer one API call as Mobizon would."""
        if _first(params, "apiKey") != self.api_key:
            return self._refuse("LOGIN")
        if _first(params, "output") not in (None, "json"):
            return _answer(6, "Only output=json is served here.")
        if module != "message":
            return _answer(4, f"Unknown module {module[:32]!r}.")
        if method == "sendsmsmessage":
            return self._send(params)
        if method == "getsmsstatus":
            return self._status(params)
        return _answer(5, f"Unknown method {method[:32]!r}.")

    def _send(self, params: dict[str, list[str]]) -> Answer:
        recipient = (_first(params, "recipient") or "").removeprefix("+")
        text = _first(params, "text") or ""
        validity = _first(params, "params[validity]")
        if _RECIPIENT.fullmatch(recipient) is None:
            return self._refuse("INVALID_RECIPIENT")
        if not text:
            return _answer(1, "", {"text": "The message text is empty."})
        if validity is not None and not (validity.isdecimal() and 60 <= int(validity) <= 1440):
            return _answer(1, "", {"validity": "From 60 to 1440 minutes."})
        fault = self._fault(recipient)
        if fault is not None and fault not in LOST:
            return self._refuse(fault)
        record = self._record(recipient, _first(params, "from"), text,
                              None if validity is None else int(validity))
        answer = _answer(0, "", {"campaignId": record.id, "messageId": record.id,
                                 "status": 2})
        return answer if fault is None else Answer(200, answer.body, lost=fault)

    def _status(self, params: dict[str, list[str]]) -> Answer:
        fault = self._fault("status")
        if fault is not None and fault not in LOST:
            return self._refuse(fault)
        raw = [part for value in _all(params, "ids") for part in value.split(",") if part]
        if not raw:
            return _answer(2, "No message ids were given.")
        if len(raw) > MAX_STATUS_IDS:
            return _answer(12, f"At most {MAX_STATUS_IDS} ids a request.")
        found = [self.records[int(v)] for v in raw if v.isdecimal() and int(v) in self.records]
        data = []
        for record in found:
            status = self.status_of(record)
            data.append({"id": record.id, "status": status, "segNum": record.segments.count,
                         "startSendTs": _stamp(record.at),
                         "statusUpdateTs": _stamp(record.at if status == "ACCEPTD"
                                                  else self.clock())})
        return _answer(0, "", data)

    def _record(self, recipient: str, sender: str | None, text: str,
                validity: int | None) -> Record:
        self.accepted += 1
        self.recipients.add(recipient)
        fate = "UNDELIV" if recipient in self.unreachable else "DELIVRD"
        record = Record(self.accepted, next(self._ids), self.clock(), recipient, sender, text,
                        validity, segments(text), fate)
        self.records[record.id] = record
        while len(self.records) > self.keep:
            old, _ = self.records.popitem(last=False)
            self.forced.pop(old, None)
        return record

    def _fault(self, target: str) -> str | None:
        """The fault this call gets, if any: the target's script first, then the rates (sends
        only)."""
        queue = self.script.get(target)
        if queue:
            fault = queue.pop(0)
            if not queue:
                del self.script[target]
            return fault
        if self.rates and target != "status":
            roll = self._rng.random()
            for fault, share in self.rates.items():
                roll -= share
                if roll < 0:
                    return fault
        return None

    def _refuse(self, name: str) -> Answer:
        self.errors[name] = self.errors.get(name, 0) + 1
        fault = FAULTS[name]
        headers = None
        if name in WAIT_HEADERS and (self.retry_after is not None or name == "HTTP_429"):
            headers = {"Retry-After": str(1 if self.retry_after is None else self.retry_after)}
        if fault.code is None:
            return Answer(fault.status, fault.message, headers)
        return Answer(fault.status, _answer(fault.code, fault.message, fault.data).body,
                      headers)


def _answer(code: int, message: str, data: Any = None) -> Answer:
    """Mobizon's envelope, over HTTP 200 (Mobizon answers its own errors with 200)."""
    return Answer(200, {"code": code, "data": [] if data is None else data,
                        "message": message})


def expect(condition: bool, problem: str) -> None:
    """Raise ``ValueError(problem)`` unless ``condition``."""
    if not condition:
        raise ValueError(problem)


def _check_faults(names: Iterable[str]) -> None:
    for name in names:
        expect(name in FAULTS, f"unknown fault {name!r}")


def _digits(number: str) -> str:
    return str(number).removeprefix("+")


def target_of(key: str) -> str:
    """A script's key: a number's digits, or ``status``."""
    return "status" if key == "status" else _digits(key)


def _first(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[-1] if values else None


def _all(params: dict[str, list[str]], name: str) -> list[str]:
    """``name``, ``name[]`` and ``name[N]``: the forms a form encoder gives a list."""
    return [v for key, values in params.items()
            if key == name or (key.startswith(f"{name}[") and key.endswith("]"))
            for v in values]


def iso(at: float) -> str:
    """``at`` in UTC, ISO 8601."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
