"""The app over real HTTP (ASGI), on the suite's database, with the suite's signing keys."""

from __future__ import annotations

import base64
import io
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from backend.access.directory import PeopleDirectory
from backend.api.app import create_app
from backend.db.reads import Reads
from backend.logs import prepare
from backend.settings import AppSettings
from tests.conftest import AUTH_ROOT_SECRET

TODAY = date(2026, 11, 23)
"""The day every API test is judged on (statuses depend on the date)."""


@pytest.fixture(scope="session")
def auth_settings(tmp_path_factory: pytest.TempPathFactory) -> AuthSettings:
    """Identity settings for this run: a secret of its own, SMS into a temporary file."""
    folder = Path(tmp_path_factory.mktemp("auth"))
    return AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode()), dev_sms_file=folder / "sms.jsonl")


@pytest.fixture(scope="session")
async def auth_service(engine: AsyncEngine, auth_settings: AuthSettings) -> AuthService:
    """``auth`` on the suite's database: the keys the app signs and verifies with."""
    return await AuthService.open(engine, auth_settings,
                                  directory=PeopleDirectory(Reads(engine)))


@pytest.fixture
def app(engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService) -> FastAPI:
    """The app on the suite's database, judging statuses on ``TODAY``."""
    return create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                      today=lambda: TODAY)


def new_ip() -> str:
    """A client address no other test is likely to use (throttles count per address, and the
    ``auth`` tables are not emptied between tests)."""
    number = secrets.randbelow(2 ** 24)
    return f"10.{number >> 16}.{number >> 8 & 255}.{number & 255}"


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app through ASGI (lifespan included), from a client
    address of this test's own."""
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def ttl(seconds: int) -> timedelta:
    """Shorthand for token lifetimes."""
    return timedelta(seconds=seconds)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the API's and the worker's log handler (redacting, with request ids) writes at
    INFO and above, while the test runs."""
    stream = io.StringIO()
    handler = prepare(logging.StreamHandler(stream))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
