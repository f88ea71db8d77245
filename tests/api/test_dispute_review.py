"""The Fund's reviewers over HTTP, as an integrator client: the queue (keyset pages, filters,
no person named, each read in the patient's access log), assignment into review, resolution
(a confirmed case takes the payment back the way the Fund's withdrawals do, and the citizen
sees it), transitions that are not allowed, the scopes, and the counts per provider and
region among the statistics."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from backend.gql.nodes import global_id
from tests.api.conftest import TODAY
from tests.api.dispute_helpers import (
    EXPLANATION,
    MY_CASES,
    QUEUE,
    Family,
    assign,
    citizen,
    counts,
    events,
    family,
    reported,
    resolve,
    reviewer,
)
from tests.api.gql import codes, data, graphql, operation
from tests.factories import (
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
)

COVERED = """
{ me { coveredServices(first: 10) { edges { node { id withheld amount { amount } } } } } }"""
LOG = "{ me { accessLog(first: 20) { edges { node { actorKind purpose reason text } } } } }"
STATS = operation("DisputeCounts")


@pytest.fixture
async def home(committed: AsyncSession) -> Family:
    return await family(committed)


async def opened(client: httpx.AsyncClient, auth: AuthService, home: Family,
                 answers: dict[str, Any] | None = None) -> str:
    """The mother reports her visit; the case's id."""
    case_id: str = (await reported(client, citizen(auth, home.mother), home.visit,
                                   answers))["case"]["id"]
    return case_id


def refused(body: dict[str, Any]) -> tuple[str, str | None]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error["extensions"]["code"], error["extensions"].get("reason")


