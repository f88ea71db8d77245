"""The stored status (``backend.status.stored``) is exactly what the engine computes.

The home screen reads a person's status, reason and what they owe from
``core.person_status`` while the row is fresh, instead of recomputing it from the whole
contribution history.  The engine stays the source of truth: for every person of a demo
country, in each language, the stored status read back equals the engine's result field by
field, and so does the reason's sentence the screen shows.  A write that leaves a stored
result stale makes the reader compute it again until the worker's pass has refreshed it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.admin import drop_database
from backend.db.reads import fetcher_of
from backend.demo import generator
from backend.people.own import own_row
from backend.people.repository import people_by_ids
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status import StatusResult, compute_status, store
from backend.status.repository import contributions_of, memberships_of
from backend.status.schedule import refresh_due
from backend.status.service import fresh_status, stored_status
from backend.status.texts import reason_text
from notifications.inbox import UNREAD_COUNT
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)
PEOPLE = 600
LANGUAGES = ("kk", "ru", "en")


@pytest.fixture(scope="module")
async def demo(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    url = throwaway_url(settings, "stored")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=3, as_of=AS_OF, quiet=True)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


async def _rates(engine: AsyncEngine) -> RateBook:
    async with engine.connect() as conn:
        return await load_rate_book(conn)


async def _both(engine: AsyncEngine, person_id: uuid.UUID, language: str, today: date,
                rates: RateBook) -> tuple[StatusResult | None, StatusResult]:
    """(the stored status read back, or None when stale; the engine's result)."""
    async with engine.connect() as conn:
        db = await fetcher_of(conn)
        read = await stored_status(db, person_id, today=today, language=language)
        computed = compute_status(
            as_of=today, memberships=await memberships_of(db, person_id),
            contributions=await contributions_of(db, person_id, language), rates=rates)
    return read, computed


async def test_every_demo_person_reads_back_what_the_engine_computes(
    demo: AsyncEngine,
) -> None:
    rates = await _rates(demo)
    done = await refresh_due(demo, today=AS_OF, rates=rates)
    assert done is not None and done.computed >= PEOPLE
    async with demo.connect() as conn:
        people = [row[0] for row in await conn.execute(text("SELECT id FROM core.person"))]
        names = {(code, language): name for code, language, name in await conn.execute(text(
            "SELECT code, l, CASE l WHEN 'kk' THEN name_kk WHEN 'ru' THEN name_ru"
            " ELSE name_en END FROM core.preferential_category,"
            " unnest(ARRAY['kk', 'ru', 'en']) AS l"))}
    assert len(people) >= PEOPLE
    seen_codes: set[str] = set()
    payers_named = 0
    for person_id in people:
        for language in LANGUAGES:
            read, computed = await _both(demo, person_id, language, AS_OF, rates)
            assert read is not None, f"{person_id}: no fresh stored status"
            # Field by field, so a difference names its field.
            assert read.status == computed.status
            assert read.reason.code == computed.reason.code
            assert dict(read.reason.facts) == dict(computed.reason.facts)
            assert read.guaranteed_until == computed.guaranteed_until
            assert read.last_paid_period == computed.last_paid_period
            assert read.grace_months == computed.grace_months
            assert read.self_payment == computed.self_payment
            assert read == computed
            category = computed.reason.facts.get("category")
            name = None if category is None else names.get((category, language))
            assert (reason_text(read.reason, language, category_name=name)
                    == reason_text(computed.reason, language, category_name=name))
            seen_codes.add(computed.reason.code.value)
            payers_named += "payer" in computed.reason.facts
    # The demo covers every reason the screen explains, and payers named in it.
    assert seen_codes >= {"state_category", "paid", "grace_period", "contributions_stopped"}
    assert payers_named > 0


async def test_a_stored_status_runs_out_on_its_stable_until(demo: AsyncEngine) -> None:
    rates = await _rates(demo)
    await refresh_due(demo, today=AS_OF, rates=rates)
    async with demo.connect() as conn:
        person_id, until = (await conn.execute(text(
            "SELECT person_id, stable_until FROM core.person_status LIMIT 1"))).one()
    read, _ = await _both(demo, person_id, "en", until, rates)
    assert read is None  # the reader computes it on that day
    read, _ = await _both(demo, person_id, "en", date(2026, 11, 22), rates)
    assert read is None  # nor is a status stored for a later day read on an earlier one


async def test_money_for_an_insured_person_leaves_the_stored_result_stale_until_refreshed(
    demo: AsyncEngine,
) -> None:
    rates = await _rates(demo)
    await refresh_due(demo, today=AS_OF, rates=rates)
    async with demo.connect() as conn:
        person_id = (await conn.execute(text(
            "SELECT p.id FROM core.person p JOIN core.person_status s"
            " ON s.person_id = p.id WHERE s.status = 'insured' AND s.reason_code = 'paid'"
            " AND NOT EXISTS (SELECT 1 FROM core.category_membership m"
            "                 WHERE m.person_id = p.id)"
            " AND NOT EXISTS (SELECT 1 FROM core.contribution c WHERE c.person_id = p.id"
            "                 AND c.period >= '2026-11-01')"
            " ORDER BY p.id LIMIT 1"))).scalar_one()
    before, _ = await _both(demo, person_id, "en", AS_OF, rates)
    assert before is not None
    # November's self-payment, paid today: still insured, but what is owed changes
    # (ingestion skips recomputing an insured status, whose result goes stale instead).
    async with demo.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():  # what ingestion does: store the money, then refresh
            await db.execute(
                "INSERT INTO core.contribution (person_id, kind, period, amount_tiyn, paid_on,"
                " payment_code, source, source_record_id) VALUES ($1, 'self_payment',"
                " '2026-11-01', 425000, $2, 122, 'test', $3)", person_id, AS_OF, str(person_id))
            done = await store.refresh(db, [person_id], today=AS_OF, rates=rates,
                                       cause="test")
    assert done.computed == 0  # insured within its stable days: not recomputed

    stale, computed = await _both(demo, person_id, "en", AS_OF, rates)
    assert stale is None  # the reader computes it: the new month, not the stored one
    assert computed != before

    await refresh_due(demo, today=AS_OF, rates=rates)  # the worker's next pass
    fresh, computed = await _both(demo, person_id, "en", AS_OF, rates)
    assert fresh == computed


async def test_the_citizens_own_row_holds_what_the_separate_reads_hold(
    demo: AsyncEngine,
) -> None:
    """``me`` reads the person, their stored status and their unread count in one statement
    (``backend.people.own``): for every demo person it is what the three statements read,
    the payer named in the person's own language, fresh or stale alike."""
    rates = await _rates(demo)
    await refresh_due(demo, today=AS_OF, rates=rates)
    async with demo.connect() as conn:
        await conn.execute(text(  # some unread items, and a stored row gone for one person
            "INSERT INTO notify.notification (event_id, person_id, kind, category, payload,"
            " created_at) SELECT -row_number() OVER (), id, 'test', 'announcements', '{}',"
            " now() FROM core.person, generate_series(1, 2) ORDER BY id LIMIT 40"))
        await conn.execute(text(
            "DELETE FROM core.person_status WHERE person_id ="
            " (SELECT id FROM core.person ORDER BY id LIMIT 1)"))
        await conn.commit()
        people = [row[0] for row in await conn.execute(text("SELECT id FROM core.person"))]
    seen_unread = seen_missing = 0
    for day in (AS_OF, date(2026, 11, 22)):  # fresh, then stored for a later day: stale
        for person_id in people:
            async with demo.connect() as conn:
                db = await fetcher_of(conn)
                own = await own_row(db, person_id)
                assert own is not None
                [person] = (await people_by_ids(db, [person_id])).values()
                separate = await stored_status(db, person_id, today=day,
                                               language=person.language)
                [unread] = await db.fetch(UNREAD_COUNT, person_id)
            assert own.person == person
            assert fresh_status(own.stored, day) == separate
            assert own.unread == unread[0]
            seen_unread += own.unread > 0
            seen_missing += own.stored is None
    assert seen_unread and seen_missing
    assert await own_row(db, uuid.uuid4()) is None
