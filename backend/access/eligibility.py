"""Eligibility for integrators: the status of up to 500 people in one request (all aliases of
the field together).

Each person found is written to their access log (the integrator, its organization, the
scope).  Invalid and unknown IINs are answered, not refused, so one bad line in a clinic's
list does not spoil the rest.
"""

from __future__ import annotations

import contextlib

from strawberry.types import Info

from auth.identifiers import InvalidIdentifier, validate_iin
from backend.access import audit
from backend.access.types import Eligibility
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.messages import message
from backend.status.engine import compute_status
from backend.status.types import InsuranceStatusCode

MAX_IINS = 500
PEOPLE_BY_IINS = "SELECT iin, id FROM core.person WHERE iin = ANY($1::text[])"


async def eligibility(info: Info[Context, None], iins: list[str]) -> list[Eligibility]:
    """One answer per IIN asked, in the order asked."""
    context = info.context
    # Counted per request, not per field: aliases must not multiply the cap.
    context.iins_asked += len(iins)
    if context.iins_asked > MAX_IINS:
        raise BadUserInput(message("too_many_iins", max=MAX_IINS))
    cleaned = ["".join(iin.split()) for iin in iins]
    valid: set[str] = set()
    for iin in cleaned:
        with contextlib.suppress(InvalidIdentifier):
            valid.add(validate_iin(iin))
    found = {row[0]: row[1] for row in await context.reads.fetch(PEOPLE_BY_IINS, list(valid))}
    people = list(dict.fromkeys(found.values()))
    facts = await context.loaders.status_facts.load_many([(pid, "en") for pid in people])
    rates = await context.rates()
    results = {
        pid: compute_status(as_of=context.today, memberships=f.memberships,
                            contributions=f.contributions, rates=rates)
        for pid, f in zip(people, facts, strict=True)
    }
    actor = audit.actor_of(context.principal)
    if actor is not None:
        await audit.record(context.reads, actor, people, purpose="eligibility", reason="scope",
                           reference="eligibility:read")
    answers = []
    for iin in cleaned:
        pid = found.get(iin)
        result = results.get(pid) if pid is not None else None
        answers.append(Eligibility(
            iin=iin, valid=iin in valid, found=result is not None,
            status=None if result is None else InsuranceStatusCode(result.status.value),
            guaranteed_until=None if result is None else result.guaranteed_until))
    return answers
