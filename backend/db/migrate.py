"""Applying Alembic migrations from async code (the CLI, tests, the app's readiness)."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 0x6D68_695F_6D69_6772  # pg_advisory_xact_lock key: "mhi_migr"
"""Every process migrates at start (``mhi serve``, ``mhi worker``, ``mhi db migrate``), so
several do it at once when replicas start together: each waits for this lock, taken inside
its migration transaction, and then reads the version the previous one left (nothing to do),
instead of racing to create the same tables and failing."""


def alembic_config() -> Config:
    """An Alembic config pointing at ``backend/migrations`` (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _with_connection(connection: Connection, action: str, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, target)
    elif action == "downgrade":
        command.downgrade(config, target)
    else:
        command.revision(config, message=target, autogenerate=True)


async def _serialised(conn: AsyncConnection) -> None:
    """Wait for the other processes migrating this database (``MIGRATION_LOCK``)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """Migrate the database up to ``target`` in one transaction, one process at a time.
    A database already ahead of this code's head (``judge``) is left as it is."""
    async with engine.begin() as conn:
        await _serialised(conn)
        if target == "head" and judge(await conn.run_sync(_read_revision)) == "ahead":
            log.warning("the database is at a revision newer than this code's %s: "
                        "left as it is", head_revision())
            return
        await conn.run_sync(_with_connection, "upgrade", target)


async def downgrade(engine: AsyncEngine, target: str) -> None:
    """Migrate the database down to ``target`` in one transaction, one process at a time."""
    async with engine.begin() as conn:
        await _serialised(conn)
        await conn.run_sync(_with_connection, "downgrade", target)


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Write a new revision with what the models have and the database lacks (review it!)."""
    async with engine.begin() as conn:
        await conn.run_sync(_with_connection, "revision", message)


def head_revision() -> str | None:
    """The newest revision in the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@cache
def _code_revisions() -> tuple[str | None, frozenset[str]]:
    """This code's head and every revision it has a migration for (read once: a probe asks)."""
    script = ScriptDirectory.from_config(alembic_config())
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def judge(current: str | None) -> Literal["current", "behind", "ahead"]:
    """Where a database at revision ``current`` stands against this code.

    ``ahead``: a revision this code has no migration for, which a newer release applied.  A
    deployment migrates before it rolls out (infra/README.md, "Deploying"), so the previous
    release's pods serve a database one step ahead until they are replaced, and a rolled-back
    release starts on one: each release's migrations keep the previous release working
    (expand now, contract in a later release), so ahead serves; behind does not."""
    head, known = _code_revisions()
    if current == head:
        return "current"
    if current is not None and current not in known:
        return "ahead"
    return "behind"


def _read_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table_schema": "public"})
    return context.get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_read_revision)
