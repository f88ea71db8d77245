"""Where every table would live under Citus, and a checker of Citus's rules on a live catalog.

Beyond one primary, the plan (``infra/citus/PLAN.md``) distributes the person-owned tables on the
person's id, all co-located with ``core.person``: a citizen's screens then run on one shard
(router queries), and joins between a person's rows never leave the node.  Citus enforces
uniqueness and foreign keys only within a shard, so a distributed table must carry its
distribution column in its primary key, in every unique key, and on both sides of every foreign
key to another distributed table.  This module is the one place that says which class each
table is in; ``tests/test_citus_ready.py`` checks the rules against the catalog of a migrated
database, and ``infra/citus/distribute.sql`` is rendered from it (``python -m
backend.db.distribution > infra/citus/distribute.sql``; a test fails when they differ).

The three classes:

- **distributed** (by the column named here, co-located with ``core.person``): what grows with
  the population and is read by person;
- **reference** (a copy on every node): small catalogues that distributed rows point at
  (regions, the service catalogue, rates, payers, providers, ingestion batches);
- **local** (on the coordinator only): what is not read by person or must stay in one place
  (the outbox and the rest of ``notify``, the verifiable log, the public rollups, ``auth``, the
  IIN key table, guardianship links between two people, Alembic's version).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

DISTRIBUTED: Mapping[str, str] = {
    # In the order ``create_distributed_table`` must take them: a table after those it points at.
    "core.person": "id",
    "core.person_status": "person_id",
    "core.category_membership": "person_id",
    "core.status_history": "person_id",
    "core.access_log": "person_id",
    "core.contribution": "person_id",
    "core.service_payment": "person_id",
    "core.dispute": "person_id",
    "core.dispute_event": "person_id",
}
"""Distributed tables and their distribution column (all co-located with ``core.person``)."""

REFERENCE: tuple[str, ...] = (
    # In the order ``create_reference_table`` must take them: a table after those it points at.
    "core.region",
    "core.preferential_category",
    "core.medical_service",
    "core.minimum_wage",
    "core.contribution_rate",
    "core.payee_account",
    "core.payer",
    "core.provider",
    "core.ingestion_batch",
)
"""Reference tables: small, read by every shard, written rarely."""

LOCAL: frozenset[str] = frozenset({
    "public.alembic_version",
    # key tables whose key is not the person: IIN -> person, senders' record ids -> row
    "core.person_iin", "core.contribution_key", "core.service_payment_key",
    # links two people who may live on different shards; its idempotency key stays exact
    "core.guardianship",
    "core.retention_horizon",
    # auth: sessions, staff, clients, keys, throttles, sign-in and consent codes (short-lived)
    "auth.client", "auth.consent_challenge", "auth.consent_code", "auth.consent_window",
    "auth.desk_session", "auth.login_challenge", "auth.onboarding_code", "auth.refresh_token",
    "auth.session_family", "auth.signing_key", "auth.staff_account", "auth.staff_audit",
    "auth.staff_setup_code", "auth.throttle",
    # notify: the outbox and what the worker makes of it (claimed across everyone)
    "notify.announcement", "notify.delivery", "notify.device", "notify.notification",
    "notify.outbox", "notify.preference", "notify.quiet_hours", "notify.sms_delivery",
    # the verifiable log: one tree, one appender
    "tlog.checkpoint", "tlog.leaf", "tlog.pending", "tlog.tile", "tlog.witness",
    # the public rollups and their releases
    "stats.cash_day", "stats.cash_day_delta", "stats.cash_month", "stats.disputes",
    "stats.disputes_delta", "stats.edition", "stats.insured", "stats.insured_now",
    "stats.insured_now_delta", "stats.money_in", "stats.money_in_delta", "stats.money_out",
    "stats.money_out_delta", "stats.month_change", "stats.provider_flags",
    "stats.provider_flags_delta", "stats.release", "stats.release_cell",
})
"""Tables that stay on the coordinator."""

COLOCATE_WITH = "core.person"
"""The table every distributed table is co-located with."""

IGNORED_SCHEMAS = ("pg_catalog", "information_schema", "citus", "citus_internal", "columnar",
                   "columnar_internal")


@dataclass(frozen=True)
class Distribution:
    """A classification of tables (the project's, or a test's own)."""

    distributed: Mapping[str, str]
    reference: Sequence[str]
    local: frozenset[str] = field(default_factory=frozenset)
    colocate_with: str = COLOCATE_WITH

    def kind(self, table: str) -> str | None:
        """``distributed``, ``reference``, ``local``, or None for an unclassified table."""
        if table in self.distributed:
            return "distributed"
        if table in self.reference:
            return "reference"
        return "local" if table in self.local else None


PLAN = Distribution(DISTRIBUTED, REFERENCE, LOCAL)
"""The project's classification."""


