"""Fixtures shared by every test: a throwaway PostgreSQL database, migrated once.

With ``DATABASE_URL`` unset the embedded server is used (started on demand); with it set, that
server.  Either way the suite creates ``mhi_test_<random>``, migrates it with Alembic, and drops
it at the end.  ``session`` isolates a test in a transaction that is rolled back; tests that go
through the app (which opens its own connections) use ``committed`` and are cleaned by TRUNCATE.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.db import migrate
from backend.db.admin import drop_database, ensure_database
from backend.db.engine import create_engine, resolve_database_url
from backend.demo.generator import DEMO_TABLES, UNLINKED_TABLES
from backend.models.stats import STATS_TABLES
from backend.models.tlog import TLOG_TABLES
from backend.settings import AppSettings

AUTH_ROOT_SECRET = bytes(range(32))
"""The suite's ``AUTH_SECRET_KEY``: every test that opens ``auth`` on the suite's database uses
it, since the signing keys stored there are sealed with what derives from it."""

# Every log record of the run, written as JSON lines, is searched for personal data at the end.
pytest_plugins = ["tests.log_audit"]

# Property tests judge behaviour, not speed: a busy CI machine must not turn them red.
hypothesis_settings.register_profile("mhi", deadline=None)
hypothesis_settings.load_profile("mhi")



def throwaway_url(settings: AppSettings, label: str = "test") -> str:
    """A URL for a new database on the test server."""
    base = make_url(resolve_database_url(settings))
    name = f"mhi_{label}_{uuid.uuid4().hex[:10]}"
    return base.set(database=name).render_as_string(hide_password=False)


async def migrated_database(url: str) -> AsyncEngine:
    """Create the database at ``url``, migrate it to head, return an engine on it."""
    await ensure_database(url)
    engine = create_engine(url, pool_size=5, max_overflow=5)
    await migrate.upgrade(engine)
    return engine


NOTIFY_TABLES = ("notify.outbox", "notify.notification", "notify.delivery", "notify.device",
                 "notify.preference", "notify.quiet_hours", "notify.announcement",
                 "notify.sms_delivery")


@pytest.fixture(scope="session")
def settings() -> AppSettings:
    """Settings as the test run sees them (``DATABASE_URL`` honoured)."""
    return AppSettings(environment="test")


@pytest.fixture(scope="session")
async def engine(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on the suite's throwaway database."""
    url = throwaway_url(settings)
    engine = await migrated_database(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work (commits included) is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        db = AsyncSession(bind=conn, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)
        try:
            yield db
        finally:
            await db.close()
            await outer.rollback()


async def empty_data(engine: AsyncEngine) -> None:
    """Empty every table a test's data reaches (reference data stays).  Ids restart, so the
    outbox (whose keys name ids), the batches, the rollups and the log's queue and leaves go
    too: a record id met again would be a second leaf of the same record."""
    async with engine.begin() as conn:
        tables = ", ".join([*(f"core.{table}" for table in (*DEMO_TABLES, *UNLINKED_TABLES)),
                            "core.ingestion_batch", *NOTIFY_TABLES,
                            *(f"stats.{table}" for table in STATS_TABLES),
                            *(f"tlog.{table}" for table in TLOG_TABLES)])
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session that really commits (for tests through the app); data tables emptied after."""
    db = AsyncSession(bind=engine, expire_on_commit=False)
    try:
        yield db
    finally:
        await db.close()
        await empty_data(engine)
