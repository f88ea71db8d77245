"""The fuzz run's app: the API tests' app (real PostgreSQL, the suite's keys), reached over
ASGI HTTP with app exceptions turned into the 500 a client would get, their tracebacks kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from auth.service import AuthService
from tests.api.conftest import app, auth_service, auth_settings, new_ip
from tests.fuzz.findings import EscapedErrors, Findings
from tests.fuzz.world import World, build_world

__all__ = ["app", "auth_service", "auth_settings"]  # fixtures shared with tests/api


@pytest.fixture
def escaped(app: FastAPI) -> EscapedErrors:
    """The app, wrapped to keep the traceback of any exception that escapes it."""
    return EscapedErrors(app)


@pytest.fixture
async def fuzz_client(app: FastAPI, escaped: EscapedErrors) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets a 500 (not an exception) when the app fails, from an address of
    this test's own."""
    transport = httpx.ASGITransport(app=escaped, raise_app_exceptions=False,
                                    client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver",
                          timeout=60) as http,
    ):
        yield http


@pytest.fixture
async def world(fuzz_client: httpx.AsyncClient, committed: AsyncSession,
                auth_service: AuthService) -> World:
    """This test's citizen, desk workers and integrator."""
    return await build_world(fuzz_client, committed, auth_service)


@pytest.fixture
def findings(request: pytest.FixtureRequest) -> Iterator[Findings]:
    """This test's faults, appended to ``FUZZ_FINDINGS`` when the test ends."""
    found = Findings()
    yield found
    found.write(request.node.nodeid)
