"""Logging that never writes personal data.

Every handler gets ``RedactingFormatter``: whatever a message or a traceback carries (an
asyncpg error detail quoting a key, a token echoed by a library), 12-digit identifiers (IIN,
BIN), Kazakhstan phone numbers, JWTs, refresh tokens and client secrets are replaced before
the line is written.
"""

from __future__ import annotations

import logging
import re

PATTERNS = (
    (re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[token]"),
    (re.compile(r"\b(?:rt\.|cs_)[\w-]{20,}"), "[secret]"),
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[iin]"),
    (re.compile(r"(?:\+7|(?<!\d)8)[\s(-]*7\d{2}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)"),
     "[phone]"),
)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str) -> str:
    """``text`` with identifiers, phone numbers and tokens masked."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message and traceback) goes through ``redact``."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: int = logging.INFO) -> None:
    """Root logging to stderr through the redacting formatter (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(RedactingFormatter(FORMAT))
    root.setLevel(level)
