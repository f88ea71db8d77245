"""The SMS operator: Mobizon's HTTP API (``api.mobizon.kz``), as ``SmsGateway`` and
``SmsDeliveryReports``.

Mobizon is an SMS aggregator with an API server of its own for Kazakhstan accounts; it takes
alphanumeric senders and gives message ids and delivery reports by query, which is what the
notifications worker needs.  Its reference, followed here:

- https://mobizon.kz/help/api-docs/sms-api (connecting: the key, the query, the answer),
- https://mobizon.kz/help/api-docs/message (``Message/SendSmsMessage``,
  ``Message/GetSMSStatus``),
- https://mobizon.kz/help/api-docs/other (API codes, message statuses); the same pages'
  sources are https://github.com/mobizon/mobizon-api-docs (``src/v1/en/message``,
  ``src/v1/en/_other``).

Every call is ``POST {AUTH_SMS_API_URL}/service/{module}/{method}?output=json&api=v1&apiKey=…``
with a form-encoded body, and every answer is JSON ``{"code": int, "data": …, "message": str}``:
``code`` 0 is success (100: accepted for background work), anything else an error.

- ``send``: ``message/sendsmsmessage`` with ``recipient`` (international, digits only:
  ``+77011234567`` goes as ``77011234567``), ``text``, ``from`` (the registered sender) and
  ``params[validity]`` (minutes the carrier keeps trying); ``data.messageId`` is the id.
- ``delivery_states``: ``message/getsmsstatus`` with ``ids`` (comma-separated, at most 100 a
  call); ``data`` lists ``{id, status, segNum, startSendTs, statusUpdateTs}`` for the ids the
  account knows.  ``DELIVRD`` is delivered; ``UNDELIV``, ``REJECTD``, ``EXPIRED`` and
  ``DELETED`` are undelivered (final); ``NEW``, ``ENQUEUD``, ``ACCEPTD`` and ``PDLIVRD`` (some
  parts delivered) are pending.

What a failure means (``SmsError``; its ``code`` names the cause and holds no personal data):

- a refusal of the message (code 1 on ``recipient``, ``text`` or ``from``; 11, 12) or of our
  request's shape (2, 4, 5, 6): ``retry=False``, trying again gives the same answer;
- the account (8 wrong key, 9 method not allowed, 13 another API server serves the account,
  14 blocked): ``retry=False`` and logged as an error: nothing changes until someone fixes
  the settings or the account, so the messages are dead-lettered rather than retried into a
  wall (and a bad key hammered against the operator);
- the operator's own trouble (3, 10, 15, 999, an unknown code), its rate limit (30), HTTP 429
  and 5xx, a refused or timed-out connection before the request left: ``retry=True``, with
  ``retry_after`` from ``Retry-After`` when the answer has one.  Mobizon names no code of its
  own for an empty balance, so a refusal for money cannot be told apart from these general
  codes and is retried with them; topping the balance up then needs no deploy, and the
  worker's retry budget bounds the cost;
- the request left and no answer came (a read timeout, the connection dropped mid-answer, an
  HTTP 504 from a proxy, an unreadable 200): ``retry=True, maybe_sent=True``: a later try
  would work but may send the text twice; the caller decides.

The key travels in the query string as Mobizon documents it: this module never logs a URL,
a number or a text, and the application's log handlers drop query strings from httpx's
request lines (``backend.logs``).  ``sms-local`` (``auth.sms_local``) speaks this protocol
for development and tests.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final

import httpx

from auth.settings import AuthSettings
from auth.sms import SmsError

log = logging.getLogger(__name__)

API_VERSION: Final = "v1"
STATUS_BATCH: Final = 100  # ids per GetSMSStatus call, the API's maximum
SUCCESS: Final = frozenset({0, 100})
CODES: Final[dict[int, tuple[str, bool]]] = {
    # Mobizon API code: (name, retry)
    1: ("VALIDATION", False),
    2: ("NOT_FOUND", False),
    3: ("APPLICATION_ERROR", True),
    4: ("BAD_MODULE", False),
    5: ("BAD_METHOD", False),
    6: ("BAD_FORMAT", False),
    8: ("LOGIN", False),
    9: ("METHOD_DENIED", False),
    10: ("NOT_SAVED", True),
    11: ("MISSING_PARAMETER", False),
    12: ("BAD_PARAMETER", False),
    13: ("WRONG_SERVER", False),
    14: ("ACCOUNT_BLOCKED", False),
    15: ("OPERATION_FAILED", True),
    30: ("RATE_LIMITED", True),
    98: ("PARTLY_DONE", False),
    99: ("NOTHING_DONE", False),
    999: ("SERVICE_ERROR", True),
}
ACCOUNT_CODES: Final = frozenset({8, 9, 13, 14})
STATES: Final[dict[str, str]] = {
    "DELIVRD": "delivered",
    "UNDELIV": "undelivered", "REJECTD": "undelivered", "EXPIRED": "undelivered",
    "DELETED": "undelivered",
    "NEW": "pending", "ENQUEUD": "pending", "ACCEPTD": "pending", "PDLIVRD": "pending",
}
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_\[\]]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")
# The request never reached the operator: sending again cannot send twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
             httpx.UnsupportedProtocol)


class MobizonGateway:
    """Sends through Mobizon and asks it what became of the messages (one HTTP connection
    pool per gateway: make one per process and ``aclose`` it at the end)."""

    def __init__(self, api_url: str, api_key: str, *, sender: str | None = None,
                 validity_minutes: int | None = None, timeout_seconds: float = 10.0,
                 connect_timeout_seconds: float = 3.0, connections: int = 20) -> None:
        if not api_key:
            raise ValueError("Mobizon needs an API key")
        self._query = {"output": "json", "api": API_VERSION, "apiKey": api_key}
        self._sender = sender
        self._validity = validity_minutes
        self._client = httpx.AsyncClient(
            base_url=f"{api_url.rstrip('/')}/service/",
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections),
            headers={"Accept": "application/json"})

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> MobizonGateway:
        """The gateway ``AUTH_SMS_*`` describe; refuses to start without a key, and in
        production without HTTPS (the key travels in the URL)."""
        key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else ""
        if not key:
            raise RuntimeError("AUTH_SMS_GATEWAY=mobizon needs AUTH_SMS_API_KEY")
        if settings.environment == "production" and not settings.sms_api_url.startswith(
                "https://"):
            raise RuntimeError("AUTH_SMS_API_URL must be https:// in production")
        return cls(settings.sms_api_url, key, sender=settings.sms_sender,
                   validity_minutes=settings.sms_validity_minutes,
                   timeout_seconds=settings.sms_timeout_seconds,
                   connect_timeout_seconds=settings.sms_connect_timeout_seconds,
                   connections=settings.sms_connections)

    async def send(self, phone: str, text: str) -> str | None:
        """Hand ``text`` to Mobizon for ``phone`` (E.164); its message id (None when it took
        the message for background work and gave no id)."""
        if _E164.fullmatch(phone) is None:
            raise SmsError("INVALID_NUMBER", retry=False)
        form = {"recipient": phone[1:], "text": text}
        if self._sender:
            form["from"] = self._sender
        if self._validity is not None:
            form["params[validity]"] = str(self._validity)
        code, data = await self._call("message/sendsmsmessage", form)
        message_id = data.get("messageId") if code == 0 and isinstance(data, dict) else None
        return None if message_id in (None, "") else str(message_id)

    async def delivery_states(self, message_ids: Sequence[str]) -> dict[str, str]:
        """``delivered``, ``undelivered`` or ``pending`` for each id Mobizon knows, asked 100
        at a time; ids that are not Mobizon's (not numbers) or that it does not know are
        left out."""
        ours = [known for known in dict.fromkeys(message_ids) if known.isdecimal()]
        states: dict[str, str] = {}
        for start in range(0, len(ours), STATUS_BATCH):
            batch = ours[start:start + STATUS_BATCH]
            _, data = await self._call("message/getsmsstatus", {"ids": ",".join(batch)},
                                       none_found=True)
            asked = set(batch)
            for item in data if isinstance(data, list) else []:
                if isinstance(item, dict) and str(item.get("id")) in asked:
                    states[str(item["id"])] = _state(item.get("status"))
        return states

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> MobizonGateway:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.aclose()

    async def _call(self, method: str, form: dict[str, str], *,
                    none_found: bool = False) -> tuple[int, Any]:
        """``(code, data)`` of a successful call; ``SmsError`` otherwise.  ``none_found``: code
        2 (none of the records exists) is an empty success."""
        try:
            response = await self._client.post(method, params=self._query, data=form)
        except httpx.TransportError as error:
            raise _transport_error(error) from None
        code, data = _read(response)
        if code == 2 and none_found:
            return 0, []
        if code not in SUCCESS:
            raise _refusal(code, data, response)
        return code, data


def _read(response: httpx.Response) -> tuple[int, Any]:
    """The API code and data of an answer; ``SmsError`` when HTTP itself failed."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise SmsError(f"HTTP_{status}", retry=True, maybe_sent=status == 504,
                       retry_after=_retry_after(response))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or type(body.get("code")) is not int:
        if 200 <= status < 300:  # it took the request, and its answer cannot be read
            raise SmsError("BAD_ANSWER", retry=True, maybe_sent=True)
        raise SmsError(f"HTTP_{status}", retry=False)
    return body["code"], body.get("data")


