"""The public rollups are exactly what the raw rows say: after the demo's COPY load, after
statuses are computed and change with time, after corrections (refunds, withdrawals) and
flagged services come through the real ingestion pipeline, after a case is confirmed (its
withdrawal included), after raw rows are deleted; people who move take their count with them
but not their money; the month's snapshot of insured people.

One small demo country in a database of its own (module-scoped); each test checks every
rollup against its recomputation from the raw rows (``tests/backend/rollups_recompute``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import migrate
from backend.db.admin import drop_database
from backend.demo import generator
from backend.disputes import service as disputes
from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import IngestResult, Kind, docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.models.disputes import DisputeActor
from backend.rates.book import RateBook
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status.schedule import refresh_due
from backend.transparency import rollups
from tests.backend.rollups_recompute import assert_exact, deltas_waiting, kept
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)
PEOPLE = 300


@dataclass(frozen=True)
class Country:
    """The demo database and its rate book."""

    engine: AsyncEngine
    rates: RateBook

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list(await conn.execute(text(sql), params))

    async def send(self, kind: Kind, source: str, records: list[dict[str, Any]],
                   today: date = AS_OF) -> IngestResult:
        return await ingest(self.engine, kind, source=source, today=today, rates=self.rates,
                            rows=docs_of(records))


@pytest.fixture(scope="module")
async def country(settings: AppSettings) -> AsyncIterator[Country]:
    url = throwaway_url(settings, "rollups")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=11, as_of=AS_OF, quiet=True)
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    try:
        yield Country(engine, rates)
    finally:
        await engine.dispose()
        await drop_database(url)


def kzt(tiyn: int) -> str:
    """Tiyn as the amount string integrators send."""
    return f"{tiyn // 100}.{tiyn % 100:02d}"


def cell(cells: dict[tuple[Any, ...], tuple[Any, ...]], *key: Any) -> tuple[Any, ...]:
    """A cell's values (zeros when absent)."""
    return cells.get(tuple(key), (0, 0))


async def test_the_demo_load_leaves_the_rollups_exact(country: Country) -> None:
    # COPY fired the statement triggers; the loader folded their deltas before it returned.
    assert set((await deltas_waiting(country.engine)).values()) == {0}
    sizes = await assert_exact(country.engine, fold=False)
    assert sizes["money_in"] > 100 and sizes["money_out"] > 100 and sizes["disputes"] == 1
    regions = await country.rows("SELECT count(DISTINCT region_code) FROM stats.money_in")
    assert regions[0][0] == 20
    payer_kinds = {row[0] for row in await country.rows(
        "SELECT DISTINCT payer_kind FROM stats.money_in")}
    assert payer_kinds == {"employer", "state", "local_budget", "self"}


async def test_copy_writes_one_delta_per_cell_not_per_row(country: Country) -> None:
    [(person, provider, service)] = await country.rows(
        "SELECT s.person_id, s.provider_id, s.service_code FROM core.service_payment s"
        " ORDER BY s.id LIMIT 1")
    rows = [(person, provider, service, date(2026, 10, day), 100_00, "gobmp", AS_OF, "copy",
             f"copy-{day}") for day in range(1, 29)]
    async with country.engine.begin() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "service_payment", schema_name="core", records=rows,
            columns=["person_id", "provider_id", "service_code", "care_date", "amount_tiyn",
                     "package", "paid_on", "source", "source_record_id"])
    waiting = await deltas_waiting(country.engine)
    assert (waiting["money_out"], waiting["cash_day"]) == (1, 1)
    await assert_exact(country.engine)


async def test_a_database_migrated_with_rows_gets_its_rollups(country: Country) -> None:
    await assert_exact(country.engine)
    await migrate.downgrade(country.engine, "0013")
    await migrate.upgrade(country.engine)
    await assert_exact(country.engine, fold=False)


async def test_statuses_count_where_people_live_and_move_with_time(country: Country) -> None:
    await refresh_due(country.engine, today=AS_OF, rates=country.rates, everyone=True)
    sizes = await assert_exact(country.engine)
    assert sizes["insured_now"] >= 20
    total = await country.rows("SELECT sum(people) FROM stats.insured_now")
    assert total[0][0] == PEOPLE
    before = await kept(country.engine, "insured_now")
    # Half a year on, the self-payers who stopped paying have lapsed (UPDATEs of the store).
    await refresh_due(country.engine, today=date(2027, 6, 1), rates=country.rates,
                      everyone=True)
    await assert_exact(country.engine)
    assert await kept(country.engine, "insured_now") != before
    await refresh_due(country.engine, today=AS_OF, rates=country.rates, everyone=True)
    assert await kept(country.engine, "insured_now") != before  # not folded yet
    await assert_exact(country.engine)
    assert await kept(country.engine, "insured_now") == before


