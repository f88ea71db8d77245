"""The log over HTTP, as C2SP ``tlog-tiles`` says a log is read, so anyone can mirror it:

- ``GET /log/checkpoint``: the newest published checkpoint (signed by the log and cosigned by
  at least one witness), ``text/plain``; cached for seconds (it moves);
- ``GET /log/tile/<L>/<N>[.p/<W>]``: a tile of hashes (``application/octet-stream``), the
  ``W`` first hashes of a partial one;
- ``GET /log/tile/entries/<N>[.p/<W>]``: an entry bundle, built from ``tlog.leaf``;
- ``GET /log/consistency/<old>/<new>``: the proof that the tree of ``old`` leaves is a prefix
  of the tree of ``new`` (RFC 9162 §2.1.4), one base64 hash a line as a C2SP ``tlog-witness``
  request carries it, for sizes up to the newest published checkpoint's: what a monitor or a
  citizen holding an older checkpoint asks before trusting a newer one (anyone can also
  compute it from the tiles).  Verified before it is served; it never changes (immutable).

A full tile or bundle never changes: ``Cache-Control: public, max-age=31536000, immutable``.
A partial one is served only while the log holds at least that many (its bytes never change
either, but it is superseded by the wider one): a short max-age.  ETags and 304s come from the
app's ``ETagMiddleware`` (``backend.api.etag``), which keeps the cache lifetimes set here.
A path that is not a tile's canonical path, or a tile the log does not hold yet, is a 404.
"""

from __future__ import annotations

import base64

from fastapi import FastAPI, Request
from starlette.responses import PlainTextResponse, Response

from backend.tlog.store import (
    NotInLog,
    UnverifiedProof,
    consistency_proof,
    driver_of,
    read_entries,
    read_tile,
)
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

    @app.get("/log/consistency/{old}/{new}", include_in_schema=False)
    async def consistency(request: Request, old: str, new: str) -> Response:
        if not (old.isascii() and old.isdigit() and new.isascii() and new.isdigit()
                and len(old) < 20 and len(new) < 20):
            return PlainTextResponse("sizes are decimal numbers: /log/consistency/OLD/NEW\n",
                                     400, headers={"Cache-Control": "no-store"})
        first, last = int(old), int(new)
        if first > last:
            return PlainTextResponse("the old size must not exceed the new one\n", 400,
                                     headers={"Cache-Control": "no-store"})
        async with request.app.state.runtime.engine.connect() as conn:
            driver = await driver_of(conn)
            published: int | None = await driver.fetchval(
                "SELECT max(size) FROM tlog.checkpoint WHERE published_at IS NOT NULL")
            if published is None or last > published:
                return _not_found("no published checkpoint has this size (yet)")
            try:
                proof = await consistency_proof(driver, first, last)
            except NotInLog:
                return _not_found("the log does not hold this size")
            except UnverifiedProof:  # the stored tree no longer proves it: never served
                return PlainTextResponse("the stored tree does not prove this; reported\n",
                                         409, headers={"Cache-Control": "no-store"})
        body = "".join(base64.b64encode(h).decode() + "\n" for h in proof.hashes)
        return Response(body, media_type=CHECKPOINT_TYPE, headers={
            "Cache-Control": IMMUTABLE, "Access-Control-Allow-Origin": "*"})

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
