"""Self-payers' reminders before the 25th: a ``payment.reminder`` event (category
``reminders``, which a person may switch off) with the exact amount to pay by the coming 25th
and the months it pays, arrears first, as the status engine will apply it
(``backend.payment.plan``: the "keep cover" payment).

It is written on any run from ``DAYS_BEFORE`` days before the 25th up to the 24th, so a worker
that was down on the first of those days still reminds; the dedupe key
``payment.reminder:<person>:<the 25th>`` makes it once per person and deadline whoever runs it
and however often.  Nobody who has already paid the month is reminded (the plan has no "keep"
payment for them), and nobody who does not pay for themselves: the run reads only the stored
statuses marked ``self_pays``, through a partial index, in chunks of one transaction each.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from backend.payment.plan import keep_payment
from backend.rates.book import RateBook
from backend.status.coverage import DUE_DAY
from backend.status.store import CONTRIBUTIONS, MEMBERSHIPS, facts_by_person
from notifications import outbox

DAYS_BEFORE: Final = 5
CHUNK: Final = 2_000

SELF_PAYERS: Final = (
    "SELECT person_id FROM core.person_status WHERE self_pays AND person_id > $1"
    " ORDER BY person_id LIMIT $2"
)
WRITE: Final = "WITH " + outbox.cte("written", (
    "SELECT p, 'payment.reminder', payload::jsonb, 'payment.reminder:' || p || ':' || $3"
    " FROM unnest($1::uuid[], $2::text[]) AS t(p, payload)")) + \
    " SELECT count(*) FROM written"


@dataclass(frozen=True)
class Reminded:
    """What a run did: self-payers looked at, who owe by the 25th, reminders newly written."""

    looked_at: int = 0
    owing: int = 0
    written: int = 0

    def __add__(self, other: Reminded) -> Reminded:
        return Reminded(self.looked_at + other.looked_at, self.owing + other.owing,
                        self.written + other.written)


def deadline_of(today: date) -> date | None:
    """The 25th that today's run reminds of, or None outside the days before it."""
    due = today.replace(day=DUE_DAY)
    return due if due - timedelta(days=DAYS_BEFORE) <= today < due else None


async def remind(db: Any, today: date, rates: RateBook, chunk: int = CHUNK) -> Reminded:
    """Write today's reminders (``db``: an asyncpg connection; each chunk commits alone)."""
    due = deadline_of(today)
    total = Reminded()
    if due is None:
        return total
    after = uuid.UUID(int=0)
    while True:
        async with db.transaction():
            people = [row[0] for row in await db.fetch(SELF_PAYERS, after, chunk)]
            if not people:
                return total
            memberships = await db.fetch(MEMBERSHIPS, people)
            contributions = await db.fetch(CONTRIBUTIONS, people)
            owing = await asyncio.to_thread(_owing, people, memberships, contributions,
                                            today, due, rates)
            written = 0
            if owing:
                written = await db.fetchval(WRITE, [person for person, _ in owing],
                                            [payload for _, payload in owing], due.isoformat())
        total = total + Reminded(len(people), len(owing), int(written))
        after = people[-1]


def _owing(people: Sequence[uuid.UUID], membership_rows: Sequence[Any],
           contribution_rows: Sequence[Any], today: date, due: date,
           rates: RateBook) -> list[tuple[uuid.UUID, str]]:
    """(person, payload) of each self-payer with something to pay by ``due``."""
    memberships, facts = facts_by_person(membership_rows, contribution_rows)
    found = []
    for person in people:
        keep = keep_payment(as_of=today, memberships=memberships[person],
                            contributions=facts[person], rates=rates)
        if keep is None or keep.pay_by != due:
            continue  # not a self-payer any more, or the month is paid already
        found.append((person, json.dumps({
            "dueOn": due.isoformat(), "amountTiyn": keep.amount_tiyn,
            "period": f"{keep.period:%Y-%m}",
            "months": [f"{month:%Y-%m}" for month in keep.months]})))
    return found
