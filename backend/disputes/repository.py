"""SQL that reads cases (the read path: ``backend.db.reads``).

A person's cases are keyset pages on ``(person_id, reported_on DESC, id DESC)``; the
reviewers' queue on ``(due_on, id)``, the most urgent first, with the filters in use added as
plain conditions (``ix_dispute_state_queue`` and ``ix_dispute_provider`` serve the common
ones).  The statistics count cases by provider or region and state; they name no person.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from backend.db.keyset import DatedPage
from backend.db.reads import Fetcher, Record
from backend.i18n import NamedInThree

COLUMNS = (
    "d.id, d.service_payment_id, d.person_id, d.reported_by, d.provider_id, d.region_code,"
    " d.care_given, d.date_correct, d.asked_to_pay, d.amount_asked_tiyn, d.comment,"
    " d.category, d.state, d.reported_on, d.due_on, d.assignee, d.resolution_kk,"
    " d.resolution_ru, d.resolution_en, d.resolved_at, d.recovered_tiyn, d.recovery_id,"
    " d.created_at, d.updated_at"
)


@dataclass(frozen=True, slots=True)
class DisputeRow:
    """A case as it stands."""

    id: int
    service_payment_id: int
    person_id: uuid.UUID
    reported_by: uuid.UUID
    provider_id: uuid.UUID
    region_code: str
    care_given: str
    date_correct: str | None
    asked_to_pay: bool
    amount_asked_tiyn: int | None
    comment: str | None
    category: str
    state: str
    reported_on: date
    due_on: date
    assignee: str | None
    resolution_kk: str | None
    resolution_ru: str | None
    resolution_en: str | None
    resolved_at: datetime | None
    recovered_tiyn: int | None
    recovery_id: int | None
    created_at: datetime
    updated_at: datetime

    def resolution_in(self, language: str) -> str | None:
        """The Fund's explanation in ``language`` (None until resolved)."""
        value: str | None = getattr(self, f"resolution_{language}")
        return value


def row_of(record: Record) -> DisputeRow:
    """A ``DisputeRow`` from a record of ``COLUMNS`` (read by name)."""
    return DisputeRow(**{name: record[name] for name in DisputeRow.__slots__})


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """A case as a reviewer reads it: the case and the payment it is about (no person)."""

    case: DisputeRow
    service_code: str
    care_date: date
    amount_tiyn: int
    source: str
    source_record_id: str


async def page(db: Fetcher, person_id: uuid.UUID, *, limit: int,
               after: tuple[date, int] | None) -> list[DisputeRow]:
    """A page of the cases about ``person_id``'s care, newest report first."""
    query = DatedPage("core.dispute d", COLUMNS, "d.reported_on", person_id, alias="d.")
    query.after(after)
    return [row_of(record) for record in await db.fetch(query.sql(limit), *query.args)]


BY_IDS = f"SELECT {COLUMNS} FROM core.dispute d WHERE d.id = ANY($1::bigint[])"


async def by_ids(db: Fetcher, ids: Sequence[int]) -> dict[int, DisputeRow]:
    """Cases by id (whose they are is for the caller to check)."""
    return {record["id"]: row_of(record) for record in await db.fetch(BY_IDS, list(ids))}


LATEST_OF_SERVICES = (
    f"SELECT DISTINCT ON (d.service_payment_id) {COLUMNS} FROM core.dispute d"
    " WHERE d.service_payment_id = ANY($1::bigint[])"
    " ORDER BY d.service_payment_id, d.id DESC"
)


async def latest_of_services(db: Fetcher, service_ids: Sequence[int]) -> dict[int, DisputeRow]:
    """The newest case of each service among ``service_ids`` (open, or the last resolved)."""
    rows = await db.fetch(LATEST_OF_SERVICES, list(service_ids))
    return {record["service_payment_id"]: row_of(record) for record in rows}


@dataclass(frozen=True, slots=True)
class StepRow:
    """One change of a case."""

    id: int
    dispute_id: int
    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor_kind: str
    actor_name: str
    organization: str
    reviewer: str | None
    assignee: str | None


