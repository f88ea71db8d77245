"""GraphQL types of a person's money flow for one year."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from backend.allocations.service import year_flow
from backend.care import repository as care
from backend.care.types import ProviderType
from backend.contributions import repository as contributions
from backend.contributions.types import PayerType
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, PackageType
from backend.gql.scalars import Money
from backend.messages import message

FIRST_YEAR = 2020  # contributions started in July 2020

@strawberry.type(description="Contributions of one kind in a year.")
class KindTotal:
    kind: ContributionKindType = strawberry.field(description="The kind.")
    amount: Money = strawberry.field(description="Their sum.")


@strawberry.type(description="Contributions from one payer in a year.")
class PayerTotal:
    payer: PayerType = strawberry.field(description="Who paid.")
    amount: Money = strawberry.field(description="Their sum.")


@strawberry.type(description="What the Fund paid from one package in a year.")
class PackageTotal:
    package: PackageType = strawberry.field(description="The package.")
    amount: Money = strawberry.field(description="Sum paid.")
    services: int = strawberry.field(description="Number of services paid.")


@strawberry.type(description="What the Fund paid one provider for the person's care in a year.")
class ProviderTotal:
    provider: ProviderType = strawberry.field(description="The provider.")
    amount: Money = strawberry.field(description="Sum paid.")
    services: int = strawberry.field(description="Number of services paid.")


@strawberry.type(description="Where the money went in one year: paid in for the person "
                             "against paid out for their care.")
class MoneyFlowYear:
    year: int = strawberry.field(description="The calendar year (months paid for, days of care).")
    contributed: Money = strawberry.field(description="Everything paid in for the person.")
    contributed_by_kind: list[KindTotal] = strawberry.field(description="Paid in, by kind.")
    contributed_by_payer: list[PayerTotal] = strawberry.field(
        description="Paid in, by payer (largest first); the state appears when it paid.")
    state_paid: Money = strawberry.field(
        description="The part the republican or a local budget paid.")
    fund_paid: Money = strawberry.field(description="Everything the Fund paid for their care.")
    fund_paid_by_package: list[PackageTotal] = strawberry.field(
        description="Paid out, by package.")
    fund_paid_by_provider: list[ProviderTotal] = strawberry.field(
        description="Paid out, by provider (largest first).")
    balance: Money = strawberry.field(
        description="Paid in minus paid out (negative when care cost more than was paid in).")
    summary: str = strawberry.field(description="The year in one or two sentences.")


async def money_flow(info: Info[Context, None], person_id: uuid.UUID,
                     year: int | None) -> MoneyFlowYear:
    """A person's money flow for ``year`` (default: the current year)."""
    context = info.context
    year = context.today.year if year is None else year
    if not FIRST_YEAR <= year <= context.today.year:
        raise BadUserInput(message("range", name="year", low=FIRST_YEAR, high=context.today.year))
    language = await context.language()
    async with context.reads.connection() as db:
        flow = year_flow(await contributions.year_totals(db, person_id, year),
                         await care.year_totals(db, person_id, year))
    payers = await context.loaders.payer.load_many([k for k in flow.by_payer if k is not None])
    payer_rows = {row.id: row for row in payers if row is not None}
    providers = await context.loaders.provider.load_many(list(flow.by_provider))
    provider_rows = {row.id: row for row in providers if row is not None}
    return MoneyFlowYear(
        year=year,
        contributed=Money.of_tiyn(flow.contributed),
        contributed_by_kind=[
            KindTotal(kind=ContributionKindType[kind.name], amount=Money.of_tiyn(total))
            for kind, total in sorted(flow.by_kind.items(), key=lambda item: -item[1])],
        contributed_by_payer=[
            PayerTotal(payer=PayerType.build(payer_rows.get(key) if key else None, language),
                       amount=Money.of_tiyn(total))
            for key, total in sorted(flow.by_payer.items(), key=lambda item: -item[1])
            if key is None or key in payer_rows],
        state_paid=Money.of_tiyn(flow.state),
        fund_paid=Money.of_tiyn(flow.fund_paid),
        fund_paid_by_package=[
            PackageTotal(package=PackageType[package.name], amount=Money.of_tiyn(total),
                         services=count)
            for package, (total, count) in sorted(flow.by_package.items(),
                                                  key=lambda item: -item[1][0])],
        fund_paid_by_provider=[
            ProviderTotal(provider=ProviderType.build(provider_rows[key], language),
                          amount=Money.of_tiyn(total), services=count)
            for key, (total, count) in sorted(flow.by_provider.items(),
                                              key=lambda item: -item[1][0])
            if key in provider_rows],
        balance=Money.of_tiyn(flow.contributed - flow.fund_paid),
        summary=flow.summary(year, language),
    )
