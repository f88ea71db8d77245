"""A person's receipts and covered care as connections: one definition for the citizen's own
lists (``me``) and for a parent reading a child's (``me.children``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.types import Info

from backend.care import repository as care
from backend.care.types import CoveredServiceType, covered_services
from backend.contributions import repository as contributions
from backend.contributions.repository import ContributionRow
from backend.contributions.types import ContributionType
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, PackageType
from backend.gql.pagination import Connection, dated_connection
from backend.messages import message
from backend.models.enums import ContributionKind, Package

YEARS = (1, 9998)
"""Years a list may be filtered by (the filter reads up to 1 January of the next year)."""


def checked_year(year: int | None) -> int | None:
    """``year`` when it is one a list may be filtered by (``BAD_USER_INPUT`` otherwise)."""
    if year is not None and not YEARS[0] <= year <= YEARS[1]:
        raise BadUserInput(message("range", name="year", low=YEARS[0], high=YEARS[1]))
    return year


async def receipts(rows: Sequence[ContributionRow], language: str) -> list[ContributionType]:
    """Receipts for ``rows`` (their payers came with them)."""
    return [ContributionType.build(row, language) for row in rows]


async def contribution_page(
    info: Info[Context, None], person_id: uuid.UUID, *, first: int | None, after: str | None,
    year: int | None, kind: ContributionKindType | None,
) -> Connection[ContributionType]:
    """A page of ``person_id``'s receipts, newest month first."""
    domain_kind = None if kind is None else ContributionKind[kind.name]
    year = checked_year(year)
    language = await info.context.language()
    return await dated_connection(
        info.context, kind="contribution", first=first, after=after,
        fetch=lambda db, limit, cursor: contributions.page(
            db, person_id, limit=limit, after=cursor, year=year, kind=domain_kind),
        key=lambda row: (row.period, row.id),
        nodes=lambda rows: receipts(rows, language))


async def covered_page(
    info: Info[Context, None], person_id: uuid.UUID, *, first: int | None, after: str | None,
    year: int | None, package: PackageType | None,
) -> Connection[CoveredServiceType]:
    """A page of the care the Fund paid for ``person_id``, newest first."""
    domain_package = None if package is None else Package[package.name]
    year = checked_year(year)
    return await dated_connection(
        info.context, kind="covered_service", first=first, after=after,
        fetch=lambda db, limit, cursor: care.page(
            db, person_id, limit=limit, after=cursor, year=year, package=domain_package),
        key=lambda row: (row.care_date, row.id),
        nodes=lambda rows: covered_services(info.context, rows))
