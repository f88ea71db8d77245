"""Concurrent corrections: refunds of one contribution (and withdrawals of one service
payment) sent at the same moment in separate batches, each its own transaction on its own
connection, never take back more than the original held.

Within one batch the check alone suffices; across batches each correction's batch locks its
originals (``backend.ingest.pipeline.lock_sql``) before checking, so the later batch checks
against what the earlier one stored.  Each test runs many rounds: a race that the lock did not
close would show as a round with too much taken back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import IngestResult, Kind, Rejection, docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.models import MedicalService, Person, Provider
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from tests.factories import create_medical_service, create_person, create_provider

TODAY = date(2026, 11, 23)
ROUNDS = 20
AT_ONCE = 3
Record = dict[str, Any]


@dataclass
class Sender:
    """One source (client id) sending batches straight to the pipeline."""

    engine: AsyncEngine
    rates: RateBook
    source: str
    person: Person

    async def send(self, kind: Kind, records: Sequence[Record], *,
                   spell: Callable[[str], str] = str) -> IngestResult:
        """One batch: one connection, one transaction (each line's JSON text through
        ``spell``)."""
        rows = [(spell(doc),) for (doc,) in docs_of(records)]
        return await ingest(self.engine, kind, source=self.source, today=TODAY,
                            rates=self.rates, rows=rows)

    async def at_once(self, kind: Kind, batches: Sequence[Sequence[Record]], *,
                      spell: Callable[[str], str] = str) -> list[IngestResult]:
        """The batches concurrently, each on its own connection."""
        return list(await asyncio.gather(*(self.send(kind, batch, spell=spell)
                                           for batch in batches)))

    async def one(self, sql: str, **params: Any) -> Any:
        """The single value of a query."""
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()


@pytest.fixture
async def sender(engine: AsyncEngine, committed: AsyncSession) -> Sender:
    """A sender of its own with one person (``committed`` empties the tables after)."""
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    person = await create_person(committed)
    await committed.commit()
    return Sender(engine, rates, f"test-{uuid.uuid4().hex}", person)


def rid(prefix: str) -> str:
    """A record id no other record has."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def contribution(person: Person, amount: str) -> Record:
    """A self-payment for October 2026."""
    return {"recordId": rid("C"), "iin": person.iin, "kind": "self_payment",
            "period": "2026-10", "amount": amount, "paidOn": "2026-11-10", "paymentCode": 122}


def refund(person: Person, of: str, amount: str) -> Record:
    """A refund of ``amount`` from the contribution ``of``."""
    return {"recordId": rid("R"), "iin": person.iin, "refundOf": of, "amount": amount,
            "paidOn": "2026-11-20"}


def payment(person: Person, provider: Provider, service: MedicalService, amount: str
            ) -> Record:
    """A payment for a GP visit."""
    return {"recordId": rid("SP"), "iin": person.iin, "providerBin": provider.bin,
            "serviceCode": service.code, "careDate": "2026-11-03", "amount": amount,
            "paidOn": "2026-11-20"}


def withdrawal(person: Person, of: str, amount: str) -> Record:
    """A withdrawal of ``amount`` from the payment ``of``."""
    return {"recordId": rid("W"), "iin": person.iin, "withdrawalOf": of, "amount": amount,
            "paidOn": "2026-11-21"}


def assert_one_taken(results: Sequence[IngestResult], batches: Sequence[Sequence[Record]]
                     ) -> None:
    """Exactly one batch stored its correction; every other was refused with the code the
    single-batch check gives."""
    assert sorted(result.accepted for result in results) == [0] * (len(results) - 1) + [1]
    for result, batch in zip(results, batches, strict=True):
        if result.accepted == 0:
            assert result.rejections == [
                Rejection(1, batch[0]["recordId"], "CORRECTION_EXCEEDS_ORIGINAL")]


def escaped(doc: str) -> str:
    """The same JSON with the refund's key spelled with an escape (``refund\\u004ff``)."""
    return doc.replace('"refundOf"', '"refund\\u004ff"')


