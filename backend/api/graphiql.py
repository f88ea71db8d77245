"""GraphiQL from this server, never from a CDN (development only).

Strawberry's built-in page loads React and GraphiQL from unpkg: on a clinic network without
internet it stays blank, and it needs a Content-Security-Policy that trusts a third party.
Here the page (``static/graphiql/index.html``) references only files served at
``/graphiql/assets/``: the pinned npm packages of ``static/graphiql/package-lock.json``
(installed into its ``node_modules`` by ``make graphiql``, which ``make run`` and ``make
test`` depend on) and our own ``start.js`` and ``page.css``, so the page keeps the strict
policy of ``backend.api.headers``.  Only the files listed in ``ASSETS`` are served, never a
directory.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

FOLDER = Path(__file__).resolve().parent / "static" / "graphiql"
MODULES = FOLDER / "node_modules"
ASSET_PATH = "/graphiql/assets/"
JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"

ASSETS: dict[str, tuple[Path, str]] = {
    "react.production.min.js": (MODULES / "react/umd/react.production.min.js", JS),
    "react-dom.production.min.js": (MODULES / "react-dom/umd/react-dom.production.min.js", JS),
    "graphiql.min.js": (MODULES / "graphiql/graphiql.min.js", JS),
    "graphiql.min.css": (MODULES / "graphiql/graphiql.min.css", CSS),
    "explorer.umd.js": (MODULES / "@graphiql/plugin-explorer/dist/index.umd.js", JS),
    "explorer.css": (MODULES / "@graphiql/plugin-explorer/dist/style.css", CSS),
    "start.js": (FOLDER / "start.js", JS),
    "page.css": (FOLDER / "page.css", CSS),
}
"""What ``/graphiql/assets/<name>`` serves: the file and its content type."""

NOT_INSTALLED = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>GraphiQL is not installed</title></head><body>
<h1>GraphiQL's files are not installed</h1>
<p>GraphiQL is served from pinned npm packages, not from a CDN. Install them with
<code>make graphiql</code> (it needs <code>npm</code>; <code>make run</code> does it too), then
reload. GraphQL itself works without them: <code>POST /graphql</code>.</p></body></html>"""


def missing_assets() -> list[str]:
    """The names in ``ASSETS`` whose file is absent (all of them before ``make graphiql``)."""
    return [name for name, (path, _) in ASSETS.items() if not path.is_file()]


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page, or (503) how to install its files when they are missing."""
    if missing_assets():
        return HTMLResponse(NOT_INSTALLED, status_code=503,
                            headers={"Cache-Control": "no-store"})
    return HTMLResponse((FOLDER / "index.html").read_text(),
                        headers={"Cache-Control": "no-cache"})


async def _asset(request: Request) -> Response:
    found = ASSETS.get(request.path_params["name"])
    if found is None or not found[0].is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


def add_graphiql_assets(app: FastAPI) -> None:
    """Serve ``ASSETS`` at ``/graphiql/assets/<name>`` (only where GraphiQL is on)."""
    app.router.routes.append(
        Route(ASSET_PATH + "{name}", _asset, methods=["GET", "HEAD"], include_in_schema=False))