async def test_refunds_adjust_the_month_they_refund(country: Country) -> None:
    full, partial = await country.rows(
        "SELECT c.source_record_id, p.iin, c.amount_tiyn, c.period, p.region_code, c.kind,"
        " coalesce(c.payer_kind, 'self') FROM core.contribution c"
        " JOIN core.person p ON p.id = c.person_id WHERE c.source = 'demo-gfss'"
        " AND c.period < DATE '2026-01-01' ORDER BY c.id LIMIT 2")
    await assert_exact(country.engine)
    money = await kept(country.engine, "money_in")
    cash = await kept(country.engine, "cash_day")
    result = await country.send(Contributions(), "demo-gfss", [
        {"recordId": f"R-{uuid.uuid4().hex[:12]}", "iin": full[1], "refundOf": full[0],
         "amount": kzt(full[2]), "paidOn": AS_OF.isoformat()},
        {"recordId": f"R-{uuid.uuid4().hex[:12]}", "iin": partial[1], "refundOf": partial[0],
         "amount": kzt(partial[2] // 3), "paidOn": AS_OF.isoformat()}])
    assert (result.accepted, result.rejected) == (2, 0), result
    await assert_exact(country.engine)
    after = await kept(country.engine, "money_in")
    expected: dict[tuple[Any, ...], tuple[int, int]] = {}
    for row, back, counted in ((full, full[2], 1), (partial, partial[2] // 3, 0)):
        key = (row[3], row[4], row[5], row[6])
        was = expected.get(key, cell(money, *key))
        expected[key] = (was[0] - back, was[1] - counted)
    for key, values in expected.items():
        assert cell(after, *key) == values, key  # the month refunded, not the refund's
    refunded = full[2] + partial[2] // 3
    assert cell(await kept(country.engine, "cash_day"), AS_OF)[0] == (
        cell(cash, AS_OF)[0] - refunded)


async def test_withdrawals_and_flags_adjust_the_month_of_care(country: Country) -> None:
    full, partial = await country.rows(
        "SELECT s.source_record_id, p.iin, s.amount_tiyn, date_trunc('month', s.care_date),"
        " s.provider_id FROM core.service_payment s JOIN core.person p ON p.id = s.person_id"
        " WHERE s.source = 'demo-fund' AND s.care_date < DATE '2026-06-01'"
        " AND s.amount_tiyn > 300 ORDER BY s.id LIMIT 2")
    man, woman = [(await country.rows(
        "SELECT iin FROM core.person WHERE sex = :sex AND death_date IS NULL"
        " AND birth_date < DATE '1990-01-01' ORDER BY id LIMIT 1", sex=sex))[0][0]
        for sex in "MF"]
    women_only = (await country.rows(
        "SELECT code FROM core.medical_service WHERE sex = 'F' ORDER BY code LIMIT 1"))[0][0]
    provider = (await country.rows("SELECT bin FROM core.provider ORDER BY id LIMIT 1"))[0][0]
    await assert_exact(country.engine)
    before = await kept(country.engine, "money_out")
    result = await country.send(ServicePayments(), "demo-fund", [
        {"recordId": f"W-{uuid.uuid4().hex[:12]}", "iin": full[1], "withdrawalOf": full[0],
         "amount": kzt(full[2]), "paidOn": AS_OF.isoformat()},
        {"recordId": f"W-{uuid.uuid4().hex[:12]}", "iin": partial[1], "withdrawalOf": partial[0],
         "amount": kzt(partial[2] // 4), "paidOn": AS_OF.isoformat()},
        *({"recordId": f"F-{uuid.uuid4().hex[:12]}", "iin": iin, "providerBin": provider,
           "serviceCode": women_only, "careDate": "2026-11-02", "amount": "5000.00",
           "paidOn": AS_OF.isoformat()} for iin in (man, woman))])
    assert (result.accepted, result.rejected) == (4, 0), result
    assert [note.flags for note in result.flagged] == [("SEX_MISMATCH",)]
    await assert_exact(country.engine)
    after = await kept(country.engine, "money_out")
    changed = {key: (before.get(key), value) for key, value in after.items()
               if before.get(key) != value}
    months = {key[0] for key in changed}
    assert {full[3].date(), partial[3].date()} <= months <= {
        full[3].date(), partial[3].date(), date(2026, 11, 1)}
    flags = await kept(country.engine, "provider_flags")
    assert [values[1] for key, values in flags.items() if key[2] == "SEX_MISMATCH"] == [1]


async def test_a_confirmed_case_moves_its_count_and_takes_the_service_back(
    country: Country,
) -> None:
    [(case_id, service_id)] = await country.rows(
        "SELECT id, service_payment_id FROM core.dispute WHERE state = 'submitted'")
    await assert_exact(country.engine)
    services_before = sum(v[2] for v in (await kept(country.engine, "money_out")).values())
    fund = disputes.Actor(DisputeActor.INTEGRATOR, "fund", "Fund", "ФСМС", "Reviewer")
    await disputes.assign(country.engine, case_id=case_id, assignee="Reviewer", actor=fund)
    await assert_exact(country.engine)
    assert {key[2]: v[1] for key, v in (await kept(country.engine, "disputes")).items()} == {
        "in_review": 1}
    await disputes.resolve(country.engine, case_id=case_id, confirmed=True, actor=fund,
                           today=AS_OF, explanation={"kk": "Расталды", "ru": "Подтверждено",
                                                     "en": "Confirmed"})
    await assert_exact(country.engine)
    assert {key[2]: v[1] for key, v in (await kept(country.engine, "disputes")).items()} == {
        "confirmed": 1}
    left = await country.rows("SELECT sum(amount_tiyn) FROM core.service_payment"
                              " WHERE id = :s OR withdrawal_of = :s", s=service_id)
    assert left[0][0] == 0
    services_after = sum(v[2] for v in (await kept(country.engine, "money_out")).values())
    assert services_after == services_before - 1


async def test_a_person_who_moves_takes_their_count_but_not_their_money(
    country: Country,
) -> None:
    await refresh_due(country.engine, today=AS_OF, rates=country.rates, everyone=True)
    await assert_exact(country.engine)
    money = await kept(country.engine, "money_in")
    [(person, home)] = await country.rows(
        "SELECT p.id, p.region_code FROM core.person p JOIN core.contribution c"
        " ON c.person_id = p.id WHERE p.region_code <> 'KZ-62' ORDER BY p.id LIMIT 1")
    for region in ("KZ-62", home):
        async with country.engine.begin() as conn:
            await conn.execute(text("UPDATE core.person SET region_code = :r WHERE id = :p"),
                               {"r": region, "p": person})
        await rollups.fold_all(country.engine)
        assert await kept(country.engine, "money_in") == money
        if region != home:  # the recomputation reads today's region: only insured_now agrees
            async with country.engine.connect() as conn:
                counted = await conn.execute(text(
                    "SELECT people FROM stats.insured_now n JOIN core.person_status s"
                    " ON upper(s.status) = n.status WHERE s.person_id = :p"
                    " AND n.region_code = 'KZ-62'"), {"p": person})
                assert counted.scalar_one() >= 1
    await assert_exact(country.engine)


async def test_deleted_rows_leave_the_rollups(country: Country) -> None:
    async with country.engine.begin() as conn:
        await conn.execute(text("DELETE FROM core.service_payment WHERE source = 'demo-fund'"
                                " AND flags <> '{}'"))
        await conn.execute(text(
            "DELETE FROM core.contribution c WHERE c.refund_of IS NOT NULL"))
    await assert_exact(country.engine)
    assert await kept(country.engine, "provider_flags") == {}


class TestSnapshot:
    async def test_a_provisional_month_is_replaced_by_its_final_snapshot_once(
        self, country: Country
    ) -> None:
        await assert_exact(country.engine)
        now = await kept(country.engine, "insured_now")
        month = date(2026, 11, 1)
        await rollups.fold_and_snapshot(country.engine, [month], final=False)

        async def insured() -> dict[tuple[Any, ...], tuple[int, bool]]:
            rows = await country.rows("SELECT region_code, status, people, final"
                                      " FROM stats.insured WHERE month = :m", m=month)
            return {(r[0], r[1]): (r[2], r[3]) for r in rows if r[2]}

        assert await insured() == {key: (v[0], False) for key, v in now.items()}
        await refresh_due(country.engine, today=date(2026, 12, 1), rates=country.rates)
        assert await rollups.month_end(country.engine, date(2026, 12, 1)) == month
        final = await insured()
        assert set(final.values()) and all(flag for _, flag in final.values())
        assert {key: v[0] for key, v in final.items()} == {
            key: v[0] for key, v in (await kept(country.engine, "insured_now")).items()}
        await refresh_due(country.engine, today=date(2027, 6, 1), rates=country.rates,
                          everyone=True)
        assert await rollups.month_end(country.engine, date(2026, 12, 2)) is None
        # Too late in January to say how December ended: December gets no figures.
        assert await rollups.month_end(country.engine, date(2027, 1, 10)) is None
        async with country.engine.connect() as conn:
            assert not await rollups.has_final(conn, date(2026, 12, 1))
        await rollups.fold_and_snapshot(country.engine, [month], final=False)
        await rollups.fold_and_snapshot(country.engine, [month], final=True)
        assert await insured() == final
        await refresh_due(country.engine, today=AS_OF, rates=country.rates, everyone=True)
        await assert_exact(country.engine)
