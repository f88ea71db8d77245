"""The one error hierarchy of the backend.

Each error carries the code that clients see in GraphQL ``extensions.code`` (and the HTTP
status used when it crosses a plain HTTP endpoint).  Its message is one string, or the same
message in several languages (``backend.messages.message``), shown in the reader's language.
Messages never contain personal data.
"""

from __future__ import annotations

from collections.abc import Mapping


class AppError(Exception):
    """An expected error a client should see as it is."""

    code = "INTERNAL"
    status_code = 500
    reason: str | None = None
    """A finer, stable cause a client may act on (``TOKEN_EXPIRED``: refresh the session)."""

    def __init__(self, message: str | Mapping[str, str]) -> None:
        texts = {"en": message} if isinstance(message, str) else dict(message)
        self.texts = texts
        self.message = texts.get("en") or next(iter(texts.values()))
        super().__init__(self.message)

    def message_in(self, language: str) -> str:
        """The message in ``language`` when it exists, else in English."""
        return self.texts.get(language, self.message)


class Unauthenticated(AppError):
    """No valid credentials for something that needs them."""

    code = "UNAUTHENTICATED"
    status_code = 401


class Forbidden(AppError):
    """Valid credentials that do not allow this."""

    code = "FORBIDDEN"
    status_code = 403


class NotFound(AppError):
    """Nothing there, or nothing this principal may see."""

    code = "NOT_FOUND"
    status_code = 404


class BadUserInput(AppError):
    """Input a client can fix."""

    code = "BAD_USER_INPUT"
    status_code = 400


class RateLimited(AppError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    code = "RATE_LIMITED"
    status_code = 429

    def __init__(self, message: str | Mapping[str, str], retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
