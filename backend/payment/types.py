"""GraphQL types of how a self-payer pays: the payee's details of the day and three payments."""

from __future__ import annotations

import uuid
from datetime import date

import strawberry
from strawberry.types import Info

from backend.errors import Forbidden, NotFound
from backend.gql.context import Context
from backend.gql.scalars import Money, YearMonth
from backend.i18n import Texts, format_date, pick
from backend.messages import message
from backend.payment.plan import PaymentOption, payment_plan
from backend.payment.repository import PayeeRow, payee_on

PAYEE_MISSING: Texts = {
    "kk": "Қордың {day} күнге төлем деректемелері жүйеге әлі енгізілмеген. Деректемелерді "
          "msqory.kz сайтынан немесе 1406 нөміріне қоңырау шалып нақтылаңыз.",
    "ru": "Реквизиты Фонда для оплаты на {day} ещё не загружены в систему. Уточните их на "
          "msqory.kz или по номеру 1406.",
    "en": "The Fund's payment details for {day} are not loaded yet. Check them on msqory.kz "
          "or call 1406.",
}


@strawberry.type(name="PayeeAccount",
                 description="Where self-payers pay, as the Fund publishes it for the day.")
class PayeeAccountType:
    name: str = strawberry.field(description="The payee (the State Corporation \"Government "
                                             "for Citizens\"), in the reader's language.")
    bin: str = strawberry.field(description="The payee's BIN (12 digits).")
    account: str = strawberry.field(description="The payee's account (IBAN, 20 characters).")
    bic: str = strawberry.field(description="The BIC of the payee's bank.")
    bank_name: str = strawberry.field(description="The payee's bank, in the reader's language.")
    payment_purpose_code: str = strawberry.field(
        description="The payment purpose code (КНП) of a self-payer's contribution: 122.")
    valid_from: date = strawberry.field(description="The first day these details apply.")
    source: str = strawberry.field(description="Where the details were taken from.")

    @classmethod
    def build(cls, row: PayeeRow, language: str) -> PayeeAccountType:
        """The details of ``row`` with names in ``language``."""
        return cls(name=row.payee_name(language), bin=row.bin, account=row.iban, bic=row.bic,
                   bank_name=row.bank_name(language), payment_purpose_code=row.knp,
                   valid_from=row.valid_from, source=row.source)


@strawberry.type(name="PaymentOption",
                 description="One transfer: the month to name as its period, the amount, and "
                             "the months it pays as the Fund applies it.")
class PaymentOptionType:
    period: YearMonth = strawberry.field(
        description="Name this month as the payment's period (the months are counted from it).")
    amount: Money = strawberry.field(description="The amount to pay.")
    months: list[YearMonth] = strawberry.field(
        description="The months it pays, in the order the money is applied (arrears first, "
                    "oldest first).")
    pay_by: date | None = strawberry.field(
        description="Pay by this day (absent: today, or whenever the person chooses).")

    @classmethod
    def build(cls, option: PaymentOption) -> PaymentOptionType:
        """The GraphQL view of a planned payment."""
        return cls(period=YearMonth(option.period), amount=Money.of_tiyn(option.amount_tiyn),
                   months=[YearMonth(month) for month in option.months], pay_by=option.pay_by)


@strawberry.type(description="How to pay what is owed: where to, what to quote, and three "
                             "amounts (help articles: how-to-pay, payment-came-back).")
class HowToPay:
    payee: PayeeAccountType | None = strawberry.field(
        description="The payee's details in force today; absent when none are loaded for "
                    "today (then `payeeMissing` says why).")
    payee_missing: str | None = strawberry.field(
        description="Why `payee` is absent, in the reader's language.")
    payer_iin: str = strawberry.field(
        description="The IIN to quote as the payer's: the person's own (a payment with a "
                    "wrong IIN or name comes back).")
    payer_name: str = strawberry.field(description="The payer's full name, as registered.")
    restore_cover: PaymentOptionType | None = strawberry.field(
        description="What makes the person insured today: the unpaid months up to the month "
                    "now due. Absent when they are insured today.")
    keep_cover: PaymentOptionType | None = strawberry.field(
        description="What keeps them insured after the next deadline (the coming 25th): the "
                    "arrears, then the month due then. Absent when that month is paid.")
    prepay_twelve_months: PaymentOptionType = strawberry.field(
        description="Twelve months ahead from this month at this month's rate (a prepayment: "
                    "it starts at its own month and pays no arrears).")


async def how_to_pay(info: Info[Context, None], person_id: uuid.UUID, language: str
                     ) -> HowToPay:
    """How ``person_id`` (the signed-in citizen, nobody else) pays today."""
    context = info.context
    if context.require_citizen().person_id != person_id:
        raise Forbidden(message("citizens_only"))
    facts = await context.loaders.status_facts.load((person_id, language))
    plan = payment_plan(as_of=context.today, memberships=facts.memberships,
                        contributions=facts.contributions, rates=await context.rates())
    person = await context.loaders.person.load(person_id)
    if plan is None or person is None:
        raise NotFound(message("profile_not_found"))
    payee = await payee_on(context.reads, context.today)
    name = " ".join(part for part in (person.last_name, person.first_name, person.patronymic)
                    if part)
    return HowToPay(
        payee=None if payee is None else PayeeAccountType.build(payee, language),
        payee_missing=(None if payee is not None else
                       pick(PAYEE_MISSING, language).format(
                           day=format_date(context.today, language))),
        payer_iin=person.iin,
        payer_name=name,
        restore_cover=None if plan.restore is None else PaymentOptionType.build(plan.restore),
        keep_cover=None if plan.keep is None else PaymentOptionType.build(plan.keep),
        prepay_twelve_months=PaymentOptionType.build(plan.prepay),
    )
