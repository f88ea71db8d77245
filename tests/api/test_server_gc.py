"""``mhi serve`` tunes the garbage collector for a long-lived server process, and only then.

What startup built (the schema, the app, the caches) is frozen out of the cyclic collector's
full passes and the youngest generation is collected less often (``create_app``'s
``server_gc``): about a fifth of a home screen's CPU under load (docs/performance.md).  An app
made without it (every test's) leaves the collector as it was, so a process that makes many
apps never freezes garbage it could free.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.api.app import GC_YOUNG, create_app
from backend.settings import AppSettings
from tests.api.conftest import TODAY


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector as it was, put back afterwards."""
    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
@pytest.mark.parametrize("server_gc", [True, False])
async def test_a_server_freezes_what_startup_built_and_collects_less_often(
    engine: AsyncEngine, auth_settings: AuthSettings, server_gc: bool
) -> None:
    before = gc.get_threshold()
    app = create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                     today=lambda: TODAY, server_gc=server_gc)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 200
        if server_gc:
            assert gc.get_freeze_count() > 10_000  # the schema and the app at least
            assert gc.get_threshold() == (GC_YOUNG, *before[1:])
        else:
            assert gc.get_freeze_count() == 0
            assert gc.get_threshold() == before
