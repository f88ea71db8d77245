"""``selfPayment.howToPay`` over HTTP: the payee's details of the day, the IIN to quote, and
what restores cover today, keeps it next month or prepays a year, as the status engine counts.

The API tests' day is 2026-11-23: the month now due is September 2026 and the coming deadline
(the 25th) is for October.  A self-payment is 4 250 KZT a month (5 % of the 2026 MZP).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.api.app import create_app
from backend.demo import generator
from backend.demo.cast import CAST
from backend.models import Person
from backend.settings import AppSettings
from tests.api.conftest import TODAY, new_ip
from tests.api.gql import data, graphql, operation
from tests.api.test_citizen_graph import employee_paid_through, month, token_for
from tests.factories import create_contribution, create_person

HOW_TO_PAY = operation("HowToPay")
STATUS = "query { me { insurance { status reason { code } } } }"
PUBLISHED = {"name": "НАО «Государственная корпорация «Правительство для граждан»",
             "bin": "160440007161", "account": "KZ92009MEDS368609103", "bic": "GCVPKZ2A",
             "bankName": "НАО «Государственная корпорация «Правительство для граждан»",
             "paymentPurposeCode": "122", "validFrom": "2020-01-01"}

AppOn = Callable[[date], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_on(engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService) -> AppOn:
    """A client of the app judging statuses on a given day (rates and details are dated)."""

    @asynccontextmanager
    async def client(day: date) -> AsyncIterator[httpx.AsyncClient]:
        app: FastAPI = create_app(AppSettings(environment="development"), auth_settings,
                                  engine=engine, today=lambda: day)
        transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://testserver") as http):
            yield http

    return client


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "KZT"}


def months(first: tuple[int, int], count: int) -> list[str]:
    index = first[0] * 12 + first[1] - 1
    return [f"{(index + n) // 12:04d}-{(index + n) % 12 + 1:02d}" for n in range(count)]


async def self_paid(session: AsyncSession, person: Person, first: date, last: date) -> None:
    """Own payments for every month from ``first`` to ``last``, each on the 20th after it."""
    index = first.year * 12 + first.month - 1
    while (index // 12, index % 12 + 1) <= (last.year, last.month):
        period = month(index // 12, index % 12 + 1)
        paid_in = index + 1
        await create_contribution(session, person, period=period,
                                  amount_tiyn=425_000 if period.year >= 2024 else 350_000,
                                  paid_on=date(paid_in // 12, paid_in % 12 + 1, 20))
        index += 1


async def how_to_pay(client: httpx.AsyncClient, token: str) -> tuple[str, dict[str, Any]]:
    insurance = data(await graphql(client, HOW_TO_PAY, token=token))["me"]["insurance"]
    due = insurance["selfPayment"]
    assert due is not None
    return insurance["status"], due


class TestArrears:
    async def test_one_month_behind_restores_with_it_and_keeps_with_the_next(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        log_lines: io.StringIO,
    ) -> None:
        person = await create_person(committed, language="ru")
        await employee_paid_through(committed, person, month(2025, 12), 12)
        await self_paid(committed, person, month(2026, 1), month(2026, 8))
        await committed.commit()
        token = token_for(auth_service, person)
        status, due = await how_to_pay(client, token)
        assert status == "CONDITIONALLY_INSURED"
        assert due["arrearsPeriods"] == ["2026-09"]
        pay = due["howToPay"]
        assert pay["payee"] == PUBLISHED
        assert pay["payeeMissing"] is None
        assert pay["payerIin"] == person.iin
        assert pay["payerName"] == "Иванова Мария Петровна"
        assert pay["restoreCover"] == {"period": "2026-10", "amount": money("4250.00"),
                                       "months": ["2026-09"], "payBy": None}
        assert pay["keepCover"] == {"period": "2026-10", "amount": money("8500.00"),
                                    "months": ["2026-09", "2026-10"], "payBy": "2026-11-25"}
        assert pay["prepayTwelveMonths"] == {"period": "2026-11", "amount": money("51000.00"),
                                             "months": months((2026, 11), 12), "payBy": None}
        assert person.iin not in log_lines.getvalue()  # the IIN is in the answer, never a log

    async def test_paying_the_restore_amount_as_told_makes_a_lapsed_person_insured(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await employee_paid_through(committed, person, month(2025, 12), 12)
        await self_paid(committed, person, month(2026, 1), month(2026, 6))
        await committed.commit()
        token = token_for(auth_service, person)
        status, due = await how_to_pay(client, token)
        restore = due["howToPay"]["restoreCover"]
        assert status == "NOT_INSURED"
        assert restore["months"] == due["arrearsPeriods"] == ["2026-07", "2026-08", "2026-09"]
        assert restore["amount"] == due["arrears"] == money("12750.00")
        year, number = map(int, restore["period"].split("-"))
        await create_contribution(committed, person, period=month(year, number), paid_on=TODAY,
                                  amount_tiyn=int(float(restore["amount"]["amount"]) * 100))
        await committed.commit()
        after = data(await graphql(client, STATUS, token=token))["me"]["insurance"]
        assert after == {"status": "INSURED", "reason": {"code": "PAID"}}

    async def test_a_year_unpaid_costs_a_year_which_the_engine_counts_as_a_prepayment(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2024, 12), 12)
        await self_paid(committed, person, month(2025, 1), month(2025, 6))
        await committed.commit()
        status, due = await how_to_pay(client, token_for(auth_service, person))
        assert status == "NOT_INSURED"
        assert due["arrearsPeriods"] == months((2025, 10), 12)
        pay = due["howToPay"]
        # Twelve months' worth is a prepayment (R5): it starts at its own month.
        assert pay["restoreCover"] == {"period": "2026-10", "amount": money("51000.00"),
                                       "months": months((2026, 10), 12), "payBy": None}
        assert pay["keepCover"]["amount"] == money("55250.00")
        assert pay["keepCover"]["months"] == months((2026, 10), 13)


class TestOnTime:
    async def test_insured_with_nothing_to_restore_and_next_month_to_keep(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="kk")
        await employee_paid_through(committed, person, month(2025, 12), 12)
        await self_paid(committed, person, month(2026, 1), month(2026, 9))
        await committed.commit()
        status, due = await how_to_pay(client, token_for(auth_service, person))
        assert status == "INSURED"
        assert due["arrearsPeriods"] == []
        pay = due["howToPay"]
        assert pay["payee"]["name"] == (
            "«Азаматтарға арналған үкімет» мемлекеттік корпорациясы» КЕАҚ")
        assert pay["restoreCover"] is None
        assert pay["keepCover"] == {"period": "2026-10", "amount": money("4250.00"),
                                    "months": ["2026-10"], "payBy": "2026-11-25"}
        assert pay["prepayTwelveMonths"]["months"] == months((2026, 11), 12)

    async def test_next_month_already_paid_leaves_only_the_prepayment(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2025, 12), 12)
        await self_paid(committed, person, month(2026, 1), month(2026, 10))
        await committed.commit()
        _, due = await how_to_pay(client, token_for(auth_service, person))
        pay = due["howToPay"]
        assert (pay["restoreCover"], pay["keepCover"]) == (None, None)
        assert pay["prepayTwelveMonths"] == {"period": "2026-11", "amount": money("51000.00"),
                                             "months": months((2026, 11), 12), "payBy": None}

    async def test_employees_get_no_how_to_pay(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await employee_paid_through(committed, person, month(2026, 10), 6)
        await committed.commit()
        body = data(await graphql(client, HOW_TO_PAY, token=token_for(auth_service, person)))
        assert body["me"]["insurance"]["selfPayment"] is None


class TestAcrossARateChange:
    async def test_months_of_2023_paid_in_2024_are_bought_at_the_rate_of_the_payment_month(
        self, app_on: AppOn, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        # MZP 70 000 in 2023 (3 500 a month) and 85 000 from 2024 (4 250).
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2022, 12), 12)
        await self_paid(committed, person, month(2023, 1), month(2023, 9))
        await committed.commit()
        async with app_on(date(2024, 2, 10)) as client:
            status, due = await how_to_pay(client, token_for(auth_service, person))
        assert status == "NOT_INSURED"
        assert due["arrearsPeriods"] == ["2023-10", "2023-11", "2023-12"]
        assert due["arrears"] == money("10500.00")  # each month at its own rate
        pay = due["howToPay"]
        # One transfer names one month (January 2024) and buys whole months at its rate.
        assert pay["restoreCover"] == {"period": "2024-01", "amount": money("12750.00"),
                                       "months": ["2023-10", "2023-11", "2023-12"],
                                       "payBy": None}
        assert pay["keepCover"] == {"period": "2024-01", "amount": money("17000.00"),
                                    "months": months((2023, 10), 4), "payBy": "2024-02-25"}
        assert pay["prepayTwelveMonths"] == {"period": "2024-02", "amount": money("51000.00"),
                                             "months": months((2024, 2), 12), "payBy": None}

    async def test_a_prepayment_made_in_2023_is_priced_at_2023_rates(
        self, app_on: AppOn, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2022, 12), 12)
        await self_paid(committed, person, month(2023, 1), month(2023, 9))
        await committed.commit()
        async with app_on(date(2023, 12, 1)) as client:
            _, due = await how_to_pay(client, token_for(auth_service, person))
        assert due["howToPay"]["prepayTwelveMonths"]["amount"] == money("42000.00")


@pytest.fixture
async def payee_rows(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The suite's payee details, put back as they were after the test."""
    async with engine.connect() as conn:
        saved = [dict(row) for row in (await conn.execute(
            text("SELECT * FROM core.payee_account ORDER BY id"))).mappings()]
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM core.payee_account"))
            for row in saved:
                columns = ", ".join(row)
                values = ", ".join(f":{name}" for name in row)
                await conn.execute(text(
                    f"INSERT INTO core.payee_account ({columns}) OVERRIDING SYSTEM VALUE "
                    f"VALUES ({values})"), row)


