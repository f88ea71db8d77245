"""Bulk ingestion: ``POST /ingest/contributions`` and ``POST /ingest/service-payments``.

The body is NDJSON (one record per line, as in ``backend.ingest.contributions`` and
``backend.ingest.service_payments``), streamed straight into PostgreSQL's COPY: the server
holds no more of it than one network chunk.  A body over ``IngestLimits.max_body_bytes``
is refused with 413 and ``BAD_REQUEST`` (``limit: body_size``), before reading when its
``Content-Length`` says so, else as soon as that much has arrived; nothing is stored.  The
whole file is one transaction: a broken connection or a crash leaves the database as it
was, and sending the file again does it all.  The answer is JSON: the counts, the refusals
and flags counted per code and per flag, and the first ``IngestLimits.issues_per_code``
lines of each listed.
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
from backend.ingest.pipeline import BodyTooLarge, IngestResult
from backend.messages import message

ROUTES = {
    "contributions": Scope.CONTRIBUTIONS_WRITE,
    "service-payments": Scope.SERVICES_WRITE,
}


def _error(status: int, code: str, text: str, headers: dict[str, str] | None = None,
           **extra: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": text, **extra}},
                        status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def summary(result: IngestResult, language: str) -> dict[str, Any]:
    """The JSON answer to a file: the counts, all refusals and flags counted by code and
    flag, and the first of each listed (``issuesTruncated``: some were left out)."""
    return {
        "batchId": result.batch_id, "records": result.records, "accepted": result.accepted,
        "duplicates": result.duplicates, "rejected": result.rejected,
        "statusesChanged": result.statuses_changed,
        "rejectedByCode": dict(result.rejected_by_code),
        "flaggedByFlag": dict(result.flagged_by_flag),
        "issuesTruncated": result.issues_truncated,
        "issues": [{"line": r.line, "recordId": r.record_id, "code": r.code,
                    "message": r.message(language), "flags": list(r.flags)}
                   for r in result.rejections],
    }


def _too_large(max_bytes: int, language: str) -> JSONResponse:
    text = message("body_too_large", max=max_bytes)
    return _error(413, "BAD_REQUEST", text[language], limit="body_size")


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
        language = language_from_header(request.headers.get("accept-language"))
        max_bytes = ingestion.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return _too_large(max_bytes, language)
        try:
            result = await ingestion.stream(ingestion.kind(kind.replace("-", "_")),
                                            principal.client_id, request.stream())
        except BodyTooLarge:
            return _too_large(max_bytes, language)
        return JSONResponse(summary(result, language), headers={"Cache-Control": "no-store"})
