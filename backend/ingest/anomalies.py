"""Flagged service payments and contributions, for integrators with ``stats:read`` (the
Fund's analysts and auditors): what was flagged, where and when, newest first; no person is
named."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from backend.db.reads import Record
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from backend.gql.scalars import Money
from backend.messages import message

FLAGS = ("AFTER_DEATH", "SEX_MISMATCH", "AGE_MISMATCH", "DUPLICATE_BILLING",
         "PRACTITIONER_OVERLOAD")
# The partial index ix_service_payment_flagged serves both shapes.
PAGE = (
    "SELECT s.id, p.bin, p.name_ru, s.service_code, s.care_date, s.amount_tiyn, s.flags,"
    " s.source, s.source_record_id FROM core.service_payment s"
    " JOIN core.provider p ON p.id = s.provider_id"
    " WHERE s.flags <> '{}' AND s.id < $1 AND ($2::text IS NULL OR $2 = ANY(s.flags))"
    " ORDER BY s.id DESC LIMIT $3"
)


@strawberry.type(description="A service payment that the ingestion checks flagged.")
class ServiceAnomaly:
    payment_id: strawberry.ID = strawberry.field(description="The payment's id.")
    provider_bin: str = strawberry.field(description="The provider's BIN.")
    provider_name: str = strawberry.field(description="The provider's name (Russian).")
    service_code: str = strawberry.field(description="The catalogue code.")
    care_date: date = strawberry.field(description="The day of care.")
    amount: Money = strawberry.field(description="What the Fund paid.")
    flags: list[str] = strawberry.field(description=f"Why: {', '.join(FLAGS)}.")
    source: str = strawberry.field(description="Who sent the record (client id).")
    record_id: str = strawberry.field(description="The sender's record id.")


async def _flagged_page(info: Info[Context, None], sql: str, kind: str,
                       flags: tuple[str, ...], flag: str | None, first: int | None,
                       after: str | None) -> tuple[list[Record], int, bool]:
    """The rows of one keyset page of ``sql`` (newest id first), at most ``first``, with one
    more to tell whether a next page exists; the page size; whether there is a previous."""
    if flag is not None and flag not in flags:
        raise BadUserInput(message("unknown_flag", flags=", ".join(flags)))
    size = page_size(first)
    key = decode_cursor(kind, after, 1, (int,))
    below = key[0] if key is not None else 2**63 - 1
    return await info.context.reads.fetch(sql, below, flag, size + 1), size, key is not None


async def service_anomalies(info: Info[Context, None], flag: str | None, first: int | None,
                            after: str | None) -> Connection[ServiceAnomaly]:
    """A keyset page of flagged payments, newest first."""
    rows, size, has_previous = await _flagged_page(info, PAGE, "anomaly", FLAGS, flag, first,
                                                   after)
    return build_connection(
        rows, size, kind="anomaly", key=lambda row: (row[0],), has_previous=has_previous,
        nodes=[ServiceAnomaly(payment_id=strawberry.ID(str(row[0])), provider_bin=row[1],
                              provider_name=row[2], service_code=row[3], care_date=row[4],
                              amount=Money.of_tiyn(row[5]), flags=list(row[6]),
                              source=row[7], record_id=row[8]) for row in rows[:size]])


CONTRIBUTION_FLAGS = ("AFTER_DEATH",)
# The partial index ix_contribution_flagged serves both shapes.
CONTRIBUTION_PAGE = (
    "SELECT c.id, c.kind, c.period, c.amount_tiyn, c.paid_on, p.bin, c.flags, c.source,"
    " c.source_record_id FROM core.contribution c LEFT JOIN core.payer p ON p.id = c.payer_id"
    " WHERE c.flags <> '{}' AND c.id < $1 AND ($2::text IS NULL OR $2 = ANY(c.flags))"
    " ORDER BY c.id DESC LIMIT $3"
)


@strawberry.type(description="A contribution that the ingestion checks flagged (stored: the "
                             "Fund decides whether it is returned).")
class ContributionAnomaly:
    contribution_id: strawberry.ID = strawberry.field(description="The contribution's id.")
    kind: str = strawberry.field(description="The contribution kind.")
    period: str = strawberry.field(description="The month paid for, YYYY-MM.")
    amount: Money = strawberry.field(description="What was paid.")
    paid_on: date = strawberry.field(description="The payment date.")
    payer_bin: str | None = strawberry.field(description="The employer's BIN (none for "
                                                         "self-payers and budgets).")
    flags: list[str] = strawberry.field(
        description=f"Why: {', '.join(CONTRIBUTION_FLAGS)} (a month after the month of the "
                    f"person's death).")
    source: str = strawberry.field(description="Who sent the record (client id).")
    record_id: str = strawberry.field(description="The sender's record id.")


async def contribution_anomalies(info: Info[Context, None], flag: str | None,
                                 first: int | None, after: str | None
                                 ) -> Connection[ContributionAnomaly]:
    """A keyset page of flagged contributions, newest first."""
    rows, size, has_previous = await _flagged_page(
        info, CONTRIBUTION_PAGE, "contribution_anomaly", CONTRIBUTION_FLAGS, flag, first, after)
    return build_connection(
        rows, size, kind="contribution_anomaly", key=lambda row: (row["id"],),
        has_previous=has_previous,
        nodes=[ContributionAnomaly(
            contribution_id=strawberry.ID(str(row["id"])), kind=row["kind"],
            period=row["period"].strftime("%Y-%m"), amount=Money.of_tiyn(row["amount_tiyn"]),
            paid_on=row["paid_on"], payer_bin=row["bin"], flags=list(row["flags"]),
            source=row["source"], record_id=row["source_record_id"]) for row in rows[:size]])
