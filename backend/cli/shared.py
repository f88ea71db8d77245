"""What several command modules of ``mhi`` need: auth on the configured database, a demo
person's sign-in details, the status job, where the development client is kept.

This module imports no other ``backend.cli`` module, and the command modules import it (and
never each other upwards): ``commands`` → ``dev_setup`` → ``shared`` ← ``notify``.  A test
(``tests/test_cli_imports.py``) keeps the import graph of ``backend/cli`` free of cycles.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from backend.settings import AppSettings


@asynccontextmanager
async def auth_service() -> AsyncIterator[tuple[AuthService, AsyncEngine]]:
    """``auth`` on the configured database (prepared and migrated first)."""
    from backend.access.directory import PeopleDirectory
    from backend.db.reads import Reads
    from backend.runtime import open_engine, prepare_database

    settings = AppSettings()
    engine = open_engine(settings, await prepare_database(settings))
    try:
        service = await AuthService.open(engine, AuthSettings(),
                                         directory=PeopleDirectory(Reads(engine)))
        yield service, engine
    finally:
        await engine.dispose()


async def demo_login(url: str, person_id: uuid.UUID) -> tuple[str, str]:
    """The IIN and phone of a demo person (to sign in with)."""
    from backend.runtime import open_engine

    engine = open_engine(AppSettings(), url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT iin, phone FROM core.person WHERE id = :id"),
                                      {"id": person_id})).one()
    finally:
        await engine.dispose()
    return str(row[0]), str(row[1])


async def refresh_statuses(engine: AsyncEngine, as_of: date, *, everyone: bool = False,
                           stopping: Callable[[], bool] = lambda: False) -> str:
    """Recompute the statuses due on ``as_of`` (``everyone``: all of them) (``mhi statuses
    refresh`` and the worker, which stops between chunks once ``stopping()``); a line saying
    what was done."""
    from backend.db.engine import create_session_factory
    from backend.rates.repository import load_rate_book
    from backend.status.schedule import refresh_due

    async with create_session_factory(engine)() as session:
        rates = await load_rate_book(session)
    done = await refresh_due(engine, today=as_of, rates=rates, everyone=everyone,
                             stopping=stopping)
    if done is None:
        return "another process is refreshing statuses"
    return (f"statuses on {as_of.isoformat()}: {done.computed:,} computed, "
            f"{done.changed:,} stored as changed, {done.events:,} events")


async def warn_statuses(engine: AsyncEngine, as_of: date, *, reminders: bool = True) -> str:
    """Write the warnings (and, with ``reminders``, the self-payers' reminders) due on
    ``as_of`` (``mhi statuses warn`` and the worker); a line saying what was done."""
    from backend.rates.repository import load_rate_book
    from backend.status.reminders import remind
    from backend.status.warnings import warn

    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    # A connection of its own, with no transaction open: the jobs commit each chunk on the
    # driver's connection, which inside a transaction begun here would only be savepoints,
    # rolled back when the block ends.
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        done = await warn(raw.driver_connection, as_of)
        reminded = (await remind(raw.driver_connection, as_of, rates) if reminders
                    else None)
    if reminded is None:
        return (f"warnings on {as_of.isoformat()}: {done.due:,} people's cover ends in "
                f"14 or 3 days, {done.written:,} warnings written")
    return (f"warnings on {as_of.isoformat()}: {done.due:,} people's cover ends in "
            f"14 or 3 days, {done.written:,} warnings written; {reminded.owing:,} self-payers "
            f"owe by the 25th, {reminded.written:,} reminders written")


def staff_file(settings: AppSettings) -> Path:
    """Where the demo clinic's staff passwords are kept (development only)."""
    return settings.data_dir / "dev-staff.json"


def client_file(settings: AppSettings) -> Path:
    """Where the development client's credentials are kept."""
    return settings.data_dir / "dev-client.json"
