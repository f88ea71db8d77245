"""Errors raised by ``auth``; the API renders them with ``extensions.code``."""

from __future__ import annotations


class AuthError(Exception):
    """Base of auth errors: ``code`` is what a client sees in ``extensions.code``."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidToken(AuthError):
    """A bearer token that is malformed, unsigned, expired, for another audience or unknown."""
