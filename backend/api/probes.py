"""Health, readiness and the public key set: the routes that are not GraphQL."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend.db import migrate


def add_probes(app: FastAPI) -> None:
    """``/healthz``, ``/readyz`` (the database answers, is migrated, keys loaded), the JWKS.
    A database ahead of this code (a newer release migrated it) is ready: ``migrate.judge``."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            current = await migrate.current_revision(request.app.state.runtime.engine)
        except Exception:  # any failure to reach the database means not ready
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        migrations = migrate.judge(current)
        if migrations == "behind":
            body = {"status": "unavailable", "database": "up", "migrations": "behind"}
            return JSONResponse(body, status_code=503)
        if not request.app.state.runtime.auth.keyring.ready:
            body = {"status": "unavailable", "database": "up", "migrations": migrations,
                    "keys": "missing"}
            return JSONResponse(body, status_code=503)
        body = {"status": "ready", "database": "up", "migrations": migrations}
        router = getattr(request.app.state.runtime, "router", None)
        if router is not None:  # a replica that is down or behind never makes the API unready
            body["replica"] = router.state.state
        return JSONResponse(body)

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks(request: Request) -> JSONResponse:
        # Verifiers may cache the set briefly; a new key is published an hour before it signs.
        return JSONResponse(request.app.state.runtime.auth.jwks(),
                            headers={"Cache-Control": "public, max-age=300"})
