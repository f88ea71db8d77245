"""The dispatcher's clock: the database's own by default, the caller's when one is given.

In production every time the dispatcher compares or writes (an event's digest day, a
delivery's due time, quiet hours, the lease, a stale device) is PostgreSQL's ``now()``: one
clock for every worker, whatever host it runs on.  A test passes a ``Clock`` instead and moves
time itself, so that quiet hours, the digest window and a retry's backoff are checked at exact
instants rather than slept on (a 50 ms margin is a flaky test on a loaded machine), and never
depend on where the wall clock stands relative to Almaty midnight.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

Clock = Callable[[], datetime]
"""Returns the current instant (timezone-aware)."""

NOW: Final = "coalesce(CAST(:now AS timestamptz), now())"
"""SQL for "now": the ``:now`` parameter when a clock is given, else the transaction's
``now()`` (the statement passes ``{"now": reading(clock)}``)."""


def reading(clock: Clock | None) -> datetime | None:
    """The clock's instant for the ``:now`` parameter; None lets the database use its own."""
    if clock is None:
        return None
    now = clock()
    if now.tzinfo is None:
        raise ValueError("a dispatcher clock must return timezone-aware instants")
    return now
