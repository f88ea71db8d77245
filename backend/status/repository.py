"""SQL for the status engine's inputs: one person's memberships and contributions.

The statements run on any ``Fetcher``: the API's pooled reads, or the connection of a caller
that recomputes a status inside its own transaction (``backend.db.reads.fetcher_of``).
"""

from __future__ import annotations

import uuid

from backend.db.reads import Fetcher
from backend.rates.kinds import ContributionKind
from backend.status.models import ContributionFact, Membership

MEMBERSHIPS = ("SELECT category_code, valid_from, valid_to FROM core.category_membership"
               " WHERE person_id = $1 ORDER BY valid_from")

# A payer is looked up by its key per row: a join lets the planner hash the whole payer table
# when it overestimates a person's rows (12 ms a request at a million people).
CONTRIBUTIONS = {
    language: (
        "SELECT c.period, c.kind, c.amount_tiyn, c.paid_on,"
        f" (SELECT p.name_{language} FROM core.payer p WHERE p.id = c.payer_id), c.payer_id"
        " FROM core.contribution c WHERE c.person_id = $1 ORDER BY c.period, c.id"
    )
    for language in ("kk", "ru", "en")
}


async def memberships_of(db: Fetcher, person_id: uuid.UUID) -> list[Membership]:
    """Every preferential-category period of a person."""
    return [Membership(code, since, until)
            for code, since, until in await db.fetch(MEMBERSHIPS, person_id)]


async def contributions_of(db: Fetcher, person_id: uuid.UUID,
                           language: str) -> list[ContributionFact]:
    """Every contribution for a person, with the payer's name in ``language``."""
    rows = await db.fetch(CONTRIBUTIONS[language], person_id)
    return [ContributionFact(period, ContributionKind(kind), amount, paid_on, name, payer)
            for period, kind, amount, paid_on, name, payer in rows]

def stored_select(person: str, payer_name: str) -> str:
    """SQL for the stored status (``backend.status.stored``) of the person ``person`` (a
    parameter, or a column of an outer query) with the name of the payer its reason names,
    ``payer_name`` (an expression over that payer, ``y``), looked up by its key."""
    return ("SELECT s.status, s.reason_code, s.as_of, s.stable_until, s.detail,"
            f" (SELECT {payer_name} FROM core.payer y"
            "   WHERE y.id = (s.detail #>> '{facts,payer_id}')::uuid) AS payer"
            f" FROM core.person_status s WHERE s.person_id = {person}")


# A stored status with its payer named in the reader's language.
STORED = {language: stored_select("$1", f"y.name_{language}") for language in ("kk", "ru", "en")}
