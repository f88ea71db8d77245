"""The two servers of the HomeScreen benchmark, as uvicorn factories configured by environment.

    BENCH_DATABASE_URL=postgresql+asyncpg://... \
        python -m uvicorn --factory bench.servers:graphql_app   # or bench.servers:floor_app

``BENCH_TODAY`` (ISO date, default 2026-11-23) is the day statuses are judged on: the demo
databases are loaded "as of" that day.  Both read the signing key from ``AuthSettings()``.
"""

from __future__ import annotations

import os
from datetime import date

from fastapi import FastAPI
from starlette.applications import Starlette

from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.settings import AppSettings
from bench.raw_floor import create_floor_app

DEFAULT_TODAY = "2026-11-23"


def _database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise RuntimeError("set BENCH_DATABASE_URL to the demo database")
    return url


def _today() -> date:
    return date.fromisoformat(os.environ.get("BENCH_TODAY", DEFAULT_TODAY))


def graphql_app() -> FastAPI:
    """The real API (``create_app``), exactly as ``mhi serve`` builds it, on a fixed day."""
    day = _today()
    return create_app(AppSettings(), AuthSettings(),
                      database_url=_database_url(), today=lambda: day, server_gc=True)


def floor_app() -> Starlette:
    """The raw floor (``bench.raw_floor``) with a pool as large as the API's."""
    settings = AppSettings()
    day = _today()
    return create_floor_app(_database_url(), AuthSettings(),
                            today=lambda: day,
                            pool_size=settings.db_pool_size + settings.db_max_overflow)