_GUARD = """DO $guard$
DECLARE found text;
BEGIN
    SELECT string_agg(tgrelid::regclass || '.' || tgname, ', '
                      ORDER BY tgrelid::regclass::text, tgname) INTO found
    FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY(ARRAY[@TABLES@]::regclass[]);
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'replace the triggers on tables to distribute first'
                        ' (infra/citus/PLAN.md): %', found;
    END IF;
END $guard$;"""


def trigger_guard_sql(plan: Distribution = PLAN) -> str:
    """A statement that fails, naming them, while tables to distribute still have triggers.

    A trigger on a distributed table would run on the shards, if at all (Citus takes row
    triggers only, behind ``citus.enable_unsafe_triggers``), and could not write the
    coordinator's tables: the public rollups, the verifiable log's queue and the IIN key are kept
    by statement triggers with transition tables today.  ``PLAN.md`` says what replaces them;
    distributing must not start before they are gone.
    """
    tables = ", ".join(f"'{table}'" for table in plan.distributed)
    return _GUARD.replace("@TABLES@", tables)


def distribute_sql(plan: Distribution = PLAN) -> str:
    """The statements that distribute a migrated database on a Citus coordinator."""
    lines = ["-- Rendered by `python -m backend.db.distribution` from backend/db/distribution.py;",
             "-- tests/test_citus_ready.py fails when this file differs.  Run once on the",
             "-- coordinator, after the workers are added and the migrations applied, with",
             "-- psql -v ON_ERROR_STOP=1 (each call moves its table's rows in its own",
             "-- transaction).", "",
             "-- Stops while tables to distribute still have triggers (they would not run there).",
             trigger_guard_sql(plan), "", "-- Reference tables: a copy on every node."]
    lines += [f"SELECT create_reference_table('{table}');" for table in plan.reference]
    lines += ["", f"-- Distributed by the person, co-located with {plan.colocate_with}."]
    for table, column in plan.distributed.items():
        colocate = "none" if table == plan.colocate_with else plan.colocate_with
        lines.append(f"SELECT create_distributed_table('{table}', '{column}',"
                     f" colocate_with => '{colocate}');")
    lines += ["", "-- Local to the coordinator (not distributed):"]
    lines += [f"--   {table}" for table in sorted(plan.local)]
    lines += [""]
    return "\n".join(lines)


_TABLES = text(
    "SELECT c.oid, n.nspname || '.' || c.relname AS name FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
    " AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL(:ignored)"
    " AND (CAST(:schemas AS text[]) IS NULL OR n.nspname = ANY(:schemas))")
_COLUMNS = text(
    "SELECT attrelid AS oid, attnum, attname, format_type(atttypid, atttypmod) AS type,"
    " attnotnull FROM pg_attribute WHERE attrelid = ANY(:oids) AND attnum > 0"
    " AND NOT attisdropped")
_UNIQUE = text(
    "SELECT i.indrelid AS oid, i.indisprimary AS is_primary, CAST(i.indkey AS int2[]) AS keys,"
    " ic.relname AS name FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
    " WHERE i.indisunique AND i.indrelid = ANY(:oids)")
_FOREIGN = text(
    "SELECT conname AS name, conrelid AS oid, confrelid AS target, conkey AS keys,"
    " confkey AS target_keys FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(:oids)")


@dataclass
class _Catalog:
    names: dict[int, str]
    columns: dict[tuple[int, int], str]
    types: dict[tuple[str, str], str]
    not_null: set[tuple[str, str]]
    unique: list[Any]
    foreign: list[Any]

    def column_names(self, oid: int, keys: Sequence[int]) -> list[str]:
        return [self.columns.get((oid, key), "(expression)") for key in keys]


async def _catalog(conn: AsyncConnection, schemas: Sequence[str] | None) -> _Catalog:
    tables = (await conn.execute(_TABLES, {"ignored": list(IGNORED_SCHEMAS),
                                           "schemas": None if schemas is None
                                           else list(schemas)})).all()
    names = {row.oid: row.name for row in tables}
    oids = list(names)
    columns = (await conn.execute(_COLUMNS, {"oids": oids})).all()
    return _Catalog(
        names=names,
        columns={(row.oid, row.attnum): row.attname for row in columns},
        types={(names[row.oid], row.attname): row.type for row in columns},
        not_null={(names[row.oid], row.attname) for row in columns if row.attnotnull},
        unique=list((await conn.execute(_UNIQUE, {"oids": oids})).all()),
        foreign=list((await conn.execute(_FOREIGN, {"oids": oids})).all()))


