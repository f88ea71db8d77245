"""One generated request and how it travels: a JSON body by POST (the usual way), or the same
members as query parameters of a GET (Apollo's persisted-query GET, and what a browser sends).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from tests.fuzz.values import body_bytes

Method = Literal["POST", "GET"]


@dataclass(frozen=True)
class FuzzRequest:
    """The members of one GraphQL request; ``variables`` and ``extensions`` may be JSON of
    any type, and ``query`` may be left out (a persisted operation named by its hash)."""

    query: str | None
    variables: Any = None
    operation_name: str | None = None
    has_variables: bool = False
    extensions: Any = None
    has_extensions: bool = False
    method: Method = "POST"
    headers: tuple[tuple[str, bytes], ...] = ()
    """Extra headers; an ``Authorization`` here replaces the caller's."""

    def payload(self) -> dict[str, Any]:
        """The members as a dict (``RawJson`` tokens still inside)."""
        body: dict[str, Any] = {}
        if self.query is not None:
            body["query"] = self.query
        if self.has_variables:
            body["variables"] = self.variables
        if self.operation_name is not None:
            body["operationName"] = self.operation_name
        if self.has_extensions:
            body["extensions"] = self.extensions
        return body

    def body(self) -> bytes:
        """The JSON body of a POST."""
        return body_bytes(self.payload())

    def url(self) -> str:
        """The path and query string of a GET (JSON members as JSON text; text that is not
        UTF-8, such as a lone surrogate, percent-encoded as the bytes Python would write)."""
        params = []
        for key, value in self.payload().items():
            text = value if key in ("query", "operationName") else body_bytes(value).decode()
            params.append(f"{key}={quote(text.encode('utf-8', 'surrogatepass'), safe='')}")
        return "/graphql?" + "&".join(params)

    async def send(self, client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
        """Send it with ``headers`` (the caller's credentials) and its own."""
        sent = {name.encode(): value.encode() for name, value in headers.items()}
        if self.method == "POST":
            sent[b"Content-Type"] = b"application/json"
        sent.update((name.encode(), value) for name, value in self.headers)
        if self.method == "GET":
            return await client.get(self.url(), headers=sent)
        return await client.post("/graphql", content=self.body(), headers=sent)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary for the findings file (long values cut)."""
        summary: dict[str, Any] = {"method": self.method, "query": (self.query or "")[:4000]}
        if self.headers:
            summary["headers"] = {name: value.decode()[:300] for name, value in self.headers}
        for key, value in self.payload().items():
            if key != "query":
                summary[key] = body_bytes(value).decode()[:2000]
        return summary

    def __repr__(self) -> str:
        return f"FuzzRequest({json.dumps(self.describe(), ensure_ascii=True, indent=2)})"