MAX_STEPS = 50
"""At most this many changes of a case are listed (the first: reassignments are the only
changes that can repeat)."""
STEPS = (
    "SELECT * FROM (SELECT id, dispute_id, at, action, from_state, to_state, actor_kind,"
    " actor_name, organization, reviewer, assignee, row_number() OVER"
    " (PARTITION BY dispute_id ORDER BY id) AS nth FROM core.dispute_event"
    " WHERE dispute_id = ANY($1::bigint[])) s"
    f" WHERE nth <= {MAX_STEPS} ORDER BY dispute_id, id"
)


async def steps_of(db: Fetcher, case_ids: Sequence[int]) -> dict[int, list[StepRow]]:
    """Each case's changes, oldest first."""
    found: dict[int, list[StepRow]] = {case_id: [] for case_id in case_ids}
    for record in await db.fetch(STEPS, list(case_ids)):
        found[record["dispute_id"]].append(
            StepRow(**{name: record[name] for name in StepRow.__slots__}))
    return found


@dataclass(frozen=True)
class QueueFilter:
    """What a reviewer narrows the queue to (None: any)."""

    state: str | None = None
    category: str | None = None
    provider_id: uuid.UUID | None = None
    region_code: str | None = None
    overdue: bool | None = None
    assignee: str | None = None


REVIEW_COLUMNS = (COLUMNS + ", s.service_code AS s_service_code, s.care_date AS s_care_date,"
                  " s.amount_tiyn AS s_amount_tiyn, s.source AS s_source,"
                  " s.source_record_id AS s_source_record_id")
OPEN = "d.state IN ('submitted', 'in_review')"


def queue_query(where: QueueFilter, *, today: date, limit: int,
                after: tuple[date, int] | None) -> tuple[str, list[object]]:
    """The reviewers' queue, the nearest deadline first: SQL and arguments (only the filters
    in use appear, so each shape is an index range the planner can use)."""
    conditions: list[str] = []
    args: list[object] = []

    def add(template: str, *values: object) -> None:
        names = []
        for value in values:
            args.append(value)
            names.append(f"${len(args)}")
        conditions.append(template.format(*names))

    if where.state is not None:
        add("d.state = {}", where.state)
    if where.category is not None:
        add("d.category = {}", where.category)
    if where.provider_id is not None:
        add("d.provider_id = {}", where.provider_id)
    if where.region_code is not None:
        add("d.region_code = {}", where.region_code)
    if where.assignee is not None:
        add("d.assignee = {}", where.assignee)
    if where.overdue is True:
        add(f"{OPEN} AND d.due_on < {{}}", today)
    elif where.overdue is False:
        add(f"NOT ({OPEN} AND d.due_on < {{}})", today)
    if after is not None:
        add("(d.due_on, d.id) > ({}, {})", *after)
    sql = (f"SELECT {REVIEW_COLUMNS} FROM core.dispute d"
           " JOIN core.service_payment s"
           " ON s.id = d.service_payment_id AND s.person_id = d.person_id"  # one partition
           + (" WHERE " + " AND ".join(conditions) if conditions else "")
           + f" ORDER BY d.due_on, d.id LIMIT {int(limit)}")
    return sql, args


def _review(record: Record) -> ReviewRow:
    return ReviewRow(row_of(record), record["s_service_code"], record["s_care_date"],
                     record["s_amount_tiyn"], record["s_source"],
                     record["s_source_record_id"])


async def queue(db: Fetcher, where: QueueFilter, *, today: date, limit: int,
                after: tuple[date, int] | None) -> list[ReviewRow]:
    """A page of the reviewers' queue."""
    sql, args = queue_query(where, today=today, limit=limit, after=after)
    return [_review(record) for record in await db.fetch(sql, *args)]


REVIEW_BY_IDS = (f"SELECT {REVIEW_COLUMNS} FROM core.dispute d"
                 " JOIN core.service_payment s"
                 " ON s.id = d.service_payment_id AND s.person_id = d.person_id"
                 " WHERE d.id = ANY($1::bigint[])")


