"""Unexpected errors reach clients as INTERNAL with a fixed message, never their details."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import strawberry

from backend.errors import Forbidden, RateLimited
from backend.gql.errors import INTERNAL_MESSAGE, ErrorCodes
from backend.logs import RedactingFormatter


@strawberry.type
class Query:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("SELECT * FROM core.person WHERE iin = '790303402568'")

    @strawberry.field
    def forbidden(self) -> str:
        raise Forbidden("You may not see this.")

    @strawberry.field
    def throttled(self) -> str:
        raise RateLimited("Too many attempts.", retry_after=42)


schema = strawberry.Schema(query=Query, extensions=[ErrorCodes])


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """What the app's log handler writes, through the same redacting formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("backend.gql.errors")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


async def test_unexpected_error_is_masked_and_logged_without_personal_data(
    log_stream: io.StringIO,
) -> None:
    result = await schema.execute("{ broken }")
    assert result.errors is not None
    error = result.errors[0].formatted
    assert error["message"] == INTERNAL_MESSAGE
    assert error["extensions"] == {"code": "INTERNAL"}
    assert "790303402568" not in str(error)
    logged = log_stream.getvalue()
    assert "unexpected error in broken" in logged
    assert "RuntimeError" in logged
    assert "790303402568" not in logged and "[iin]" in logged


async def test_known_errors_keep_message_and_code() -> None:
    result = await schema.execute("{ forbidden }")
    assert result.errors is not None
    assert result.errors[0].formatted["extensions"] == {"code": "FORBIDDEN"}
    assert result.errors[0].message == "You may not see this."


async def test_rate_limit_says_when_to_retry() -> None:
    result = await schema.execute("{ throttled }")
    assert result.errors is not None
    assert result.errors[0].formatted["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 42}
