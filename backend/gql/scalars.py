"""Shared GraphQL value types: money and calendar months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from backend.errors import BadUserInput
from backend.messages import message


@strawberry.enum(description="Currency of an amount.")
class Currency(Enum):
    KZT = strawberry.enum_value("KZT", description="Kazakhstani tenge (₸); 1 tenge = 100 tiyn.")


_CENT = Decimal("0.01")


@strawberry.type(description="Money: a decimal string with its currency, never a float.")
class Money:
    amount: Decimal = strawberry.field(
        description='Amount in currency units with two decimals, for example "12400.00".'
    )
    currency: Currency = strawberry.field(description="Currency of the amount (always KZT).")

    @classmethod
    def of_tiyn(cls, tiyn: int) -> Money:
        """Money from an integer count of tiyn (the database's unit)."""
        return cls(amount=(Decimal(tiyn) / 100).quantize(_CENT), currency=Currency.KZT)


def _parse_year_month(value: object) -> date:
    if not isinstance(value, str):  # a literal 5 or [..] in a document, not a variable's text
        raise BadUserInput(message("bad_month"))
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(value)
        return date(int(year), int(month), 1)
    except ValueError:
        raise BadUserInput(message("bad_month")) from None


YearMonth = NewType("YearMonth", date)
"""A calendar month (the first day of it inside Python); ``YYYY-MM`` in GraphQL."""

SCALAR_MAP: dict[object, ScalarDefinition] = {
    YearMonth: strawberry.scalar(
        name="YearMonth",
        description="A calendar month, ISO-8601 YYYY-MM (for example 2025-10).",
        serialize=lambda value: f"{value.year:04d}-{value.month:02d}",
        parse_value=_parse_year_month,
    ),
}