async def reviews_by_ids(db: Fetcher, ids: Sequence[int]) -> dict[int, ReviewRow]:
    """Cases with their payments, by id."""
    return {record["id"]: _review(record)
            for record in await db.fetch(REVIEW_BY_IDS, list(ids))}


@dataclass(frozen=True, slots=True)
class Counts(NamedInThree):
    """Cases of one group (a provider, a region) by state; ``overdue``: open past their day."""

    key: str
    submitted: int
    in_review: int
    confirmed: int
    not_confirmed: int
    overdue: int
    total: int
    recovered_tiyn: int
    name_kk: str
    name_ru: str
    name_en: str
    bin: str | None = None
    region_code: str | None = None
    quality_zone: str | None = None


_COUNTS = (
    "count(*) FILTER (WHERE d.state = 'submitted') AS submitted,"
    " count(*) FILTER (WHERE d.state = 'in_review') AS in_review,"
    " count(*) FILTER (WHERE d.state = 'confirmed') AS confirmed,"
    " count(*) FILTER (WHERE d.state = 'not_confirmed') AS not_confirmed,"
    f" count(*) FILTER (WHERE {OPEN} AND d.due_on < $1) AS overdue,"
    " count(*) AS total, coalesce(sum(d.recovered_tiyn), 0) AS recovered_tiyn"
)
_PERIOD = (" AND ($2::date IS NULL OR d.reported_on >= $2)"
           " AND ($3::date IS NULL OR d.reported_on <= $3)")
BY_PROVIDER = (
    "WITH counts AS (SELECT d.provider_id, " + _COUNTS + " FROM core.dispute d"
    " WHERE ($4::text IS NULL OR d.region_code = $4)" + _PERIOD + " GROUP BY d.provider_id)"
    " SELECT c.*, p.bin, p.region_code, p.quality_zone, p.name_kk, p.name_ru, p.name_en"
    " FROM counts c"
    " JOIN core.provider p ON p.id = c.provider_id"
    " WHERE $5::bigint IS NULL OR c.total < $5 OR (c.total = $5 AND c.provider_id > $6::uuid)"
    " ORDER BY c.total DESC, c.provider_id LIMIT $7"
)
BY_REGION = (
    "SELECT d.region_code, " + _COUNTS + ", r.name_kk, r.name_ru, r.name_en"
    " FROM core.dispute d JOIN core.region r ON r.code = d.region_code"
    " WHERE true" + _PERIOD + " GROUP BY d.region_code, r.name_kk, r.name_ru, r.name_en"
    " ORDER BY d.region_code"
)
_COUNT_NAMES = ("submitted", "in_review", "confirmed", "not_confirmed", "overdue", "total",
                "recovered_tiyn", "name_kk", "name_ru", "name_en")


async def counts_by_provider(db: Fetcher, *, today: date, since: date | None,
                             until: date | None, region_code: str | None, limit: int,
                             after: tuple[int, uuid.UUID] | None) -> list[Counts]:
    """Cases per provider, the most first (keyset on ``(total DESC, provider_id)``)."""
    total, provider = after if after is not None else (None, None)
    rows = await db.fetch(BY_PROVIDER, today, since, until, region_code, total, provider,
                          limit)
    return [Counts(key=str(record["provider_id"]), bin=record["bin"],
                   region_code=record["region_code"], quality_zone=record["quality_zone"],
                   **{name: record[name] for name in _COUNT_NAMES}) for record in rows]


async def counts_by_region(db: Fetcher, *, today: date, since: date | None,
                           until: date | None) -> list[Counts]:
    """Cases per region (of the provider), by region code."""
    rows = await db.fetch(BY_REGION, today, since, until)
    return [Counts(key=record["region_code"], region_code=record["region_code"],
                   **{name: record[name] for name in _COUNT_NAMES}) for record in rows]


REPORTS_ON = ("SELECT count(*) FROM core.dispute WHERE reported_by = $1 AND reported_on = $2")


async def reports_on(db: Fetcher, reporter: uuid.UUID, day: date) -> int:
    """How many reports ``reporter`` sent on ``day``."""
    rows = await db.fetch(REPORTS_ON, reporter, day)
    return int(rows[0][0])
