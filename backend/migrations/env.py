"""Alembic environment: migrations run on a connection handed over by ``backend.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from auth.models import AuthBase
from backend.db.partitions import include_object, is_partition
from backend.models import Base
from notifications.models import NotifyBase

target_metadata = [Base.metadata, AuthBase.metadata, NotifyBase.metadata]
SCHEMAS = ("core", "auth", "notify", "stats", "tlog")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate looks only at our schemas, and at partitioned tables, not their
    partitions."""
    if type_ == "schema":
        return name in SCHEMAS
    return not (type_ == "table" and is_partition(name))


def run_on(connection: Connection) -> None:
    """Run the migrations inside the caller's transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_schemas=True,
        include_name=include_name,
        include_object=include_object,
        version_table_schema="public",
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `mhi db migrate` (backend.db.migrate)")
run_on(connection)
