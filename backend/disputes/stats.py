"""Counts of cases per provider and per region, by state, for integrators with ``stats:read``
(next to the anomaly lists): where patients say care was billed but not given, and what the
Fund found.  Counts only: no person, no case, no comment."""

from __future__ import annotations

import uuid
from datetime import date

import strawberry
from strawberry.types import Info

from backend.care.repository import ProviderRow
from backend.care.types import ProviderType
from backend.disputes import repository
from backend.disputes.repository import Counts
from backend.errors import BadUserInput, NotFound
from backend.gql.context import Context
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from backend.gql.scalars import Money
from backend.messages import message
from backend.reference.types import RegionType

Ctx = Info[Context, None]


@strawberry.type(description="Cases of one group by state (counts only; no person).")
class DisputeCounts:
    submitted: int = strawberry.field(description="Waiting for a reviewer.")
    in_review: int = strawberry.field(description="Being checked.")
    confirmed: int = strawberry.field(description="Found true (the payment was taken back).")
    not_confirmed: int = strawberry.field(description="Not found true.")
    overdue: int = strawberry.field(description="Open past their deadline today.")
    total: int = strawberry.field(description="All cases.")
    recovered: Money = strawberry.field(description="Taken back by confirmed cases.")

    @classmethod
    def of(cls, counts: Counts) -> DisputeCounts:
        """The figures of one group."""
        return cls(submitted=counts.submitted, in_review=counts.in_review,
                   confirmed=counts.confirmed, not_confirmed=counts.not_confirmed,
                   overdue=counts.overdue, total=counts.total,
                   recovered=Money.of_tiyn(counts.recovered_tiyn))


@strawberry.type(description="Cases about one provider's bills.")
class ProviderDisputeCount:
    provider: ProviderType = strawberry.field(description="The provider billed.")
    counts: DisputeCounts = strawberry.field(description="Its cases by state.")


@strawberry.type(description="Cases about the bills of one region's providers.")
class RegionDisputeCount:
    region: RegionType = strawberry.field(description="The providers' region.")
    counts: DisputeCounts = strawberry.field(description="Its cases by state.")


def _period(since: date | None, until: date | None) -> None:
    if since is not None and until is not None and until < since:
        raise BadUserInput(message("range", name="reportedUntil", low=since.isoformat(),
                                   high=date.max.isoformat()))


async def by_provider(info: Ctx, region_code: str | None, since: date | None,
                      until: date | None, first: int | None, after: str | None
                      ) -> Connection[ProviderDisputeCount]:
    """A keyset page of providers, the most cases first."""
    _period(since, until)
    size = page_size(first)
    key = decode_cursor("dispute_counts", after, 2, (int, str))
    cursor: tuple[int, uuid.UUID] | None = None
    if key is not None:
        try:
            cursor = (key[0], uuid.UUID(key[1]))
        except ValueError:
            raise BadUserInput(message("bad_cursor")) from None
    rows = await repository.counts_by_provider(
        info.context.reads, today=info.context.today, since=since, until=until,
        region_code=region_code, limit=size + 1, after=cursor)
    language = await info.context.language()
    nodes = [ProviderDisputeCount(
        provider=ProviderType.build(ProviderRow(uuid.UUID(row.key), row.bin or "",
                                                row.region_code or "", row.quality_zone or "",
                                                row.name_kk, row.name_ru, row.name_en),
                                    language),
        counts=DisputeCounts.of(row)) for row in rows[:size]]
    return build_connection(rows, size, kind="dispute_counts", has_previous=key is not None,
                            key=lambda row: (row.total, row.key), nodes=nodes)


async def by_region(info: Ctx, since: date | None, until: date | None
                    ) -> list[RegionDisputeCount]:
    """Every region with cases, by code."""
    _period(since, until)
    rows = await repository.counts_by_region(info.context.reads, today=info.context.today,
                                             since=since, until=until)
    language = await info.context.language()
    regions = await info.context.loaders.region.load_many([row.key for row in rows])
    found = []
    for row, region in zip(rows, regions, strict=True):
        if region is None:
            raise NotFound(message("missing_reference"))
        found.append(RegionDisputeCount(region=RegionType.build(region, language),
                                        counts=DisputeCounts.of(row)))
    return found
