"""The error catalogue: every ``extensions.code`` a client can see, and what to do about it.

These names are a contract with the app and with integrators: a code is never renamed or
reused for another meaning (add a new one instead).  ``docs/errors.md`` is written from this
table by ``mhi export-schema``, and a test fails when the code answers with a code missing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class ErrorCode(NamedTuple):
    """One code: when it is answered, the HTTP status where it crosses plain HTTP, and what
    the client should do."""

    meaning: str
    http_status: int
    client_action: str


CATALOGUE: Mapping[str, ErrorCode] = {
    "UNAUTHENTICATED": ErrorCode(
        "No valid credentials (missing, malformed, expired or revoked token; wrong client "
        "secret). `extensions.reason` says which (`TOKEN_EXPIRED`: refresh the session).",
        401, "Sign in again, or refresh the session when the reason is TOKEN_EXPIRED."),
    "FORBIDDEN": ErrorCode(
        "Valid credentials that do not allow this (another audience, a missing scope, a "
        "closed consent window).", 403, "Do not retry; ask for the right scope or consent."),
    "NOT_FOUND": ErrorCode(
        "Nothing there, or nothing this principal may see (the two are not told apart).",
        404, "Do not retry with the same id."),
    "BAD_USER_INPUT": ErrorCode(
        "A value the client or the person can fix: a wrong IIN, code, cursor, id, date, "
        "time zone, a string too long, a variable of the wrong type; `extensions.field` or "
        "`extensions.limit` may say which.", 400, "Fix the value and send again."),
    "BAD_REQUEST": ErrorCode(
        "The request itself cannot be read: not UTF-8, not JSON, not a JSON object, a body "
        "over the size limit, JSON nested too deeply.", 400, "Fix the client; do not retry."),
    "REQUEST_TIMEOUT": ErrorCode(
        "The request's body arrived too slowly (a read waited longer than the limit, or the "
        "body came slower than its minimum rate); `extensions.limit` is `body_time`. The "
        "connection is closed.", 408, "Send the body at once, on a working connection; retry."),
    "GRAPHQL_PARSE_FAILED": ErrorCode(
        "The document is not valid GraphQL syntax.", 400, "Fix the document."),
    "GRAPHQL_VALIDATION_FAILED": ErrorCode(
        "The document does not fit the schema (an unknown field, a wrong argument type).",
        400, "Fix the document against graphql/schema.graphql."),
    "RATE_LIMITED": ErrorCode(
        "Too many attempts or too much cost in a window. `extensions.retryAfter` gives the "
        "seconds to wait.", 429, "Wait retryAfter seconds."),
    "QUERY_TOO_COSTLY": ErrorCode(
        "The operation's estimated cost is over the cap for this kind of caller (anonymous "
        "callers have the smallest), or too many fields answer at one place of the response; "
        "`extensions.cost` gives `requested` and `limit`. Nothing ran.", 400,
        "Ask for fewer items (a smaller `first`) or fewer fields; see docs/api.md."),
    "PERSISTED_QUERY_NOT_FOUND": ErrorCode(
        "`extensions.persistedQuery.sha256Hash` names no operation of "
        "mobile_contract/manifest.json (or the text sent with it is not that operation's).",
        400, "Send a hash from the manifest of this release; update the app."),
    "PERSISTED_QUERY_REQUIRED": ErrorCode(
        "In production, anonymous and citizen (app) requests must name an operation of the "
        "manifest by hash; a bare document is refused.", 400,
        "Send `extensions.persistedQuery` with the operation's sha256Hash."),
    "TIMEOUT": ErrorCode(
        "A query was still running when the per-request time limit ran out and was stopped "
        "(`extensions.limit` is `time`). Mutations are never stopped halfway.", 503,
        "Ask for less, or retry later."),
    "LOG_MISMATCH": ErrorCode(
        "A record, or the public log's storage, no longer agrees with what the verifiable log "
        "committed to and the witnesses cosigned: its proof does not verify, so none is "
        "served (the `proof` field of a receipt, a covered service or a look; "
        "`/log/proof/...`).", 409,
        "Show the person that this record does not match the Fund's public log, and how to "
        "report it; do not retry."),
    "INTERNAL": ErrorCode(
        "A fault on the server's side; the details are logged under the answer's requestId, "
        "never sent.", 500, "Retry later; report the requestId if it persists."),
}


def markdown() -> str:
    """The catalogue as the table of ``docs/errors.md``."""
    rows = [
        "# Error codes",
        "",
        "Every GraphQL error carries `extensions.code` (one of these) and every answer, error "
        "or not, carries `extensions.requestId` (also the `x-request-id` header) that names "
        "the server's log lines for that request. Codes are never renamed; new ones may be "
        "added. Written by `mhi export-schema` from `backend/error_codes.py`.",
        "",
        "| code | HTTP | when | what the client does |",
        "| --- | --- | --- | --- |",
    ]
    for code, entry in CATALOGUE.items():
        rows.append(f"| `{code}` | {entry.http_status} | {entry.meaning} | {entry.client_action} |")
    return "\n".join(rows) + "\n"
