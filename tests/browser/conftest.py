"""Fixtures of the browser tests: Debian's chromium under Playwright, and the live stack it
drives over real HTTP (the app under uvicorn, fcm-local, a notification worker), all on the
suite's database.

``browser`` is one per session; ``stack`` one per run of this package (rebuilt if a shuffled
order leaves and re-enters it), so that its worker never runs while other tests own the
outbox; ``page`` and ``new_page`` give each test fresh contexts, closed after it.  What a test
imports besides fixtures (``assert_accessible``, ``looked_at``, ``decode_qr``, ``Stack``,
``TABLET``) is in ``tests/browser/helpers.py``.

Data that a test writes through the app is committed: request ``committed`` (tests/conftest)
to have it emptied after the test.  Whatever is left when the stack stops is emptied then.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.api.server import uvicorn_options
from backend.db.engine import create_engine
from backend.settings import AppSettings
from notifications.fcm_local import FcmLocal
from notifications.fcm_local import create_app as create_fcm_local
from tests.api.conftest import new_ip
from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    TODAY,
    WORKER_NAME,
    WORKER_STOP_SECONDS,
    NewPage,
    PinnedDay,
    Stack,
    uvicorn_config,
)
from tests.conftest import AUTH_ROOT_SECRET, empty_data
from tests.notifications.dispatch_helpers import (
    dispatcher,
    notify_settings,
    wait_for,
    worker_backends,
)
from tests.servers import serving


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium, headless, under Playwright (never Playwright's own download)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (it installs Debian's chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="package")
def auth_settings(tmp_path_factory: pytest.TempPathFactory) -> AuthSettings:
    """Identity settings of the stack: the suite's secret, SMS into a file of its own."""
    folder = Path(tmp_path_factory.mktemp("browser-auth"))
    return AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode()), dev_sms_file=folder / "sms.jsonl")


@pytest.fixture(scope="package")
async def stack(engine: AsyncEngine, auth_settings: AuthSettings
                ) -> AsyncIterator[Stack]:
    """The app (development settings, ``today`` pinned) under uvicorn as ``mhi serve`` runs
    it, fcm-local, and ``Dispatcher.run`` sending to it through firebase-admin from an engine
    of its own (a worker is a process of its own in production), on 127.0.0.1 ports."""
    fcm = FcmLocal()
    settings = AppSettings(environment="development")
    clock = PinnedDay(TODAY)
    async with serving(uvicorn_config(create_fcm_local(fcm), lifespan="off")) as fcm_port:
        fcm_url = f"http://127.0.0.1:{fcm_port}"
        notify = notify_settings(fcm_url, idle_poll_seconds=0.1, senders=1)
        app = create_app(settings, auth_settings, engine=engine, today=clock,
                         notify_settings=notify)
        options = {**uvicorn_options(settings), "log_level": "warning", "access_log": False,
                   "lifespan": "on", "timeout_graceful_shutdown": WORKER_STOP_SECONDS}
        worker_engine = create_engine(engine.url.render_as_string(hide_password=False),
                                      pool_size=3, max_overflow=2,
                                      application_name=WORKER_NAME)
        try:
            async with (serving(uvicorn_config(app, **options)) as port,
                        dispatcher(worker_engine, notify) as worker):
                stop = asyncio.Event()
                running = asyncio.create_task(worker.run(stop), name="browser-stack-worker")
                try:
                    yield Stack(base_url=f"http://127.0.0.1:{port}", app=app, engine=engine,
                                auth_settings=auth_settings, notify_settings=notify,
                                fcm=fcm, fcm_url=fcm_url, worker=worker, clock=clock)
                finally:
                    stop.set()
                    await asyncio.wait_for(running, WORKER_STOP_SECONDS)
        finally:
            await worker_engine.dispose()
            await wait_for(lambda: _no_sessions(engine, WORKER_NAME), WORKER_STOP_SECONDS)
            await _empty_tables(engine)


async def _no_sessions(engine: AsyncEngine, name: str) -> bool:
    """The stopped worker left no database session behind."""
    return await worker_backends(engine, name) == 0


async def _empty_tables(engine: AsyncEngine) -> None:
    """What ``committed`` empties after a test: the browser tests leave no data behind."""
    await empty_data(engine)


@pytest.fixture(autouse=True)
def _stack_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that uses the stack: ``today`` back to ``TODAY``, fcm-local emptied
    (records and faults), so that no test sees another's."""
    used: Stack | None = None
    if "stack" in request.fixturenames:
        used = request.getfixturevalue("stack")
    yield
    if used is not None:
        used.pin_today(TODAY)
        used.fcm.reset()


@pytest.fixture
async def new_page(browser: Browser, stack: Stack) -> AsyncIterator[NewPage]:
    """Opens pages, each in a fresh browser context (no cookies, no storage) whose relative
    URLs resolve against the stack, from a client address of its own (the app believes the
    ``X-Forwarded-For`` of 127.0.0.1, as behind a load balancer: per-address throttles then
    count each context apart, as the API tests' ``new_ip`` does); all closed after the test."""
    contexts: list[BrowserContext] = []

    async def open_page(*, viewport: ViewportSize = DESKTOP, locale: str = "en",
                        client_ip: str | None = None, **context: Any) -> Page:
        headers = {"X-Forwarded-For": client_ip or new_ip(),
                   **context.pop("extra_http_headers", {})}
        made = await browser.new_context(viewport=viewport, locale=locale,
                                         base_url=stack.base_url, extra_http_headers=headers,
                                         **context)
        contexts.append(made)
        return await made.new_page()

    try:
        yield open_page
    finally:
        for made in contexts:
            await made.close()


@pytest.fixture
async def page(new_page: NewPage) -> Page:
    """A page at 1366×768 in English, in a fresh context against the stack."""
    return await new_page()
