"""Logging that never writes personal data, and names the request every line belongs to.

Every handler gets ``RedactingFormatter``: whatever a message or a traceback carries (an
asyncpg error detail quoting a key, a token echoed by a library, a value a client sent),
these are replaced before the line is written:

- JWTs (``[token]``), refresh tokens and client secrets (``[secret]``), FCM registration
  tokens (``<instance id>:APA91…``, ``[push-token]``);
- 12 digits in a row (IIN or BIN, ``[iin]``), and 12 digits written in groups with spaces,
  dashes or dots (``790303 402568``, ``790-303-402-568``, ``7903 0340 2568``) when they begin
  with a date (``YYMMDD``) as an IIN does: grouped amounts such as ``100 000 000 000`` do not;
- Kazakhstan phone numbers (``[phone]``): ten digits beginning with 7 (``7011234567``),
  alone or after ``+7``, ``7`` or ``8`` (``87011234567``, ``+7 (701) 123-45-67``), with
  spaces, dashes, dots or parentheses between the digits.  The price: a ten-digit number
  beginning with 7 (an amount of 70 million tenge or more, in tiyn) is masked as well.
  Timestamps, dates and shorter amounts are left alone.

``RequestContext`` (a filter on each handler) stamps each record with ``request_id``, the id
of the request being handled (a context variable set by ``backend.api.request_id``; ``-``
outside a request), and takes the query string out of uvicorn's access lines and httpx's
request lines, which would otherwise quote what a client put in a URL (percent-encoded, out of
reach of the patterns).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextvars import ContextVar

_DATE = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_SEPARATED = r"[ .+\-\u00a0]"
_PHONE_GAP = r"[\s().+\-]{0,3}"
_NOT_DIGIT = re.compile(r"\D")
_IIN_DIGITS = re.compile(_DATE + r"\d{6}")


def _grouped_iin(match: re.Match[str]) -> str:
    """A 12-digit run with separators is masked when it reads as an IIN (a birth date
    first), so that a grouped amount such as ``100 000 000 000`` stays readable."""
    digits = _NOT_DIGIT.sub("", match.group(0))
    return "[iin]" if _IIN_DIGITS.fullmatch(digits) else match.group(0)


PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[token]"),
    (re.compile(r"\b(?:rt\.|cs_)[\w-]{20,}"), "[secret]"),
    (re.compile(r"[\w-]{8,}:APA91[\w-]{20,}"), "[push-token]"),
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[iin]"),
    (re.compile(rf"(?<![\d.])\d(?:{_SEPARATED}?\d){{11}}(?![\d]|[.\-]\d)"), _grouped_iin),
    (re.compile(rf"(?<![\d+])(?:(?:\+\s*7|7|8){_PHONE_GAP})?7(?:{_PHONE_GAP}\d){{9}}(?!\d)"),
     "[phone]"),
)
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

request_id: ContextVar[str] = ContextVar("request_id", default="-")
"""The id of the request being handled (``-`` outside one)."""


def redact(text: str) -> str:
    """``text`` with identifiers, phone numbers and tokens masked."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message and traceback) goes through ``redact``.

    A record without ``request_id`` (a handler without ``RequestContext``) shows ``-``.
    """

    def __init__(self, fmt: str | None = FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_URL_ARGUMENT = {"uvicorn.access": 2, "httpx": 1}
"""Which argument of these loggers' records is a URL (uvicorn's access line, httpx's
``HTTP Request: GET <url>``): its query string is dropped."""


class RequestContext(logging.Filter):
    """Stamps ``request_id`` on every record and strips query strings from request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        index = _URL_ARGUMENT.get(record.name)
        if index is not None and isinstance(record.args, tuple) and len(record.args) > index:
            url = str(record.args[index]).partition("?")[0]
            record.args = (*record.args[:index], url, *record.args[index + 1:])
        return True


def prepare(handler: logging.Handler) -> logging.Handler:
    """``handler`` with the redacting formatter and the request context (what every handler
    of the API and the worker gets)."""
    handler.setFormatter(RedactingFormatter(FORMAT))
    if not any(isinstance(known, RequestContext) for known in handler.filters):
        handler.addFilter(RequestContext())
    return handler