def _refusal(code: int, data: Any, response: httpx.Response) -> SmsError:
    """The ``SmsError`` for API ``code`` (``CODES``); account problems are logged."""
    name, retry = CODES.get(code, ("UNKNOWN", True))
    label = f"MOBIZON_{code}_{name}"
    if code == 1 and isinstance(data, dict):
        fields = sorted(str(key) for key in data if _FIELD.fullmatch(str(key)))[:4]
        label += (":" + ",".join(fields)) if fields else ""
    if code in ACCOUNT_CODES:
        server = data.get("server") if isinstance(data, dict) else data
        hint = (f" (it names {server})" if code == 13 and isinstance(server, str)
                and _HOST.fullmatch(server) else "")
        log.error("the SMS operator refused the account (%s)%s: check AUTH_SMS_API_KEY, "
                  "AUTH_SMS_API_URL and the account", label, hint)
    return SmsError(label, retry=retry, retry_after=_retry_after(response) if retry else None)


def _transport_error(error: httpx.TransportError) -> SmsError:
    """What a transport failure means: before the request left, retry; after, maybe sent."""
    name = type(error).__name__
    if isinstance(error, _NOT_SENT):
        return SmsError(f"NOT_CONNECTED ({name})", retry=True)
    return SmsError(f"NO_ANSWER ({name})", retry=True, maybe_sent=True)


def _state(status: Any) -> str:
    """Our state for a Mobizon status; one we do not know is pending (and logged)."""
    state = STATES.get(str(status).upper())
    if state is None:
        log.warning("unknown SMS status %r read as pending", str(status)[:16])
        return "pending"
    return state


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), if the answer has one."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
