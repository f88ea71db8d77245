"""Development pages (never mounted in production): the SMS a demo phone would receive."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from auth.settings import AuthSettings
from auth.sms import DevSmsSink

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Development SMS</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/dev/sms.css"></head><body><main>
<h1>Development SMS sink</h1>
<p>Sign-in and consent codes that the development gateway would have sent, newest first.
Production sends through a real gateway and has no such page. <a href="/dev/sms">Refresh</a></p>
<table><caption>Messages</caption><tr><th scope="col">sent (UTC)</th><th scope="col">to</th>
<th scope="col">text</th></tr>{rows}</table></main></body></html>"""
STYLE = """body{font:16px system-ui;margin:2em;max-width:60em}td{padding:.3em .8em}
caption{text-align:left;font-weight:600}
tr:nth-child(odd){background:#f3f3f3}
"""
"""The page's style, served as a file: the pages' CSP (``backend.api.headers``) allows no
inline style."""


def add_dev_pages(app: FastAPI, settings: AuthSettings) -> None:
    """``/dev/sms``: the development SMS sink's recent messages (and its style sheet)."""
    sink = DevSmsSink(settings.dev_sms_file)

    @app.get("/dev/sms", include_in_schema=False)
    async def dev_sms() -> HTMLResponse:
        rows = "".join(
            f"<tr><td>{html.escape(sms.sent_at[:19])}</td><td>{html.escape(sms.phone)}</td>"
            f"<td>{html.escape(sms.text)}</td></tr>" for sms in sink.recent())
        return HTMLResponse(PAGE.format(rows=rows or "<tr><td colspan=3>none yet</td></tr>"),
                            headers={"Cache-Control": "no-store"})

    @app.get("/dev/sms.css", include_in_schema=False)
    async def dev_sms_style() -> Response:
        return Response(STYLE, media_type="text/css; charset=utf-8")
