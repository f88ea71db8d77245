"""The one error ``notifications`` raises at its callers: a code they map to their own words."""

from __future__ import annotations


class NotifyError(ValueError):
    """Bad input to the notification service, named by ``code`` (``TOKEN_INVALID``,
    ``CATEGORY_NOT_MUTABLE``, ...); the API turns it into a localized ``BAD_USER_INPUT``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
