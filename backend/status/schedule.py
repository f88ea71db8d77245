"""The scheduled status job: statuses change with time too (a deadline passes, a grace period
ends, a category starts or ends) with no record arriving.

``refresh_due`` recomputes every person whose stored status has reached its
``stable_until`` (or who has none yet, or whose stored result a write left stale), in chunks
of one transaction each, with the same ``store.refresh`` that ingestion uses, so a change is
stored and announced the same way.  It is cheap when nothing is due (an index on
``stable_until``, a partial one on stale rows), so the worker runs it every few minutes; at
a month boundary or on the 26th it finds the people whose deadline passed.  One process at a
time does it (an advisory lock); a crash loses at most the chunk in hand, which
the next run does again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.rates.book import RateBook
from backend.status import store

_LOCK = 0x6D68692D73746174  # "mhi-stat"
CHUNK = 5_000
DUE = (
    "SELECT p.id FROM core.person p LEFT JOIN core.person_status s ON s.person_id = p.id"
    " WHERE p.id > $1 AND (s.person_id IS NULL OR s.stable_until <= $2 OR s.as_of > $2"
    " OR s.detail IS NULL)"
    " ORDER BY p.id LIMIT $3"
)

EVERYONE = "SELECT p.id FROM core.person p WHERE p.id > $1 AND $2::date IS NOT NULL" \
    " ORDER BY p.id LIMIT $3"


async def refresh_due(engine: AsyncEngine, *, today: date, rates: RateBook,
                      chunk: int = CHUNK, everyone: bool = False,
                      stopping: Callable[[], bool] = lambda: False,
                      ) -> store.StatusRefresh | None:
    """Recompute the statuses that are due on ``today`` (``everyone``: every person's, once,
    e.g. after an upgrade that stores something new with each status); None when another
    process is at it.  Once ``stopping()`` is true (the worker got SIGTERM) no further chunk
    is begun: what is left is due still, and the next run does it."""
    total = store.StatusRefresh()
    async with engine.connect() as lock_conn:
        raw = await lock_conn.get_raw_connection()
        holder: Any = raw.driver_connection
        if not await holder.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK):
            return None
        try:
            after = uuid.UUID(int=0)
            while not stopping():
                async with engine.connect() as conn:
                    work = await conn.get_raw_connection()
                    db: Any = work.driver_connection
                    async with db.transaction():
                        people = [row[0] for row in await db.fetch(
                            EVERYONE if everyone else DUE, after, today, chunk)]
                        if not people:
                            return total
                        total = total + await store.refresh(
                            db, people, today=today, rates=rates, cause="schedule",
                            force=people)
                after = people[-1]
            return total
        finally:
            await holder.execute("SELECT pg_advisory_unlock($1)", _LOCK)
