"""Migrations: the models and the migrations agree, and every migration is reversible."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.models import AuthBase
from backend.db import migrate
from backend.db.admin import drop_database
from backend.db.partitions import include_object, is_partition
from backend.models import Base
from backend.settings import AppSettings
from notifications.models import NotifyBase
from tests.conftest import migrated_database, throwaway_url

SCHEMAS = ("core", "auth", "notify", "stats", "tlog")


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={"include_schemas": True, "compare_type": True,
              "include_name": lambda name, type_, _: (name in SCHEMAS if type_ == "schema"
                                                      else not is_partition(name)),
              "include_object": include_object},
    )
    metadata = [Base.metadata, AuthBase.metadata, NotifyBase.metadata]
    return list(compare_metadata(context, metadata))  # type: ignore[arg-type]


async def test_models_match_the_migrated_database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_database_is_at_the_newest_revision(engine: AsyncEngine) -> None:
    assert await migrate.current_revision(engine) == migrate.head_revision()


async def test_down_to_nothing_and_up_again(settings: AppSettings) -> None:
    url = throwaway_url(settings, "updown")
    engine = await migrated_database(url)
    try:
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            schemas = await conn.execute(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'core'"))
            assert schemas.first() is None
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            regions = await conn.execute(text("SELECT count(*) FROM core.region"))
            assert regions.scalar_one() == 20
    finally:
        await engine.dispose()
        await drop_database(url)
