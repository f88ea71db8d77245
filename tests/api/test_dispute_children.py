"""A parent and a minor child's care over HTTP: the parent reports the child's covered
service, sees the case only under ``me.children`` (never in their own lists), the report and
each read are in the child's access log, the push goes to the parent, nobody else may report
or read it, and from the 18th birthday the parent no longer reports."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from tests.api.dispute_helpers import (
    MY_CASES,
    Family,
    citizen,
    counts,
    events,
    family,
    limited_app,
    refusal,
    report,
    reported,
    serve,
    service_id,
)
from tests.api.gql import codes, data, graphql, operation
from tests.factories import create_person

LOG = "{ me { accessLog(first: 20) { edges { node { actorKind actorName purpose text } } } } }"


@pytest.fixture
async def home(committed: AsyncSession) -> Family:
    return await family(committed)


CHILDREN = """
{ me { children { firstName coveredServices(first: 5) { edges { node { id case { state } } } } }
              cases(first: 5) { edges { node { id state reporter } } } } }"""
CHILD_CASES = """
{ me { children { cases(first: 5) { edges { node { id state reporter summary } } } } } }"""


class TestParents:
    async def test_a_parent_reports_a_childs_service_and_sees_it_only_under_children(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        home: Family,
    ) -> None:
        parent = citizen(auth_service, home.mother)
        kid = data(await graphql(client, operation("Children"), token=parent))["me"]
        [child] = kid["children"]
        [edge] = child["coveredServices"]["edges"]
        case = (await reported(client, parent, edge["node"]["id"]))["case"]
        assert case["state"] == "SUBMITTED"
        seen = data(await graphql(client, CHILDREN, token=parent))["me"]
        assert seen["cases"]["edges"] == []  # the parent's own list
        [child] = seen["children"]
        assert child["coveredServices"]["edges"][0]["node"]["case"] == {"state": "SUBMITTED"}
        listed = data(await graphql(client, CHILD_CASES, token=parent))["me"]["children"][0]
        assert [(e["node"]["id"], e["node"]["reporter"]) for e in listed["cases"]["edges"]] == [
            (case["id"], "GUARDIAN")]
        own = data(await graphql(client, operation("CoveredServices"), token=parent))["me"]
        assert [e["node"]["id"] for e in own["coveredServices"]["edges"]] == [
            service_id(home.visit)]
        # The child, signed in, finds the case about her care; the event went to the parent.
        mine = data(await graphql(client, MY_CASES, token=citizen(auth_service, home.child)))
        assert [e["node"]["id"] for e in mine["me"]["cases"]["edges"]] == [case["id"]]
        [(person, _, event)] = await events(engine)
        assert (person, event["patient"]) == (home.mother.id, "Dana")

    async def test_the_report_and_the_reads_are_in_the_childs_access_log(
        self, client: httpx.AsyncClient, auth_service: AuthService, home: Family,
    ) -> None:
        parent = citizen(auth_service, home.mother)
        await reported(client, parent, home.child_visit)
        case = data(await graphql(client, CHILD_CASES, token=parent))
        case_id = case["me"]["children"][0]["cases"]["edges"][0]["node"]["id"]
        data(await graphql(client, operation("CaseDetail"), {"id": case_id}, token=parent))
        log = data(await graphql(client, LOG, token=citizen(auth_service, home.child)))
        looks = [edge["node"] for edge in log["me"]["accessLog"]["edges"]]
        assert {(look["actorKind"], look["actorName"]) for look in looks} == {
            ("GUARDIAN", "Alina Kim")}
        texts = {look["purpose"]: look["text"] for look in looks}
        assert texts["service_report"] == (
            "Alina Kim reported care you may not have received as your parent or guardian.")
        assert texts["service_reports"] == ("Alina Kim looked at your reports about care you "
                                            "did not receive as your parent or guardian.")

    async def test_nobody_else_may_report_or_read_a_childs_case(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine,
        committed: AsyncSession, home: Family,
    ) -> None:
        stranger = citizen(auth_service, await create_person(committed))
        await committed.commit()
        assert refusal(await report(client, stranger, home.child_visit))["code"] == "NOT_FOUND"
        case = (await reported(client, citizen(auth_service, home.mother),
                               home.child_visit))["case"]
        body = await graphql(client, operation("CaseDetail"), {"id": case["id"]},
                             token=stranger)
        assert codes(body) == ["NOT_FOUND"]
        assert (await counts(engine))[0] == 1

    async def test_from_the_18th_birthday_the_parent_no_longer_reports(
        self, auth_service: AuthService, auth_settings: AuthSettings, engine: AsyncEngine,
        home: Family,
    ) -> None:
        adult_day = date(2036, 9, 1)  # Dana's 18th birthday
        parent = citizen(auth_service, home.mother)
        eve = await serve(limited_app(engine, auth_settings, adult_day - timedelta(days=1), 5),
                          lambda http: report(http, parent, home.child_visit))
        assert eve["data"]["reportService"]["case"]["state"] == "SUBMITTED"
        other = await create_service_payment_for(engine, home)
        after = await serve(limited_app(engine, auth_settings, adult_day, 5),
                            lambda http: report(http, parent, other))
        assert refusal(after)["code"] == "NOT_FOUND"


async def create_service_payment_for(engine: AsyncEngine, home: Family) -> int:
    """Another visit of the child (committed); its id."""
    async with engine.begin() as conn:
        return int((await conn.execute(text(
            "INSERT INTO core.service_payment (person_id, provider_id, service_code, care_date,"
            " amount_tiyn, package, paid_on, source, source_record_id) VALUES (:p, :pr, :s,"
            " '2026-05-05', 500000, 'gobmp', '2026-05-20', 'test', 'other-visit') RETURNING id"),
            {"p": home.child.id, "pr": home.provider.id, "s": home.service.code})).scalar_one())
