"""One mechanism for every "row by key" relation: a batched ``WHERE key IN (...)``."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")


def keyed_loader(
    sessions: async_sessionmaker[AsyncSession],
    model: type[M],
    column: InstrumentedAttribute[Any],
) -> DataLoader[Any, M | None]:
    """Rows of ``model`` by ``column`` (a primary or unique key), one query per batch."""
    name = column.key

    async def load(keys: Sequence[Any]) -> list[M | None]:
        async with sessions() as session:
            rows = (await session.scalars(select(model).where(column.in_(set(keys))))).all()
        found = {getattr(row, name): row for row in rows}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)
