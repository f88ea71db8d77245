"""Engines and session factories.

Each request owns its unit of work.  Strawberry resolves sibling fields concurrently and one
``AsyncSession`` must never be shared between tasks, so readers take short sessions from the
factory and writers use one session committed by whoever opened it (never by a service).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.settings import AppSettings


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def resolve_database_url(settings: AppSettings) -> str:
    """``DATABASE_URL`` when set, else the embedded server (started on demand)."""
    if settings.database_url:
        return async_url(settings.database_url)
    from backend.db.embedded import ensure_running

    return ensure_running(settings.data_dir, settings.embedded_pg_port).url("mhi")


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10,
                  pre_ping: bool = True, application_name: str = "mhi",
                  connect_timeout: float | None = None,
                  command_timeout: float | None = None) -> AsyncEngine:
    """An asyncpg engine with UTC sessions; its pool pings a connection before lending it
    unless ``pre_ping`` is off (then a dropped connection fails one request, and SQLAlchemy
    discards the whole pool on that disconnect).  ``connect_timeout``: a connection not made
    by then fails (asyncpg's default is 60 s; the read replica's is short);
    ``command_timeout``: a statement not answered by then raises ``TimeoutError``."""
    connect_args: dict[str, object] = {
        "server_settings": {"timezone": "UTC", "application_name": application_name}}
    if connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    if command_timeout is not None:
        connect_args["command_timeout"] = command_timeout
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
