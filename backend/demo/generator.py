"""``mhi demo``: build the deterministic demo country and load it with COPY.

The same ``--seed`` and ``--as-of`` give the same country.  Everything is written in one
transaction: a run that fails midway leaves nothing behind, and ``--if-empty`` makes a second
``make run`` reuse what the first loaded.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.bulk import deferred_indexes
from backend.demo.care import SERVICE_PAYMENT_COLUMNS, CareBook
from backend.demo.cases import open_cast_case
from backend.demo.cast import CAST, CAST_GUARDIANSHIPS
from backend.demo.catalogue import SERVICES
from backend.demo.money_flows import CONTRIBUTION_COLUMNS, Ledger, Row
from backend.demo.population import (
    MEMBERSHIP_COLUMNS,
    PERSON_COLUMNS,
    Population,
    add_person,
    random_profile,
)
from backend.demo.world import STATE_PAYER_NAMES, World, build_world, region_weights
from backend.models import Contribution, Person
from backend.models.stats import STATS_TABLES
from backend.models.tlog import TLOG_TABLES
from backend.rates.repository import load_rate_book
from backend.reference.regions import REGIONS
from backend.transparency.rollups import fold_all

CHUNK = 5_000
DEMO_TABLES = (
    "service_payment",
    "service_payment_key",
    "contribution",
    "contribution_key",
    "category_membership",
    "person",
    "payer",
    "provider",
    "medical_service",
)
UNLINKED_TABLES = ("guardianship",)
"""Demo tables that point at people without a foreign key (links between two people, who may
live on two shards: migration 0020), so ``TRUNCATE core.person … CASCADE`` does not reach
them: whoever empties the people empties these too."""


@dataclass(frozen=True)
class DemoReport:
    """What a run loaded, and how long it took."""

    people: int
    contributions: int
    service_payments: int
    seconds: float


async def latest_demo_payment(engine: AsyncEngine) -> date | None:
    """The day of the latest demo contribution: about the day the demo was generated for."""
    query = select(func.max(Contribution.paid_on)).where(Contribution.source.like("demo%"))
    async with engine.connect() as conn:
        latest: date | None = (await conn.execute(query)).scalar_one()
        return latest


async def count_people(engine: AsyncEngine) -> int:
    """How many people the database holds."""
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Person))).scalar_one())


async def _copy(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    if not rows:
        return
    raw: Any = (await conn.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(table, records=rows, columns=list(columns), schema_name="core")


async def _load_organisations(conn: AsyncConnection, world: World) -> None:
    await _copy(
        conn,
        "medical_service",
        (
            "code",
            "name_kk",
            "name_ru",
            "name_en",
            "package",
            "category",
            "sex",
            "min_age",
            "max_age",
        ),
        [
            (
                s.code,
                s.name_kk,
                s.name_ru,
                s.name_en,
                s.package,
                s.category,
                s.sex,
                s.min_age,
                s.max_age,
            )
            for s in SERVICES
        ],
    )
    payers: list[Row] = [(world.state_payer_id, "state", None, *STATE_PAYER_NAMES, None)]
    for region in REGIONS:
        payers.append(
            (
                world.local_budget_ids[region.code],
                "local_budget",
                None,
                f"{region.name_kk} жергілікті бюджеті",
                f"Местный бюджет: {region.name_ru}",
                f"Local budget of {region.name_en}",
                region.code,
            )
        )
    for employers in world.employers_by_region.values():
        payers.extend((e.id, "employer", e.bin, *e.names, e.region_code) for e in employers)
    await _copy(
        conn, "payer", ("id", "kind", "bin", "name_kk", "name_ru", "name_en", "region_code"), payers
    )
    await _copy(
        conn,
        "provider",
        (
            "id",
            "bin",
            "name_kk",
            "name_ru",
            "name_en",
            "region_code",
            "kind",
            "ownership",
            "quality_zone",
        ),
        [
            (p.id, p.bin, *p.names, p.region_code, p.kind, p.ownership, p.quality_zone)
            for p in world.providers
        ],
    )


def _progress(done: int, total: int, started: float, quiet: bool) -> None:
    if quiet:
        return
    width = 30
    filled = width * done // max(total, 1)
    rate = done / max(time.monotonic() - started, 1e-6)
    sys.stderr.write(
        f"\r  people [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}  {rate:,.0f}/s "
    )
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@dataclass
class _Builder:
    """Builds chunks of people (in a worker thread, while the previous chunk is copied)."""

    pop: Population
    care: CareBook
    seed: int
    weights: list[float]

    def build(self, start: int, size: int) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
        """Rows of people ``start .. start + size - 1`` (the cast first)."""
        pop, care, as_of = self.pop, self.care, self.pop.as_of
        rng = random.Random(f"{self.seed}:{start}")
        for index in range(start, start + size):
            profile = CAST[index] if index < len(CAST) else random_profile(rng, self.weights, as_of)
            scenario = add_person(pop, rng, profile)
            death = pop.persons[-1][10]
            care.add_history(
                rng,
                profile.id,
                profile.birth_date,
                profile.sex,
                profile.region_code,
                death if isinstance(death, date) else None,
                insured=scenario != "uninsured",
            )
        chunk = (pop.persons, pop.memberships, pop.ledger.rows, care.rows)
        pop.persons, pop.memberships, pop.ledger.rows, care.rows = [], [], [], []
        return chunk


async def _copy_chunk(
    conn: AsyncConnection, chunk: tuple[list[Row], list[Row], list[Row], list[Row]]
) -> None:
    persons, memberships, contributions, payments = chunk
    await _copy(conn, "person", PERSON_COLUMNS, persons)
    await _copy(conn, "category_membership", MEMBERSHIP_COLUMNS, memberships)
    await _copy(conn, "contribution", CONTRIBUTION_COLUMNS, contributions)
    await _copy(conn, "service_payment", SERVICE_PAYMENT_COLUMNS, payments)


async def _link_cast_children(conn: AsyncConnection) -> None:
    """The cast's parents and children (when the cast was loaded in full)."""
    births = {profile.id: profile.birth_date for profile in CAST}
    for number, (parent, child, kind) in enumerate(CAST_GUARDIANSHIPS, start=1):
        await conn.execute(text(
            "INSERT INTO core.guardianship (guardian_id, child_id, kind, valid_from, source,"
            " source_record_id) VALUES (:parent, :child, :kind, :since, 'demo', :record)"),
            {"parent": parent, "child": child, "kind": kind, "since": births[child],
             "record": f"demo-guardianship-{number}"})


