"""Every list page is an index range scan in the list's own order: no sort, no table scan, so
page 1,000 of a person with decades of history costs what page 1 costs."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.care import repository as care
from backend.contributions import repository as contributions
from backend.db.reads import fetcher_of
from backend.models.enums import ContributionKind, Package

PERSON = uuid.UUID("00000000-0000-4000-8000-000000000001")
AFTER = (date(2025, 9, 1), 123)


async def plan(session: AsyncSession, query: tuple[str, list[object]]) -> str:
    """The plan PostgreSQL picks when a table scan is not an option (as on a big table)."""
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL enable_bitmapscan = off"))
    # On the test's near-empty partitions, PostgreSQL 18 may instead skip-scan the primary key
    # (id, person_id) for the person and sort the few rows: on a big partition the list's own
    # index wins (tests/backend/test_partitioning.py checks it on a demo country, sorts allowed).
    await session.execute(text("SET LOCAL enable_sort = off"))
    sql, args = query
    rows = await (await fetcher_of(session)).fetch(f"EXPLAIN {sql}", *args)
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("query", [
    contributions.page_query(PERSON, limit=21),
    contributions.page_query(PERSON, limit=21, after=AFTER, year=2025),
    contributions.page_query(PERSON, limit=21, kind=ContributionKind.SELF_PAYMENT),
], ids=["first page", "next page of a year", "by kind"])
async def test_receipts_page_is_a_keyset_scan(session: AsyncSession,
                                              query: tuple[str, list[object]]) -> None:
    explained = await plan(session, query)
    assert "Index Scan using ix_contribution_person_period" in explained, explained
    assert "Sort" not in explained, explained
    if len(query[1]) > 3:  # the cursor is part of the index condition, not a filter after it
        assert "Index Cond: ((person_id" in explained and "ROW(period, id) <" in explained


@pytest.mark.parametrize("query", [
    care.page_query(PERSON, limit=21),
    care.page_query(PERSON, limit=21, after=AFTER, year=2025, package=Package.OSMS),
], ids=["first page", "next page of a year and package"])
async def test_covered_services_page_is_a_keyset_scan(session: AsyncSession,
                                                      query: tuple[str, list[object]]) -> None:
    explained = await plan(session, query)
    assert "Index Scan using ix_service_payment_person_care_date" in explained, explained
    assert "Sort" not in explained, explained
