""""I did not receive this" over HTTP, as the app sends it: a citizen reports a covered service
and follows the case; every bad report is refused with a typed, localized error and changes
nothing; one open case per service, even for two reports at once; a daily limit per citizen;
the cases screen costs the same statements however many cases there are.  A parent's reports
about a child's care: ``test_dispute_children.py``."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from backend.gql.nodes import global_id
from tests.api.conftest import TODAY
from tests.api.dispute_helpers import (
    CASE_OF_SERVICE,
    MY_CASES,
    NOT_GIVEN,
    Family,
    citizen,
    counts,
    events,
    family,
    limited_app,
    refusal,
    report,
    reported,
    reviewer,
    serve,
    service_id,
)
from tests.api.gql import codes, data, graphql, operation
from tests.api.test_statement_counts import counting
from tests.factories import create_person, create_service_payment


@pytest.fixture
async def home(committed: AsyncSession) -> Family:
    return await family(committed)


class TestReporting:
    async def test_a_report_opens_a_case_that_the_service_and_the_list_show(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        token = citizen(auth_service, home.mother)
        payload = await reported(client, token, home.visit, {
            "careGiven": "NO", "comment": "Мен ол күні емханада болған жоқпын.\nNever there."})
        case = payload["case"]
        assert (case["state"], case["stateName"], case["category"]) == (
            "SUBMITTED", "Received", "NOT_RECEIVED")
        assert case["deadline"] == (TODAY + timedelta(days=15)).isoformat()
        assert case["summary"] == "The Fund will answer by 8 December 2026."
        assert case["service"]["id"] == service_id(home.visit)
        assert payload["reportsLeftToday"] == 4
        shown = data(await graphql(client, CASE_OF_SERVICE, {"id": service_id(home.visit)},
                                   token=token))["node"]["case"]
        assert (shown["id"], shown["state"], shown["deadline"]) == (
            case["id"], "SUBMITTED", "2026-12-08")
        listed = data(await graphql(client, MY_CASES, token=token))["me"]["cases"]["edges"]
        assert [(e["node"]["id"], e["node"]["reporter"]) for e in listed] == [
            (case["id"], "CITIZEN")]
        detail = data(await graphql(client, operation("CaseDetail"), {"id": case["id"]},
                                    token=token))["node"]
        assert detail["comment"] == "Мен ол күні емханада болған жоқпын.\nNever there."
        assert [(step["state"], step["by"]) for step in detail["history"]] == [
            ("SUBMITTED", "CITIZEN")]
        [(person, key, event)] = await events(engine)
        number = int(key.split(":")[1])
        assert (person, key) == (home.mother.id, f"dispute:{number}:submitted")
        assert (event["state"], event["serviceId"], event["dueOn"]) == (
            "SUBMITTED", home.visit.id, "2026-12-08")
        assert event["patient"] is None
        assert await counts(engine) == (1, 1, 1, 0, 0)

    @pytest.mark.parametrize(("answers", "category", "days", "asked"), [
        ({"careGiven": "NO"}, "NOT_RECEIVED", 15, None),
        ({"careGiven": "YES", "askedToPay": True, "amountAsked": "5000.50"}, "ASKED_TO_PAY",
         15, "5000.50"),
        ({"careGiven": "NOT_SURE", "askedToPay": True}, "ASKED_TO_PAY", 15, None),
        ({"careGiven": "YES", "dateCorrect": "NO"}, "WRONG_DATE", 30, None),
        ({"careGiven": "NOT_SURE"}, "UNSURE", 30, None),
        ({"careGiven": "YES", "dateCorrect": "NOT_SURE"}, "UNSURE", 30, None),
    ])
    async def test_the_answers_decide_the_category_and_its_deadline(
        self, client: httpx.AsyncClient, auth_service: AuthService, home: Family,
        answers: dict[str, Any], category: str, days: int, asked: str | None,
    ) -> None:
        token = citizen(auth_service, home.mother)
        case = (await reported(client, token, home.visit, answers))["case"]
        assert case["category"] == category
        assert case["deadline"] == (TODAY + timedelta(days=days)).isoformat()
        detail = data(await graphql(client, operation("CaseDetail"), {"id": case["id"]},
                                    token=token))["node"]
        assert (detail["amountAsked"] or {}).get("amount") == asked

    async def test_the_cases_come_in_pages_newest_first(
        self, client: httpx.AsyncClient, auth_service: AuthService, committed: AsyncSession,
        auth_settings: AuthSettings, engine: AsyncEngine, home: Family,
    ) -> None:
        token = citizen(auth_service, home.mother)
        visits = [await create_service_payment(committed, home.mother, home.provider,
                                               home.service, care_date=date(2026, 7, day),
                                               paid_on=date(2026, 8, 1))
                  for day in range(1, 4)]
        await committed.commit()
        ids = []
        for offset, visit in enumerate(visits):  # reported on three days in a row
            day = TODAY - timedelta(days=2 - offset)
            payload = await serve(limited_app(engine, auth_settings, day, 5),
                                  lambda http, v=visit: reported(http, token, v))
            ids.append(payload["case"]["id"])
        seen: list[str] = []
        after = None
        for _ in range(3):
            page = data(await graphql(client, MY_CASES, {"first": 2, "after": after},
                                      token=token))["me"]["cases"]
            seen += [edge["node"]["id"] for edge in page["edges"]]
            after = page["pageInfo"]["endCursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
        assert seen == ids[::-1]
        bad = await graphql(client, MY_CASES, {"first": 2, "after": "not-a-cursor"},
                            token=token)
        assert codes(bad) == ["BAD_USER_INPUT"]

    async def test_only_a_citizen_may_report(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        fund = await reviewer(client, auth_service, *Scope)
        assert codes(await report(client, fund, home.visit)) == ["FORBIDDEN"]
        body = await graphql(client, operation("ReportService"), {
            "serviceId": service_id(home.visit), "input": NOT_GIVEN})
        assert codes(body) == ["UNAUTHENTICATED"]
        assert await counts(engine) == (0, 0, 0, 0, 0)


# label -> (what to change in a good report, code, reason, field)
BAD: dict[str, tuple[dict[str, Any], str, str | None, str | None]] = {
    "nothing wrong": ({"input": {"careGiven": "YES", "dateCorrect": "YES"}}, "BAD_USER_INPUT",
                      "NOTHING_WRONG", "input"),
    "a comment too long": ({"input": {**NOT_GIVEN, "comment": "ы" * 501}}, "BAD_USER_INPUT",
                           None, "input.comment"),
    "a control character": ({"input": {**NOT_GIVEN, "comment": "ring\x07ring"}},
                            "BAD_USER_INPUT", "COMMENT_FORBIDDEN", "input.comment"),
    "text turned around": ({"input": {**NOT_GIVEN, "comment": "paid \u202e0001"}},
                           "BAD_USER_INPUT", "COMMENT_FORBIDDEN", "input.comment"),
    "an amount not asked": ({"input": {**NOT_GIVEN, "amountAsked": "5000"}},
                            "BAD_USER_INPUT", "AMOUNT_INVALID", "input.amountAsked"),
    "an amount that is not one": ({"input": {"careGiven": "YES", "askedToPay": True,
                                             "amountAsked": "5 000,50"}},
                                  "BAD_USER_INPUT", "AMOUNT_INVALID", "input.amountAsked"),
    "no such service": ({"serviceId": service_id(987_654_321)}, "NOT_FOUND",
                        "SERVICE_NOT_FOUND", "serviceId"),
    "not a service": ({"serviceId": global_id("Contribution", 1)}, "NOT_FOUND",
                      "SERVICE_NOT_FOUND", "serviceId"),
    "not an id": ({"serviceId": "not-an-id"}, "BAD_USER_INPUT", None, None),
}


class TestRefusals:
    @pytest.mark.parametrize("label", list(BAD))
    async def test_a_bad_report_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family, label: str,
    ) -> None:
        change, code, reason, field = BAD[label]
        variables = {"serviceId": service_id(home.visit), "input": NOT_GIVEN, **change}
        body = await graphql(client, operation("ReportService"), variables,
                             token=citizen(auth_service, home.mother))
        error = refusal(body)
        assert (error["code"], error.get("reason"), error.get("field")) == (code, reason, field)
        assert await counts(engine) == (0, 0, 0, 0, 0)

    async def test_someone_elses_service_is_not_found_like_a_missing_one(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        committed: AsyncSession, home: Family,
    ) -> None:
        stranger = await create_person(committed)
        await committed.commit()
        theirs = refusal(await report(client, citizen(auth_service, stranger), home.visit))
        missing = refusal(await report(client, citizen(auth_service, stranger), 987_654_321))
        assert theirs == missing
        assert theirs["message"] == "Такая оказанная услуга не найдена."  # the reader: ru
        assert await counts(engine) == (0, 0, 0, 0, 0)

    async def test_money_taken_back_is_not_care_to_report(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        committed: AsyncSession, home: Family,
    ) -> None:
        withdrawal = await create_service_payment(
            committed, home.mother, home.provider, home.service, amount_tiyn=-1_240_000,
            withdrawal_of=home.visit.id, paid_on=date(2025, 12, 1))
        await committed.commit()
        error = refusal(await report(client, citizen(auth_service, home.mother), withdrawal))
        assert (error["code"], error["reason"]) == ("BAD_USER_INPUT", "SERVICE_NOT_REPORTABLE")
        assert error["message"].startswith("This entry is money the Fund took back")
        assert await counts(engine) == (0, 0, 0, 1, 0)

    async def test_refusals_speak_the_readers_language(
        self, client: httpx.AsyncClient, auth_service: AuthService, home: Family,
    ) -> None:
        nothing = {"careGiven": "YES"}
        words = {language: refusal(await report(client, citizen(auth_service, home.mother),
                                                home.visit, nothing, language))["message"]
                 for language in ("kk", "ru", "en")}
        # The person's own setting (English) wins over Accept-Language.
        assert set(words.values()) == {"Your answers say the care was given on that day and "
                                       "you were not asked to pay. Say what is wrong."}


class TestOneOpenCase:
    async def test_a_second_report_of_an_open_case_is_refused(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        token = citizen(auth_service, home.mother)
        await reported(client, token, home.visit)
        again = refusal(await report(client, token, home.visit, {"careGiven": "NOT_SURE"}))
        assert (again["code"], again["reason"], again["field"]) == (
            "BAD_USER_INPUT", "CASE_ALREADY_OPEN", "serviceId")
        assert await counts(engine) == (1, 1, 1, 0, 0)

    async def test_a_parent_and_a_child_reporting_at_once_open_one_case(
        self, auth_service: AuthService, auth_settings: AuthSettings, engine: AsyncEngine,
        committed: AsyncSession, home: Family,
    ) -> None:
        parent, child = citizen(auth_service, home.mother), citizen(auth_service, home.child)
        rounds = 8
        visits = [await create_service_payment(committed, home.child, home.provider,
                                               home.service, care_date=date(2026, 3, day),
                                               paid_on=date(2026, 4, 1))
                  for day in range(1, rounds + 1)]
        await committed.commit()

        async def race(http: httpx.AsyncClient) -> None:
            for visit in visits:
                answers = await asyncio.gather(report(http, parent, visit),
                                               report(http, child, visit))
                opened = [body for body in answers if body.get("data")]
                refused = [refusal(body)["reason"] for body in answers if not body.get("data")]
                assert len(opened) == 1 and refused == ["CASE_ALREADY_OPEN"]

        await serve(limited_app(engine, auth_settings, TODAY, 100), race)
        async with engine.connect() as conn:
            per_service = (await conn.execute(text(
                "SELECT count(*), count(DISTINCT service_payment_id) FROM core.dispute"))).one()
        assert tuple(per_service) == (rounds, rounds)

    async def test_the_same_report_sent_twice_at_once_opens_one_case(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        token = citizen(auth_service, home.mother)
        answers = await asyncio.gather(*(report(client, token, home.visit) for _ in range(4)))
        assert sum(1 for body in answers if body.get("data")) == 1
        assert await counts(engine) == (1, 1, 1, 0, 0)


class TestDailyLimit:
    async def test_a_citizen_may_report_so_many_a_day(
        self, auth_service: AuthService, auth_settings: AuthSettings, engine: AsyncEngine,
        committed: AsyncSession, home: Family,
    ) -> None:
        visits = [await create_service_payment(committed, home.mother, home.provider,
                                               home.service, care_date=date(2026, 2, day),
                                               paid_on=date(2026, 3, 1))
                  for day in range(1, 4)]
        await committed.commit()
        token = citizen(auth_service, home.mother)

        async def three(http: httpx.AsyncClient) -> list[dict[str, Any]]:
            return [await report(http, token, visit) for visit in visits]

        first, second, third = await serve(limited_app(engine, auth_settings, TODAY, 2), three)
        assert first["data"]["reportService"]["reportsLeftToday"] == 1
        assert second["data"]["reportService"]["reportsLeftToday"] == 0
        error = refusal(third)
        assert (error["code"], error["reason"]) == ("RATE_LIMITED", "DAILY_LIMIT")
        assert 0 < error["retryAfter"] <= 86_400
        assert error["message"] == "You can send at most 2 reports a day. Try again tomorrow."
        assert (await counts(engine))[0] == 2
        tomorrow = await serve(limited_app(engine, auth_settings, TODAY + timedelta(days=1), 2),
                               lambda http: report(http, token, visits[2]))
        assert tomorrow["data"]["reportService"]["reportsLeftToday"] == 1

    async def test_reports_sent_at_once_cannot_pass_the_limit_together(
        self, auth_service: AuthService, auth_settings: AuthSettings, engine: AsyncEngine,
        committed: AsyncSession, home: Family,
    ) -> None:
        visits = [await create_service_payment(committed, home.mother, home.provider,
                                               home.service, care_date=date(2026, 1, day),
                                               paid_on=date(2026, 2, 1))
                  for day in range(1, 7)]
        await committed.commit()
        token = citizen(auth_service, home.mother)

        async def at_once(http: httpx.AsyncClient) -> list[dict[str, Any]]:
            return list(await asyncio.gather(*(report(http, token, v) for v in visits)))

        answers = await serve(limited_app(engine, auth_settings, TODAY, 2), at_once)
        assert sum(1 for body in answers if body.get("data")) == 2
        assert sorted(codes(body)[0] for body in answers if not body.get("data")) == [
            "RATE_LIMITED"] * 4
        assert (await counts(engine))[0] == 2


class TestStatements:
    async def test_the_cases_screen_does_not_grow_with_the_cases(
        self, client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine,
        auth_service: AuthService, auth_settings: AuthSettings, committed: AsyncSession,
        home: Family,
    ) -> None:
        token = citizen(auth_service, home.mother)
        sizes = []
        day = 1
        for batch in (1, 6):
            for _ in range(batch):
                visit = await create_service_payment(
                    committed, home.mother, home.provider, home.service,
                    care_date=date(2026, 4, day), paid_on=date(2026, 5, 1))
                await committed.commit()
                day += 1
                await serve(limited_app(engine, auth_settings, TODAY, 100),
                            lambda http, v=visit: report(http, token, v))
            for name in ("MyCases", "CoveredServices"):
                data(await graphql(client, operation(name), token=token))  # warm the caches
            with counting(app, engine) as statements:
                cases = data(await graphql(client, operation("MyCases"), token=token))
                covered = data(await graphql(client, COVERED_WITH_CASES, token=token))
            sizes.append((len(cases["me"]["cases"]["edges"]),
                          len(covered["me"]["coveredServices"]["edges"]), len(statements)))
        assert [size[:2] for size in sizes] == [(1, 2), (7, 8)]
        assert sizes[0][2] == sizes[1][2]


COVERED_WITH_CASES = """
{ me { coveredServices(first: 20) { edges { node { id provider { name }
                                                   case { state summary } } } } } }"""
