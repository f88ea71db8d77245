"""The worker drains on SIGTERM: its status job begins no new chunk once told to stop, so a
month boundary's long refresh does not outlast the pod's grace period; what it left is still
due and the next run does it."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.rates.book import RateBook
from backend.status.schedule import refresh_due
from tests.factories import create_person

TODAY = date(2026, 11, 23)


class StopAfter:
    """``stopping()`` that turns true after ``chunks`` checks (a SIGTERM mid-run)."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def __call__(self) -> bool:
        self.left -= 1
        return self.left < 0


async def test_no_chunk_begins_after_the_stop_and_the_rest_stays_due(
        engine: AsyncEngine, clean: AsyncSession, rates: RateBook) -> None:
    for _ in range(5):
        await create_person(clean)  # no stored status yet: due
    await clean.commit()

    stopped = await refresh_due(engine, today=TODAY, rates=rates, chunk=2,
                                stopping=StopAfter(1))
    assert stopped is not None
    assert stopped.computed == 2  # the chunk under way, then nothing more

    rest = await refresh_due(engine, today=TODAY, rates=rates, chunk=2)
    assert rest is not None
    assert rest.computed >= 3  # the people the stopped run left