class TestLifecycle:
    async def test_a_confirmed_case_takes_the_money_back_and_the_citizen_sees_it(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        [edge] = data(await graphql(client, QUEUE, token=fund))["disputes"]["edges"]
        seen = edge["node"]
        assert (seen["id"], seen["state"], seen["category"], seen["reporter"]) == (
            case, "SUBMITTED", "NOT_RECEIVED", "CITIZEN")
        assert (seen["careDate"], seen["amountPaid"]["amount"], seen["regionCode"]) == (
            "2025-11-03", "12400.00", "KZ-71")
        assert seen["recordId"] == home.visit.source_record_id
        assert seen["provider"]["bin"] == home.provider.bin
        flat = str(seen)
        assert home.mother.iin not in flat and "Alina" not in flat and "Kim" not in flat

        assigned = data(await assign(client, fund, case))["assignDispute"]
        assert (assigned["state"], assigned["assignee"]) == ("IN_REVIEW", "Сауле Ахметова")
        done = data(await resolve(client, fund, case, True))["resolveDispute"]
        assert (done["state"], done["recovered"]["amount"]) == ("CONFIRMED", "12400.00")
        assert done["resolution"] == EXPLANATION

        token = citizen(auth_service, home.mother)
        listed = data(await graphql(client, MY_CASES, token=token))["me"]["cases"]["edges"]
        mine = listed[0]["node"]
        assert (mine["state"], mine["recovered"]["amount"]) == ("CONFIRMED", "12400.00")
        assert mine["summary"] == ("The Fund confirmed your report and took 12,400\u00a0₸ "
                                   "back from the clinic.")
        assert mine["resolution"] == EXPLANATION["en"]
        covered = data(await graphql(client, COVERED, token=token))["me"]["coveredServices"]
        amounts = sorted((e["node"]["withheld"], e["node"]["amount"]["amount"])
                         for e in covered["edges"])
        assert amounts == [(False, "12400.00"), (True, "-12400.00")]
        history = data(await graphql(client, QUEUE, token=fund))["disputes"]["edges"][0][
            "node"]["history"]
        assert [(h["action"], h["toState"], h["actor"], h["reviewer"]) for h in history] == [
            ("REPORTED", "SUBMITTED", "CITIZEN", None),
            ("ASSIGNED", "IN_REVIEW", "INTEGRATOR", "Ерлан Сейтқали"),
            ("CONFIRMED", "CONFIRMED", "INTEGRATOR", "Сауле Ахметова")]
        assert [key.rsplit(":", 1)[1] for _, key, _ in await events(engine)] == [
            "submitted", "in_review", "confirmed"]
        assert (await counts(engine))[:4] == (1, 3, 3, 1)

    async def test_the_reviewers_reads_are_in_the_patients_access_log(
        self, client: httpx.AsyncClient, auth_service: AuthService, home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        data(await graphql(client, QUEUE, token=fund))
        data(await assign(client, fund, case))
        log = data(await graphql(client, LOG, token=citizen(auth_service, home.mother)))
        looks = [(e["node"]["actorKind"], e["node"]["purpose"], e["node"]["reason"])
                 for e in log["me"]["accessLog"]["edges"]]
        assert looks == [("INTEGRATOR", "service_reports", "scope")] * 2
        assert "looked at your reports about care you did not receive" in (
            log["me"]["accessLog"]["edges"][0]["node"]["text"])

    async def test_a_case_not_confirmed_explains_why_and_may_be_reported_again(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        data(await assign(client, fund, case))
        done = data(await resolve(client, fund, case, False))["resolveDispute"]
        assert (done["state"], done["recovered"]) == ("NOT_CONFIRMED", None)
        token = citizen(auth_service, home.mother)
        detail = data(await graphql(client, operation("CaseDetail"), {"id": case},
                                    token=token, headers={"Accept-Language": "ru"}))["node"]
        assert (detail["stateName"], detail["resolution"]) == ("Not confirmed",
                                                               EXPLANATION["en"])
        assert [step["state"] for step in detail["history"]] == [
            "SUBMITTED", "IN_REVIEW", "NOT_CONFIRMED"]
        again = await reported(client, token, home.visit, {"careGiven": "NOT_SURE"})
        assert again["case"]["state"] == "SUBMITTED" and again["case"]["id"] != case
        assert (await counts(engine))[3] == 0  # nothing was taken back

    async def test_a_confirmed_service_is_not_reported_again(
        self, client: httpx.AsyncClient, auth_service: AuthService, home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        data(await assign(client, fund, case))
        data(await resolve(client, fund, case, True))
        body = await graphql(client, operation("ReportService"), {
            "serviceId": global_id("CoveredService", home.visit.id),
            "input": {"careGiven": "NO"}}, token=citizen(auth_service, home.mother))
        assert refused(body) == ("BAD_USER_INPUT", "ALREADY_CONFIRMED")

    @pytest.mark.parametrize(("taken", "left"), [(400_000, 840_000), (1_240_000, 0)])
    async def test_only_what_the_fund_has_not_taken_back_yet_is_recovered(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        committed: AsyncSession, home: Family, taken: int, left: int,
    ) -> None:
        await create_service_payment(committed, home.mother, home.provider, home.service,
                                     amount_tiyn=-taken, withdrawal_of=home.visit.id,
                                     source=home.visit.source, paid_on=date(2025, 12, 1))
        await committed.commit()
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        data(await assign(client, fund, case))
        done = data(await resolve(client, fund, case, True))["resolveDispute"]
        assert done["recovered"]["amount"] == f"{left / 100:.2f}"
        async with engine.connect() as conn:
            total = (await conn.execute(text(
                "SELECT sum(amount_tiyn), count(*) FROM core.service_payment"
                " WHERE id = :id OR withdrawal_of = :id"), {"id": home.visit.id})).one()
        assert tuple(total) == (0, 3 if left else 2)


class TestTransitions:
    async def test_changes_out_of_order_are_refused_and_change_nothing(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        assert refused(await resolve(client, fund, case, True)) == (
            "BAD_USER_INPUT", "DISPUTE_NOT_IN_REVIEW")
        assert await counts(engine) == (1, 1, 1, 0, 0)
        data(await assign(client, fund, case))
        data(await assign(client, fund, case, "Данияр Ахметов"))  # changes hands
        data(await resolve(client, fund, case, False))
        before = await counts(engine)
        assert before[:3] == (1, 4, 3)  # a reassignment is history, not news
        assert refused(await resolve(client, fund, case, True)) == (
            "BAD_USER_INPUT", "DISPUTE_RESOLVED")
        assert refused(await assign(client, fund, case)) == (
            "BAD_USER_INPUT", "DISPUTE_RESOLVED")
        missing = global_id("DisputeCase", 987_654)
        assert refused(await assign(client, fund, missing)) == (
            "NOT_FOUND", "DISPUTE_NOT_FOUND")
        assert refused(await assign(client, fund, global_id("CoveredService", 1)))[0] == (
            "NOT_FOUND")
        blank = {"kk": " ", "ru": "x", "en": "y"}
        assert refused(await resolve(client, fund, case, True, blank)) == (
            "BAD_USER_INPUT", "TEXT_INVALID")
        assert await counts(engine) == before

    async def test_two_reviewers_resolving_at_once_resolve_once(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        fund = await reviewer(client, auth_service)
        data(await assign(client, fund, case))
        answers = await asyncio.gather(resolve(client, fund, case, True),
                                       resolve(client, fund, case, True),
                                       resolve(client, fund, case, False))
        assert sum(1 for body in answers if body.get("data")) == 1
        assert sorted(refused(body) for body in answers if not body.get("data")) == [
            ("BAD_USER_INPUT", "DISPUTE_RESOLVED")] * 2
        assert (await counts(engine))[:3] == (1, 3, 3)

    async def test_the_history_cannot_be_rewritten(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        await opened(client, auth_service, home)
        for statement in ("UPDATE core.dispute_event SET reviewer = 'x'",
                          "DELETE FROM core.dispute_event"):
            with pytest.raises(Exception, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        assert (await counts(engine))[1] == 1


class TestScopes:
    async def test_each_door_needs_its_scope(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        reader = await reviewer(client, auth_service, Scope.DISPUTES_READ)
        writer = await reviewer(client, auth_service, Scope.DISPUTES_WRITE)
        stats = await reviewer(client, auth_service, Scope.STATS_READ)
        mother = citizen(auth_service, home.mother)
        for token in (writer, stats, mother):
            assert codes(await graphql(client, QUEUE, token=token)) == ["FORBIDDEN"]
        assert codes(await graphql(client, QUEUE)) == ["UNAUTHENTICATED"]
        for token in (reader, stats, mother):
            assert codes(await assign(client, token, case)) == ["FORBIDDEN"]
            assert codes(await resolve(client, token, case, True)) == ["FORBIDDEN"]
        assert set(codes(await graphql(client, STATS, token=reader))) == {"FORBIDDEN"}
        assert await counts(engine) == (1, 1, 1, 0, 0)
        assert data(await assign(client, writer, case))["assignDispute"]["state"] == (
            "IN_REVIEW")


class TestQueue:
    async def test_pages_come_by_deadline_and_the_filters_narrow_them(
        self, client: httpx.AsyncClient, auth_service: AuthService, committed: AsyncSession,
        home: Family,
    ) -> None:
        other = await create_provider(committed, region_code="KZ-75")
        visits = [await create_service_payment(
            committed, home.mother, home.provider if day % 2 else other, home.service,
            care_date=date(2026, 6, day), paid_on=date(2026, 7, 1)) for day in range(1, 6)]
        await committed.commit()
        token = citizen(auth_service, home.mother)
        kinds = [{"careGiven": "NOT_SURE"}, {"careGiven": "NO"}, {"careGiven": "NOT_SURE"},
                 {"careGiven": "NO"}, {"careGiven": "YES", "dateCorrect": "NO"}]
        ids = [(await reported(client, token, visit, answers))["case"]["id"]
               for visit, answers in zip(visits, kinds, strict=True)]
        fund = await reviewer(client, auth_service)
        seen: list[str] = []
        after = None
        while True:
            page = data(await graphql(client, QUEUE, {"first": 2, "after": after},
                                      token=fund))["disputes"]
            seen += [edge["node"]["id"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        # 15 days (not received) before 30 (unsure, wrong date); by id within a day.
        assert seen == [ids[1], ids[3], ids[0], ids[2], ids[4]]

        async def where(**filter_: Any) -> list[str]:
            page = data(await graphql(client, QUEUE, {"filter": filter_}, token=fund))
            return [edge["node"]["id"] for edge in page["disputes"]["edges"]]

        assert await where(category="WRONG_DATE") == [ids[4]]
        assert await where(providerId=global_id("Provider", other.id)) == [ids[3], ids[1]][::-1]
        assert await where(regionCode="KZ-75") == [ids[1], ids[3]]
        data(await assign(client, fund, ids[0], "Данияр Ахметов"))
        assert await where(state="IN_REVIEW") == [ids[0]]
        assert await where(assignee="Данияр Ахметов") == [ids[0]]
        assert await where(overdue=True) == []
        assert len(await where(overdue=False)) == 5
        bad = await graphql(client, QUEUE, {"filter": {"providerId": ids[0]}}, token=fund)
        assert codes(bad) == ["BAD_USER_INPUT"]

    async def test_a_case_past_its_deadline_is_overdue(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        case = await opened(client, auth_service, home)
        async with engine.begin() as conn:  # reported 20 days ago: its 15 days are over
            await conn.execute(text(
                "UPDATE core.dispute SET reported_on = :day, due_on = CAST(:day AS date) + 15"),
                {"day": TODAY - timedelta(days=20)})
        fund = await reviewer(client, auth_service)
        page = data(await graphql(client, QUEUE, {"filter": {"overdue": True}}, token=fund))
        assert [e["node"]["id"] for e in page["disputes"]["edges"]] == [case]
        mine = data(await graphql(client, operation("CaseDetail"), {"id": case},
                                  token=citizen(auth_service, home.mother)))["node"]
        assert mine["overdue"] is True
        assert mine["summary"].startswith("The Fund was due to answer by 18 November 2026")


class TestStatistics:
    async def test_cases_are_counted_per_provider_and_region_naming_no_person(
        self, client: httpx.AsyncClient, auth_service: AuthService, committed: AsyncSession,
        home: Family,
    ) -> None:
        far = await create_provider(committed, region_code="KZ-79")
        service = await create_medical_service(committed)
        patient = await create_person(committed, region_code="KZ-79")
        far_visit = await create_service_payment(committed, patient, far, service)
        await committed.commit()
        fund = await reviewer(client, auth_service)
        first = await opened(client, auth_service, home)
        await reported(client, citizen(auth_service, home.mother), home.child_visit)
        await reported(client, citizen(auth_service, patient), far_visit)
        data(await assign(client, fund, first))
        data(await resolve(client, fund, first, True))
        analyst = await reviewer(client, auth_service, Scope.STATS_READ)
        answer = data(await graphql(client, STATS, token=analyst))
        by_provider = [(e["node"]["provider"]["bin"], e["node"]["counts"])
                       for e in answer["disputeCountsByProvider"]["edges"]]
        assert by_provider == [
            (home.provider.bin, {"submitted": 1, "inReview": 0, "confirmed": 1,
                                 "notConfirmed": 0, "overdue": 0, "total": 2,
                                 "recovered": {"amount": "12400.00", "currency": "KZT"}}),
            (far.bin, {"submitted": 1, "inReview": 0, "confirmed": 0, "notConfirmed": 0,
                       "overdue": 0, "total": 1,
                       "recovered": {"amount": "0.00", "currency": "KZT"}})]
        regions = [(r["region"]["code"], r["counts"]["total"])
                   for r in answer["disputeCountsByRegion"]]
        assert regions == [("KZ-71", 2), ("KZ-79", 1)]
        flat = str(answer)
        for person in (home.mother, home.child, patient):
            assert person.iin not in flat and person.first_name not in flat
        page = data(await graphql(client, STATS, {"first": 1}, token=analyst))
        nxt = data(await graphql(client, STATS, {
            "first": 1, "after": page["disputeCountsByProvider"]["pageInfo"]["endCursor"]},
            token=analyst))["disputeCountsByProvider"]
        assert [e["node"]["provider"]["bin"] for e in nxt["edges"]] == [far.bin]
        assert nxt["pageInfo"]["hasNextPage"] is False
        one_region = data(await graphql(client, STATS, {"regionCode": "KZ-79"},
                                        token=analyst))["disputeCountsByProvider"]["edges"]
        assert [e["node"]["provider"]["bin"] for e in one_region] == [far.bin]
        later = data(await graphql(client, STATS, {"reportedFrom": "2026-11-24"},
                                   token=analyst))
        assert later["disputeCountsByRegion"] == []
