"""A contribution for a month after the person's death is stored and flagged ``AFTER_DEATH``
(as a service payment for care after death is), for the Fund to review; the month of death
itself, refunds and resends are not flagged.

The ``desk`` and ``cast`` fixtures and the record helpers are those of
``test_ingest_contributions``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from backend.ingest.pipeline import Rejection
from backend.models import Person
from tests.backend import test_ingest_contributions as base

desk = base.desk
cast = base.cast
Desk = base.Desk
Cast = base.Cast


async def died(desk: Desk, person: Person, on: date) -> None:
    """Record the person's death."""
    person.death_date = on
    desk.db.add(person)
    await desk.db.commit()


async def flags_of(desk: Desk, records: list[dict[str, Any]]) -> list[list[str]]:
    """The stored flags of these records, in their order."""
    rows = dict(await desk.all("SELECT source_record_id, flags FROM core.contribution"
                               " WHERE source = :s", s=desk.source))
    return [list(rows[record["recordId"]]) for record in records]


async def test_a_contribution_after_the_month_of_death_is_stored_and_flagged(
        desk: Desk, cast: Cast) -> None:
    await died(desk, cast.person, date(2026, 8, 14))
    records = [base.self_payment(cast.person, "2026-07"),
               base.self_payment(cast.person, "2026-08"),
               base.self_payment(cast.person, "2026-09"),
               base.deduction(cast.person, cast.employer, "2026-10"),
               base.self_payment(cast.other, "2026-10")]
    result = await desk.send(records)
    assert (result.accepted, result.rejected) == (5, 0)
    assert result.rejections == [Rejection(3, records[2]["recordId"], None, ("AFTER_DEATH",)),
                                 Rejection(4, records[3]["recordId"], None, ("AFTER_DEATH",))]
    assert result.flagged_by_flag == {"AFTER_DEATH": 2}
    assert result.rejected_by_code == {}
    assert await flags_of(desk, records) == [[], [], ["AFTER_DEATH"], ["AFTER_DEATH"], []]


async def test_a_refund_or_a_resend_after_death_is_not_flagged(desk: Desk, cast: Cast) -> None:
    """The refund is the fix, not a new anomaly; the resend is a duplicate, stored before."""
    late = base.self_payment(cast.person, "2026-10")
    await died(desk, cast.person, date(2026, 9, 30))
    first = await desk.send([late])
    assert [note.flags for note in first.flagged] == [("AFTER_DEATH",)]
    back = base.refund(cast.person, late["recordId"], "4250.00")
    second = await desk.send([late, back])
    assert (second.accepted, second.duplicates, second.rejected) == (1, 1, 0)
    assert second.rejections == [] and second.flagged_by_flag == {}
    assert await flags_of(desk, [late, back]) == [["AFTER_DEATH"], []]


async def test_contributions_of_the_living_are_not_flagged(desk: Desk, cast: Cast) -> None:
    records = [base.self_payment(cast.person, f"2026-{month:02d}") for month in (9, 10, 11)]
    result = await desk.send(records)
    assert (result.accepted, result.rejections) == (3, [])
    assert await flags_of(desk, records) == [[], [], []]
