"""Service-payment ingestion through the pipeline, on the suite's real PostgreSQL: every
rejection code, withdrawals, anomaly flags, idempotency and events.

The tests use ``committed`` (people, providers, services and payments are emptied after each
test); the ``desk`` fixture deletes this test's ``notify.outbox`` rows and batches.
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
from backend.ingest.pipeline import IngestResult, Kind, Rejection, docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.models import MedicalService, Person, Provider
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from tests.factories import (
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
    new_bin,
    new_iin,
)

TODAY = date(2026, 11, 23)
Record = dict[str, Any]


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
        return await ingest(self.engine, kind or ServicePayments(),
                            source=source or self.source, today=today, rates=self.rates,
                            rows=rows)

    async def all(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]

    async def stored(self, source: str | None = None) -> dict[str, tuple[Any, ...]]:
        """This source's payments by record id: (id, person, provider, service, care date,
        amount, package, paid_on, practitioner, withdrawal_of, flags, batch)."""
        rows = await self.all(
            "SELECT source_record_id, id, person_id, provider_id, service_code, care_date,"
            " amount_tiyn, package, paid_on, practitioner_ref, withdrawal_of, flags, batch_id"
            " FROM core.service_payment WHERE source = :s", s=source or self.source)
        return {row[0]: row[1:] for row in rows}

    async def events(self, *people: Person, kind: str | None = None
                     ) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
        """Outbox events of these people (optionally of one kind), in order written."""
        rows = await self.all(
            "SELECT person_id, kind, payload FROM notify.outbox WHERE person_id = ANY(:p)"
            " AND (CAST(:k AS text) IS NULL OR kind = :k) ORDER BY id",
            p=[person.id for person in people], k=kind)
        return [(row[0], row[1], row[2]) for row in rows]

    async def total(self, person: Person) -> int:
        """What the Fund paid for the person's care, withdrawals included."""
        rows = await self.all("SELECT coalesce(sum(amount_tiyn), 0) FROM core.service_payment"
                              " WHERE person_id = :p", p=person.id)
        return int(rows[0][0])


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
            await conn.execute(text("DELETE FROM notify.outbox WHERE person_id IN"
                                    " (SELECT id FROM core.person)"))
            for table in ("contribution", "service_payment"):
                await conn.execute(text(f"DELETE FROM core.{table} WHERE source = ANY(:s)"),
                                   {"s": desk.sources})
            await conn.execute(text("DELETE FROM core.ingestion_batch WHERE source = ANY(:s)"),
                               {"s": desk.sources})


