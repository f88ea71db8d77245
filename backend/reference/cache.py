"""Reference data every screen names (regions, preferential categories, the service
catalogue): a few hundred rows, read whole once per process and refreshed every few minutes,
so naming them costs a request nothing."""

from __future__ import annotations

from dataclasses import dataclass

from backend.caching import Refreshing
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


ReferenceCache = Refreshing[ReferenceData]
"""The reference data of the process (see ``reference_cache``)."""


def reference_cache(reads: Reads, ttl_seconds: float = 300) -> ReferenceCache:
    """Reference data read whole on first use and again every ``ttl_seconds`` (or when a
    code is unknown: a service added to the catalogue shows up on the next request naming it)."""

    async def load() -> ReferenceData:
        async with reads.connection() as connection:
            return await load_reference_data(connection)

    return Refreshing(load, ttl_seconds)