async def generate(
    engine: AsyncEngine, *, people: int, seed: int, as_of: date, quiet: bool = False
) -> DemoReport:
    """Load a country of ``people`` (the cast included) seen on ``as_of`` into empty tables."""
    started = time.monotonic()
    rng = random.Random(seed)
    world = build_world(rng, people)
    totals = [0, 0]
    async with engine.begin() as conn:
        # The rollups' statement triggers (migration 0014) join each COPY's rows to their
        # people; planned while the tables fill, that join came out as a nested loop over the
        # whole person table per row (371 M comparisons for 10,000 people: 40 of the load's
        # 45 s).  Hash joins are right for a load of this size; ingestion's small statements
        # on a large, analysed table are planned on their own connections as before.
        await conn.execute(text("SET LOCAL enable_nestloop = off"))
        ledger = Ledger(await load_rate_book(conn), as_of)
        builder = _Builder(
            Population(world, ledger), CareBook(world, as_of), seed, region_weights()
        )
        async with deferred_indexes(conn, [f"core.{table}" for table in DEMO_TABLES]):
            await _load_organisations(conn, world)
            done = 0
            pending = asyncio.create_task(asyncio.to_thread(builder.build, 0, min(CHUNK, people)))
            while done < people:
                chunk = await pending
                size = len(chunk[0])
                if done + size < people:
                    pending = asyncio.create_task(
                        asyncio.to_thread(
                            builder.build, done + size, min(CHUNK, people - done - size)
                        )
                    )
                await _copy_chunk(conn, chunk)
                totals[0] += len(chunk[2])
                totals[1] += len(chunk[3])
                done += size
                _progress(done, people, started, quiet)
            if people >= len(CAST):
                await _link_cast_children(conn)
            if not quiet:
                sys.stderr.write("  building indexes and checking references…\n")
        if people >= 1:
            await open_cast_case(conn, as_of)
        await conn.execute(text("DISCARD PLANS"))
    # The COPYs wrote the rollups' deltas (statement triggers); fold them now, so the public
    # figures are right before anything serves them.
    await fold_all(engine, limit=100_000)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in DEMO_TABLES:
            await conn.execute(text(f"ANALYZE core.{table}"))
    return DemoReport(people, totals[0], totals[1], time.monotonic() - started)


async def clear(engine: AsyncEngine) -> None:
    """Remove all demo-loaded rows, the rollups made of them and the verifiable log that holds
    them (reference data stays): a new demo is a new log, which witnesses of the old one
    refuse as a fork (give it another ``TLOG_ORIGIN``, or reset their storage)."""
    async with engine.begin() as conn:
        tables = ", ".join([*(f"core.{table}" for table in (*DEMO_TABLES, *UNLINKED_TABLES)),
                            *(f"stats.{table}" for table in STATS_TABLES),
                            *(f"tlog.{table}" for table in TLOG_TABLES)])
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


async def database_size(engine: AsyncEngine) -> str:
    """The database's size on disk, human-readable."""
    async with engine.connect() as conn:
        query = text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return str((await conn.execute(query)).scalar_one())
