"""The public figures in GraphQL: ``Query.publicStats``, for anyone, signed in or not.

Thin: each field checks its arguments, asks ``backend.transparency.figures`` (the same
functions as the open-data files) and names what it got in the reader's language.  Nothing
here holds a person's data; suppressed figures arrive as nulls.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, NewType

import strawberry
from strawberry.types import Info
from strawberry.types.scalar import ScalarDefinition

from backend.care.types import ProviderType
from backend.errors import AppError, BadUserInput, NotFound
from backend.gql.context import Context
from backend.gql.enums import QualityZoneType, graphql_value
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from backend.gql.scalars import Money, YearMonth
from backend.i18n import format_date, format_month
from backend.months import add_months, month_start
from backend.reference.cache import ReferenceData
from backend.transparency import figures, texts
from backend.transparency.figures import MAX_MONTHS, Figure, figures_of

Ctx = Info[Context, None]
Count = NewType("Count", int)
"""A count of payments, services or people (``Int`` is 32-bit; a country's are not)."""
SCALARS: dict[object, ScalarDefinition] = {
    Count: strawberry.scalar(
        name="Count", serialize=int, parse_value=int,
        description="A whole number of payments, services or people: a JSON number that may "
                    "exceed 32 bits (exact up to 2^53)."),
}
"""The scalars of the public figures, for the schema's ``scalar_map``."""
DEFAULT_MONTHS = 12
EARLIEST = date(2000, 1, 1)
"""No figures exist before (the Fund began in 2017); earlier months are refused, not read."""


@strawberry.type(description="The Fund's money up to the end of a day, by the day it moved.")
class FundBalance:
    on: date = strawberry.field(description="The day (inclusive).")
    received: Money = strawberry.field(description="Every contribution received, minus "
                                                   "refunds, up to that day.")
    paid_out: Money = strawberry.field(description="Every service payment, minus "
                                                   "withdrawals, up to that day.")
    balance: Money = strawberry.field(description="Received minus paid out.")


@strawberry.type(description="One row of a public table of money, or its total. Amount and "
                             "count are null when the row is suppressed: it would count 1–10 "
                             "payments or services, or give such a figure away.")
class MoneyFigure:
    key: str = strawberry.field(description="What the row groups: a region code (KZ-75), a "
                                            "month (2026-10), a kind, payer kind, package or "
                                            "category code; `total` for the total.")
    name: str = strawberry.field(description="That, in the reader's language.")
    amount: Money | None = strawberry.field(description="The money (null: suppressed).")
    count: Count | None = strawberry.field(
        description="Payments (money in: contributions, minus refunds) or services (money "
                    "out: service payments, minus withdrawals); null: suppressed.")
    suppressed: bool = strawberry.field(description="Whether amount and count are withheld.")


@strawberry.type(description="Contributions received for the months of a period (the months "
                             "the money is for), by month, region, kind and payer kind.")
class MoneyIn:
    first_month: YearMonth = strawberry.field(name="from", description="The first month.")
    last_month: YearMonth = strawberry.field(name="until", description="The last month.")
    total: MoneyFigure = strawberry.field(description="All of it.")
    by_month: list[MoneyFigure] = strawberry.field(description="By month, oldest first.")
    by_region: list[MoneyFigure] = strawberry.field(description="By the person's region, "
                                                                "by code.")
    by_kind: list[MoneyFigure] = strawberry.field(description="By kind of contribution.")
    by_payer_kind: list[MoneyFigure] = strawberry.field(description="By who paid.")


@strawberry.type(description="What the Fund paid providers for care given in the months of "
                             "a period, by month, region, package and service category.")
class MoneyOut:
    first_month: YearMonth = strawberry.field(name="from", description="The first month.")
    last_month: YearMonth = strawberry.field(name="until", description="The last month.")
    total: MoneyFigure = strawberry.field(description="All of it.")
    by_month: list[MoneyFigure] = strawberry.field(description="By month of care, oldest "
                                                               "first.")
    by_region: list[MoneyFigure] = strawberry.field(description="By the provider's region, "
                                                                "by code.")
    by_package: list[MoneyFigure] = strawberry.field(description="By benefit package.")
    by_category: list[MoneyFigure] = strawberry.field(description="By service category.")


@strawberry.type(description="People of a region (or the country) at a month's end by "
                             "status; a count is null when suppressed (1–10 people, or "
                             "giving such a count away).")
class InsuredFigure:
    key: str = strawberry.field(description="The region code, or `total`.")
    name: str = strawberry.field(description="The region, in the reader's language.")
    insured: Count | None = strawberry.field(
        description="Insured.")
    conditionally_insured: Count | None = strawberry.field(
        description="Conditionally insured (in the grace months after payments stopped).")
    not_insured: Count | None = strawberry.field(
        description="Not insured.")
    total: Count | None = strawberry.field(
        description="Everyone counted.")


@strawberry.type(description="People by region and insurance status at the end of a month.")
class InsuredPeople:
    month: YearMonth = strawberry.field(description="The month.")
    final: bool = strawberry.field(description="The month-end count (false: the month is not "
                                               "over and this is a provisional count).")
    total: InsuredFigure = strawberry.field(description="The whole country.")
    by_region: list[InsuredFigure] = strawberry.field(description="By region, by code.")


@strawberry.type(description="A provider and what the Fund paid it over a period. Counts and "
                             "rates are null when suppressed.")
class ProviderFigures:
    provider: ProviderType = strawberry.field(description="The provider (name, region, zone).")
    received: Money | None = strawberry.field(description="Money paid for its services.")
    services: Count | None = strawberry.field(
        description="Services paid (service payments, minus withdrawals).")
    anomaly_rate: float | None = strawberry.field(
        description="Flags the ingestion checks raised per service paid (a service with two "
                    "flags counts twice), for example 0.012.")
    dispute_rate: float | None = strawberry.field(
        description="Citizens' reports about its services (\"I did not receive this\") per "
                    "service paid; reports count in the month they were made.")


def _count(value: int | None) -> Count | None:
    return None if value is None else Count(value)


def _refused(reason: str, field: str, error: type[AppError] = BadUserInput,
             **values: object) -> AppError:
    refusal = error(texts.refusal(reason, **values))
    refusal.reason = reason
    refusal.field = field  # type: ignore[attr-defined]
    return refusal


def _period(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The months asked for, checked: months that have ended (a month in progress is never
    published, see ``figures``); by default the 12 before this one."""
    ended = figures.last_ended(today)
    if last is None:
        last = max(ended, first) if first is not None else ended
    for month, name in ((first, "from"), (last, "until")):
        if month is not None and month < EARLIEST:
            raise _refused("MONTH_TOO_EARLY", name, month=f"{EARLIEST:%Y-%m}")
    if first is None:
        first = max(add_months(last, 1 - DEFAULT_MONTHS), EARLIEST)
    if last > ended:
        raise _refused("MONTH_NOT_OVER", "until", month=f"{ended:%Y-%m}")
    if last < first:
        raise _refused("PERIOD_REVERSED", "until")
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise _refused("PERIOD_TOO_LONG", "from", max=MAX_MONTHS)
    return first, last


def _money(key: str, name: str, figure: Figure) -> MoneyFigure:
    return MoneyFigure(
        key=key, name=name, suppressed=figure.suppressed,
        amount=None if figure.amount_tiyn is None else Money.of_tiyn(figure.amount_tiyn),
        count=_count(figure.count))


def _name(by: str, key: str, language: str, reference: ReferenceData) -> str:
    if by == "region":
        region = reference.regions.get(key)
        return region.name_in(language) if region is not None else key
    if by == "month":
        return format_month(date.fromisoformat(f"{key}-01"), language)
    labels = {"kind": texts.KINDS, "payer_kind": texts.PAYER_KINDS, "package": texts.PACKAGES,
              "category": texts.CATEGORIES}[by]
    return labels[key][language] if key in labels else key


async def _tables(info: Ctx, measure: str, first: date | None, last: date | None
                  ) -> tuple[date, date, MoneyFigure, dict[str, list[MoneyFigure]]]:
    start, end = _period(first, last, info.context.today)
    groupings = [by for by in (figures.MONEY_IN_GROUPINGS if measure == figures.MONEY_IN
                               else figures.MONEY_OUT_GROUPINGS)
                 if by != "provider"]  # providers: their own connection
    found = await figures.money(figures_of(info.context.reads.shared), measure, start, end,
                                info.context.today, groupings)
    language = await info.context.language()
    reference = await info.context.reference.get()
    tables = {by: [_money(row.key, _name(by, row.key, language, reference), row.figure)
                   for row in table.rows] for by, table in found.tables.items()}
    return start, end, _money("total", texts.TOTAL[language], found.total), tables


async def _region(info: Ctx, code: str | None) -> str | None:
    if code is not None and code not in (await info.context.reference.get()).regions:
        raise _refused("UNKNOWN_REGION", "regionCode")
    return code


def _insured(key: str, name: str, by_status: dict[str, int | None], total: int | None
             ) -> InsuredFigure:
    return InsuredFigure(key=key, name=name, insured=_count(by_status["INSURED"]),
                         conditionally_insured=_count(by_status["CONDITIONALLY_INSURED"]),
                         not_insured=_count(by_status["NOT_INSURED"]), total=_count(total))


@strawberry.type(description="The Fund's public figures: where the country's insurance money "
                             "comes from and goes, and how many people are insured. Read from "
                             "running totals, never about a person; no figure counts 1–10 "
                             "people, payments or services, nor can one be worked out from "
                             "the others (see docs/transparency.md).")
class PublicStats:
    @strawberry.field(description="The balance at the end of a day (default: today).")
    async def balance(self, info: Ctx, on: date | None = None) -> FundBalance:
        today = info.context.today
        if on is not None and on > today:
            raise _refused("DAY_NOT_YET", "on", day=format_date(today, await
                                                                info.context.language()))
        found = await figures.balance(figures_of(info.context.reads.shared), on or today)
        return FundBalance(on=found.on, received=Money.of_tiyn(found.received_tiyn),
                           paid_out=Money.of_tiyn(found.paid_tiyn),
                           balance=Money.of_tiyn(found.balance_tiyn))

    @strawberry.field(description=f"Money in for the months from..until (default: the 12 "
                                  f"months before this one; at most {MAX_MONTHS}).")
    async def money_in(self, info: Ctx,
                       first: Annotated[YearMonth | None, strawberry.argument(name="from")]
                       = None, until: YearMonth | None = None) -> MoneyIn:
        start, end, total, tables = await _tables(info, figures.MONEY_IN, first, until)
        return MoneyIn(first_month=YearMonth(start), last_month=YearMonth(end), total=total,
                       by_month=tables["month"], by_region=tables["region"],
                       by_kind=tables["kind"], by_payer_kind=tables["payer_kind"])

    @strawberry.field(description=f"Money out for care in the months from..until (default: "
                                  f"the 12 months before this one; at most {MAX_MONTHS}).")
    async def money_out(self, info: Ctx,
                        first: Annotated[YearMonth | None, strawberry.argument(name="from")]
                        = None, until: YearMonth | None = None) -> MoneyOut:
        start, end, total, tables = await _tables(info, figures.MONEY_OUT, first, until)
        return MoneyOut(first_month=YearMonth(start), last_month=YearMonth(end), total=total,
                        by_month=tables["month"], by_region=tables["region"],
                        by_package=tables["package"], by_category=tables["category"])

    @strawberry.field(description="People by region and status at the end of a month "
                                  "(default: the latest month counted).")
    async def insured(self, info: Ctx, month: YearMonth | None = None) -> InsuredPeople:
        current = month_start(info.context.today)
        if month is not None and month > current:
            raise _refused("MONTH_NOT_YET", "month", month=f"{current:%Y-%m}")
        public = figures_of(info.context.reads.shared)
        chosen = month or await figures.latest_insured_month(public, current)
        language = await info.context.language()
        found = None if chosen is None else await figures.insured(
            public, chosen, await public.regions())
        if found is None:
            shown = format_month(month or current, language)
            raise _refused("NO_INSURED_FIGURES", "month", NotFound, month=shown)
        reference = await info.context.reference.get()
        return InsuredPeople(
            month=YearMonth(found.month), final=found.final,
            total=_insured("total", texts.TOTAL[language], dict(found.by_status), found.total),
            by_region=[_insured(row.key, _name("region", row.key, language, reference),
                                dict(row.by_status), row.total) for row in found.rows])

    @strawberry.field(description=f"Providers with what they received over the months "
                                  f"from..until (default: the 12 months before this one; at "
                                  f"most {MAX_MONTHS}), optionally of one region and zone, by "
                                  f"region and BIN.")
    async def providers(self, info: Ctx,
                        first: Annotated[YearMonth | None, strawberry.argument(name="from")]
                        = None, until: YearMonth | None = None,
                        region_code: str | None = None, zone: QualityZoneType | None = None,
                        first_items: Annotated[int | None, strawberry.argument(name="first")]
                        = None, after: str | None = None) -> Connection[ProviderFigures]:
        size = page_size(first_items)
        start, end = _period(first, until, info.context.today)
        key = decode_cursor("public_providers", after, 2, (str, str))
        await _region(info, region_code)
        rows = await figures.provider_page(
            figures_of(info.context.reads.shared), region_code=region_code,
            zone=None if zone is None else graphql_value(zone), limit=size + 1,
            after=None if key is None else (key[0], key[1]))
        found = await figures.providers(figures_of(info.context.reads.shared), rows[:size],
                                        start, end, info.context.today)
        language = await info.context.language()
        nodes = [ProviderFigures(
            provider=ProviderType.build(item.provider, language),
            received=None if item.money.amount_tiyn is None else Money.of_tiyn(
                item.money.amount_tiyn),
            services=_count(item.money.count), anomaly_rate=item.anomaly_rate,
            dispute_rate=item.dispute_rate) for item in found]
        return build_connection(rows, size, kind="public_providers",
                                has_previous=key is not None,
                                key=lambda row: (row.region_code, row.bin), nodes=nodes)
