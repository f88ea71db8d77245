"""Loading the dated rate table from the database into a ``RateBook``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.models import ContributionRate, MinimumWage
from backend.rates.book import RateBase, RateBook, RateRule
from backend.rates.kinds import ContributionKind


async def load_rate_book(db: AsyncSession | AsyncConnection) -> RateBook:
    """Every minimum wage and rate rule, as one immutable book (two small queries)."""
    wages = await db.execute(select(MinimumWage.year, MinimumWage.amount_tiyn))
    table = ContributionRate.__table__
    rules = await db.execute(select(table).order_by(table.c.kind, table.c.valid_from))
    return RateBook(
        minimum_wages={int(year): int(amount) for year, amount in wages.all()},
        rules=tuple(
            RateRule(
                kind=ContributionKind(row["kind"]),
                valid_from=row["valid_from"],
                valid_to=row["valid_to"],
                rate_percent=row["rate_percent"],
                base=RateBase(row["base"]),
                base_multiplier=row["base_multiplier"],
                cap_mzp=row["cap_mzp"],
                base_amount_tiyn=row["base_amount_tiyn"],
            )
            for row in rules.mappings()
        ),
    )
