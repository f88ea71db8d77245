"""Fixtures of the ``notifications`` tests: fcm-local, firebase-admin on it, the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import firebase_admin
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from notifications.fcm_local import FcmLocal, create_app
from notifications.gateway import close_app, open_app
from tests.notifications.dispatch_helpers import notify_settings
from tests.servers import serving
from tests.sms_local import sms_local_fixture, sms_local_server_fixture  # noqa: F401 (fixtures)

# --- fcm-local: the FCM HTTP v1 server, under uvicorn in the session's event loop -----------


@dataclass(frozen=True)
class FcmLocalServer:
    """A running fcm-local: its base URL (``http://127.0.0.1:PORT``) and its state."""

    url: str
    state: FcmLocal


@pytest.fixture(scope="session")
async def fcm_local_server() -> AsyncIterator[FcmLocalServer]:
    """One fcm-local for the session, on a free port of 127.0.0.1."""
    state = FcmLocal()
    config = uvicorn.Config(create_app(state), log_config=None, log_level="warning",
                            access_log=False, lifespan="off")
    async with serving(config) as port:
        yield FcmLocalServer(f"http://127.0.0.1:{port}", state)


@pytest.fixture
def fcm_local(fcm_local_server: FcmLocalServer) -> FcmLocalServer:
    """The session's fcm-local, emptied: no records, no counters, no faults."""
    fcm_local_server.state.reset()
    return fcm_local_server


# --- what the dispatcher tests share ------------------------------------------------------


@pytest.fixture(scope="module")
async def firebase(fcm_local_server: FcmLocalServer) -> AsyncIterator[firebase_admin.App]:
    """One firebase-admin app on fcm-local (``gateway.open_app``) for the module's tests."""
    app = open_app(notify_settings(fcm_local_server.url))
    yield app
    await close_app(app)


@pytest.fixture
def db(engine: AsyncEngine, committed: AsyncSession) -> AsyncEngine:
    """The suite's database; the notify tables are emptied after the test (``committed``)."""
    return engine
