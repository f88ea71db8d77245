"""Two mechanisms for every "row by key" relation: a batched ``= ANY($1)`` read, or a lookup
in the process's reference data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from backend.db.reads import Fetcher, Reads
from backend.reference.cache import ReferenceCache, ReferenceData

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def keyed_loader(
    reads: Reads, fetch_many: Callable[[Fetcher, Sequence[K]], Awaitable[dict[K, V]]]
) -> DataLoader[K, V | None]:
    """Rows by key through ``fetch_many`` (one statement per batch, on a pooled connection)."""

    async def load(keys: Sequence[K]) -> list[V | None]:
        found = await fetch_many(reads, list(set(keys)))
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def reference_loader(
    cache: ReferenceCache, table: Callable[[ReferenceData], dict[str, V]]
) -> DataLoader[str, V | None]:
    """Reference rows by code from the process's cache (reloaded when a code is unknown)."""

    async def load(keys: Sequence[str]) -> list[V | None]:
        rows = table(await cache.get())
        if any(key not in rows for key in keys):
            rows = table(await cache.get(refresh=True))
        return [rows.get(key) for key in keys]

    return DataLoader(load_fn=load)
