"""Appending records to the verifiable log: every stored record becomes one leaf, in the queue's
order; the tree the server stores as tiles has the root the library computes over the same
entries; a leaf commits to its record and names its person only by pseudonym; proofs come out
verified, and a damaged store is refused instead of served.

A small demo country in a database of its own (the demo's COPYs queue every record);
corrections go through the real ingestion pipeline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.admin import drop_database
from backend.demo import generator
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.tlog import leaves
from backend.tlog.append import append, append_all
from backend.tlog.store import (
    NotInLog,
    UnverifiedProof,
    consistency_proof,
    driver_of,
    inclusion_proof,
    root_hash,
)
from backend.tlog.tlog import check_record, check_tree, record_hash
from tests.backend.tlog_helpers import (
    PSEUDONYM_KEY,
    LibraryLog,
    leaves_in_order,
    queue,
    stored_entries,
)
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)
PEOPLE = 60


@pytest.fixture(scope="module")
async def engine_with_demo(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    url = throwaway_url(settings, "tlog")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=7, as_of=AS_OF, quiet=True)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


async def _root(engine: AsyncEngine, size: int) -> bytes:
    async with engine.connect() as conn:
        return await root_hash(await driver_of(conn), size)


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    """(records stored in the three logged tables, leaves + queued)."""
    async with engine.connect() as conn:
        stored = (await conn.execute(text(
            "SELECT (SELECT count(*) FROM core.contribution)"
            " + (SELECT count(*) FROM core.service_payment)"
            " + (SELECT count(*) FROM core.access_log)"))).scalar_one()
        logged = (await conn.execute(text(
            "SELECT (SELECT count(*) FROM tlog.leaf) + (SELECT count(*) FROM tlog.pending)"
        ))).scalar_one()
    return stored, logged


async def test_every_record_becomes_one_leaf_in_queue_order(
    engine_with_demo: AsyncEngine,
) -> None:
    engine = engine_with_demo
    stored, logged = await _counts(engine)
    assert stored == logged > 1000  # the demo's COPYs queued every row
    waiting = await queue(engine)
    # Small batches, so that tiles grow across many appends (partial tiles rewritten wider).
    report = await append_all(engine, PSEUDONYM_KEY, limit=97)
    assert (report.appended, report.gone, report.size) == (len(waiting), 0, len(waiting))
    assert await leaves_in_order(engine) == waiting
    assert await queue(engine) == []
    entries = await stored_entries(engine)
    library = LibraryLog(entries)
    for size in (1, 2, 97, 255, 256, 257, len(entries) // 2, len(entries)):
        assert await _root(engine, size) == library.root(size), size
    assert (await append_all(engine, PSEUDONYM_KEY)).appended == 0


async def test_a_leaf_commits_to_its_record_and_shows_only_a_pseudonym(
    engine_with_demo: AsyncEngine,
) -> None:
    engine = engine_with_demo
    await append_all(engine, PSEUDONYM_KEY)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT l.record_id, l.entry, l.salt, p.iin, c.amount_tiyn FROM tlog.leaf l"
            " JOIN core.contribution c ON c.id = l.record_id"
            " JOIN core.person p ON p.id = c.person_id"
            " WHERE l.kind = 'contribution' ORDER BY l.leaf_index LIMIT 1"))).one()
        driver = await driver_of(conn)
        record = (await leaves.load_records(driver, [("contribution", row[0])]))[
            ("contribution", row[0])]
    entry, salt, iin = bytes(row[1]), bytes(row[2]), row[3]
    shown = json.loads(entry)
    assert leaves.canonical_json(shown) == entry  # canonical: what a verifier re-encodes
    assert set(shown) == {"v", "kind", "id", "person", "logged", "commitment"}
    assert shown["person"] == leaves.pseudonym(PSEUDONYM_KEY, iin)
    assert len(shown["person"]) == 22
    assert iin.encode() not in entry
    assert str(row[4]).encode() not in entry  # the amount is not public
    assert base64.b64decode(shown["commitment"]) == hashlib.sha256(salt + record.record).digest()
    assert json.loads(record.record)["amount_tiyn"] == row[4]
    assert shown["logged"] == record.logged.isoformat()


async def test_refunds_withdrawals_and_looks_are_leaves_of_their_own_kind(
    engine_with_demo: AsyncEngine,
) -> None:
    engine = engine_with_demo
    await append_all(engine, PSEUDONYM_KEY)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
        paid = (await conn.execute(text(
            "SELECT c.source_record_id, p.iin, c.amount_tiyn, p.id FROM core.contribution c"
            " JOIN core.person p ON p.id = c.person_id WHERE c.source = 'demo-gfss'"
            " ORDER BY c.id LIMIT 1"))).one()
        care = (await conn.execute(text(
            "SELECT s.source_record_id, p.iin, s.amount_tiyn FROM core.service_payment s"
            " JOIN core.person p ON p.id = s.person_id WHERE s.source = 'demo-fund'"
            " AND s.amount_tiyn > 400 ORDER BY s.id LIMIT 1"))).one()
    for kind, source, record in (
            (Contributions(), "demo-gfss", {"recordId": f"R-{uuid.uuid4().hex[:12]}",
                                            "iin": paid[1], "refundOf": paid[0],
                                            "amount": f"{paid[2] // 200}.00",
                                            "paidOn": AS_OF.isoformat()}),
            (ServicePayments(), "demo-fund", {"recordId": f"W-{uuid.uuid4().hex[:12]}",
                                              "iin": care[1], "withdrawalOf": care[0],
                                              "amount": f"{care[2] // 400}.00",
                                              "paidOn": AS_OF.isoformat()})):
        result = await ingest(engine, kind, source=source, today=AS_OF, rates=rates,
                              rows=docs_of([record]))
        assert result.accepted == 1, result
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO core.access_log (person_id, actor_kind, actor_id, actor_name,"
            " organization, purpose, reason, reference) VALUES (:p, 'staff', 's-1',"
            " 'Desk worker', 'Clinic', 'profile', 'consent', 'w-1')"), {"p": paid[3]})
    assert [kind for kind, _ in await queue(engine)] == [
        "contribution_refund", "service_withdrawal", "access"]
    size_before = len(await stored_entries(engine))
    assert (await append_all(engine, PSEUDONYM_KEY)).appended == 3
    logged = (await leaves_in_order(engine))[size_before:]
    assert [kind for kind, _ in logged] == [
        "contribution_refund", "service_withdrawal", "access"]
    entries = await stored_entries(engine)
    people = {json.loads(entry)["person"] for entry in entries[size_before:]}
    assert people == {leaves.pseudonym(PSEUDONYM_KEY, iin) for iin in (paid[1], care[1])}
    assert await _root(engine, len(entries)) == LibraryLog(entries).root()


async def test_proofs_come_out_verified(engine_with_demo: AsyncEngine) -> None:
    engine = engine_with_demo
    await append_all(engine, PSEUDONYM_KEY)
    entries = await stored_entries(engine)
    library = LibraryLog(entries)
    n = len(entries)
    async with engine.connect() as conn:
        for index, size in ((0, 1), (0, n), (n - 1, n), (255, 256), (256, 257), (300, 700),
                            (n // 3, n - 5)):
            proof = await inclusion_proof(conn, index, size)
            assert proof.entry == entries[index]
            assert proof.root == library.root(size)
            check_record(proof.hashes, size, library.root(size), index,
                         record_hash(entries[index]))
        for old, new in ((1, n), (255, 256), (256, 513), (7, 7), (n // 2, n), (0, n)):
            tree = await consistency_proof(conn, old, new)
            assert (tree.old_root, tree.new_root) == (library.root(old), library.root(new))
            if old:
                check_tree(tree.hashes, new, library.root(new), old, library.root(old))
        with pytest.raises(NotInLog):
            await inclusion_proof(conn, n, n + 1)
        with pytest.raises(NotInLog):
            await consistency_proof(conn, 1, n + 1)


async def test_a_damaged_store_is_refused_not_served(engine_with_demo: AsyncEngine) -> None:
    engine = engine_with_demo
    await append_all(engine, PSEUDONYM_KEY)
    n = len(await stored_entries(engine))
    async with engine.connect() as conn:
        await conn.begin()
        # A leaf's entry edited in place: its hash no longer matches the tiles.
        await conn.execute(text(
            "UPDATE tlog.leaf SET entry = entry || ' '::bytea WHERE leaf_index = 5"))
        with pytest.raises(UnverifiedProof):
            await inclusion_proof(conn, 5, n)
        await conn.rollback()
        await conn.begin()
        # A checkpoint signed for a size whose tiles were rewritten: the roots disagree.
        await conn.execute(text(
            "INSERT INTO tlog.checkpoint (size, root_hash, signed) VALUES (:n, :root, 'x')"),
            {"n": n, "root": b"\x00" * 32})
        with pytest.raises(UnverifiedProof):
            await inclusion_proof(conn, 5, n)
        with pytest.raises(UnverifiedProof):
            await consistency_proof(conn, 3, n)
        await conn.rollback()
        assert (await inclusion_proof(conn, 5, n)).index == 5


async def test_an_append_rolled_back_leaves_everything_queued(
    engine_with_demo: AsyncEngine,
) -> None:
    engine = engine_with_demo
    await append_all(engine, PSEUDONYM_KEY)
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO core.access_log (person_id, actor_kind, actor_id, actor_name,"
            " organization, purpose, reason, reference) SELECT id, 'integrator', 'c-1',"
            " 'Integrator', 'Fund', 'eligibility', 'scope', 'eligibility:read'"
            " FROM core.person ORDER BY id LIMIT 40"))
    waiting = await queue(engine)
    before = await stored_entries(engine)
    async with engine.connect() as conn:
        await conn.begin()
        assert (await append(conn, PSEUDONYM_KEY, limit=1000)).appended == 40
        await conn.rollback()
    assert await queue(engine) == waiting
    assert await stored_entries(engine) == before
