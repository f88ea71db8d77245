"""Warnings before cover ends: a ``status.warning`` event (critical: it cannot be muted, quiet
hours still hold it) 14 days and 3 days before the day a person becomes not insured if
nothing new arrives.

The day is stored with each status (``core.person_status.drops_on``, the day after the
guaranteed cover ends; kept by ``backend.status.store`` whenever a status is computed), so a
day's run reads only the people whose day is near, through a partial index: the work follows
the people due, not the population.  Each warning is written to the outbox set-wise with the
dedupe key ``status.warning:<person>:<drops on>:<days left>``, so a person gets each warning
once per deadline whatever runs it (a restart, two workers at once, the job run twice a day),
and a payment that moves the day gives a new deadline its own warnings.

On the day itself the status job's own ``status.changed`` event (critical too) is the message:
a third warning would say the same thing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from notifications import outbox

DAYS_BEFORE: Final = (14, 3)
CHUNK: Final = 5_000

# One chunk of the people whose cover ends on $1, in id order after $2: their warnings, written
# once (the outbox's unique dedupe key), and the last id and count of the chunk.
WRITE: Final = (
    "WITH due AS (SELECT person_id, status, self_pays FROM core.person_status"
    " WHERE drops_on = $1 AND person_id > $2 AND status <> 'not_insured'"
    " ORDER BY person_id LIMIT $4), "
    + outbox.cte("written", (
        "SELECT d.person_id, 'status.warning', jsonb_build_object("
        " 'dropsOn', $1::date, 'daysLeft', $3::int, 'status', upper(d.status),"
        " 'selfPayer', d.self_pays),"
        " 'status.warning:' || d.person_id || ':' || $1::date || ':' || $3::int FROM due d"))
    + " SELECT (SELECT max(person_id::text) FROM due), (SELECT count(*) FROM due),"
    " (SELECT count(*) FROM written)"
)


@dataclass(frozen=True)
class Warned:
    """What a day's run did: people whose deadline was near, warnings newly written."""

    due: int = 0
    written: int = 0

    def __add__(self, other: Warned) -> Warned:
        return Warned(self.due + other.due, self.written + other.written)


async def warn(db: Any, today: date, chunk: int = CHUNK) -> Warned:
    """Write today's warnings (``db``: an asyncpg connection; each chunk commits on its own,
    so a crash loses at most the chunk in hand, which the next run writes again)."""
    total = Warned()
    for days in DAYS_BEFORE:
        drops_on = today + timedelta(days=days)
        after = uuid.UUID(int=0)
        while True:
            async with db.transaction():
                last, due, written = await db.fetchrow(WRITE, drops_on, after, days, chunk)
            total = total + Warned(int(due), int(written))
            if due < chunk:
                break
            after = uuid.UUID(last)
    return total
