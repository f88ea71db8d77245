"""Opening the database for the CLI and the API: resolve the URL, create the database, migrate."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import migrate
from backend.db.admin import ensure_database
from backend.db.engine import create_engine, resolve_database_url
from backend.settings import AppSettings


async def prepare_database(settings: AppSettings) -> str:
    """Start the embedded server if needed, create the database, migrate it; return its URL."""
    url = resolve_database_url(settings)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return url


def open_engine(settings: AppSettings, url: str) -> AsyncEngine:
    """An engine sized by settings."""
    return create_engine(
        url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
        pre_ping=settings.db_pool_pre_ping,
    )
