"""The log over HTTP, as C2SP ``tlog-tiles`` says a log is read, so anyone can mirror it:

- ``GET /log/checkpoint``: the newest published checkpoint (signed by the log and cosigned by
  at least one witness), ``text/plain``; cached for seconds (it moves);
- ``GET /log/tile/<L>/<N>[.p/<W>]``: a tile of hashes (``application/octet-stream``), the
  ``W`` first hashes of a partial one;
- ``GET /log/tile/entries/<N>[.p/<W>]``: an entry bundle, built from ``tlog.leaf``.

A full tile or bundle never changes: ``Cache-Control: public, max-age=31536000, immutable``.
A partial one is served only while the log holds at least that many (its bytes never change
either, but it is superseded by the wider one): a short max-age.  ETags and 304s come from the
app's ``ETagMiddleware`` (``backend.api.etag``), which keeps the cache lifetimes set here.
A path that is not a tile's canonical path, or a tile the log does not hold yet, is a 404.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import PlainTextResponse, Response

from backend.tlog.store import driver_of, read_entries, read_tile
from backend.tlog.tiles import encode_entry_bundle
from backend.tlog.tlog import TILE_HEIGHT, BadTilePathError, parse_tile_path

CHECKPOINT_MAX_AGE = 10
PARTIAL_MAX_AGE = 60
IMMUTABLE = "public, max-age=31536000, immutable"
TILE_TYPE = "application/octet-stream"
CHECKPOINT_TYPE = "text/plain; charset=utf-8"


def _not_found(what: str) -> Response:
    return PlainTextResponse(f"{what}\n", 404, headers={"Cache-Control": "no-store"})


def add_log_routes(app: FastAPI) -> None:
    """``/log/checkpoint`` and ``/log/tile/…`` on ``app`` (its runtime's engine)."""

    @app.get("/log/checkpoint", include_in_schema=False)
    async def checkpoint(request: Request) -> Response:
        async with request.app.state.runtime.engine.connect() as conn:
            note: str | None = await (await driver_of(conn)).fetchval(
                "SELECT cosigned FROM tlog.checkpoint WHERE published_at IS NOT NULL"
                " ORDER BY size DESC LIMIT 1")
        if note is None:
            return _not_found("no checkpoint has been cosigned by a witness yet")
        return Response(note, media_type=CHECKPOINT_TYPE,
                        headers={"Cache-Control": f"public, max-age={CHECKPOINT_MAX_AGE}"})

    @app.get("/log/tile/{path:path}", include_in_schema=False)
    async def tile(request: Request, path: str) -> Response:
        try:
            wanted = parse_tile_path(f"tile/{path}")
        except BadTilePathError:
            return _not_found("not a tile path (C2SP tlog-tiles)")
        async with request.app.state.runtime.engine.connect() as conn:
            driver = await driver_of(conn)
            if wanted.l == -1:
                entries = await read_entries(driver, wanted.n << TILE_HEIGHT, wanted.w)
                data = encode_entry_bundle(entries) if len(entries) == wanted.w else None
            else:
                data = await read_tile(driver, wanted.l, wanted.n, wanted.w)
        if data is None:
            return _not_found("the log does not hold this tile (yet)")
        full = wanted.w == 1 << TILE_HEIGHT
        return Response(data, media_type=TILE_TYPE, headers={
            "Cache-Control": IMMUTABLE if full else f"public, max-age={PARTIAL_MAX_AGE}",
            "Access-Control-Allow-Origin": "*"})
