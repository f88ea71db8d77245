"""GraphQL types of a person's money flow for one year."""

from __future__ import annotations

import uuid
from collections import defaultdict

import strawberry
from strawberry.types import Info

from backend.care import repository as care
from backend.care.types import ProviderType
from backend.contributions import repository as contributions
from backend.contributions.types import PayerType
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, PackageType
from backend.gql.scalars import Money
from backend.i18n import Texts, format_money, pick
from backend.messages import message
from backend.models.enums import PayerKind

FIRST_YEAR = 2020  # contributions started in July 2020

_SUMMARY: Texts = {
    "kk": "{year} жылы сіздің сақтандыруыңызға {contributed} түсті, ал Қор сіздің "
          "медициналық көмегіңізге {paid} төледі.",
    "ru": "В {year} году за вашу страховку поступило {contributed}, а Фонд оплатил вашу "
          "медицинскую помощь на {paid}.",
    "en": "In {year}, {contributed} was paid for your insurance and the Fund paid {paid} "
          "for your care.",
}
_ALL_STATE: Texts = {
    "kk": " Мұның барлығын мемлекет төледі.",
    "ru": " Всё это заплатило государство.",
    "en": " The state paid all of it.",
}
_STATE_PART: Texts = {
    "kk": " Оның {state} сомасын мемлекет төледі.",
    "ru": " Из них {state} заплатило государство.",
    "en": " The state paid {state} of it.",
}


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
    async with context.read_session() as session:
        paid_in = await contributions.year_totals(session, person_id, year)
        paid_out = await care.year_totals(session, person_id, year)
    by_kind: dict[str, int] = defaultdict(int)
    by_payer: dict[uuid.UUID | None, int] = defaultdict(int)
    state = 0
    for kind, payer_id, payer_kind, total in paid_in:
        by_kind[kind.value] += total
        by_payer[payer_id] += total
        if payer_kind in (PayerKind.STATE, PayerKind.LOCAL_BUDGET):
            state += total
    payers = await context.loaders.payer.load_many([key for key in by_payer if key is not None])
    payer_rows = {row.id: row for row in payers if row is not None}
    by_package: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_provider: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for package, provider_id, total, count in paid_out:
        for bucket in (by_package[package.value], by_provider[provider_id]):
            bucket[0] += total
            bucket[1] += count
    providers = await context.loaders.provider.load_many(list(by_provider))
    provider_rows = {row.id: row for row in providers if row is not None}
    contributed = sum(by_kind.values())
    fund_paid = sum(total for total, _ in by_package.values())
    summary = pick(_SUMMARY, language).format(
        year=year, contributed=format_money(contributed, language),
        paid=format_money(fund_paid, language))
    if state and state == contributed:
        summary += pick(_ALL_STATE, language)
    elif state:
        summary += pick(_STATE_PART, language).format(state=format_money(state, language))
    return MoneyFlowYear(
        year=year,
        contributed=Money.of_tiyn(contributed),
        contributed_by_kind=[KindTotal(kind=ContributionKindType(kind), amount=Money.of_tiyn(v))
                             for kind, v in sorted(by_kind.items(), key=lambda kv: -kv[1])],
        contributed_by_payer=[
            PayerTotal(payer=PayerType.build(payer_rows.get(key) if key else None, language),
                       amount=Money.of_tiyn(total))
            for key, total in sorted(by_payer.items(), key=lambda kv: -kv[1])
            if key is None or key in payer_rows
        ],
        state_paid=Money.of_tiyn(state),
        fund_paid=Money.of_tiyn(fund_paid),
        fund_paid_by_package=[
            PackageTotal(package=PackageType(key), amount=Money.of_tiyn(t), services=n)
            for key, (t, n) in sorted(by_package.items(), key=lambda kv: -kv[1][0])
        ],
        fund_paid_by_provider=[
            ProviderTotal(provider=ProviderType.build(provider_rows[key], language),
                          amount=Money.of_tiyn(t), services=n)
            for key, (t, n) in sorted(by_provider.items(), key=lambda kv: -kv[1][0])
            if key in provider_rows
        ],
        balance=Money.of_tiyn(contributed - fund_paid),
        summary=summary,
    )


