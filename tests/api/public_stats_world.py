"""Scaffolding shared by the tests of the public figures: a demo country whose rollups were
filled the real way (the loader's COPY fires the triggers; statuses computed; the fold; the
month-end snapshot), and an app whose anonymous pace does not slow a test that asks a lot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.demo import generator
from backend.gql.limits import Limits
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status.schedule import refresh_due
from backend.transparency import rollups
from backend.transparency.release import release
from tests.api.conftest import TODAY, new_ip

ENDED = date(2026, 10, 1)
"""The last month that has ended on ``TODAY``."""
CURRENT = date(2026, 11, 1)
UNPACED = Limits(anonymous_cost_per_second=10**9, anonymous_cost_per_second_per_address=10**9,
                 anonymous_burst=10**9)
"""The guard rails with the anonymous pace out of the way (the attacker asks hundreds of
questions); every other limit as in production."""


async def load_country(engine: AsyncEngine, people: int, seed: int) -> None:
    """A demo country seen on ``TODAY``: statuses computed, the rollups folded, October's
    month-end snapshot of insured people and a provisional one of November, and the months
    released for ``TODAY`` (as the worker does), so the public reads read released cells."""
    await generator.clear(engine)
    await generator.generate(engine, people=people, seed=seed, as_of=TODAY, quiet=True)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    await refresh_due(engine, today=TODAY, rates=rates, everyone=True)
    await rollups.fold_and_snapshot(engine, [ENDED], final=True)
    await rollups.fold_and_snapshot(engine, [CURRENT], final=False)
    await release(engine, TODAY)


def unpaced_app(engine: AsyncEngine, auth_settings: AuthSettings) -> FastAPI:
    """The app on the suite's database, judging on ``TODAY``, with ``UNPACED`` limits."""
    return create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                      today=lambda: TODAY, limits=UNPACED)


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An ASGI client of ``app`` (lifespan included) from an address of its own."""
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http