def rid(prefix: str = "SP") -> str:
    """A record id no other record has."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def payment(person: Person, provider: Provider, service: MedicalService, *,
            record_id: str | None = None, care: str = "2026-11-03", amount: str = "12400.00",
            paid_on: str = "2026-11-20", practitioner: str | None = None) -> Record:
    """A payment for one service given to ``person``."""
    record: Record = {"recordId": rid() if record_id is None else record_id, "iin": person.iin,
                      "providerBin": provider.bin, "serviceCode": service.code,
                      "careDate": care, "amount": amount, "paidOn": paid_on}
    if practitioner is not None:
        record["practitioner"] = practitioner
    return record


def withdrawal(person: Person, of: str, amount: str = "2400.00", *,
               record_id: str | None = None, paid_on: str = "2026-11-21") -> Record:
    """A withdrawal from ``of`` (the original's record id)."""
    return {"recordId": rid("W") if record_id is None else record_id, "iin": person.iin,
            "withdrawalOf": of, "amount": amount, "paidOn": paid_on}


def assert_refused(result: IngestResult, line: int, record_id: str | None, code: str) -> None:
    """``result`` refused exactly one record, at ``line``, with ``code`` and its message."""
    assert result.rejected == 1, result
    assert result.rejections == [Rejection(line, record_id, code)], result.rejections
    [note] = result.rejections
    assert note.message() == REJECTIONS[code]["en"]
    assert note.message("ru") == REJECTIONS[code]["ru"]
    assert note.message("kk") == REJECTIONS[code]["kk"]


def _without(record: Record, key: str) -> Record:
    return {k: v for k, v in record.items() if k != key}


# --- every rejection code -------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """The people, provider and service of a case."""

    person: Person
    other: Person
    provider: Provider
    service: MedicalService
    stored: dict[str, str]


@pytest.fixture
async def cast(desk: Desk) -> Cast:
    """Two living adults, a polyclinic and a GP visit for anyone."""
    person = await create_person(desk.db, birth_date=date(1985, 4, 12), sex="F")
    other = await create_person(desk.db, birth_date=date(1990, 6, 1), sex="M")
    provider = await create_provider(desk.db)
    service = await create_medical_service(desk.db)
    await desk.db.commit()
    return Cast(person, other, provider, service, {})


@dataclass(frozen=True)
class Case:
    """A record refused with ``code``; ``before`` are stored first, one batch each."""

    code: str
    bad: Callable[[Cast], Record]
    before: Callable[[Cast], dict[str, Record]] | None = None


def _original(c: Cast) -> dict[str, Record]:
    return {"original": payment(c.person, c.provider, c.service, care="2026-10-15")}


def _original_and_withdrawal(c: Cast) -> dict[str, Record]:
    original = payment(c.person, c.provider, c.service, care="2026-10-15")
    return {"original": original, "withdrawal": withdrawal(c.person, original["recordId"])}


def _good(c: Cast) -> Record:
    return payment(c.person, c.provider, c.service, care="2026-11-05")


CASES: dict[str, Case] = {
    "no recordId": Case("RECORD_ID_MISSING", lambda c: _without(_good(c), "recordId")),
    "empty recordId": Case("RECORD_ID_MISSING", lambda c: {**_good(c), "recordId": ""}),
    "recordId of 129 characters": Case("RECORD_ID_MISSING",
                                       lambda c: {**_good(c), "recordId": "y" * 129}),
    "recordId stored with other content": Case(
        "RECORD_ID_CONFLICT",
        lambda c: {**_original(c)["original"], "recordId": c.stored["original"],
                   "amount": "99.00"},
        _original),
    "check digit": Case("IIN_INVALID", lambda c: {
        **_good(c), "iin": c.person.iin[:-1] + str((int(c.person.iin[-1]) + 1) % 10)}),
    "letters": Case("IIN_INVALID", lambda c: {**_good(c), "iin": "85041240000A"}),
    "no IIN": Case("IIN_INVALID", lambda c: _without(_good(c), "iin")),
    "unknown person": Case("PERSON_UNKNOWN",
                           lambda c: {**_good(c), "iin": new_iin(date(1971, 2, 3), "F")}),
    "unknown provider": Case("PROVIDER_UNKNOWN", lambda c: {**_good(c), "providerBin": new_bin()}),
    "no provider": Case("PROVIDER_UNKNOWN", lambda c: _without(_good(c), "providerBin")),
    "unknown service": Case("SERVICE_UNKNOWN", lambda c: {**_good(c), "serviceCode": "ZZ.999"}),
    "no service": Case("SERVICE_UNKNOWN", lambda c: _without(_good(c), "serviceCode")),
    "31 November": Case("DATE_INVALID", lambda c: {**_good(c), "careDate": "2026-11-31"}),
    "no care date": Case("DATE_INVALID", lambda c: _without(_good(c), "careDate")),
    "dotted payment date": Case("DATE_INVALID", lambda c: {**_good(c), "paidOn": "20.11.2026"}),
    "no payment date": Case("DATE_INVALID", lambda c: _without(_good(c), "paidOn")),
    "care tomorrow": Case("DATE_IN_FUTURE", lambda c: {**_good(c), "careDate": "2026-11-24",
                                                      "paidOn": "2026-11-23"}),
    "paid tomorrow": Case("DATE_IN_FUTURE", lambda c: {**_good(c), "paidOn": "2026-11-24"}),
    "paid before care": Case("PAID_BEFORE_CARE", lambda c: {**_good(c), "careDate": "2026-11-10",
                                                           "paidOn": "2026-11-09"}),
    "zero": Case("AMOUNT_INVALID", lambda c: {**_good(c), "amount": "0"}),
    "negative": Case("AMOUNT_INVALID", lambda c: {**_good(c), "amount": "-12400.00"}),
    "comma": Case("AMOUNT_INVALID", lambda c: {**_good(c), "amount": "12400,00"}),
    "no amount": Case("AMOUNT_INVALID", lambda c: _without(_good(c), "amount")),
    "over fifty million tenge": Case("AMOUNT_ABSURD",
                                     lambda c: {**_good(c), "amount": "50000000.01"}),
    "withdrawal of nothing": Case("ORIGINAL_UNKNOWN",
                                  lambda c: withdrawal(c.person, "no-such-payment")),
    "withdrawal of a withdrawal": Case("ORIGINAL_UNKNOWN",
                                       lambda c: withdrawal(c.person, c.stored["withdrawal"],
                                                            "10.00"),
                                       _original_and_withdrawal),
    "withdrawal for another person": Case("ORIGINAL_MISMATCH",
                                          lambda c: withdrawal(c.other, c.stored["original"]),
                                          _original),
    "withdrawal dated before the care": Case(
        "PAID_BEFORE_CARE",
        lambda c: withdrawal(c.person, c.stored["original"], paid_on="2026-10-14"), _original),
    "withdrawal over the payment": Case("CORRECTION_EXCEEDS_ORIGINAL",
                                        lambda c: withdrawal(c.person, c.stored["original"],
                                                             "12400.01"),
                                        _original),
    "withdrawals over the payment": Case("CORRECTION_EXCEEDS_ORIGINAL",
                                         lambda c: withdrawal(c.person, c.stored["original"],
                                                              "10000.01"),
                                         _original_and_withdrawal),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_a_bad_record_is_refused_and_the_good_ones_are_stored(
    desk: Desk, cast: Cast, name: str
) -> None:
    case = CASES[name]
    if case.before is not None:
        for key, record in case.before(cast).items():
            first_result = await desk.send([record])
            assert first_result.accepted == 1, first_result
            cast.stored[key] = record["recordId"]
    untouched = await desk.stored()
    before_ids = set(cast.stored.values())
    first = payment(cast.person, cast.provider, cast.service, care="2026-11-03")
    last = payment(cast.other, cast.provider, cast.service, care="2026-11-04")
    bad = case.bad(cast)

    result = await desk.send([first, bad, last])

    assert_refused(result, 2, bad.get("recordId"), case.code)
    assert (result.records, result.accepted, result.duplicates) == (3, 2, 0)
    stored = await desk.stored()
    assert set(stored) == before_ids | {first["recordId"], last["recordId"]}
    assert {key: stored[key] for key in before_ids} == untouched
    batch = await desk.all("SELECT source, kind, records, accepted, duplicates, rejected"
                           " FROM core.ingestion_batch WHERE id = :b", b=result.batch_id)
    assert batch == [(desk.source, "service_payments", 3, 2, 0, 1)]


def test_every_service_payment_code_is_covered() -> None:
    contribution_only = {"KIND_UNKNOWN", "PERIOD_INVALID", "PERIOD_IN_FUTURE",
                         "PERIOD_OUTSIDE_RATES", "PAYMENT_CODE_MISMATCH", "PAYER_UNKNOWN"}
    covered = {case.code for case in CASES.values()} | {"MALFORMED_RECORD"}
    assert covered == set(REJECTIONS) - contribution_only


async def test_a_record_id_repeated_with_other_content_in_one_batch_is_a_conflict(
    desk: Desk, cast: Cast
) -> None:
    first = payment(cast.person, cast.provider, cast.service)
    result = await desk.send([first, {**first, "careDate": "2026-11-02"}])
    assert_refused(result, 2, first["recordId"], "RECORD_ID_CONFLICT")
    stored = await desk.stored()
    assert list(stored) == [first["recordId"]]
    assert stored[first["recordId"]][4] == date(2026, 11, 3)


@pytest.mark.parametrize("doc", ["[]", "\"SP-1\"", "7", "{\"recordId\": \"SP-1\"", "<xml/>"])
async def test_a_line_that_is_not_a_json_object_is_malformed(
    desk: Desk, cast: Cast, doc: str
) -> None:
    first = payment(cast.person, cast.provider, cast.service, care="2026-11-03")
    last = payment(cast.other, cast.provider, cast.service, care="2026-11-04")
    result = await desk.send_rows([(json.dumps(first),), (doc,), (json.dumps(last),)])
    assert_refused(result, 2, None, "MALFORMED_RECORD")
    assert set(await desk.stored()) == {first["recordId"], last["recordId"]}


async def test_a_payment_is_stored_as_sent(desk: Desk, cast: Cast) -> None:
    record = payment(cast.person, cast.provider, cast.service, care="2026-11-03",
                     amount="12400.50", practitioner="doc-4471")
    result = await desk.send([record])
    assert (result.accepted, result.rejections) == (1, [])
    row = (await desk.stored())[record["recordId"]]
    assert row[1:11] == (cast.person.id, cast.provider.id, cast.service.code, date(2026, 11, 3),
                         1_240_050, "gobmp", date(2026, 11, 20), "doc-4471", None, [])
    assert row[11] == result.batch_id


async def test_copies_of_a_refused_record_are_refused_not_counted_as_stored(
    desk: Desk, cast: Cast
) -> None:
    """``duplicates`` are records stored before; a refused record repeated in the batch was
    never stored, so each copy is refused."""
    bad = {**payment(cast.person, cast.provider, cast.service), "serviceCode": "ZZ.999"}
    result = await desk.send([bad, bad])
    assert (result.records, result.accepted, result.duplicates, result.rejected) == (2, 0, 0, 2)
    assert [(note.line, note.code) for note in result.rejections] == [
        (1, "SERVICE_UNKNOWN"), (2, "SERVICE_UNKNOWN")]


# --- withdrawals ----------------------------------------------------------------------------


async def test_a_withdrawal_is_stored_negative_and_announced_once(
    desk: Desk, cast: Cast
) -> None:
    original = payment(cast.person, cast.provider, cast.service, care="2026-11-03",
                       practitioner="doc-1")
    await desk.send([original])
    assert await desk.total(cast.person) == 1_240_000
    back = withdrawal(cast.person, original["recordId"], "2400.00")

    result = await desk.send([back])

    assert (result.accepted, result.rejected, result.rejections) == (1, 0, [])
    stored = await desk.stored()
    original_id = stored[original["recordId"]][0]
    row = stored[back["recordId"]]
    assert row[1:11] == (cast.person.id, cast.provider.id, cast.service.code, date(2026, 11, 3),
                         -240_000, "gobmp", date(2026, 11, 21), "doc-1", original_id, [])
    assert await desk.total(cast.person) == 1_000_000
    withdrawn = await desk.events(cast.person, kind="service.withdrawn")
    assert withdrawn == [(cast.person.id, "service.withdrawn", {
        "id": row[0], "withdrawalOf": original_id, "providerId": str(cast.provider.id),
        "serviceCode": cast.service.code, "careDate": "2026-11-03", "amountTiyn": 240_000,
        "provider": {"kk": cast.provider.name_kk, "ru": cast.provider.name_ru,
                     "en": cast.provider.name_en},
        "service": {"kk": cast.service.name_kk, "ru": cast.service.name_ru,
                    "en": cast.service.name_en}})]
    assert result.events == 1

    again = await desk.send([back])
    assert (again.accepted, again.duplicates, again.events) == (0, 1, 0)
    assert await desk.events(cast.person, kind="service.withdrawn") == withdrawn
    assert await desk.total(cast.person) == 1_000_000


async def test_withdrawals_up_to_the_payment_are_taken_and_beyond_it_refused(
    desk: Desk, cast: Cast
) -> None:
    original = payment(cast.person, cast.provider, cast.service)
    await desk.send([original])
    parts = [withdrawal(cast.person, original["recordId"], "12000.00"),
             withdrawal(cast.person, original["recordId"], "400.00"),
             withdrawal(cast.person, original["recordId"], "0.01")]
    result = await desk.send(parts)
    assert_refused(result, 3, parts[2]["recordId"], "CORRECTION_EXCEEDS_ORIGINAL")
    assert await desk.total(cast.person) == 0
    assert len(await desk.events(cast.person, kind="service.withdrawn")) == 2


async def test_a_refused_withdrawal_does_not_count_against_the_next(
    desk: Desk, cast: Cast
) -> None:
    """Only withdrawals that are stored reduce what is left to withdraw."""
    original = payment(cast.person, cast.provider, cast.service)
    await desk.send([original])
    refused = withdrawal(cast.person, original["recordId"], "12400.00", paid_on="2026-11-30")
    taken = withdrawal(cast.person, original["recordId"], "12400.00")
    result = await desk.send([refused, taken])
    assert_refused(result, 1, refused["recordId"], "DATE_IN_FUTURE")
    assert result.accepted == 1
    assert await desk.total(cast.person) == 0


async def test_a_withdrawal_resent_with_a_new_one_is_not_counted_twice(
    desk: Desk, cast: Cast
) -> None:
    """A resend of a stored withdrawal together with a new one: the stored withdrawal is a
    duplicate, and what is left to withdraw is the payment less it, once."""
    original = payment(cast.person, cast.provider, cast.service)
    await desk.send([original])
    first = withdrawal(cast.person, original["recordId"], "10000.00")
    await desk.send([first])
    rest = withdrawal(cast.person, original["recordId"], "2400.00")
    result = await desk.send([first, rest])
    assert (result.accepted, result.duplicates, result.rejected) == (1, 1, 0), result.rejections
    assert await desk.total(cast.person) == 0


async def test_a_withdrawal_only_finds_payments_of_its_own_sender(
    desk: Desk, cast: Cast
) -> None:
    original = payment(cast.person, cast.provider, cast.service)
    await desk.send([original])
    result = await desk.send([withdrawal(cast.person, original["recordId"])],
                             source=desk.new_source())
    assert [note.code for note in result.rejections] == ["ORIGINAL_UNKNOWN"]


# --- anomaly flags --------------------------------------------------------------------------


def assert_flagged(result: IngestResult, expected: Mapping[int, tuple[str, ...]],
                   records: Sequence[Record]) -> None:
    """The result stored everything and flagged exactly ``expected`` (line -> flags)."""
    assert result.rejected == 0, result.rejections
    assert result.accepted == len(records) - result.duplicates
    assert result.flagged == result.rejections
    assert {note.line: note.flags for note in result.flagged} == dict(expected)
    for note in result.flagged:
        assert note.code is None and note.message() is None
        assert note.record_id == records[note.line - 1]["recordId"]


async def stored_flags(desk: Desk, records: Sequence[Record]) -> list[list[str]]:
    """The flags stored with each record, in order."""
    stored = await desk.stored()
    return [stored[record["recordId"]][10] for record in records]


async def test_care_after_death_is_stored_and_flagged(desk: Desk, cast: Cast) -> None:
    dead = await create_person(desk.db, birth_date=date(1950, 1, 1), sex="M",
                               death_date=date(2026, 10, 1))
    await desk.db.commit()
    records = [payment(dead, cast.provider, cast.service, care="2026-09-30"),
               payment(dead, cast.provider, cast.service, care="2026-10-01"),
               payment(dead, cast.provider, cast.service, care="2026-10-05")]
    result = await desk.send(records)
    assert_flagged(result, {3: ("AFTER_DEATH",)}, records)
    assert await stored_flags(desk, records) == [[], [], ["AFTER_DEATH"]]
    [paid] = await desk.events(dead, kind="service.paid")
    assert [item["flags"] for item in paid[2]["payments"]] == [[], [], ["AFTER_DEATH"]]


async def test_a_service_for_the_other_sex_is_flagged(desk: Desk, cast: Cast) -> None:
    screening = await create_medical_service(desk.db, sex="F", category="screening",
                                             name_en="Cervical cancer screening")
    await desk.db.commit()
    records = [payment(cast.person, cast.provider, screening),
               payment(cast.other, cast.provider, screening)]
    result = await desk.send(records)
    assert_flagged(result, {2: ("SEX_MISMATCH",)}, records)
    assert await stored_flags(desk, records) == [[], ["SEX_MISMATCH"]]


async def test_a_service_outside_its_ages_is_flagged_at_the_birthday(
    desk: Desk, cast: Cast
) -> None:
    screening = await create_medical_service(desk.db, min_age=40, max_age=70,
                                             category="screening")
    turning = await create_person(desk.db, birth_date=date(1986, 11, 3), sex="M")
    await desk.db.commit()
    records = [payment(turning, cast.provider, screening, care="2026-11-02"),
               payment(turning, cast.provider, screening, care="2026-11-03"),
               payment(cast.other, cast.provider, screening, care="2026-11-03")]  # 36
    result = await desk.send(records)
    assert_flagged(result, {1: ("AGE_MISMATCH",), 3: ("AGE_MISMATCH",)}, records)
    assert await stored_flags(desk, records) == [["AGE_MISMATCH"], [], ["AGE_MISMATCH"]]


async def test_flags_add_up(desk: Desk, cast: Cast) -> None:
    pediatric = await create_medical_service(desk.db, sex="F", min_age=0, max_age=17)
    dead = await create_person(desk.db, birth_date=date(1950, 1, 1), sex="M",
                               death_date=date(2026, 10, 1))
    await desk.db.commit()
    records = [payment(dead, cast.provider, pediatric, care="2026-10-05")]
    result = await desk.send(records)
    assert_flagged(result, {1: ("AFTER_DEATH", "SEX_MISMATCH", "AGE_MISMATCH")}, records)


async def test_the_same_service_on_the_same_day_is_flagged_as_duplicate_billing(
    desk: Desk, cast: Cast
) -> None:
    await create_service_payment(desk.db, cast.person, cast.provider, cast.service,
                                 care_date=date(2026, 11, 3), paid_on=date(2026, 11, 10))
    await desk.db.commit()
    records = [
        payment(cast.person, cast.provider, cast.service, care="2026-11-03"),  # stored before
        payment(cast.person, cast.provider, cast.service, care="2026-11-04"),
        payment(cast.person, cast.provider, cast.service, care="2026-11-04"),  # twice in batch
        payment(cast.other, cast.provider, cast.service, care="2026-11-04"),
        payment(cast.person, cast.provider, cast.service, care="2026-11-05"),
    ]
    result = await desk.send(records)
    assert_flagged(result, {1: ("DUPLICATE_BILLING",), 3: ("DUPLICATE_BILLING",)}, records)
    assert await stored_flags(desk, records) == [["DUPLICATE_BILLING"], [], ["DUPLICATE_BILLING"],
                                                 [], []]
    # The same file again: duplicates of stored records, not new double billing.
    again = await desk.send(records)
    assert (again.accepted, again.duplicates, again.rejections) == (0, 5, [])


async def test_a_practitioner_over_the_daily_limit_is_flagged(
    desk: Desk, cast: Cast
) -> None:
    kind = ServicePayments(practitioner_daily_limit=3)
    people = [await create_person(desk.db, birth_date=date(1960 + n, 1, 1), sex="M")
              for n in range(8)]
    await desk.db.commit()
    day = [payment(people[n], cast.provider, cast.service, care="2026-11-03",
                   practitioner="doc-7") for n in range(3)]
    others = [payment(people[3], cast.provider, cast.service, care="2026-11-04",
                      practitioner="doc-7"),
              payment(people[4], cast.provider, cast.service, care="2026-11-03",
                      practitioner="doc-8"),
              payment(people[5], cast.provider, cast.service, care="2026-11-03")]
    first = await desk.send(day + others, kind=kind)
    assert_flagged(first, {}, day + others)

    fourth = [payment(people[6], cast.provider, cast.service, care="2026-11-03",
                      practitioner="doc-7")]
    result = await desk.send(fourth, kind=kind)
    assert_flagged(result, {1: ("PRACTITIONER_OVERLOAD",)}, fourth)
    assert await stored_flags(desk, day + fourth) == [[], [], [], ["PRACTITIONER_OVERLOAD"]]

    # At the default limit (80) the same day is ordinary.
    fifth = [payment(people[7], cast.provider, cast.service, care="2026-11-03",
                     practitioner="doc-7")]
    assert_flagged(await desk.send(fifth), {}, fifth)


async def test_a_batch_over_the_daily_limit_flags_the_practitioners_day(
    desk: Desk, cast: Cast
) -> None:
    kind = ServicePayments(practitioner_daily_limit=3)
    people = [await create_person(desk.db, birth_date=date(1970 + n, 2, 2), sex="F")
              for n in range(4)]
    await desk.db.commit()
    records = [payment(person, cast.provider, cast.service, care="2026-11-03",
                       practitioner="doc-9") for person in people]
    result = await desk.send(records, kind=kind)
    assert_flagged(result, {line: ("PRACTITIONER_OVERLOAD",) for line in range(1, 5)}, records)
    assert await stored_flags(desk, records) == [["PRACTITIONER_OVERLOAD"]] * 4


async def test_withdrawals_carry_no_flags(desk: Desk, cast: Cast) -> None:
    dead = await create_person(desk.db, birth_date=date(1950, 1, 1), sex="M",
                               death_date=date(2026, 10, 1))
    await desk.db.commit()
    original = payment(dead, cast.provider, cast.service, care="2026-10-05")
    first = await desk.send([original])
    assert [note.flags for note in first.flagged] == [("AFTER_DEATH",)]
    back = withdrawal(dead, original["recordId"], "12400.00")
    result = await desk.send([back])
    assert (result.accepted, result.rejections) == (1, [])
    assert (await desk.stored())[back["recordId"]][10] == []


# --- idempotency and events -----------------------------------------------------------------


async def test_the_same_batch_twice_changes_nothing_the_second_time(
    desk: Desk, cast: Cast
) -> None:
    records = [payment(cast.person, cast.provider, cast.service, care="2026-11-03"),
               payment(cast.person, cast.provider, cast.service, care="2026-11-04"),
               payment(cast.other, cast.provider, cast.service, care="2026-11-03")]
    first = await desk.send(records)
    assert (first.records, first.accepted, first.duplicates) == (3, 3, 0)
    stored = await desk.stored()
    events = await desk.events(cast.person, cast.other)
    again = await desk.send(records)
    assert (again.records, again.accepted, again.duplicates, again.rejected) == (3, 0, 3, 0)
    assert (again.rejections, again.events) == ([], 0)
    assert await desk.stored() == stored
    assert await desk.events(cast.person, cast.other) == events

    new = payment(cast.other, cast.provider, cast.service, care="2026-11-05")
    mixed = await desk.send([*records, new, new])
    assert (mixed.records, mixed.accepted, mixed.duplicates) == (5, 1, 4)
    assert set(await desk.stored()) == set(stored) | {new["recordId"]}


async def test_one_paid_event_per_person_per_batch(desk: Desk, cast: Cast) -> None:
    records = [payment(cast.person, cast.provider, cast.service, care="2026-11-03"),
               payment(cast.person, cast.provider, cast.service, care="2026-11-01"),
               payment(cast.other, cast.provider, cast.service, care="2026-11-03")]
    result = await desk.send(records)
    stored = await desk.stored()
    paid = await desk.events(cast.person, cast.other, kind="service.paid")
    assert sorted(event[0] for event in paid) == sorted([cast.person.id, cast.other.id])
    assert result.events == 2
    for person_id, _, payload in paid:
        assert payload["batch"] == result.batch_id
        ids = sorted(row[0] for row in stored.values() if row[1] == person_id)
        assert sorted(item["id"] for item in payload["payments"]) == ids
        dates = [item["careDate"] for item in payload["payments"]]
        assert dates == sorted(dates)
    assert all(item["amountTiyn"] == 1_240_000 for _, _, payload in paid
               for item in payload["payments"])
    await desk.send(records)
    assert len(await desk.events(cast.person, cast.other)) == 2


async def test_service_payments_leave_statuses_alone(desk: Desk, cast: Cast) -> None:
    result = await desk.send([payment(cast.person, cast.provider, cast.service)])
    assert result.statuses_changed == 0
    rows = await desk.all("SELECT count(*) FROM core.person_status WHERE person_id = :p",
                          p=cast.person.id)
    assert rows == [(0,)]
