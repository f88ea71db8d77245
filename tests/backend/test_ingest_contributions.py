"""Contribution ingestion through the pipeline (``backend.ingest.pipeline.ingest``), on the
suite's real PostgreSQL: every rejection code, idempotency, refunds, events, and statuses
following the money.

Everything an ingestion writes commits, so the tests use ``committed`` (people, payers and
contributions are emptied after each test).  ``notify.outbox`` and ``core.ingestion_batch``
are not emptied for us: the ``desk`` fixture deletes this test's rows from them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.ingest.codes import REJECTIONS
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import IngestResult, Kind, Rejection, docs_of, ingest
from backend.models import Payer, Person
from backend.rates.book import RateBook
from backend.rates.kinds import ContributionKind
from backend.rates.repository import load_rate_book
from backend.status import ContributionFact, Status, StatusResult, compute_status, store
from tests.factories import (
    create_contribution,
    create_employer,
    create_person,
    create_state_payer,
    new_bin,
    new_iin,
)

TODAY = date(2026, 11, 23)
Record = dict[str, Any]


# --- the test's desk: sending batches, reading what they left ---------------------------


@dataclass
class Desk:
    """One test's view of the pipeline: a source of its own, and SQL to look at results."""

    engine: AsyncEngine
    db: AsyncSession
    rates: RateBook
    source: str
    sources: list[str] = field(default_factory=list)

    def new_source(self) -> str:
        """Another sender, cleaned up after the test like the first."""
        source = f"test-{uuid.uuid4().hex}"
        self.sources.append(source)
        return source

    async def send(self, records: Sequence[Mapping[str, Any]], *, source: str | None = None,
                   today: date = TODAY, kind: Kind | None = None) -> IngestResult:
        """Records as a GraphQL batch would give them."""
        return await self.send_rows(docs_of(records), source=source, today=today, kind=kind)

    async def send_rows(self, rows: Sequence[tuple[str]], *, source: str | None = None,
                        today: date = TODAY, kind: Kind | None = None) -> IngestResult:
        """Raw staging rows (JSON text, or not)."""
        return await ingest(self.engine, kind or Contributions(), source=source or self.source,
                            today=today, rates=self.rates, rows=rows)

    async def send_stream(self, chunks: Sequence[bytes], *, source: str | None = None,
                          today: date = TODAY, kind: Kind | None = None) -> IngestResult:
        """An NDJSON body, in these chunks."""

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return await ingest(self.engine, kind or Contributions(), source=source or self.source,
                            today=today, rates=self.rates, stream=body())

    async def all(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]

    async def one(self, sql: str, **params: Any) -> Any:
        """The single value of a query."""
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()

    async def stored(self, source: str | None = None) -> dict[str, tuple[Any, ...]]:
        """This source's contributions by record id: (id, person, kind, period, amount,
        paid_on, payer, refund_of, batch)."""
        rows = await self.all(
            "SELECT source_record_id, id, person_id, kind, period, amount_tiyn, paid_on,"
            " payer_id, refund_of, batch_id FROM core.contribution WHERE source = :s",
            s=source or self.source)
        return {row[0]: row[1:] for row in rows}

    async def events(self, *people: Person, kind: str | None = None
                     ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        """Outbox events of these people (optionally of one kind), in order written."""
        rows = await self.all(
            "SELECT person_id, kind, payload FROM notify.outbox WHERE person_id = ANY(:p)"
            " AND (CAST(:k AS text) IS NULL OR kind = :k) ORDER BY id",
            p=[person.id for person in people], k=kind)
        return [(row[0], row[1], row[2]) for row in rows]

    async def history(self, person: Person) -> list[tuple[str | None, str, date]]:
        """The person's status changes: (old, new, on), oldest first."""
        rows = await self.all(
            "SELECT old_status, new_status, changed_on FROM core.status_history"
            " WHERE person_id = :p ORDER BY id", p=person.id)
        return [(row[0], row[1], row[2]) for row in rows]

    async def status(self, person: Person) -> tuple[str, str, date, date] | None:
        """The stored status: (status, reason, as_of, stable_until)."""
        rows = await self.all(
            "SELECT status, reason_code, as_of, stable_until FROM core.person_status"
            " WHERE person_id = :p", p=person.id)
        return (rows[0][0], rows[0][1], rows[0][2], rows[0][3]) if rows else None

    async def total(self, person: Person) -> int:
        """The sum of the person's contributions, refunds included."""
        return int(await self.one("SELECT coalesce(sum(amount_tiyn), 0) FROM core.contribution"
                                  " WHERE person_id = :p", p=person.id))

    async def expected(self, person: Person, today: date = TODAY) -> StatusResult:
        """What the status engine says of the person's stored contributions."""
        rows = await self.all("SELECT period, kind, amount_tiyn, paid_on FROM core.contribution"
                              " WHERE person_id = :p ORDER BY period, id", p=person.id)
        facts = [ContributionFact(row[0], ContributionKind(row[1]), row[2], row[3])
                 for row in rows]
        return compute_status(as_of=today, memberships=[], contributions=facts,
                              rates=self.rates)

    async def settle(self, *people: Person, today: date = TODAY) -> store.StatusRefresh:
        """Store the people's statuses as of ``today`` (as the schedule would)."""
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            db: Any = raw.driver_connection
            async with db.transaction():
                return await store.refresh(db, [person.id for person in people], today=today,
                                           rates=self.rates, cause="test",
                                           force=[person.id for person in people])


@pytest.fixture
async def desk(engine: AsyncEngine, committed: AsyncSession) -> AsyncIterator[Desk]:
    """A desk with a fresh source; afterwards this test's outbox rows and batches go."""
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    source = f"test-{uuid.uuid4().hex}"
    desk = Desk(engine, committed, rates, source, [source])
    try:
        yield desk
    finally:
        async with engine.begin() as conn:
            # Everyone in core.person now is this test's (``committed`` empties it after).
            await conn.execute(text("DELETE FROM notify.outbox WHERE person_id IN"
                                    " (SELECT id FROM core.person)"))
            for table in ("contribution", "service_payment"):
                await conn.execute(text(f"DELETE FROM core.{table} WHERE source = ANY(:s)"),
                                   {"s": desk.sources})
            await conn.execute(text("DELETE FROM core.ingestion_batch WHERE source = ANY(:s)"),
                               {"s": desk.sources})


def rid(prefix: str = "C") -> str:
    """A record id no other record has."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def self_payment(person: Person, period: str = "2026-10", *, record_id: str | None = None,
                 amount: str = "4250.00", paid_on: str = "2026-11-10") -> Record:
    """A self-payer's monthly contribution (КНП 122, no payer)."""
    return {"recordId": rid() if record_id is None else record_id, "iin": person.iin,
            "kind": "self_payment", "period": period, "amount": amount, "paidOn": paid_on,
            "paymentCode": 122}


def deduction(person: Person, employer: Payer, period: str = "2026-10", *,
              record_id: str | None = None, amount: str = "15300.00",
              paid_on: str = "2026-11-10") -> Record:
    """An employer's deduction (КНП 121, payer by BIN)."""
    return {"recordId": rid() if record_id is None else record_id, "iin": person.iin,
            "kind": "employer_deduction", "period": period, "amount": amount, "paidOn": paid_on,
            "paymentCode": 121, "payerBin": employer.bin}


def refund(person: Person, of: str, amount: str = "4250.00", *, record_id: str | None = None,
           paid_on: str = "2026-11-20") -> Record:
    """A refund of ``of`` (the original's record id)."""
    return {"recordId": rid("R") if record_id is None else record_id, "iin": person.iin,
            "refundOf": of, "amount": amount, "paidOn": paid_on}


def assert_refused(result: IngestResult, line: int, record_id: str | None, code: str) -> None:
    """``result`` refused exactly one record, at ``line``, with ``code`` and its message."""
    assert result.rejected == 1, result
    assert result.rejections == [Rejection(line, record_id, code)], result.rejections
    [note] = result.rejections
    assert note.message() == REJECTIONS[code]["en"]
    assert note.message("ru") == REJECTIONS[code]["ru"]
    assert note.message("kk") == REJECTIONS[code]["kk"]
    assert result.flagged == []


# --- every rejection code -------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """The people and payers of a rejection case."""

    person: Person
    other: Person
    employer: Payer
    stored: dict[str, str]  # names of records stored before the batch -> their record ids


def names(row: Payer) -> dict[str, str]:
    """A reference row's names as events carry them."""
    return {"kk": row.name_kk, "ru": row.name_ru, "en": row.name_en}


@pytest.fixture
async def cast(desk: Desk) -> Cast:
    """Two people and an employer (no state payer: the republican budget is unknown)."""
    person = await create_person(desk.db, birth_date=date(1985, 4, 12), sex="F")
    other = await create_person(desk.db, birth_date=date(1990, 6, 1), sex="M")
    employer = await create_employer(desk.db)
    await desk.db.commit()
    return Cast(person, other, employer, {})


@dataclass(frozen=True)
class Case:
    """A record refused with ``code``; ``before`` are stored first (by name)."""

    code: str
    bad: Callable[[Cast], Record]
    before: Callable[[Cast], dict[str, Record]] | None = None


def _without(record: Record, key: str) -> Record:
    return {k: v for k, v in record.items() if k != key}


def _broken_check_digit(iin: str) -> str:
    return iin[:-1] + str((int(iin[-1]) + 1) % 10)


def _original(c: Cast) -> dict[str, Record]:
    return {"original": self_payment(c.person, "2026-09")}


def _original_and_refund(c: Cast) -> dict[str, Record]:
    original = self_payment(c.person, "2026-09")
    return {"original": original,
            "refund": refund(c.person, original["recordId"], "3000.00")}


CASES: dict[str, Case] = {
    "no recordId": Case("RECORD_ID_MISSING",
                        lambda c: _without(self_payment(c.person), "recordId")),
    "empty recordId": Case("RECORD_ID_MISSING",
                           lambda c: self_payment(c.person, record_id="")),
    "recordId of 129 characters": Case("RECORD_ID_MISSING",
                                       lambda c: self_payment(c.person, record_id="x" * 129)),
    "recordId stored with other content": Case(
        "RECORD_ID_CONFLICT",
        lambda c: self_payment(c.person, "2026-09", record_id=c.stored["original"],
                               amount="8500.00"),
        _original),
    "check digit": Case("IIN_INVALID", lambda c: {**self_payment(c.person),
                                                 "iin": _broken_check_digit(c.person.iin)}),
    "short IIN": Case("IIN_INVALID", lambda c: {**self_payment(c.person), "iin": "12345"}),
    "no IIN": Case("IIN_INVALID", lambda c: _without(self_payment(c.person), "iin")),
    "unknown person": Case("PERSON_UNKNOWN", lambda c: {**self_payment(c.person),
                                                       "iin": new_iin(date(1970, 1, 1), "M")}),
    "unknown kind": Case("KIND_UNKNOWN", lambda c: {**self_payment(c.person),
                                                   "kind": "voluntary_payment"}),
    "no kind": Case("KIND_UNKNOWN", lambda c: _without(self_payment(c.person), "kind")),
    "month 13": Case("PERIOD_INVALID", lambda c: self_payment(c.person, "2026-13")),
    "one-digit month": Case("PERIOD_INVALID", lambda c: self_payment(c.person, "2026-9")),
    "a date as period": Case("PERIOD_INVALID", lambda c: self_payment(c.person, "2026-10-01")),
    "no period": Case("PERIOD_INVALID", lambda c: _without(self_payment(c.person), "period")),
    "next month": Case("PERIOD_IN_FUTURE", lambda c: self_payment(c.person, "2026-12")),
    "before the scheme": Case("PERIOD_INVALID", lambda c: self_payment(c.person, "2016-12")),
    "a self-payment before the rate table": Case(
        "PERIOD_OUTSIDE_RATES", lambda c: self_payment(c.person, "2022-12")),
    "30 February": Case("DATE_INVALID", lambda c: self_payment(c.person, paid_on="2026-02-30")),
    "dotted date": Case("DATE_INVALID", lambda c: self_payment(c.person, paid_on="10.11.2026")),
    "no date": Case("DATE_INVALID", lambda c: _without(self_payment(c.person), "paidOn")),
    "tomorrow": Case("DATE_IN_FUTURE", lambda c: self_payment(c.person, paid_on="2026-11-24")),
    "zero": Case("AMOUNT_INVALID", lambda c: self_payment(c.person, amount="0.00")),
    "negative": Case("AMOUNT_INVALID", lambda c: self_payment(c.person, amount="-4250.00")),
    "three decimals": Case("AMOUNT_INVALID", lambda c: self_payment(c.person, amount="4250.001")),
    "words": Case("AMOUNT_INVALID", lambda c: self_payment(c.person, amount="four thousand")),
    "no amount": Case("AMOUNT_INVALID", lambda c: _without(self_payment(c.person), "amount")),
    "over a million tenge": Case("AMOUNT_ABSURD",
                                 lambda c: self_payment(c.person, amount="1000000.01")),
    "self-payment with 121": Case("PAYMENT_CODE_MISMATCH",
                                  lambda c: {**self_payment(c.person), "paymentCode": 121}),
    "self-payment without code": Case("PAYMENT_CODE_MISMATCH",
                                      lambda c: _without(self_payment(c.person),
                                                         "paymentCode")),
    "deduction with 122": Case("PAYMENT_CODE_MISMATCH",
                               lambda c: {**deduction(c.person, c.employer),
                                          "paymentCode": 122}),
    "state contribution with 122": Case("PAYMENT_CODE_MISMATCH", lambda c: {
        **self_payment(c.person), "kind": "state_contribution"}),
    "two-digit code": Case("PAYMENT_CODE_MISMATCH",
                           lambda c: {**self_payment(c.person), "paymentCode": "12"}),
    "unknown BIN": Case("PAYER_UNKNOWN", lambda c: {**deduction(c.person, c.employer),
                                                   "payerBin": new_bin()}),
    "employee contribution without BIN": Case("PAYER_UNKNOWN", lambda c: {
        **_without(deduction(c.person, c.employer), "payerBin"),
        "kind": "employee_contribution", "paymentCode": 122}),
    "no republican budget": Case("PAYER_UNKNOWN", lambda c: _without(
        {**self_payment(c.person), "kind": "state_contribution"}, "paymentCode")),
    "unknown local budget": Case("PAYER_UNKNOWN", lambda c: {
        **_without(self_payment(c.person), "paymentCode"), "kind": "state_contribution",
        "payerRegion": "KZ-00"}),
    "refund of nothing": Case("ORIGINAL_UNKNOWN",
                              lambda c: refund(c.person, "no-such-record")),
    "refund of a refund": Case("ORIGINAL_UNKNOWN",
                               lambda c: refund(c.person, c.stored["refund"], "100.00"),
                               _original_and_refund),
    "refund for another person": Case("ORIGINAL_MISMATCH",
                                      lambda c: refund(c.other, c.stored["original"]),
                                      _original),
    "refund over the original": Case("CORRECTION_EXCEEDS_ORIGINAL",
                                     lambda c: refund(c.person, c.stored["original"],
                                                      "4250.01"),
                                     _original),
    "refunds over the original": Case("CORRECTION_EXCEEDS_ORIGINAL",
                                      lambda c: refund(c.person, c.stored["original"],
                                                       "1250.01"),
                                      _original_and_refund),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_a_bad_record_is_refused_and_the_good_ones_are_stored(
    desk: Desk, cast: Cast, name: str
) -> None:
    case = CASES[name]
    if case.before is not None:
        before = case.before(cast)
        for record in before.values():  # one batch each: a refund needs its original stored
            stored_first = await desk.send([record])
            assert stored_first.accepted == 1, stored_first
        cast.stored.update({key: record["recordId"] for key, record in before.items()})
    untouched = await desk.stored()
    first, last = self_payment(cast.person, "2026-10"), deduction(cast.other, cast.employer)
    bad = case.bad(cast)
    before_ids = set(cast.stored.values())

    result = await desk.send([first, bad, last])

    assert_refused(result, 2, bad.get("recordId"), case.code)
    assert (result.records, result.accepted, result.duplicates) == (3, 2, 0)
    stored = await desk.stored()
    assert set(stored) == before_ids | {first["recordId"], last["recordId"]}
    assert {key: stored[key] for key in before_ids} == untouched
    assert [row[8] for key, row in stored.items() if key not in before_ids] == [
        result.batch_id, result.batch_id]
    batch = await desk.all("SELECT source, kind, records, accepted, duplicates, rejected"
                           " FROM core.ingestion_batch WHERE id = :b", b=result.batch_id)
    assert batch == [(desk.source, "contributions", 3, 2, 0, 1)]


def test_every_contribution_code_is_covered() -> None:
    contribution_codes = set(REJECTIONS) - {"PROVIDER_UNKNOWN", "SERVICE_UNKNOWN",
                                            "PAID_BEFORE_CARE"}
    covered = {case.code for case in CASES.values()} | {"MALFORMED_RECORD"}
    assert covered == contribution_codes


async def test_a_record_id_repeated_with_other_content_in_one_batch_is_a_conflict(
    desk: Desk, cast: Cast
) -> None:
    first = self_payment(cast.person, "2026-10")
    again = {**first, "amount": "8500.00"}
    result = await desk.send([first, again])
    assert_refused(result, 2, first["recordId"], "RECORD_ID_CONFLICT")
    assert (result.records, result.accepted, result.duplicates) == (2, 1, 0)
    stored = await desk.stored()
    assert list(stored) == [first["recordId"]]
    assert stored[first["recordId"]][4] == 425_000


@pytest.mark.parametrize("doc", ["[1, 2]", "\"a string\"", "42", "null", "true",
                                 "{\"recordId\": \"x\", broken", "not json at all"])
async def test_a_line_that_is_not_a_json_object_is_malformed(
    desk: Desk, cast: Cast, doc: str
) -> None:
    first, last = self_payment(cast.person, "2026-10"), self_payment(cast.person, "2026-09")
    rows = [(json.dumps(first),), (doc,), (json.dumps(last),)]
    result = await desk.send_rows(rows)
    assert_refused(result, 2, None, "MALFORMED_RECORD")
    assert (result.records, result.accepted) == (3, 2)
    assert set(await desk.stored()) == {first["recordId"], last["recordId"]}


async def test_invalid_json_in_a_stream_is_malformed_and_blank_lines_are_skipped(
    desk: Desk, cast: Cast
) -> None:
    first, last = self_payment(cast.person, "2026-10"), self_payment(cast.person, "2026-09")
    body = (json.dumps(first) + "\n\n   \n{\"recordId\": \"broken\", \"iin\": \n"
            + json.dumps(last) + "\n").encode()
    result = await desk.send_stream([body[:10], body[10:57], body[57:]])
    assert_refused(result, 4, None, "MALFORMED_RECORD")
    assert (result.records, result.accepted, result.duplicates) == (3, 2, 0)
    assert set(await desk.stored()) == {first["recordId"], last["recordId"]}


async def test_a_stream_with_crlf_lines_and_no_final_newline_is_read_whole(
    desk: Desk, cast: Cast
) -> None:
    records = [self_payment(cast.person, f"2026-0{month}") for month in (7, 8, 9)]
    body = "\r\n".join(json.dumps(record, ensure_ascii=False) for record in records).encode()
    result = await desk.send_stream([body[i:i + 7] for i in range(0, len(body), 7)])
    assert (result.records, result.accepted, result.rejected) == (3, 3, 0), result
    assert set(await desk.stored()) == {record["recordId"] for record in records}


async def test_a_period_of_year_zero_is_refused_not_a_failed_batch(
    desk: Desk, cast: Cast
) -> None:
    """'0000-05' matches the period pattern, but PostgreSQL has no year 0: the cast must not
    abort the whole batch."""
    first = self_payment(cast.person, "2026-10")
    bad = self_payment(cast.person, "0000-05")
    result = await desk.send([first, bad])
    assert_refused(result, 2, bad["recordId"], "PERIOD_INVALID")
    assert set(await desk.stored()) == {first["recordId"]}


@pytest.mark.parametrize("period", ["2022-12", "0001-01"])
async def test_a_self_payment_before_the_rate_book_does_not_fail_the_batch(
    desk: Desk, cast: Cast, period: str
) -> None:
    """The rate book starts in 2023; a self-payment for an earlier month (arrears from 2022,
    or a typo) must be stored or refused on its own, not abort the whole batch while the
    statuses are computed."""
    first = self_payment(cast.person, "2026-10")
    old = self_payment(cast.other, period)
    result = await desk.send([first, old])
    assert result.records == 2
    assert (result.accepted, result.rejected) == (1, 1)
    assert [r.code for r in result.rejections] == [
        "PERIOD_OUTSIDE_RATES" if period == "2022-12" else "PERIOD_INVALID"]
    assert first["recordId"] in await desk.stored()


async def test_every_kind_and_payer_is_accepted(desk: Desk, cast: Cast) -> None:
    state = await create_state_payer(desk.db)
    local = await create_state_payer(desk.db, kind="local_budget", region_code="KZ-75",
                                     name_en="Almaty budget")
    await desk.db.commit()
    person = cast.person
    records = [
        deduction(person, cast.employer, "2026-10"),
        {**deduction(person, cast.employer, "2026-10", amount="3060.00"),
         "kind": "employee_contribution", "paymentCode": "122"},
        self_payment(person, "2026-10"),
        {**self_payment(person, "2026-10"), "kind": "entrepreneur_contribution"},
        _without({**self_payment(person, "2026-10"), "kind": "state_contribution"},
                 "paymentCode"),
        {**_without(self_payment(person, "2026-10"), "paymentCode"),
         "kind": "state_contribution", "payerRegion": "KZ-75", "paymentCode": None},
    ]
    result = await desk.send(records)
    assert (result.accepted, result.rejected) == (6, 0), result.rejections
    stored = await desk.stored()
    payers = [stored[record["recordId"]][6] for record in records]
    assert payers == [cast.employer.id, cast.employer.id, None, None, state.id, local.id]


# --- idempotency ----------------------------------------------------------------------------


async def test_the_same_batch_twice_changes_nothing_the_second_time(
    desk: Desk, cast: Cast
) -> None:
    records = [self_payment(cast.person, "2026-10"), self_payment(cast.person, "2026-09"),
               deduction(cast.other, cast.employer, "2026-10")]
    await desk.settle(cast.person, cast.other)
    first = await desk.send(records)
    assert (first.records, first.accepted, first.duplicates, first.rejected) == (3, 3, 0, 0)
    stored = await desk.stored()
    events = await desk.events(cast.person, cast.other)
    history = [await desk.history(cast.person), await desk.history(cast.other)]
    statuses = [await desk.status(cast.person), await desk.status(cast.other)]

    again = await desk.send(records)

    assert (again.records, again.accepted, again.duplicates, again.rejected) == (3, 0, 3, 0)
    assert again.rejections == []
    assert (again.events, again.statuses_changed) == (0, 0)
    assert again.batch_id != first.batch_id
    assert await desk.stored() == stored
    assert await desk.events(cast.person, cast.other) == events
    assert [await desk.history(cast.person), await desk.history(cast.other)] == history
    assert [await desk.status(cast.person), await desk.status(cast.other)] == statuses
    batches = await desk.all("SELECT records, accepted, duplicates, rejected"
                             " FROM core.ingestion_batch WHERE source = :s ORDER BY id",
                             s=desk.source)
    assert batches == [(3, 3, 0, 0), (3, 0, 3, 0)]


async def test_a_resend_with_new_records_stores_only_the_new_ones(
    desk: Desk, cast: Cast
) -> None:
    old = [self_payment(cast.person, "2026-08"), self_payment(cast.person, "2026-09")]
    await desk.send(old)
    stored = await desk.stored()
    new = [self_payment(cast.person, "2026-10"), deduction(cast.other, cast.employer)]
    result = await desk.send([old[0], new[0], old[1], new[1]])
    assert (result.records, result.accepted, result.duplicates, result.rejected) == (4, 2, 2, 0)
    after = await desk.stored()
    assert set(after) == set(stored) | {record["recordId"] for record in new}
    assert {key: after[key] for key in stored} == stored
    received = await desk.events(cast.person, kind="contribution.received")
    assert len(received) == 2
    assert [c["period"] for c in received[1][2]["contributions"]] == ["2026-10"]


async def test_identical_lines_in_one_batch_are_stored_once(desk: Desk, cast: Cast) -> None:
    record = self_payment(cast.person, "2026-10")
    other = self_payment(cast.person, "2026-09")
    result = await desk.send([record, record, other, record])
    assert (result.records, result.accepted, result.duplicates, result.rejected) == (4, 2, 2, 0)
    assert result.rejections == []
    assert set(await desk.stored()) == {record["recordId"], other["recordId"]}
    assert await desk.total(cast.person) == 2 * 425_000
    [received] = await desk.events(cast.person, kind="contribution.received")
    assert len(received[2]["contributions"]) == 2


async def test_the_same_content_written_differently_is_a_duplicate(
    desk: Desk, cast: Cast
) -> None:
    record = self_payment(cast.person, "2026-10")
    await desk.send([record])
    again = {**record, "amount": "4250", "paymentCode": "122"}
    result = await desk.send([again])
    assert (result.accepted, result.duplicates, result.rejected) == (0, 1, 0)


async def test_copies_of_a_refused_record_are_refused_not_counted_as_stored(
    desk: Desk, cast: Cast
) -> None:
    """``duplicates`` are records stored before; a refused record repeated in the batch was
    never stored, so each copy is refused."""
    bad = self_payment(cast.person, "2026-12")
    result = await desk.send([bad, bad])
    assert (result.records, result.accepted, result.duplicates, result.rejected) == (2, 0, 0, 2)
    assert [(note.line, note.code) for note in result.rejections] == [
        (1, "PERIOD_IN_FUTURE"), (2, "PERIOD_IN_FUTURE")]


# --- refunds --------------------------------------------------------------------------------


async def test_a_refund_is_stored_negative_and_announced_once(desk: Desk, cast: Cast) -> None:
    original = deduction(cast.person, cast.employer, "2026-10", amount="15300.00")
    await desk.send([original])
    assert await desk.total(cast.person) == 1_530_000
    back = refund(cast.person, original["recordId"], "5300.00")

    result = await desk.send([back])

    assert (result.accepted, result.rejected) == (1, 0)
    stored = await desk.stored()
    original_id = stored[original["recordId"]][0]
    _, person_id, kind, period, amount, paid_on, payer, refund_of, _ = stored[back["recordId"]]
    assert (person_id, kind, period, amount, paid_on, payer, refund_of) == (
        cast.person.id, "employer_deduction", date(2026, 10, 1), -530_000, date(2026, 11, 20),
        cast.employer.id, original_id)
    assert await desk.total(cast.person) == 1_000_000
    refunded = await desk.events(cast.person, kind="contribution.refunded")
    assert refunded == [(cast.person.id, "contribution.refunded", {
        "id": stored[back["recordId"]][0], "refundOf": original_id,
        "kind": "employer_deduction", "period": "2026-10", "amountTiyn": 530_000,
        "paidOn": "2026-11-20", "payer": names(cast.employer)})]
    assert await desk.events(cast.person, kind="contribution.received") != []
    assert len(await desk.events(cast.person, kind="contribution.received")) == 1

    again = await desk.send([back])
    assert (again.accepted, again.duplicates, again.events) == (0, 1, 0)
    assert await desk.events(cast.person, kind="contribution.refunded") == refunded
    assert await desk.total(cast.person) == 1_000_000


async def test_refunds_up_to_the_original_are_taken_and_beyond_it_refused(
    desk: Desk, cast: Cast
) -> None:
    original = self_payment(cast.person, "2026-10")
    await desk.send([original])
    parts = [refund(cast.person, original["recordId"], "2000.00"),
             refund(cast.person, original["recordId"], "2250.00"),
             refund(cast.person, original["recordId"], "0.01")]
    result = await desk.send(parts)
    assert_refused(result, 3, parts[2]["recordId"], "CORRECTION_EXCEEDS_ORIGINAL")
    assert await desk.total(cast.person) == 0
    assert len(await desk.events(cast.person, kind="contribution.refunded")) == 2
    later = await desk.send([refund(cast.person, original["recordId"], "0.01")])
    assert later.rejections[0].code == "CORRECTION_EXCEEDS_ORIGINAL"
    assert await desk.total(cast.person) == 0


async def test_a_refused_refund_does_not_count_against_the_next(desk: Desk, cast: Cast) -> None:
    """Only refunds that are stored reduce what is left to refund."""
    original = self_payment(cast.person, "2026-10")
    await desk.send([original])
    refused = refund(cast.person, original["recordId"], "4250.00", paid_on="2026-11-30")
    taken = refund(cast.person, original["recordId"], "4250.00")
    result = await desk.send([refused, taken])
    assert_refused(result, 1, refused["recordId"], "DATE_IN_FUTURE")
    assert result.accepted == 1
    assert await desk.total(cast.person) == 0


async def test_a_refund_resent_with_a_new_one_is_not_counted_twice(
    desk: Desk, cast: Cast
) -> None:
    """A resend of a stored refund together with a new one: the stored refund is a duplicate,
    and what is left to refund is the original less it, once."""
    original = self_payment(cast.person, "2026-10")
    await desk.send([original])
    first = refund(cast.person, original["recordId"], "2000.00")
    await desk.send([first])
    rest = refund(cast.person, original["recordId"], "2250.00")
    result = await desk.send([first, rest])
    assert (result.accepted, result.duplicates, result.rejected) == (1, 1, 0), result.rejections
    assert await desk.total(cast.person) == 0


async def test_a_refund_repeated_in_its_batch_is_counted_once(desk: Desk, cast: Cast) -> None:
    original = self_payment(cast.person, "2026-10")
    await desk.send([original])
    first = refund(cast.person, original["recordId"], "2000.00")
    rest = refund(cast.person, original["recordId"], "2250.00")
    result = await desk.send([first, first, rest])
    assert (result.accepted, result.duplicates, result.rejected) == (2, 1, 0), result.rejections
    assert await desk.total(cast.person) == 0


async def test_a_refund_only_finds_originals_of_its_own_sender(desk: Desk, cast: Cast) -> None:
    original = self_payment(cast.person, "2026-10")
    await desk.send([original])
    result = await desk.send([refund(cast.person, original["recordId"])],
                             source=desk.new_source())
    assert result.rejections[0].code == "ORIGINAL_UNKNOWN"
    assert await desk.total(cast.person) == 425_000


# --- events ---------------------------------------------------------------------------------


async def test_one_received_event_per_person_per_batch_listing_the_contributions(
    desk: Desk, cast: Cast
) -> None:
    third = await create_person(desk.db, birth_date=date(1979, 3, 3), sex="M")
    await desk.db.commit()
    people = [cast.person, cast.other, third]
    records = [self_payment(person, period) for person in people
               for period in ("2026-10", "2026-09")]
    result = await desk.send(records)
    assert result.accepted == 6
    stored = await desk.stored()
    received = await desk.events(*people, kind="contribution.received")
    assert sorted(event[0] for event in received) == sorted(person.id for person in people)
    for person_id, _, payload in received:
        ids = sorted(row[0] for row in stored.values() if row[1] == person_id)
        assert payload["batch"] == result.batch_id
        assert sorted(item["id"] for item in payload["contributions"]) == ids
        assert [item["period"] for item in payload["contributions"]] == ["2026-09", "2026-10"]
        assert {item["amountTiyn"] for item in payload["contributions"]} == {425_000}
        assert {item["kind"] for item in payload["contributions"]} == {"self_payment"}
    written = len(await desk.events(*people))
    assert result.events == written

    again = await desk.send(records)
    assert again.events == 0
    assert len(await desk.events(*people)) == written


async def test_one_refund_event_per_refund(desk: Desk, cast: Cast) -> None:
    originals = [self_payment(cast.person, "2026-10"), self_payment(cast.other, "2026-10")]
    await desk.send(originals)
    backs = [refund(cast.person, originals[0]["recordId"], "1000.00"),
             refund(cast.person, originals[0]["recordId"], "1000.00"),
             refund(cast.other, originals[1]["recordId"], "1000.00")]
    result = await desk.send(backs)
    assert result.accepted == 3
    stored = await desk.stored()
    refunded = await desk.events(cast.person, cast.other, kind="contribution.refunded")
    assert sorted(event[2]["id"] for event in refunded) == sorted(
        stored[back["recordId"]][0] for back in backs)
    assert await desk.events(cast.person, cast.other, kind="contribution.received") != []
    assert len(await desk.events(cast.person, cast.other,
                                 kind="contribution.received")) == 2  # the originals' batch
    await desk.send(backs)
    assert len(await desk.events(cast.person, cast.other, kind="contribution.refunded")) == 3


# --- statuses follow the money --------------------------------------------------------------


async def lapsed_self_payer(desk: Desk) -> Person:
    """A self-payer who prepaid July 2025 - June 2026 and stopped: on 2026-11-23 the grace
    (to 30 September) is over.  Their status is stored."""
    person = await create_person(desk.db, birth_date=date(1988, 8, 8), sex="M")
    year = desk.rates.monthly_amount(ContributionKind.SELF_PAYMENT, date(2025, 7, 1)) * 12
    await create_contribution(desk.db, person, period=date(2025, 7, 1), amount_tiyn=year,
                              paid_on=date(2025, 7, 10))
    await desk.db.commit()
    await desk.settle(person)
    return person


async def test_the_monthly_rate_is_4250_tenge_in_2026(desk: Desk) -> None:
    assert desk.rates.monthly_amount(ContributionKind.SELF_PAYMENT, date(2026, 7, 1)) == 425_000


async def test_a_self_payer_who_pays_becomes_insured(desk: Desk) -> None:
    person = await lapsed_self_payer(desk)
    before = await desk.expected(person)
    assert before.status is Status.NOT_INSURED
    assert await desk.status(person) == ("not_insured", before.reason.code.value, TODAY,
                                         date(2026, 11, 26))
    assert await desk.history(person) == [(None, "not_insured", TODAY)]

    result = await desk.send([self_payment(person, month, paid_on="2026-11-20")
                              for month in ("2026-07", "2026-08", "2026-09")])

    after = await desk.expected(person)
    assert after.status is Status.INSURED
    assert after.last_paid_period == date(2026, 9, 1)
    assert result.statuses_changed == 1
    stored = await desk.status(person)
    assert stored is not None
    assert stored[:3] == ("insured", after.reason.code.value, TODAY)
    assert stored[3] > TODAY
    assert await desk.history(person) == [(None, "not_insured", TODAY),
                                          ("not_insured", "insured", TODAY)]
    changed = await desk.events(person, kind="status.changed")
    assert changed == [(person.id, "status.changed", {
        "oldStatus": "NOT_INSURED", "newStatus": "INSURED",
        "reason": after.reason.code.name, "on": "2026-11-23",
        "changesOn": stored[3].isoformat()})]
    assert result.events == 2  # contribution.received and status.changed


async def test_a_refund_that_takes_the_last_month_lowers_the_status_at_once(
    desk: Desk
) -> None:
    person = await lapsed_self_payer(desk)
    payments = [self_payment(person, month, paid_on="2026-11-20")
                for month in ("2026-07", "2026-08", "2026-09")]
    await desk.send(payments)
    insured = await desk.status(person)
    assert insured is not None and insured[0] == "insured" and insured[3] > TODAY

    result = await desk.send([refund(person, payments[2]["recordId"], "4250.00")])

    expected = await desk.expected(person)
    assert expected.status is Status.CONDITIONALLY_INSURED
    assert result.statuses_changed == 1
    stored = await desk.status(person)
    assert stored is not None and stored[:2] == ("conditionally_insured",
                                                 expected.reason.code.value)
    assert (await desk.history(person))[-1] == ("insured", "conditionally_insured", TODAY)
    changed = await desk.events(person, kind="status.changed")
    assert [(e[2]["oldStatus"], e[2]["newStatus"]) for e in changed] == [
        ("NOT_INSURED", "INSURED"), ("INSURED", "CONDITIONALLY_INSURED")]
    assert len(await desk.events(person, kind="contribution.refunded")) == 1


async def test_more_money_for_an_insured_person_changes_no_status(desk: Desk) -> None:
    person = await lapsed_self_payer(desk)
    await desk.send([self_payment(person, month, paid_on="2026-11-20")
                     for month in ("2026-07", "2026-08", "2026-09")])
    history = await desk.history(person)
    status = await desk.status(person)
    assert status is not None and status[0] == "insured"

    result = await desk.send([self_payment(person, "2026-10", paid_on="2026-11-21")])

    assert result.accepted == 1
    assert result.statuses_changed == 0
    assert result.events == 1  # contribution.received only
    assert (await desk.expected(person)).status is Status.INSURED
    assert await desk.history(person) == history
    assert await desk.status(person) == status
    assert len(await desk.events(person, kind="status.changed")) == 1


async def test_a_payment_that_leaves_the_status_as_it_was_writes_no_history(
    desk: Desk
) -> None:
    person = await lapsed_self_payer(desk)
    history = await desk.history(person)
    # One month only pays the oldest arrear (R5): still no month after June 2026.
    result = await desk.send([self_payment(person, "2026-05", paid_on="2026-11-20")])
    assert result.accepted == 1
    assert (await desk.expected(person)).status is Status.NOT_INSURED
    assert result.statuses_changed == 0
    assert await desk.history(person) == history
    assert await desk.events(person, kind="status.changed") == []
