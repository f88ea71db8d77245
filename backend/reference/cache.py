"""Reference data every screen names (regions, preferential categories, the service
catalogue): a few hundred rows, read whole once per process and refreshed every few minutes,
so naming them costs a request nothing."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from backend.db.reads import Fetcher, Reads
from backend.i18n import NamedInThree


@dataclass(frozen=True, slots=True)
class RegionRow(NamedInThree):
    """An oblast or a city of republican significance."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str


@dataclass(frozen=True, slots=True)
class CategoryRow(NamedInThree):
    """A preferential category."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str


@dataclass(frozen=True, slots=True)
class ServiceRow(NamedInThree):
    """A service of the catalogue."""

    code: str
    package: str
    category: str
    name_kk: str
    name_ru: str
    name_en: str


@dataclass(frozen=True)
class ReferenceData:
    """Everything in the reference tables, by code."""

    regions: dict[str, RegionRow]
    categories: dict[str, CategoryRow]
    services: dict[str, ServiceRow]


async def load_reference_data(db: Fetcher) -> ReferenceData:
    """Read the three reference tables whole."""
    regions = await db.fetch("SELECT code, name_kk, name_ru, name_en FROM core.region")
    categories = await db.fetch(
        "SELECT code, name_kk, name_ru, name_en FROM core.preferential_category")
    services = await db.fetch("SELECT code, package, category, name_kk, name_ru, name_en"
                              " FROM core.medical_service")
    return ReferenceData(
        regions={row["code"]: RegionRow(*row) for row in regions},
        categories={row["code"]: CategoryRow(*row) for row in categories},
        services={row["code"]: ServiceRow(*row) for row in services},
    )


class ReferenceCache:
    """The reference data, reloaded when older than ``ttl_seconds`` (or when a code is
    unknown: a service added to the catalogue shows up on the next request that names it)."""

    def __init__(self, reads: Reads, ttl_seconds: float = 300) -> None:
        self._reads = reads
        self._ttl = ttl_seconds
        self._data: ReferenceData | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, refresh: bool = False) -> ReferenceData:
        """The current reference data (``refresh``: reload unless just loaded)."""
        age = time.monotonic() - self._loaded_at
        if self._data is not None and age < self._ttl and not refresh:
            return self._data
        async with self._lock:
            age = time.monotonic() - self._loaded_at
            if self._data is None or age >= self._ttl or (refresh and age > 1):
                async with self._reads.connection() as connection:
                    self._data = await load_reference_data(connection)
                self._loaded_at = time.monotonic()
            return self._data
