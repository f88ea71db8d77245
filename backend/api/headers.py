"""Security headers on every response, set in one place, outside everything else.

* every response: ``X-Content-Type-Options: nosniff`` (a browser never guesses a JSON or text
  answer to be HTML or script);
* every HTML page (GraphiQL, ``/dev/sms``, the pages to come): a strict Content-Security-
  Policy (scripts, styles and connections from this origin only, no inline script, no
  framing), ``X-Frame-Options: DENY`` for browsers without CSP 2, and
  ``Referrer-Policy: no-referrer``.

It is plain ASGI (it only appends to the ``http.response.start`` message): Starlette's
``BaseHTTPMiddleware`` would add a task and a stream per request on the home screen's path.
``HardenedAPI`` puts it outside FastAPI's own error middleware, so even the bare 500 that
Starlette answers for an unhandled exception carries the headers.  The ``server`` banner is
switched off where uvicorn is configured (``backend.api.server.uvicorn_options``).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""The one policy of every HTML page: a page needing more (an inline script, a CDN) must
change here, in review, not quietly in its own response."""

EVERY_RESPONSE: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)
HTML_PAGES: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """ASGI middleware adding ``EVERY_RESPONSE`` to all answers and ``HTML_PAGES`` to those
    whose content type is ``text/html`` (replacing any the app set, so one policy holds)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = secured(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_secured)


def secured(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` (ASGI pairs) with the security headers that fit their content type."""
    pairs = list(headers)
    html = any(name.lower() == b"content-type" and value.lower().startswith(b"text/html")
               for name, value in pairs)
    if not html:
        return [*pairs, *EVERY_RESPONSE]
    ours = {name for name, _ in HTML_PAGES}
    return [*(pair for pair in pairs if pair[0].lower() not in ours),
            *EVERY_RESPONSE, *HTML_PAGES]


class HardenedAPI(FastAPI):
    """FastAPI with ``SecurityHeaders`` around its whole middleware stack (error pages
    included), where ``add_middleware`` cannot reach."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, wrapped once when the app first serves."""
        return SecurityHeaders(super().build_middleware_stack())
