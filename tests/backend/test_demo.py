"""The demo country is realistic, consistent with the rules, and the same for the same seed."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.identifiers import parse_iin, validate_iin
from backend.db.admin import drop_database
from backend.db.reads import fetcher_of
from backend.demo import generator
from backend.demo.cast import CAST, CAST_GUARDIANSHIPS
from backend.family.repository import children_of
from backend.rates.kinds import ContributionKind as K
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status import Status
from backend.status.service import status_of
from tests.conftest import migrated_database, throwaway_url

AS_OF = date(2026, 11, 23)
PEOPLE = 800


@pytest.fixture(scope="module")
async def demo(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    url = throwaway_url(settings, "demo")
    engine = await migrated_database(url)
    await generator.generate(engine, people=PEOPLE, seed=7, as_of=AS_OF, quiet=True)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


async def _rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(sql))]


async def _one(engine: AsyncEngine, sql: str) -> Any:
    return (await _rows(engine, sql))[0][0]


class TestPeople:
    async def test_every_region_has_people_and_providers(self, demo: AsyncEngine) -> None:
        assert await _one(demo, "SELECT count(DISTINCT region_code) FROM core.person") == 20
        assert await _one(demo, "SELECT count(DISTINCT region_code) FROM core.provider") == 20

    async def test_iins_are_valid_and_agree_with_birth_date_and_sex(
        self, demo: AsyncEngine
    ) -> None:
        rows = await _rows(demo, "SELECT iin, birth_date, sex FROM core.person")
        assert len(rows) == PEOPLE
        for iin, birth, sex in rows:
            facts = parse_iin(validate_iin(str(iin)))
            assert (facts.birth_date, facts.sex) == (birth, sex)

    async def test_a_believable_mix_of_ages_and_languages(self, demo: AsyncEngine) -> None:
        children = await _one(demo, "SELECT count(*) FROM core.person "
                                    "WHERE birth_date > DATE '2008-11-23'")
        pensioners = await _one(demo, "SELECT count(*) FROM core.person "
                                      "WHERE birth_date < DATE '1963-11-23'")
        assert 0.15 * PEOPLE < children < 0.45 * PEOPLE
        assert 0.04 * PEOPLE < pensioners < 0.25 * PEOPLE
        languages = dict(await _rows(demo, "SELECT language, count(*) FROM core.person "
                                           "GROUP BY language"))
        assert set(languages) == {"kk", "ru", "en"}


class TestMoney:
    async def test_payroll_respects_the_rate_and_cap_of_its_month(self, demo: AsyncEngine) -> None:
        async with demo.connect() as conn:
            book = await load_rate_book(conn)
        rows = await _rows(demo, "SELECT kind, period, max(amount_tiyn) FROM core.contribution "
                                 "WHERE payer_kind = 'employer' GROUP BY kind, period")
        assert rows
        for kind, period, biggest in rows:
            cap = book.max_amount(K(str(kind)), period)
            assert cap is not None and biggest <= cap

    async def test_fixed_payments_are_the_amounts_of_their_year(self, demo: AsyncEngine) -> None:
        async with demo.connect() as conn:
            book = await load_rate_book(conn)
        rows = await _rows(demo, "SELECT kind, period, amount_tiyn FROM core.contribution WHERE "
                                 "kind IN ('entrepreneur_contribution', 'state_contribution')")
        assert rows
        for kind, period, amount in rows:
            assert amount == book.monthly_amount(K(str(kind)), period)

    async def test_no_money_from_the_future(self, demo: AsyncEngine) -> None:
        assert await _one(demo, "SELECT count(*) FROM core.contribution "
                                "WHERE paid_on > DATE '2026-11-23'") == 0
        assert await _one(demo, "SELECT count(*) FROM core.service_payment "
                                "WHERE paid_on > DATE '2026-11-23'") == 0

    async def test_every_kind_of_payer_appears(self, demo: AsyncEngine) -> None:
        kinds = {row[0] for row in await _rows(demo, "SELECT DISTINCT kind FROM core.contribution")}
        assert kinds == {kind.value for kind in K}


class TestCare:
    async def test_no_care_after_death_or_before_birth(self, demo: AsyncEngine) -> None:
        assert await _one(demo, """
            SELECT count(*) FROM core.service_payment s JOIN core.person p ON p.id = s.person_id
            WHERE s.care_date > p.death_date OR s.care_date < p.birth_date""") == 0

    async def test_services_fit_the_patient_sex_and_age(self, demo: AsyncEngine) -> None:
        assert await _one(demo, """
            SELECT count(*) FROM core.service_payment s
            JOIN core.person p ON p.id = s.person_id
            JOIN core.medical_service m ON m.code = s.service_code
            WHERE (m.sex IS NOT NULL AND m.sex <> p.sex)
               OR date_part('year', age(DATE '2026-11-23', p.birth_date))
                  NOT BETWEEN m.min_age AND m.max_age""") == 0

    async def test_two_years_of_care_across_both_packages(self, demo: AsyncEngine) -> None:
        rows = dict(await _rows(demo, "SELECT package, count(*) FROM core.service_payment "
                                      "GROUP BY package"))
        assert set(rows) == {"gobmp", "osms"}
        oldest = await _one(demo, "SELECT min(care_date) FROM core.service_payment")
        assert oldest < date(2025, 1, 1)


class TestStatuses:
    async def test_the_country_has_every_status(self, demo: AsyncEngine) -> None:
        ids = [row[0] for row in await _rows(demo, "SELECT id FROM core.person ORDER BY id")]
        async with demo.connect() as conn:
            book = await load_rate_book(conn)
            counts = Counter([
                (await status_of(conn, person, as_of=AS_OF, rates=book)).status
                for person in ids
            ])
        assert set(counts) == set(Status)
        assert counts[Status.INSURED] > 0.6 * PEOPLE
        assert counts[Status.NOT_INSURED] < 0.25 * PEOPLE

    @pytest.mark.parametrize(("index", "expected"), [
        (0, Status.INSURED),  # employee in Almaty
        (1, Status.CONDITIONALLY_INSURED),  # self-payer one month behind
        (2, Status.NOT_INSURED),  # stopped working eight months ago
        (3, Status.INSURED),  # a child: the state pays
        (4, Status.INSURED),  # a pensioner
        (5, Status.INSURED),  # an entrepreneur paying every month
    ])
    async def test_the_cast_tells_its_story(self, demo: AsyncEngine, index: int,
                                            expected: Status) -> None:
        async with demo.connect() as conn:
            book = await load_rate_book(conn)
            result = await status_of(conn, CAST[index].id, as_of=AS_OF, rates=book)
        assert result.status is expected

    async def test_the_cast_has_a_parent_with_a_minor_child(self, demo: AsyncEngine) -> None:
        async with demo.connect() as conn:
            fetch = await fetcher_of(conn)
            [child] = await children_of(fetch, CAST_GUARDIANSHIPS[0][0], AS_OF)
        assert child.id == CAST_GUARDIANSHIPS[0][1]
        assert child.last_name == CAST[3].last_name

    async def test_the_first_cast_member_has_an_open_case_about_her_latest_care(
            self, demo: AsyncEngine) -> None:
        rows = await _rows(demo, f"""
            SELECT d.state, d.category, d.reported_by = d.person_id, d.due_on,
                   s.care_date = (SELECT max(care_date) FROM core.service_payment
                                  WHERE person_id = d.person_id AND withdrawal_of IS NULL),
                   (SELECT count(*) FROM core.dispute_event e WHERE e.dispute_id = d.id)
            FROM core.dispute d JOIN core.service_payment s ON s.id = d.service_payment_id
            WHERE d.person_id = '{CAST[0].id}'""")
        assert rows == [("submitted", "not_received", True, date(2026, 12, 8), True, 1)]
        assert await _one(demo, "SELECT count(*) FROM core.dispute") == 1

    async def test_the_self_payer_in_grace_owes_arrears(self, demo: AsyncEngine) -> None:
        async with demo.connect() as conn:
            book = await load_rate_book(conn)
            result = await status_of(conn, CAST[1].id, as_of=AS_OF, rates=book)
        assert result.self_payment is not None
        assert result.self_payment.arrears_tiyn >= 4_250_00


async def test_same_seed_same_country(settings: AppSettings) -> None:
    fingerprints = []
    for _ in range(2):
        url = throwaway_url(settings, "seed")
        engine = await migrated_database(url)
        try:
            await generator.generate(engine, people=120, seed=3, as_of=AS_OF, quiet=True)
            fingerprints.append(await _one(engine, """
                SELECT md5(string_agg(p.iin || p.last_name || coalesce(c.total, 0)::text
                                      || coalesce(s.total, 0)::text, ',' ORDER BY p.iin))
                FROM core.person p
                LEFT JOIN (SELECT person_id, sum(amount_tiyn) AS total FROM core.contribution
                           GROUP BY person_id) c ON c.person_id = p.id
                LEFT JOIN (SELECT person_id, sum(amount_tiyn) AS total FROM core.service_payment
                           GROUP BY person_id) s ON s.person_id = p.id"""))
        finally:
            await engine.dispose()
            await drop_database(url)
    assert fingerprints[0] == fingerprints[1]


async def test_a_load_that_fails_midway_leaves_nothing_behind(
    settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = throwaway_url(settings, "crash")
    engine = await migrated_database(url)
    indexes_sql = "SELECT indexname FROM pg_indexes WHERE schemaname = 'core' ORDER BY 1"
    constraints_sql = ("SELECT conname FROM pg_constraint c JOIN pg_namespace n "
                       "ON n.oid = c.connamespace WHERE n.nspname = 'core' ORDER BY 1")
    try:
        indexes_before = await _rows(engine, indexes_sql)
        constraints_before = await _rows(engine, constraints_sql)
        real_copy = generator._copy_chunk
        calls = 0

        async def disk_full_on_the_second_chunk(conn: Any, chunk: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise OSError("No space left on device")
            await real_copy(conn, chunk)

        monkeypatch.setattr(generator, "CHUNK", 40)
        monkeypatch.setattr(generator, "_copy_chunk", disk_full_on_the_second_chunk)
        with pytest.raises(OSError, match="No space left"):
            await generator.generate(engine, people=120, seed=1, as_of=AS_OF, quiet=True)
        for table in ("person", "contribution", "service_payment", "payer", "provider"):
            assert await _one(engine, f"SELECT count(*) FROM core.{table}") == 0
        assert await _rows(engine, indexes_sql) == indexes_before
        assert await _rows(engine, constraints_sql) == constraints_before
        monkeypatch.undo()
        report = await generator.generate(engine, people=120, seed=1, as_of=AS_OF, quiet=True)
        assert await _one(engine, "SELECT count(*) FROM core.person") == report.people == 120
    finally:
        await engine.dispose()
        await drop_database(url)
