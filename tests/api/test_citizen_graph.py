"""The citizen's graph over HTTP: status, receipts, the 12-month view, covered services, money
flow, and that one citizen never sees another's rows."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from auth.service import AuthService
from auth.tokens import Audience
from backend.models import Person
from tests.api.gql import codes, data, graphql, operation
from tests.factories import (
    create_contribution,
    create_employer,
    create_medical_service,
    create_membership,
    create_person,
    create_provider,
    create_service_payment,
    create_state_payer,
)

RECEIPTS = operation("Receipts")


def token_for(auth_service: AuthService, person: Person) -> str:
    return auth_service.mint(str(person.id), Audience.MOBILE)


def month(year: int, number: int) -> date:
    return date(year, number, 1)


async def employee_paid_through(session: AsyncSession, person: Person, last: date,
                                months: int) -> None:
    """Employer deductions for ``months`` months ending with ``last``, each paid on the 10th."""
    employer = await create_employer(session)
    index = last.year * 12 + last.month - 1
    for back in range(months):
        period = month((index - back) // 12, (index - back) % 12 + 1)
        paid = month(period.year + period.month // 12, period.month % 12 + 1).replace(day=10)
        await create_contribution(
            session, person, kind="employer_deduction", payment_code=121, payer_id=employer.id,
            payer_kind="employer", period=period, paid_on=paid, amount_tiyn=1_530_000)


class TestInsurance:
    async def test_employee_is_insured_and_told_who_paid_in_their_language(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="ru")
        await employee_paid_through(committed, person, month(2026, 10), 6)
        await committed.commit()
        body = await graphql(client, operation("InsuranceStatus"),
                             token=token_for(auth_service, person))
        insurance = data(body)["me"]["insurance"]
        assert insurance["status"] == "INSURED"
        assert insurance["statusName"] == "Застрахован"
        assert insurance["reason"]["code"] == "PAID"
        assert insurance["reason"]["period"] == "2026-10"
        assert insurance["reason"]["payerName"] == "ТОО «Альфа»"
        assert insurance["reason"]["text"] == (
            "Вы застрахованы: взносы за октябрь 2026 г. оплачены, плательщик — ТОО «Альфа».")
        assert insurance["guaranteedUntil"] == "2027-01-31"
        assert insurance["selfPayment"] is None

    async def test_self_payer_in_grace_sees_what_is_owed_and_when_it_changed(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2025, 12), 12)
        for number in range(1, 9):  # then on their own, January to August 2026, on time
            await create_contribution(committed, person, period=month(2026, number),
                                      paid_on=month(2026, number + 1).replace(day=20))
        await committed.commit()
        body = await graphql(client, operation("InsuranceStatus"),
                             {"historyMonths": 12}, token=token_for(auth_service, person))
        insurance = data(body)["me"]["insurance"]
        assert insurance["status"] == "CONDITIONALLY_INSURED"
        assert insurance["reason"]["text"] == (
            "Conditionally insured until 30 November 2026: no payment since August 2026.")
        due = insurance["selfPayment"]
        assert due["monthlyAmount"] == {"amount": "4250.00", "currency": "KZT"}
        assert due["nextPeriod"] == "2026-09"
        assert due["nextDueDate"] == "2026-10-25"
        assert due["arrearsPeriods"] == ["2026-09"]
        assert due["arrears"]["amount"] == "4250.00"
        history = insurance["history"]
        assert [(change["on"], change["status"]) for change in history[:2]] == [
            ("2026-10-26", "CONDITIONALLY_INSURED"), ("2025-11-01", "INSURED")]

    async def test_state_category_names_the_category(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="kk", birth_date=date(1955, 2, 2))
        await create_membership(committed, person)
        await committed.commit()
        body = await graphql(client, operation("InsuranceStatus"),
                             token=token_for(auth_service, person))
        reason = data(body)["me"]["insurance"]["reason"]
        assert reason["code"] == "STATE_CATEGORY"
        assert reason["category"]["code"] == "pensioner"
        assert reason["category"]["name"] in reason["text"]
        assert reason["text"].startswith("Сақтандырылғансыз: сіз үшін мемлекет төлейді")


class TestReceipts:
    async def test_pages_walk_every_receipt_once_newest_first(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await employee_paid_through(committed, person, month(2026, 10), 25)
        await committed.commit()
        token = token_for(auth_service, person)
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            body = await graphql(client, RECEIPTS, {"first": 10, "after": after}, token=token)
            connection = data(body)["me"]["contributions"]
            seen += [edge["node"]["period"] for edge in connection["edges"]]
            pages += 1
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        assert pages == 3
        assert len(seen) == 25 == len(set(seen))
        assert seen == sorted(seen, reverse=True)
        assert seen[0] == "2026-10" and seen[-1] == "2024-10"

    async def test_filters_by_year_and_kind_and_shows_the_payer(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2026, 3), 6)
        await create_contribution(committed, person, period=month(2026, 5),
                                  paid_on=date(2026, 6, 1))
        await committed.commit()
        token = token_for(auth_service, person)
        body = await graphql(client, RECEIPTS, {"year": 2025}, token=token)
        periods = [e["node"]["period"] for e in data(body)["me"]["contributions"]["edges"]]
        assert periods == ["2025-12", "2025-11", "2025-10"]
        body = await graphql(client, RECEIPTS, {"kind": "SELF_PAYMENT"}, token=token)
        [edge] = data(body)["me"]["contributions"]["edges"]
        assert edge["node"]["payer"] == {"kind": "SELF", "name": "You", "bin": None}
        assert edge["node"]["paymentCode"] == 122
        body = await graphql(client, RECEIPTS, {"kind": "EMPLOYER_DEDUCTION", "first": 1},
                             token=token)
        payer = data(body)["me"]["contributions"]["edges"][0]["node"]["payer"]
        assert payer["kind"] == "EMPLOYER" and payer["name"] == "Alpha LLP"
        assert len(payer["bin"]) == 12

    async def test_page_size_and_cursor_are_checked(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await committed.commit()
        token = token_for(auth_service, person)
        assert codes(await graphql(client, RECEIPTS, {"first": 101}, token=token)) == [
            "BAD_USER_INPUT"]
        assert codes(await graphql(client, RECEIPTS, {"first": 0}, token=token)) == [
            "BAD_USER_INPUT"]
        assert codes(await graphql(client, RECEIPTS, {"after": "bm9wZQ"}, token=token)) == [
            "BAD_USER_INPUT"]


class TestContributionMonths:
    async def test_a_month_nobody_paid_for_is_shown_missing_not_skipped(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await employee_paid_through(committed, person, month(2026, 9), 12)
        await committed.commit()
        token = token_for(auth_service, person)
        months = await self._months(client, token)
        assert [m["period"] for m in months] == [
            "2026-11", "2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05",
            "2026-04", "2026-03", "2026-02", "2026-01", "2025-12"]
        states = {m["period"]: m["state"] for m in months}
        assert states["2026-11"] == "PENDING" and states["2026-10"] == "PENDING"
        assert states["2026-09"] == "PAID"
        assert states["2025-12"] == "PAID"

    async def test_gap_in_the_middle(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        employer = await create_employer(committed)
        for number in (4, 5, 7, 8, 9):  # nothing for June 2026
            await create_contribution(
                committed, person, kind="employer_deduction", payment_code=121,
                payer_id=employer.id, payer_kind="employer", period=month(2026, number),
                paid_on=month(2026, number + 1).replace(day=10))
        await committed.commit()
        months = await self._months(client, token_for(auth_service, person))
        june = next(m for m in months if m["period"] == "2026-06")
        assert june["state"] == "MISSING"
        assert june["contributions"] == [] and june["total"]["amount"] == "0.00"
        assert june["dueDate"] == "2026-07-25"
        july = next(m for m in months if m["period"] == "2026-07")
        assert july["state"] == "PAID" and len(july["contributions"]) == 1
        assert next(m for m in months if m["period"] == "2026-03")["state"] == "MISSING"

    @staticmethod
    async def _months(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
        body = await graphql(client, operation("ContributionMonths"), token=token)
        months: list[dict[str, Any]] = data(body)["me"]["contributionMonths"]
        return months


class TestCoveredServices:
    async def test_newest_first_with_provider_and_service_in_the_readers_language(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="ru")
        provider = await create_provider(committed, quality_zone="yellow")
        gp = await create_medical_service(committed)
        mri = await create_medical_service(committed, package="osms", category="diagnostics",
                                           name_ru="МРТ", name_en="MRI", name_kk="МРТ")
        await create_service_payment(committed, person, provider, gp,
                                     care_date=date(2026, 3, 2), paid_on=date(2026, 3, 20))
        await create_service_payment(committed, person, provider, mri,
                                     care_date=date(2026, 9, 14), paid_on=date(2026, 9, 30),
                                     amount_tiyn=2_500_050)
        await committed.commit()
        token = token_for(auth_service, person)
        body = await graphql(client, operation("CoveredServices"), token=token)
        edges = data(body)["me"]["coveredServices"]["edges"]
        first = edges[0]["node"]
        assert [e["node"]["careDate"] for e in edges] == ["2026-09-14", "2026-03-02"]
        assert first["service"]["name"] == "МРТ" and first["package"] == "OSMS"
        assert first["amount"] == {"amount": "25000.50", "currency": "KZT"}
        assert first["provider"]["name"] == "Городская поликлиника № 5"
        assert first["provider"]["qualityZone"] == "YELLOW"
        assert first["provider"]["region"] == {"code": "KZ-75", "name": "Алматы"}
        body = await graphql(client, operation("CoveredServices"), {"package": "GOBMP"},
                             token=token)
        assert [e["node"]["careDate"] for e in data(body)["me"]["coveredServices"]["edges"]] \
            == ["2026-03-02"]
        detail = await graphql(client, operation("ServiceDetail"), {"id": first["id"]},
                               token=token)
        assert data(detail)["node"]["service"]["category"] == "DIAGNOSTICS"
        assert first["looksUnusual"] is False and first["unusualNote"] is None
        assert first["withheld"] is False

    async def test_a_flagged_bill_looks_unusual_and_a_withdrawal_is_withheld(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        provider = await create_provider(committed)
        service = await create_medical_service(committed)
        paid = await create_service_payment(committed, person, provider, service,
                                            care_date=date(2026, 9, 1), paid_on=date(2026, 9, 20),
                                            flags=["DUPLICATE_BILLING"])
        await create_service_payment(committed, person, provider, service,
                                     care_date=date(2026, 9, 1), paid_on=date(2026, 10, 5),
                                     amount_tiyn=-240_000, withdrawal_of=paid.id)
        await committed.commit()
        body = await graphql(client, operation("CoveredServices"),
                             token=token_for(auth_service, person))
        nodes = [e["node"] for e in data(body)["me"]["coveredServices"]["edges"]]
        withheld = next(n for n in nodes if n["withheld"])
        flagged = next(n for n in nodes if not n["withheld"])
        assert withheld["amount"] == {"amount": "-2400.00", "currency": "KZT"}
        assert withheld["looksUnusual"] is False
        assert flagged["looksUnusual"] is True
        assert "1406" in flagged["unusualNote"] and "unusual" in flagged["unusualNote"]


class TestMoneyFlow:
    async def test_year_in_against_year_out(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="en")
        await employee_paid_through(committed, person, month(2025, 12), 12)
        provider = await create_provider(committed)
        service = await create_medical_service(committed)
        await create_service_payment(committed, person, provider, service,
                                     care_date=date(2025, 5, 5), paid_on=date(2025, 5, 25))
        await create_service_payment(committed, person, provider, service,
                                     care_date=date(2026, 1, 5), paid_on=date(2026, 1, 25))
        await committed.commit()
        body = await graphql(client, operation("WhereMyMoneyWent"), {"year": 2025},
                             token=token_for(auth_service, person))
        flow = data(body)["me"]["moneyFlow"]
        assert flow["contributed"]["amount"] == "183600.00"  # 12 x 15,300
        assert flow["fundPaid"]["amount"] == "12400.00"
        assert flow["balance"]["amount"] == "171200.00"
        assert flow["statePaid"]["amount"] == "0.00"
        assert [p["payer"]["name"] for p in flow["contributedByPayer"]] == ["Alpha LLP"]
        assert flow["fundPaidByProvider"][0]["services"] == 1
        assert flow["summary"] == ("In 2025, 183,600 ₸ was paid for your insurance and the "
                                   "Fund paid 12,400 ₸ for your care.").replace(" ₸", "\u00a0₸")

    async def test_state_covered_person_is_told_the_state_paid(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="ru", birth_date=date(1950, 1, 1))
        await create_membership(committed, person)
        state = await create_state_payer(committed)
        await create_contribution(committed, person, kind="state_contribution",
                                  payment_code=None, payer_id=state.id, payer_kind="state",
                                  amount_tiyn=728_590, period=month(2026, 1),
                                  paid_on=date(2026, 2, 5))
        await committed.commit()
        body = await graphql(client, operation("WhereMyMoneyWent"),
                             token=token_for(auth_service, person))
        flow = data(body)["me"]["moneyFlow"]
        assert flow["year"] == 2026
        assert flow["contributedByPayer"][0]["payer"] == {
            "kind": "STATE", "name": "Республиканский бюджет", "bin": None}
        assert flow["summary"].endswith("Всё это заплатило государство.")

    async def test_a_year_outside_the_scheme_is_bad_input(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await committed.commit()
        body = await graphql(client, operation("WhereMyMoneyWent"), {"year": 2031},
                             token=token_for(auth_service, person))
        assert codes(body) == ["BAD_USER_INPUT"]


class TestIsolation:
    async def test_one_citizen_never_reaches_anothers_rows(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        alice = await create_person(committed, first_name="Алия")
        bob = await create_person(committed, first_name="Бауыржан", sex="M")
        bobs_receipt = await create_contribution(committed, bob)
        provider = await create_provider(committed)
        service = await create_medical_service(committed)
        bobs_care = await create_service_payment(committed, bob, provider, service)
        await create_contribution(committed, alice, period=month(2025, 9))
        await committed.commit()
        token = token_for(auth_service, alice)
        body = await graphql(client, RECEIPTS, token=token)
        me = data(body)["me"]
        assert [e["node"]["period"] for e in me["contributions"]["edges"]] == ["2025-09"]
        for type_name, key in (("Contribution", bobs_receipt.id),
                               ("CoveredService", bobs_care.id), ("Citizen", bob.id)):
            global_id = base64.b64encode(f"{type_name}:{key}".encode()).decode()
            body = await graphql(client, "query($id: ID!) { node(id: $id) { id } }",
                                 {"id": global_id}, token=token)
            assert codes(body) == ["NOT_FOUND"], type_name
            assert "Бауыржан" not in str(body)
        body = await graphql(client, "query($id: ID!) { node(id: $id) { id } }",
                             {"id": "not-a-global-id"}, token=token)
        assert codes(body) == ["BAD_USER_INPUT"]

    async def test_own_receipt_is_reachable_by_id(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await create_contribution(committed, person)
        await committed.commit()
        token = token_for(auth_service, person)
        receipt = data(await graphql(client, RECEIPTS, token=token))["me"]["contributions"][
            "edges"][0]["node"]
        query = "query($id: ID!) { node(id: $id) { ... on Contribution { period kind } } }"
        body = await graphql(client, query, {"id": receipt["id"]}, token=token)
        assert data(body)["node"] == {"period": "2025-10", "kind": "SELF_PAYMENT"}

    async def test_anonymous_caller_gets_no_personal_data(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await graphql(client, RECEIPTS)
        assert codes(body) == ["UNAUTHENTICATED"]
        assert body["data"] is None


class TestLocalizedErrors:
    async def test_a_person_reads_errors_in_their_language(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="ru")
        await committed.commit()
        body = await graphql(client, RECEIPTS, {"first": 500},
                             token=token_for(auth_service, person),
                             headers={"Accept-Language": "en"})
        assert body["errors"][0]["message"] == "Значение `first` должно быть от 1 до 100."

    async def test_a_visitor_reads_them_in_the_accept_language(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await graphql(client, RECEIPTS, headers={"Accept-Language": "kk"})
        assert body["errors"][0]["message"] == "Бұл деректерді көру үшін жүйеге кіріңіз."