DEMO_ROW = {"valid_from": date(2026, 11, 1), "bin": "160440007161",
            "iban": "KZ00000DEMO000000000", "bic": "DEMOKZ2A", "knp": "122",
            "source": "test: demonstration details, not the Fund's"}


class TestPayeeDetails:
    async def test_details_are_those_in_force_on_the_day(
        self, app_on: AppOn, committed: AsyncSession, auth_service: AuthService,
        payee_rows: AsyncEngine,
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2025, 12), 12)
        await self_paid(committed, person, month(2026, 1), month(2026, 8))
        await committed.commit()
        async with payee_rows.begin() as conn:
            await conn.execute(text(
                "INSERT INTO core.payee_account (valid_from, payee_name_kk, payee_name_ru,"
                " payee_name_en, bin, iban, bic, bank_name_kk, bank_name_ru, bank_name_en, knp,"
                " source) VALUES (:valid_from, 'Демо', 'Демо', 'Demo payee', :bin, :iban, :bic,"
                " 'Демо', 'Демо', 'Demo bank', :knp, :source)"), DEMO_ROW)
        token = token_for(auth_service, person)
        async with app_on(date(2026, 10, 31)) as before:
            _, due = await how_to_pay(before, token)
            assert due["howToPay"]["payee"]["account"] == "KZ92009MEDS368609103"
        async with app_on(date(2026, 11, 1)) as after:
            _, due = await how_to_pay(after, token)
            payee = due["howToPay"]["payee"]
            assert (payee["account"], payee["bic"], payee["validFrom"]) == (
                "KZ00000DEMO000000000", "DEMOKZ2A", "2026-11-01")
            assert payee["name"] == "Demo payee"

    @pytest.mark.parametrize(("language", "expected"), [
        ("en", "The Fund's payment details for 23 November 2026 are not loaded yet."),
        ("ru", "Реквизиты Фонда для оплаты на 23 ноября 2026 г. ещё не загружены в систему."),
        ("kk", "Қордың 2026 жылғы 23 қараша күнге төлем деректемелері жүйеге әлі енгізілмеген."),
    ])
    async def test_no_details_loaded_is_null_with_a_reason_the_rest_still_answers(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        payee_rows: AsyncEngine, language: str, expected: str,
    ) -> None:
        person = await create_person(committed, language=language)
        await employee_paid_through(committed, person, month(2025, 12), 12)
        await self_paid(committed, person, month(2026, 1), month(2026, 8))
        await committed.commit()
        async with payee_rows.begin() as conn:
            await conn.execute(text("DELETE FROM core.payee_account"))
        _, due = await how_to_pay(client, token_for(auth_service, person))
        pay = due["howToPay"]
        assert pay["payee"] is None
        assert pay["payeeMissing"].startswith(expected)
        assert "1406" in pay["payeeMissing"]
        assert pay["restoreCover"]["amount"] == money("4250.00")

    async def test_the_table_refuses_details_that_cannot_be_real(
        self, payee_rows: AsyncEngine
    ) -> None:
        for bad in ({"bin": "160440007162"}, {"iban": "KZ92-009"}, {"bic": "gcvp"},
                    {"knp": "12"}, {"source": ""}):
            row = {**DEMO_ROW, **bad}
            with pytest.raises(IntegrityError):
                async with payee_rows.begin() as conn:
                    await conn.execute(text(
                        "INSERT INTO core.payee_account (valid_from, payee_name_kk,"
                        " payee_name_ru, payee_name_en, bin, iban, bic, bank_name_kk,"
                        " bank_name_ru, bank_name_en, knp, source) VALUES (:valid_from, 'a',"
                        " 'a', 'a', :bin, :iban, :bic, 'a', 'a', 'a', :knp, :source)"), row)


class TestOnTheDemo:
    async def test_the_cast_self_payer_in_grace_sees_arrears_and_the_details(
        self, client: httpx.AsyncClient, engine: AsyncEngine, auth_service: AuthService
    ) -> None:
        await generator.generate(engine, people=30, seed=3, as_of=TODAY, quiet=True)
        try:
            cast = CAST[1]
            assert cast.scenario == "self_payer_cast_grace"
            token = auth_service.mint(str(cast.id), Audience.MOBILE)
            status, due = await how_to_pay(client, token)
        finally:
            await generator.clear(engine)
        assert status == "CONDITIONALLY_INSURED"
        assert due["arrearsPeriods"] == ["2026-09"]
        pay = due["howToPay"]
        assert pay["payee"]["account"] == "KZ92009MEDS368609103"
        assert pay["payerName"].startswith("Ковалёв Сергей")
        assert pay["restoreCover"]["months"] == ["2026-09"]
        assert pay["keepCover"]["months"] == ["2026-09", "2026-10"]
