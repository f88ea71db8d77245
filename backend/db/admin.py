"""Creating and dropping databases (the embedded default, throwaway test databases)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url


def _split(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    database = parsed.database or "postgres"
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), database


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(url: str, *, template: str | None = None) -> bool:
    """Create the database named in ``url`` unless it exists; True when it was created."""
    admin_url, database = _split(url)
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        clause = f" TEMPLATE {_quote(template)}" if template else ""
        try:
            await conn.execute(f"CREATE DATABASE {_quote(database)}{clause}")
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            return False  # another process starting at once made it (a race on pg_database)
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (forcing out connections) if it exists."""
    admin_url, database = _split(url)
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote(database)} WITH (FORCE)")
    finally:
        await conn.close()
