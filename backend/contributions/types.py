"""GraphQL types of contributions: receipts, payers, and the month-by-month view."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.contributions import repository
from backend.contributions.repository import ContributionRow, PayerRow
from backend.contributions.service import Month, MonthState
from backend.gql.context import Context
from backend.gql.enums import ContributionKindType, PayerKindType, mirrors
from backend.gql.nodes import Node, global_id, parse_global_id
from backend.gql.scalars import Money, YearMonth
from backend.i18n import Texts, pick
from backend.tlog.gql import LogProof, proof_of

SELF_NAME: Texts = {"kk": "Өзіңіз", "ru": "Вы сами", "en": "You"}


@strawberry.type(name="Payer", description="Who sent a contribution: an employer, a budget, "
                                            "or the person themself.")
class PayerType:
    kind: PayerKindType = strawberry.field(description="Employer, state, local budget or self.")
    name: str = strawberry.field(description="Name in the reader's language.")
    bin: str | None = strawberry.field(description="An employer's BIN (12 digits).")

    @classmethod
    def build(cls, payer: PayerRow | None, language: str) -> PayerType:
        """The payer row in ``language``; None is the person paying for themself."""
        if payer is None:
            return cls(kind=PayerKindType.SELF, name=pick(SELF_NAME, language), bin=None)
        return cls(kind=PayerKindType(payer.kind), name=payer.name_in(language),
                   bin=payer.bin)


@strawberry.type(name="Contribution",
                 description="A contribution receipt: money received for the person for a month.")
class ContributionType(Node):
    period: YearMonth = strawberry.field(
        description="The month the money is for.")
    kind: ContributionKindType = strawberry.field(description="What kind of contribution.")
    amount: Money = strawberry.field(description="Amount received.")
    paid_on: date = strawberry.field(description="The day the payment was made.")
    payment_code: int | None = strawberry.field(
        description="Payment purpose code (КНП): 121 employer deduction, 122 contribution; "
                    "absent for budget transfers.")

    payer: PayerType = strawberry.field(description="Who paid.")

    @strawberry.field(description="This receipt in the Fund's public log, with the proof "
                                  "(null until it is in a checkpoint the witnesses "
                                  "cosigned, usually within a minute).")
    async def proof(self, info: Info[Context, None]) -> LogProof | None:
        return await proof_of(info, "contribution", int(parse_global_id(self.id)[1]))

    @classmethod
    def build(cls, row: ContributionRow, language: str) -> ContributionType:
        """The receipt of a contribution row, its payer named in ``language``."""
        return cls(
            id=global_id("Contribution", row.id), payer=PayerType.build(row.payer, language),
            period=YearMonth(row.period),
            kind=ContributionKindType(row.kind), amount=Money.of_tiyn(row.amount_tiyn),
            paid_on=row.paid_on, payment_code=row.payment_code,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[ContributionType | None]:
        """The signed-in citizen's receipts among ``node_ids`` (nobody else's)."""
        citizen = info.context.require_citizen()
        ids = [int(value) if value.isdigit() else -1 for value in node_ids]
        found = await repository.by_ids(info.context.reads, citizen.person_id, ids)
        language = await info.context.language()
        return [cls.build(found[key], language) if key in found else None for key in ids]


@strawberry.enum(description="Whether a month is paid, as the 12-month view shows it.")
@mirrors(MonthState)
class ContributionMonthState(Enum):
    PAID = strawberry.enum_value("paid", description="Money for this month arrived.")
    COVERED = strawberry.enum_value(
        "covered", description="Covered by a payment for another month (arrears paid off or "
                               "paid in advance).")
    MISSING = strawberry.enum_value("missing", description="Due and not paid: a gap.")
    PENDING = strawberry.enum_value("pending", description="Not paid yet, and not yet due.")


@strawberry.type(description="One calendar month of the person's contribution history.")
class ContributionMonth:
    period: YearMonth = strawberry.field(description="The month.")
    state: ContributionMonthState = strawberry.field(description="Paid, covered, missing or "
                                                                 "pending.")
    due_date: date = strawberry.field(description="Payments for the month are due by this day.")
    total: Money = strawberry.field(description="Sum of the receipts for this month.")
    contributions: list[ContributionType] = strawberry.field(
        description="The receipts for this month, newest first (empty for a gap).")

    @classmethod
    def build(cls, month: Month, language: str) -> ContributionMonth:
        """The GraphQL view of one month (payers named in ``language``)."""
        return cls(
            period=YearMonth(month.period), state=ContributionMonthState[month.state.name],
            due_date=month.due_date, total=Money.of_tiyn(month.total_tiyn),
            contributions=[ContributionType.build(row, language) for row in month.receipts])
