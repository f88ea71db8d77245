"""The schema is ready for Citus (issue 18, item 4), checked on the live catalog of the suite's
migrated database: every table is classified (distributed by the person, reference, or local to
the coordinator: ``backend/db/distribution.py``), every distributed table carries its
distribution column in its primary key and in every unique key, every foreign key between
distributed tables joins their distribution columns, and no reference or local table points at
a distributed one.  ``infra/citus/distribute.sql`` is rendered from the same classification, in
an order Citus accepts.  Citus itself cannot be installed here (``infra/citus/PLAN.md``)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.db.distribution import (
    PLAN,
    Distribution,
    distribute_sql,
    order_problems,
    trigger_guard_sql,
    violations,
)
from tests.factories import create_person, new_iin
from tests.infra_env import ROOT

CITUS = ROOT / "infra" / "citus"


async def test_the_live_schema_follows_the_rules_of_a_distribution_by_person(
        engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        problems = await violations(conn)
    assert not problems, "the schema breaks Citus's rules:\n" + "\n".join(problems)


async def test_distribute_sql_takes_each_table_after_those_it_points_at(
        engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT conrelid::regclass::text AS source, confrelid::regclass::text AS target"
            " FROM pg_constraint WHERE contype = 'f'"))).all()
    pairs = [(row.source, row.target) for row in rows]
    assert ("core.dispute", "core.service_payment") in pairs  # the catalog names are qualified
    assert order_problems(PLAN, pairs) == []


def test_distribute_sql_is_rendered_from_the_classification() -> None:
    assert (CITUS / "distribute.sql").read_text() == distribute_sql(), (
        "infra/citus/distribute.sql is stale: python -m backend.db.distribution"
        " > infra/citus/distribute.sql")


def test_every_table_has_one_class() -> None:
    classified = [*PLAN.distributed, *PLAN.reference, *PLAN.local]
    assert len(classified) == len(set(classified))
    assert next(iter(PLAN.distributed)) == PLAN.colocate_with


def test_the_citus_compose_file_runs_a_coordinator_and_two_workers_of_a_pinned_image() -> None:
    spec = yaml.safe_load((CITUS / "compose.yaml").read_text())
    services = spec["services"]
    citus = {name for name, service in services.items()
             if str(service.get("image", "")).startswith("citusdata/citus:")}
    assert {"coordinator", "worker-1", "worker-2"} <= citus
    for name in citus:
        tag = services[name]["image"].split(":", 1)[1]
        assert tag[0].isdigit() and tag != "latest", f"{name}: pin the image's tag"
    assert "citus_add_node('worker-2', 5432)" in " ".join(services["nodes"]["command"])
    assert services["migrate"]["command"] == ["mhi", "db", "migrate"]
    assert services["migrate"]["depends_on"] == {
        "nodes": {"condition": "service_completed_successfully"}}
    distribute = services["distribute"]
    assert distribute["command"][-1] == "/distribute.sql"
    assert distribute["volumes"] == ["./distribute.sql:/distribute.sql:ro"]
    assert distribute["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}}


async def test_distribute_sql_stops_while_tables_to_distribute_have_triggers(
        session: AsyncSession) -> None:
    """Today the rollups, the log's queue and the IIN key are kept by triggers on person-owned
    tables: distribute.sql refuses to start, naming them (PLAN.md, "Before distributing")."""
    with pytest.raises(DBAPIError, match="replace the triggers") as raised:
        async with session.begin_nested():
            await session.execute(text(trigger_guard_sql()))
    for trigger in ("core.contribution.tlog_contribution_insert",
                    "core.person.person_iin_insert", "core.dispute.stats_dispute_insert"):
        assert trigger in str(raised.value)


async def _keys(session: AsyncSession, *people: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = await session.execute(text(
        "SELECT iin, person_id FROM core.person_iin WHERE person_id = ANY(:ids)"),
        {"ids": list(people)})
    return {row.iin: row.person_id for row in rows}


async def test_the_iin_stays_unique_through_its_key_table(session: AsyncSession) -> None:
    """core.person's keys all hold the person's id; the IIN is unique in core.person_iin,
    which every write to core.person keeps (migration 0020)."""
    first, second = await create_person(session), await create_person(session)
    assert await _keys(session, first.id, second.id) == {first.iin: first.id,
                                                         second.iin: second.id}
    with pytest.raises(IntegrityError, match="pk_person_iin"):
        async with session.begin_nested():
            await create_person(session, iin=first.iin)

    new = new_iin(date(1985, 4, 12), "F")
    await session.execute(text("UPDATE core.person SET iin = :new WHERE id = :id"),
                          {"new": new, "id": first.id})
    assert await _keys(session, first.id) == {new: first.id}
    with pytest.raises(IntegrityError, match="pk_person_iin"):
        async with session.begin_nested():
            await session.execute(text("UPDATE core.person SET iin = :taken WHERE id = :id"),
                                  {"taken": second.iin, "id": first.id})

    await session.execute(text("DELETE FROM core.person WHERE id = :id"), {"id": second.id})
    assert await _keys(session, second.id) == {}
    again = await create_person(session, iin=second.iin)
    assert await _keys(session, again.id) == {second.iin: again.id}


# The checker itself, on tables made for it in a schema of their own (rolled back after).
SCRATCH = f"citus_probe_{uuid.uuid4().hex[:8]}"
PROBE = Distribution(
    distributed={f"{SCRATCH}.owner": "id", f"{SCRATCH}.good": "owner_id",
                 f"{SCRATCH}.bad": "owner_id", f"{SCRATCH}.no_column": "owner_id"},
    reference=(f"{SCRATCH}.catalogue",),
    local=frozenset({f"{SCRATCH}.queue"}),
    colocate_with=f"{SCRATCH}.owner")


async def _problems(session: AsyncSession, ddl: str) -> list[str]:
    for statement in ddl.replace("s.", f"{SCRATCH}.").split(";"):
        if statement.strip():
            await session.execute(text(statement))
    return await violations(await session.connection(), PROBE, schemas=[SCRATCH])


BASE = (
    f"CREATE SCHEMA {SCRATCH};"
    " CREATE TABLE s.owner (id uuid PRIMARY KEY);"
    " CREATE TABLE s.catalogue (code text PRIMARY KEY);"
    " CREATE TABLE s.good (id bigint, owner_id uuid NOT NULL REFERENCES s.owner (id),"
    "  code text REFERENCES s.catalogue, PRIMARY KEY (id, owner_id));"
    " CREATE TABLE s.queue (id bigint PRIMARY KEY, owner_id uuid);"
)


async def test_the_checker_passes_a_schema_that_follows_the_rules(
        session: AsyncSession) -> None:
    problems = await _problems(session, BASE + (
        " CREATE TABLE s.bad (id bigint, owner_id uuid NOT NULL, good_id bigint,"
        "  PRIMARY KEY (owner_id, id), FOREIGN KEY (good_id, owner_id)"
        "  REFERENCES s.good (id, owner_id));"
        " CREATE UNIQUE INDEX ON s.bad (good_id, owner_id) WHERE id > 0;"
        " CREATE TABLE s.no_column (owner_id uuid NOT NULL PRIMARY KEY);"))
    assert problems == []


async def test_the_checker_names_each_broken_rule(session: AsyncSession) -> None:
    problems = await _problems(session, BASE + (
        " CREATE TABLE s.bad (id bigint PRIMARY KEY, owner_id uuid, good_id bigint,"
        "  reporter uuid, source text, record text, UNIQUE (source, record),"
        "  FOREIGN KEY (good_id, reporter) REFERENCES s.good (id, owner_id));"
        " CREATE TABLE s.no_column (id bigint PRIMARY KEY);"
        " CREATE TABLE s.stray (id bigint PRIMARY KEY);"
        " ALTER TABLE s.catalogue ADD COLUMN owner_id uuid REFERENCES s.owner;"
        " ALTER TABLE s.queue ADD COLUMN good bigint, ADD FOREIGN KEY (good, owner_id)"
        "  REFERENCES s.good (id, owner_id);"
        " ALTER TABLE s.good ADD COLUMN queue_id bigint REFERENCES s.queue;"
        " CREATE UNIQUE INDEX bad_record ON s.bad (record);"))
    bad, s = f"{SCRATCH}.bad", SCRATCH
    for expected in (
            f"{s}.stray: not classified; add it to DISTRIBUTED, REFERENCE or LOCAL",
            f"{s}.no_column: has no distribution column owner_id",
            f"{bad}: its distribution column owner_id may be NULL",
            f"{bad}: primary key bad_pkey (id) lacks the distribution column owner_id",
            f"{bad}: unique key bad_source_record_key (source, record) lacks the distribution"
            f" column owner_id",
            f"{bad}: unique key bad_record (record) lacks the distribution column owner_id",
            f"{bad}: foreign key bad_good_id_reporter_fkey (good_id, reporter) -> {s}.good"
            f" (id, owner_id): does not match {bad}.owner_id to {s}.good.owner_id",
            f"{s}.catalogue: foreign key catalogue_owner_id_fkey (owner_id) -> {s}.owner:"
            f" a reference table may not point at a distributed table",
            f"{s}.queue: foreign key queue_good_owner_id_fkey (good, owner_id) -> {s}.good:"
            f" a local table may not point at a distributed table",
            f"{s}.good: foreign key good_queue_id_fkey (queue_id) -> {s}.queue: a distributed"
            f" table may point only at reference or co-located distributed tables"):
        assert any(problem.startswith(expected) for problem in problems), (
            expected, problems)


async def test_a_classified_table_that_is_gone_is_reported(session: AsyncSession) -> None:
    problems = await _problems(session, BASE + " CREATE TABLE s.no_column (owner_id uuid"
                               " NOT NULL PRIMARY KEY);")
    assert f"{SCRATCH}.bad: classified in backend/db/distribution.py but not in the database" \
        in problems
