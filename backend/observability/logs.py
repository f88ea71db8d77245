"""Log lines as one JSON object each (python-json-logger), redacted field by field.

Every long-running process (``mhi serve``, ``mhi worker``, ``mhi fcm-local``,
``mhi sms-local``, ``mhi witness serve``) logs through the root logger, which ``mhi``'s entry
point configures here once (``configure_logging``).  ``LOG_FORMAT`` chooses the shape:

- ``json`` (the default outside development): one object a line, for a log collector::

    {"time": "2026-12-07T02:10:00.123Z", "level": "INFO", "logger": "uvicorn.access",
     "message": "...", "request_id": "5f0c...", "trace_id": "4bf9...", "span_id": "00f0..."}

  ``request_id`` is there while a request (``backend.api.request_id``) or a worker's job
  (``backend.observability.traces_worker``) is being handled, ``trace_id`` and ``span_id``
  while a span is current (tracing on, ``backend.observability.traces``); an exception's
  traceback is ``exception``; whatever a caller passed in ``extra`` is a field of its own.
- ``text`` (the default in development, where a person reads a terminal): the line
  ``backend.logs.FORMAT`` has always written.

**Redaction is per field.**  ``backend.logs.redact`` (IINs, phones, JWTs, refresh tokens,
client secrets, push tokens) runs on every string of the object before it is serialized:
the message, the traceback, every extra field (also inside lists and dicts, and keys), and a
number whose digits read as an IIN or a phone (``extra={"phone": 77011234567}``).  Redacting
the serialized text instead would miss what JSON escapes (a non-breaking space written
``\\u00a0`` between an IIN's digit groups).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder, JsonFormatter

from backend.logs import FORMAT, RedactingFormatter, RequestContext, redact, request_id

_NOT_FIELDS = [*RESERVED_ATTRS, "color_message", "request_id", "message", "asctime"]
"""Record attributes that are not extra fields: the standard ones, uvicorn's coloured copy
of the message, and what ``JsonLogFormatter`` writes under its own names."""
_NO_ID = "-"
_OWN_FIELDS = frozenset({"time", "level", "logger", "request_id"})


class LogSettings(BaseSettings):
    """``LOG_FORMAT`` (``json`` or ``text``); unset: text in development, JSON elsewhere."""

    model_config = SettingsConfigDict(env_prefix="LOG_", env_file=".env", extra="ignore")

    format: Literal["json", "text"] | None = Field(
        default=None, description="json: one object a line (collectors); text: the classic "
                                  "line. Unset: text when APP_ENVIRONMENT is development.")
    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias=AliasChoices("APP_ENVIRONMENT"))

    @property
    def json_lines(self) -> bool:
        """Whether lines are JSON objects."""
        if self.format is not None:
            return self.format == "json"
        return self.environment != "development"


def rfc3339(created: float) -> str:
    """A record's time in UTC, RFC 3339 with milliseconds (``2026-12-07T02:10:00.123Z``)."""
    stamp = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return stamp.removesuffix("+00:00") + "Z"


def scrub(value: Any) -> Any:
    """``value`` with every string (keys included) redacted, containers walked, and numbers
    whose digits redaction would mask turned into the masked text; anything else is first
    made plain JSON (as the encoder would write it), then scrubbed."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        text = str(value)
        masked = redact(text)
        return value if masked == text else masked
    if isinstance(value, Mapping):
        return {redact(str(key)): scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item) for item in value]
    return scrub(json.loads(json.dumps(value, cls=JsonEncoder, ensure_ascii=False)))


class JsonLogFormatter(JsonFormatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message``, ``request_id``,
    ``trace_id``/``span_id`` when known, extra fields, ``exception``; every value redacted."""

    def __init__(self) -> None:
        super().__init__(reserved_attrs=_NOT_FIELDS, json_ensure_ascii=False,
                         rename_fields={"exc_info": "exception", "stack_info": "stack"})

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        """The fixed fields first (in this order), then python-json-logger's: the extras and
        the traceback."""
        log_data["time"] = rfc3339(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        current = getattr(record, "request_id", None) or request_id.get()
        if current != _NO_ID:
            log_data["request_id"] = current
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            log_data["trace_id"] = format(context.trace_id, "032x")
            log_data["span_id"] = format(context.span_id, "016x")
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Every field through redaction (see the module), but those this formatter made of
        what is never personal (the time, the level, the code's logger name, the request id,
        checked when it was made: ``request_id_for``, ``new_request_id``).  A trace id is
        redacted: a caller's ``traceparent`` chose it."""
        return {key if key in _OWN_FIELDS else redact(key):
                value if key in _OWN_FIELDS else scrub(value)
                for key, value in log_data.items()}


def formatter_for(settings: LogSettings) -> logging.Formatter:
    """The formatter ``settings`` ask for (both redact)."""
    return JsonLogFormatter() if settings.json_lines else RedactingFormatter(FORMAT)


def prepare(handler: logging.Handler, settings: LogSettings) -> logging.Handler:
    """``handler`` with the chosen formatter and the request context filter."""
    handler.setFormatter(formatter_for(settings))
    if not any(isinstance(known, RequestContext) for known in handler.filters):
        handler.addFilter(RequestContext())
    return handler


def configure_logging(level: int = logging.INFO, settings: LogSettings | None = None) -> None:
    """Root logging to stderr in the format ``settings`` (default: the environment's) choose;
    idempotent (every root handler is prepared)."""
    settings = settings or LogSettings()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        prepare(handler, settings)
    root.setLevel(level)
