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

# A stored status (``backend.status.stored``) with the payer its reason names, in the
# reader's language, looked up by its key.
STORED = {
    language: (
        "SELECT s.status, s.reason_code, s.as_of, s.stable_until, s.detail,"
        f" (SELECT p.name_{language} FROM core.payer p"
        "   WHERE p.id = (s.detail #>> '{facts,payer_id}')::uuid) AS payer"
        " FROM core.person_status s WHERE s.person_id = $1"
    )
    for language in ("kk", "ru", "en")
}