@pytest.mark.parametrize("spell", [str, escaped], ids=["plain", "escaped key"])
async def test_concurrent_refunds_never_exceed_the_contribution(
        sender: Sender, spell: Callable[[str], str]) -> None:
    """Three refunds of 6,000 ₸ of one 10,000 ₸ contribution at once: one is stored."""
    kind = Contributions()
    for _ in range(ROUNDS):
        original = contribution(sender.person, "10000.00")
        assert (await sender.send(kind, [original])).accepted == 1
        batches = [[refund(sender.person, original["recordId"], "6000.00")]
                   for _ in range(AT_ONCE)]
        results = await sender.at_once(kind, batches, spell=spell)
        refunded = await sender.one(
            "SELECT -sum(r.amount_tiyn) FROM core.contribution r JOIN core.contribution o"
            " ON o.id = r.refund_of WHERE o.source = :s AND o.source_record_id = :r",
            s=sender.source, r=original["recordId"])
        assert int(refunded) == 600_000
        assert_one_taken(results, batches)


async def test_concurrent_withdrawals_never_exceed_the_payment(
        sender: Sender, committed: AsyncSession) -> None:
    """Three withdrawals of 6,000 ₸ of one 10,000 ₸ payment at once: one is stored."""
    provider = await create_provider(committed)
    service = await create_medical_service(committed)
    await committed.commit()
    kind = ServicePayments()
    for _ in range(ROUNDS):
        original = payment(sender.person, provider, service, "10000.00")
        assert (await sender.send(kind, [original])).accepted == 1
        batches = [[withdrawal(sender.person, original["recordId"], "6000.00")]
                   for _ in range(AT_ONCE)]
        results = await sender.at_once(kind, batches)
        withdrawn = await sender.one(
            "SELECT -sum(w.amount_tiyn) FROM core.service_payment w JOIN core.service_payment o"
            " ON o.id = w.withdrawal_of WHERE o.source = :s AND o.source_record_id = :r",
            s=sender.source, r=original["recordId"])
        assert int(withdrawn) == 600_000
        assert_one_taken(results, batches)


async def test_concurrent_refunds_that_fit_are_all_stored(sender: Sender) -> None:
    """Locking serializes the corrections, it refuses nothing that fits: three refunds of
    3,000 ₸ of 10,000 ₸ at once are all stored, and a fourth is then refused."""
    kind = Contributions()
    for _ in range(ROUNDS // 4):
        original = contribution(sender.person, "10000.00")
        await sender.send(kind, [original])
        results = await sender.at_once(kind, [[refund(sender.person, original["recordId"],
                                                      "3000.00")] for _ in range(AT_ONCE)])
        assert [result.accepted for result in results] == [1] * AT_ONCE
        last = await sender.send(kind, [refund(sender.person, original["recordId"], "1000.01")])
        assert [note.code for note in last.rejections] == ["CORRECTION_EXCEEDS_ORIGINAL"]


async def test_the_same_refund_batch_sent_twice_at_once_is_stored_once(sender: Sender) -> None:
    """Idempotency holds under the lock: the second copy is a duplicate, not a refusal."""
    kind = Contributions()
    for _ in range(ROUNDS // 4):
        original = contribution(sender.person, "10000.00")
        await sender.send(kind, [original])
        batch = [refund(sender.person, original["recordId"], "6000.00")]
        results = await sender.at_once(kind, [batch, batch])
        assert sorted((r.accepted, r.duplicates, r.rejected) for r in results) == [
            (0, 1, 0), (1, 0, 0)]
        again = await sender.send(kind, batch)
        assert (again.accepted, again.duplicates, again.rejected) == (0, 1, 0)
        assert await sender.one("SELECT count(*) FROM core.contribution WHERE source = :s"
                                " AND source_record_id = :r", s=sender.source,
                                r=batch[0]["recordId"]) == 1
