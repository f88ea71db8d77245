"""Errors raised by ``auth``; the API renders them with ``extensions.code``.

Each carries a stable ``reason`` (``WRONG_CODE``, ``CODE_EXPIRED``...) that the API turns into
a message in the reader's language; the English ``message`` here is for developers.
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of auth errors: ``code`` is what a client sees in ``extensions.code``."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str, reason: str = "UNAUTHENTICATED") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class InvalidToken(AuthError):
    """A bearer token that is malformed, unsigned, expired, for another audience or unknown."""


class RateLimited(AuthError):
    """Too many attempts: try again after ``retry_after`` seconds."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} s.", "RATE_LIMITED")
        self.retry_after = retry_after


class Refused(AuthError):
    """Something the person can fix (a wrong or expired code): a user error, not a fault.

    ``reason`` is one of ``IIN_INVALID``, ``PHONE_INVALID``, ``WRONG_CODE``, ``CODE_EXPIRED``,
    ``CODE_ATTEMPTS_EXHAUSTED``, ``WRONG_CREDENTIALS``, ``WINDOW_CLOSED`` (the API answers a
    closed window as ``FORBIDDEN``); ``field`` names the input.
    """

    code = "BAD_USER_INPUT"

    def __init__(self, reason: str, message: str, field: str | None = None,
                 attempts_left: int | None = None) -> None:
        super().__init__(message, reason)
        self.field = field
        self.attempts_left = attempts_left
