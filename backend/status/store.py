"""Stored statuses: recompute the status of the people a change touched (or whose stored
status has run out of time), store it, and record each change with its event.

Runs on the caller's asyncpg connection, inside the caller's transaction: an ingestion batch
and the statuses it changes commit together.  People are computed in chunks with the status
engine (``compute_status``); only people whose status can have changed are computed: adding
money never lowers a status, so an INSURED person whose stored status is still within its
``stable_until`` is skipped unless ``force`` names them (a refund can lower it); its
stored result (``detail``: the reason, dates and what is owed, read back by
``backend.status.stored``) can have changed, so it is cleared in the same transaction and
the worker's status pass recomputes it (readers compute it meanwhile).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.status import ContributionFact, Membership, compute_status, next_change_day
from backend.status.models import Status, StatusResult
from backend.status.stored import encode
from notifications import outbox

CHUNK = 5_000

DUE = (
    "SELECT p FROM unnest($1::uuid[]) AS p LEFT JOIN core.person_status s ON s.person_id = p"
    " WHERE s.person_id IS NULL OR s.status <> 'insured' OR s.stable_until <= $2"
    " OR s.as_of > $2 OR p = ANY($3::uuid[])"
)
# Two batches for one person at once: each takes the person's row in id order before reading
# their facts, so the later one reads after the earlier commits and stores the status of all
# the money (no deadlock: every taker goes in the same order).
LOCK = ("SELECT id FROM core.person WHERE id = ANY($1::uuid[]) ORDER BY id"
        " FOR NO KEY UPDATE")
STORED = "SELECT person_id, status FROM core.person_status WHERE person_id = ANY($1::uuid[])"
MEMBERSHIPS = (
    "SELECT person_id, category_code, valid_from, valid_to FROM core.category_membership"
    " WHERE person_id = ANY($1::uuid[])"
)
CONTRIBUTIONS = (
    "SELECT person_id, period, kind, amount_tiyn, paid_on, payer_id FROM core.contribution"
    " WHERE person_id = ANY($1::uuid[]) ORDER BY person_id, period, id"
)
UPSERT = (
    "INSERT INTO core.person_status (person_id, status, reason_code, as_of, stable_until,"
    " drops_on, self_pays, detail, updated_at) SELECT p, s, r, $4, u, d, f, j::jsonb, now()"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $5::date[], $6::date[], $7::bool[],"
    " $8::text[]) AS t(p, s, r, u, d, f, j)"
    " ON CONFLICT (person_id) DO UPDATE SET status = excluded.status,"
    " reason_code = excluded.reason_code, as_of = excluded.as_of,"
    " stable_until = excluded.stable_until, drops_on = excluded.drops_on,"
    " self_pays = excluded.self_pays, detail = excluded.detail, updated_at = now()"
)
# Touched but not recomputed (see the module's docstring): the stored result goes stale.
STALE = ("UPDATE core.person_status SET detail = NULL, updated_at = now()"
         " WHERE person_id = ANY($1::uuid[]) AND detail IS NOT NULL")
CHANGES = (
    "WITH changed AS (INSERT INTO core.status_history (person_id, changed_on, old_status,"
    " new_status, reason_code, cause)"
    " SELECT p, $5, o, n, r, $6 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])"
    " AS t(p, o, n, r) RETURNING id, person_id, old_status, new_status, reason_code), "
    + outbox.cte("events", (
        "SELECT c.person_id, 'status.changed', jsonb_build_object("
        " 'oldStatus', upper(c.old_status), 'newStatus', upper(c.new_status),"
        " 'reason', upper(c.reason_code), 'on', $5::date,"
        " 'changesOn', s.stable_until), 'status.changed:' || c.id"
        " FROM changed c LEFT JOIN core.person_status s ON s.person_id = c.person_id"
        " WHERE c.old_status IS NOT NULL"))
    + " SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM events)"
)


Computed = tuple[list[str], list[str], list[date], list[date | None], list[bool], list[str],
                 tuple[list[uuid.UUID], list[str | None], list[str], list[str]]]


def facts_by_person(membership_rows: Sequence[Any], contribution_rows: Sequence[Any]
                    ) -> tuple[dict[uuid.UUID, list[Membership]],
                               dict[uuid.UUID, list[ContributionFact]]]:
    """The rows of ``MEMBERSHIPS`` and ``CONTRIBUTIONS`` as the engine's facts, by person
    (a person with none gets empty lists)."""
    memberships: dict[uuid.UUID, list[Membership]] = defaultdict(list)
    for person, code, since, until in membership_rows:
        memberships[person].append(Membership(code, since, until))
    facts: dict[uuid.UUID, list[ContributionFact]] = defaultdict(list)
    for person, period, kind, amount, paid_on, payer in contribution_rows:
        facts[person].append(ContributionFact(period, ContributionKind(kind), amount, paid_on,
                                              payer_id=payer))
    return memberships, facts


def _compute(people: Sequence[uuid.UUID], membership_rows: Sequence[Any],
             contribution_rows: Sequence[Any], stored: dict[uuid.UUID, str], today: date,
             rates: RateBook) -> Computed:
    """Each person's status, reason, stable-until, the day they become not insured if
    nothing new arrives, whether they pay for themselves, the whole result (JSON), and who
    changed (no I/O)."""
    memberships, facts = facts_by_person(membership_rows, contribution_rows)
    statuses: list[str] = []
    reasons: list[str] = []
    stable: list[date] = []
    drops: list[date | None] = []
    self_pays: list[bool] = []
    details: list[str] = []
    changed: tuple[list[uuid.UUID], list[str | None], list[str], list[str]] = ([], [], [], [])
    for person in people:
        result = compute_status(as_of=today, memberships=memberships[person],
                                contributions=facts[person], rates=rates)
        status, reason = result.status.value, result.reason.code.value
        statuses.append(status)
        reasons.append(reason)
        stable.append(stable_until(today, memberships[person], facts[person]))
        drops.append(drops_on(result))
        self_pays.append(result.self_payment is not None)
        details.append(encode(result))
        if stored.get(person) != status:
            changed[0].append(person)
            changed[1].append(stored.get(person))
            changed[2].append(status)
            changed[3].append(reason)
    return statuses, reasons, stable, drops, self_pays, details, changed


def stable_until(today: date, memberships: Sequence[Membership],
                 contributions: Sequence[ContributionFact]) -> date:
    """The first day after ``today`` on which the status can change with nothing new
    written: ``next_change_day``, or the day a payment dated later than ``today`` starts to
    count (the engine ignores it until then), whichever comes first."""
    day = next_change_day(today, memberships)
    later = [fact.paid_on for fact in contributions if fact.paid_on > today]
    return min(day, *later) if later else day


def drops_on(result: StatusResult) -> date | None:
    """The day a person becomes not insured if nothing new arrives: the day after their
    guaranteed cover ends (None when they are not insured already, or when a category covers
    them with no end)."""
    if result.status is Status.NOT_INSURED or result.guaranteed_until is None:
        return None
    return result.guaranteed_until + timedelta(days=1)


@dataclass(frozen=True)
class StatusRefresh:
    """What a refresh did: people computed, statuses that changed, events written."""

    computed: int = 0
    changed: int = 0
    events: int = 0

    def __add__(self, other: StatusRefresh) -> StatusRefresh:
        return StatusRefresh(self.computed + other.computed, self.changed + other.changed,
                             self.events + other.events)


async def refresh(db: Any, people: Sequence[uuid.UUID], *, today: date, rates: RateBook,
                  cause: str, force: Sequence[uuid.UUID] = ()) -> StatusRefresh:
    """Recompute, store and announce the statuses of ``people`` that can have changed.

    ``db`` is an asyncpg connection inside the caller's transaction.
    """
    due = [row[0] for row in await db.fetch(DUE, list(people), today, list(force))]
    if len(due) < len(people):
        chosen = set(due)
        await db.execute(STALE, [person for person in people if person not in chosen])
    total = StatusRefresh()
    for start in range(0, len(due), CHUNK):
        total = total + await _refresh_chunk(db, due[start:start + CHUNK], today, rates, cause)
    return total


async def _refresh_chunk(db: Any, people: list[uuid.UUID], today: date, rates: RateBook,
                         cause: str) -> StatusRefresh:
    await db.execute(LOCK, people)
    membership_rows = await db.fetch(MEMBERSHIPS, people)
    contribution_rows = await db.fetch(CONTRIBUTIONS, people)
    stored = {person: status for person, status in await db.fetch(STORED, people)}
    # The engine is pure Python: a thread keeps the event loop (other requests) moving.
    computed = await asyncio.to_thread(_compute, people, membership_rows, contribution_rows,
                                       stored, today, rates)
    statuses, reasons, stable, drops, self_pays, details, changed = computed
    changed_people, changed_from, changed_to, changed_why = changed
    await db.execute(UPSERT, people, statuses, reasons, today, stable, drops, self_pays,
                     details)
    written, events = 0, 0
    if changed_people:
        written, events = await db.fetchrow(CHANGES, changed_people, changed_from, changed_to,
                                            changed_why, today, cause)
    return StatusRefresh(len(people), written, events)