def _check_classes(plan: Distribution, catalog: _Catalog,
                   schemas: Sequence[str] | None) -> list[str]:
    found = set(catalog.names.values())
    problems = [f"{table}: not classified; add it to DISTRIBUTED, REFERENCE or LOCAL in"
                f" backend/db/distribution.py (and regenerate infra/citus/distribute.sql)"
                for table in sorted(found) if plan.kind(table) is None]
    classified = [*plan.distributed, *plan.reference, *plan.local]
    in_scope = [t for t in classified if schemas is None or t.split(".", 1)[0] in schemas]
    problems += [f"{table}: classified in backend/db/distribution.py but not in the database"
                 for table in sorted(set(in_scope) - found)]
    twice = [t for t in set(classified) if classified.count(t) > 1]
    problems += [f"{table}: classified twice" for table in sorted(twice)]
    return problems


def _check_distributed(plan: Distribution, catalog: _Catalog) -> list[str]:
    problems: list[str] = []
    anchor = plan.distributed.get(plan.colocate_with)
    anchor_type = catalog.types.get((plan.colocate_with, anchor)) if anchor else None
    for table, column in plan.distributed.items():
        if table not in catalog.names.values():
            continue
        kind = catalog.types.get((table, column))
        if kind is None:
            problems.append(f"{table}: has no distribution column {column}")
            continue
        if (table, column) not in catalog.not_null:
            problems.append(f"{table}: its distribution column {column} may be NULL")
        if anchor_type is not None and kind != anchor_type:
            problems.append(f"{table}: {column} is {kind}, but {plan.colocate_with}"
                            f" (co-located) is distributed on {anchor_type}")
    has_primary: set[str] = set()
    for index in catalog.unique:
        table = catalog.names[index.oid]
        if table not in plan.distributed:
            continue
        has_primary.update([table] if index.is_primary else [])
        keys = catalog.column_names(index.oid, index.keys)
        column = plan.distributed[table]
        if column not in keys:
            what = "primary key" if index.is_primary else "unique key"
            problems.append(f"{table}: {what} {index.name} ({', '.join(keys)}) lacks the"
                            f" distribution column {column}")
    problems += [f"{table}: has no primary key" for table in plan.distributed
                 if table in catalog.names.values() and table not in has_primary]
    return problems


def _check_foreign_keys(plan: Distribution, catalog: _Catalog) -> list[str]:
    problems: list[str] = []
    for fk in catalog.foreign:
        source, target = catalog.names[fk.oid], catalog.names.get(fk.target, "?")
        source_kind, target_kind = plan.kind(source), plan.kind(target)
        if source_kind is None or target_kind is None:
            continue  # reported as unclassified
        keys = catalog.column_names(fk.oid, fk.keys)
        target_keys = catalog.column_names(fk.target, fk.target_keys)
        where = f"{source}: foreign key {fk.name} ({', '.join(keys)}) -> {target}"
        if target_kind == "distributed" and source_kind != "distributed":
            problems.append(f"{where}: a {source_kind} table may not point at a distributed"
                            f" table")
        elif source_kind == "distributed" and target_kind == "local":
            problems.append(f"{where}: a distributed table may point only at reference or"
                            f" co-located distributed tables, not at a local one")
        elif source_kind == "reference" and target_kind != "reference":
            problems.append(f"{where}: a reference table may point only at reference tables")
        elif source_kind == target_kind == "distributed":
            pair = (plan.distributed[source], plan.distributed[target])
            if pair not in zip(keys, target_keys, strict=True):
                problems.append(f"{where} ({', '.join(target_keys)}): does not match"
                                f" {source}.{pair[0]} to {target}.{pair[1]} (both"
                                f" distribution columns), so it would cross shards")
    return problems


async def violations(conn: AsyncConnection, plan: Distribution = PLAN,
                     schemas: Sequence[str] | None = None) -> list[str]:
    """What in the database at ``conn`` breaks Citus's rules for ``plan`` (empty: none).

    ``schemas`` limits the check to those schemas (all but PostgreSQL's and Citus's own when
    None).  Each problem is one line naming the table and the key or constraint at fault.
    """
    catalog = await _catalog(conn, schemas)
    return [*_check_classes(plan, catalog, schemas), *_check_distributed(plan, catalog),
            *_check_foreign_keys(plan, catalog)]


def order_problems(plan: Distribution, foreign_keys: Sequence[tuple[str, str]]) -> list[str]:
    """Where distribute.sql's order would have Citus meet a table before one it points at
    (``foreign_keys``: (source, target) pairs)."""
    order = [*plan.reference, *plan.distributed]
    position = {table: i for i, table in enumerate(order)}
    return [f"{source} comes before {target}, which it points at"
            for source, target in foreign_keys
            if source != target and source in position and target in position
            and position[source] < position[target]]


if __name__ == "__main__":
    sys.stdout.write(distribute_sql())
