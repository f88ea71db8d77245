"""Bulk ingestion: ``POST /ingest/contributions`` and ``POST /ingest/service-payments``.

The body is NDJSON of any size (one record per line, as in ``backend.ingest.contributions``
and ``backend.ingest.service_payments``), streamed straight into PostgreSQL's COPY: the
server holds no more of it than one network chunk.  The whole file is one transaction:
a broken connection or a crash leaves the database as it was, and sending the file again
does it all.  The answer is JSON: the counts and every refused or flagged record.
Authorization: an integrator's bearer token with ``contributions:write`` or
``services:write``; each file counts as one request of the client's budget.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from auth.errors import RateLimited
from auth.principals import Integrator, Scope
from backend.gql.context import language_from_header
from backend.ingest.pipeline import IngestResult

ROUTES = {
    "contributions": Scope.CONTRIBUTIONS_WRITE,
    "service-payments": Scope.SERVICES_WRITE,
}


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def summary(result: IngestResult, language: str) -> dict[str, Any]:
    """The JSON answer to a file."""
    return {
        "batchId": result.batch_id, "records": result.records, "accepted": result.accepted,
        "duplicates": result.duplicates, "rejected": result.rejected,
        "statusesChanged": result.statuses_changed,
        "issues": [{"line": r.line, "recordId": r.record_id, "code": r.code,
                    "message": r.message(language), "flags": list(r.flags)}
                   for r in result.rejections],
    }


def add_bulk_ingest(app: FastAPI) -> None:
    """Mount the two bulk endpoints."""

    @app.post("/ingest/{kind}", include_in_schema=False)
    async def bulk(kind: str, request: Request) -> JSONResponse:
        scope = ROUTES.get(kind)
        if scope is None:
            return _error(404, "NOT_FOUND", "Post to /ingest/contributions or "
                                            "/ingest/service-payments.")
        runtime = request.app.state.runtime
        principal = await runtime.auth.principal_from_header(
            request.headers.get("authorization"))
        if not isinstance(principal, Integrator):
            return _error(401, "UNAUTHENTICATED", "Send an integrator's bearer token.",
                          {"WWW-Authenticate": "Bearer"})
        if scope not in principal.scopes:
            return _error(403, "FORBIDDEN", f"The client does not hold the scope "
                                            f"'{scope.value}'.")
        try:
            await runtime.auth.clients.spend_request(principal.client_id,
                                                     principal.requests_per_minute)
        except RateLimited as limited:
            return _error(429, "RATE_LIMITED", "Too many requests.",
                          {"Retry-After": str(limited.retry_after)})
        ingestion = runtime.ingestion
        result = await ingestion.stream(ingestion.kind(kind.replace("-", "_")),
                                        principal.client_id, request.stream())
        language = language_from_header(request.headers.get("accept-language"))
        return JSONResponse(summary(result, language), headers={"Cache-Control": "no-store"})
