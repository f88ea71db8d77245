"""The app over real HTTP (ASGI), on the suite's database, with a test signing key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.settings import AppSettings

TODAY = date(2026, 11, 23)
"""The day every API test is judged on (statuses depend on the date)."""


@pytest.fixture(scope="session")
def auth_service(tmp_path_factory: pytest.TempPathFactory) -> AuthService:
    """Tokens signed with a key made for this run."""
    key = Path(tmp_path_factory.mktemp("keys")) / "signing-key.pem"
    return AuthService.from_settings(AuthSettings(signing_key_file=key))


@pytest.fixture
def app(engine: AsyncEngine, auth_service: AuthService) -> FastAPI:
    """The app on the suite's database, judging statuses on ``TODAY``."""
    return create_app(AppSettings(environment="development"), auth_service, engine=engine,
                      today=lambda: TODAY)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app through ASGI (lifespan included)."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def ttl(seconds: int) -> timedelta:
    """Shorthand for token lifetimes."""
    return timedelta(seconds=seconds)
