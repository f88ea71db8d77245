"""A release migrates before its pods roll out (infra/README.md, "Deploying"), so for a while
the previous release's pods serve a database one migration ahead of their code, and a rolled-
back release starts on one.  They must stay ready and start; a database behind still is not
ready (tests/api/test_app.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.db import migrate
from backend.db.admin import drop_database
from backend.settings import AppSettings
from tests.conftest import migrated_database, throwaway_url

NEXT_RELEASE = "0099_from_the_next_release"


@pytest.fixture
async def ahead(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    """A database migrated by a release newer than this code."""
    url = throwaway_url(settings, "ahead")
    engine = await migrated_database(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE public.alembic_version SET version_num = :v"),
                           {"v": NEXT_RELEASE})
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


def test_the_judgement() -> None:
    head = migrate.head_revision()
    assert migrate.judge(head) == "current"
    assert migrate.judge(NEXT_RELEASE) == "ahead"
    assert migrate.judge("0001") == "behind"
    assert migrate.judge(None) == "behind"  # never migrated


async def test_the_previous_release_stays_ready(ahead: AsyncEngine,
                                                auth_settings: AuthSettings) -> None:
    app = create_app(AppSettings(environment="test"), auth_settings, engine=ahead)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://testserver") as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "up", "migrations": "ahead"}


async def test_a_rolled_back_release_starts_and_leaves_the_database_as_it_is(
        ahead: AsyncEngine) -> None:
    await migrate.upgrade(ahead)  # what `mhi serve` and `mhi worker` do at start
    assert await migrate.current_revision(ahead) == NEXT_RELEASE
