"""``POST /oauth/token``: the OAuth 2.0 client-credentials grant for integrators (RFC 6749 §4.4).

Client authentication by HTTP Basic (preferred, §2.3.1) or ``client_id`` and
``client_secret`` in the form body.  Errors are RFC 6749 §5.2 JSON bodies; a throttled
client gets 429 with ``Retry-After``.  Responses are never cached (§5.1).

The body is limited while it streams (``backend.api.body_limit``, ``MAX_BODY``); a body that
is not UTF-8, or credentials with control characters (``client_id=%00``), are refused as
``invalid_request`` before anything is looked up.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from auth.clients import OAuthError
from auth.errors import RateLimited

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_BODY = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _error(error: str, description: str, status: int = 400,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description},
                        status_code=status, headers={**NO_STORE, **(headers or {})})


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
        return None
    client_id, separator, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if separator else None


def add_oauth(app: FastAPI) -> None:
    """Mount the token endpoint."""

    @app.post("/oauth/token", include_in_schema=False)
    async def token(request: Request) -> JSONResponse:
        if not request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            return _error("invalid_request", "Send application/x-www-form-urlencoded.")
        body = await request.body()
        try:
            form = {key: values[0] for key, values in parse_qs(body.decode(),
                                                                errors="strict").items()}
        except UnicodeDecodeError:
            return _error("invalid_request", "The body is not UTF-8.")
        if form.get("grant_type") != "client_credentials":
            return _error("unsupported_grant_type", "Only client_credentials is supported.")
        credentials = _basic(request.headers.get("authorization"))
        if credentials is None:
            credentials = (form.get("client_id", ""), form.get("client_secret", ""))
        if any(_CONTROL.search(value) for value in (*credentials, form.get("scope") or "")):
            return _error("invalid_request", "The credentials contain control characters.")
        if not credentials[0] or not credentials[1]:
            return _error("invalid_client", "Client authentication failed.", 401,
                          {"WWW-Authenticate": 'Basic realm="mhi"'})
        clients = request.app.state.runtime.auth.clients
        try:
            issued = await clients.token(credentials[0], credentials[1], form.get("scope"),
                                         request.client.host if request.client else "unknown")
        except RateLimited as limited:
            return _error("slow_down", "Too many token requests.", 429,
                          {"Retry-After": str(limited.retry_after)})
        except OAuthError as refused:
            headers = {"WWW-Authenticate": 'Basic realm="mhi"'} if refused.status == 401 else {}
            return _error(refused.error, refused.description, refused.status, headers)
        return JSONResponse({"access_token": issued.access_token, "token_type": "Bearer",
                             "expires_in": issued.expires_in,
                             "scope": " ".join(scope.value for scope in issued.scopes)},
                            headers=NO_STORE)
