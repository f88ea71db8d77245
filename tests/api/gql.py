"""Talking GraphQL to the app the way the mobile app does: POST /graphql with a bearer token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

OPERATIONS = Path(__file__).resolve().parents[2] / "mobile_contract" / "operations"
EXAMPLES = Path(__file__).resolve().parents[2] / "graphql" / "operations"


def operation(name: str) -> str:
    """The text of one of the app's operations in ``mobile_contract/operations``, or else of
    the desk's and integrators' examples in ``graphql/operations``."""
    path = OPERATIONS / f"{name}.graphql"
    if not path.exists():
        path = EXAMPLES / f"{name}.graphql"
    return path.read_text(encoding="utf-8")


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a query; the HTTP status must be 200 (GraphQL errors travel in the body)."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    response = await client.post("/graphql", json=payload, headers=all_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a response that must have no errors."""
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def codes(body: dict[str, Any]) -> list[str]:
    """The ``extensions.code`` of every error in a response."""
    return [error["extensions"]["code"] for error in body.get("errors", [])]
