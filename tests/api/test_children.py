"""Parents and their minor children over HTTP: an integrator feeds the links (idempotent,
refusing bad records without changing anything), a parent reads each child's status,
receipts and care, every read is in the child's access log, nothing of a child appears in
the parent's own lists, and the link ends by itself on the 18th birthday."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.tokens import Audience
from backend.api.app import create_app
from backend.models import Person
from backend.settings import AppSettings
from tests.api.conftest import TODAY
from tests.api.gql import codes, data, graphql, operation
from tests.api.test_integrators import access_token, new_client
from tests.api.test_statement_counts import counting
from tests.factories import (
    create_contribution,
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
    create_state_payer,
)

SUBMIT = """
mutation Submit($records: [GuardianshipRecordInput!]!) {
  submitGuardianships(records: $records) {
    records accepted updated unchanged rejected
    issues { line recordId code message }
  }
}"""
CHILDREN = """
{ me { children { id firstName birthDate relationship linkedSince linkedUntil
                  insurance { status }
                  contributions(first: 10) { edges { node { id } } }
                  coveredServices(first: 10) { edges { node { id } } } } } }"""
NAMES = "{ me { children { firstName } } }"
OWN = """
{ me { contributions(first: 50) { edges { node { id } } }
       coveredServices(first: 50) { edges { node { id } } } } }"""
LOG = """
{ me { accessLog(first: 20) { edges { node { actorKind actorName organization purpose reason
                                             text } } } } }"""
LINKS = "SELECT count(*), count(ended_at), min(valid_from) FROM core.guardianship"


def citizen(auth: AuthService, person: Person) -> str:
    return auth.mint(str(person.id), Audience.MOBILE)


async def feeder(client: httpx.AsyncClient, auth: AuthService) -> str:
    return await access_token(client, await new_client(auth, Scope.GUARDIANSHIP_WRITE))


def link(parent: Person, child: Person, record_id: str = "g-1",
         **overrides: Any) -> dict[str, Any]:
    return {"recordId": record_id, "parentIin": parent.iin, "childIin": child.iin,
            "kind": "PARENT", "validFrom": child.birth_date.isoformat(), **overrides}


async def submit(client: httpx.AsyncClient, token: str, *records: dict[str, Any],
                 language: str = "en") -> dict[str, Any]:
    body = await graphql(client, SUBMIT, {"records": list(records)}, token=token,
                         headers={"Accept-Language": language})
    payload: dict[str, Any] = data(body)["submitGuardianships"]
    return payload


async def links(engine: AsyncEngine) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        return tuple((await conn.execute(text(LINKS))).one())


async def family(session: AsyncSession, child_birth: date = date(2015, 9, 1)
                 ) -> tuple[Person, Person]:
    """A mother in Astana who reads English, and her daughter with a state contribution and
    a GP visit."""
    mother = await create_person(session, first_name="Alina", last_name="Kim", language="en")
    child = await create_person(session, first_name="Dana", last_name="Omarova",
                                birth_date=child_birth, language="en", phone=None)
    state = await create_state_payer(session)
    await create_contribution(session, child, kind="state_contribution", payment_code=None,
                              payer_id=state.id, payer_kind="state",
                              period=date(2026, 10, 1), amount_tiyn=728_600)
    provider = await create_provider(session)
    service = await create_medical_service(session)
    await create_service_payment(session, child, provider, service)
    await session.commit()
    return mother, child


class TestTheFeed:
    async def test_a_link_is_stored_once_and_a_resend_changes_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine,
    ) -> None:
        mother, child = await family(committed)
        token = await feeder(client, auth_service)
        first = await submit(client, token, link(mother, child))
        assert (first["accepted"], first["unchanged"], first["rejected"]) == (1, 0, 0)
        again = await submit(client, token, link(mother, child))
        assert (again["accepted"], again["unchanged"], again["updated"]) == (0, 1, 0)
        assert await links(engine) == (1, 0, child.birth_date)

    async def test_a_resend_corrects_and_withdraws(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine,
    ) -> None:
        mother, child = await family(committed)
        token = await feeder(client, auth_service)
        await submit(client, token, link(mother, child))
        moved = await submit(client, token, link(mother, child, validFrom="2020-01-01"))
        assert moved["updated"] == 1
        ended = await submit(client, token, link(mother, child, validFrom="2020-01-01",
                                                 endReason="court decision"))
        assert ended["updated"] == 1
        assert await links(engine) == (1, 1, date(2020, 1, 1))
        seen = data(await graphql(client, NAMES, token=citizen(auth_service, mother)))
        assert seen["me"]["children"] == []

    async def test_bad_records_are_refused_with_codes_and_change_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine,
    ) -> None:
        mother, child = await family(committed)
        adult = await create_person(committed, birth_date=TODAY.replace(year=TODAY.year - 18))
        stranger_iin = "790303402568"  # valid, but nobody here has it
        await committed.commit()
        token = await feeder(client, auth_service)
        bad_digit = child.iin[:11] + str((int(child.iin[11]) + 1) % 10)
        result = await submit(
            client, token,
            link(mother, child, "r-1", childIin=bad_digit),
            link(mother, mother, "r-2"),
            link(mother, adult, "r-3"),
            link(mother, child, "r-4", parentIin=stranger_iin),
            link(mother, child, "r-5", validFrom="2020-01-01", validUntil="2019-01-01"),
            link(mother, child, "  "),
            link(mother, child, "r-7", validFrom="2034-01-01"),
            language="ru")
        assert result["rejected"] == 7 and result["accepted"] == 0
        assert [i["code"] for i in result["issues"]] == [
            "IIN_INVALID", "SELF_LINK", "CHILD_NOT_MINOR", "PERSON_UNKNOWN",
            "VALIDITY_INVALID", "RECORD_ID_MISSING", "CHILD_NOT_MINOR"]
        assert result["issues"][1]["message"].startswith("Человек не может")
        assert all(child.iin not in i["message"] for i in result["issues"])
        assert await links(engine) == (0, 0, None)

    async def test_a_record_id_cannot_move_to_another_child(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine,
    ) -> None:
        mother, child = await family(committed)
        other = await create_person(committed, birth_date=date(2018, 1, 2))
        await committed.commit()
        token = await feeder(client, auth_service)
        await submit(client, token, link(mother, child))
        moved = await submit(client, token, link(mother, other))
        assert [i["code"] for i in moved["issues"]] == ["RECORD_ID_CONFLICT"]
        assert await links(engine) == (1, 0, child.birth_date)

    async def test_only_the_scope_may_feed(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine,
    ) -> None:
        mother, child = await family(committed)
        other = await access_token(client, await new_client(auth_service,
                                                            Scope.CONTRIBUTIONS_WRITE))
        for token in (other, citizen(auth_service, mother)):
            body = await graphql(client, SUBMIT, {"records": [link(mother, child)]},
                                 token=token)
            assert codes(body) == ["FORBIDDEN"]
        assert await links(engine) == (0, 0, None)


class TestTheParent:
    async def test_the_parent_sees_the_childs_status_receipts_and_care(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
    ) -> None:
        mother, child = await family(committed)
        await submit(client, await feeder(client, auth_service), link(mother, child))
        seen = data(await graphql(client, CHILDREN, token=citizen(auth_service, mother)))
        [kid] = seen["me"]["children"]
        assert (kid["firstName"], kid["relationship"]) == ("Dana", "PARENT")
        assert kid["linkedUntil"] == "2033-08-31"  # the eve of the 18th birthday
        assert kid["insurance"]["status"] == "INSURED"
        assert len(kid["contributions"]["edges"]) == 1
        assert len(kid["coveredServices"]["edges"]) == 1

    async def test_nothing_of_the_child_in_the_parents_own_lists(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
    ) -> None:
        mother, child = await family(committed)
        await submit(client, await feeder(client, auth_service), link(mother, child))
        own = data(await graphql(client, OWN, token=citizen(auth_service, mother)))["me"]
        assert own["contributions"]["edges"] == own["coveredServices"]["edges"] == []

    async def test_each_read_is_in_the_childs_access_log(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
    ) -> None:
        mother, child = await family(committed)
        await submit(client, await feeder(client, auth_service), link(mother, child))
        data(await graphql(client, CHILDREN, token=citizen(auth_service, mother)))
        log = data(await graphql(client, LOG, token=citizen(auth_service, child)))
        events = [edge["node"] for edge in log["me"]["accessLog"]["edges"]]
        assert {e["purpose"] for e in events} == {
            "child_profile", "insurance_status", "contributions", "covered_services"}
        assert {(e["actorKind"], e["actorName"], e["organization"], e["reason"])
                for e in events} == {("GUARDIAN", "Alina Kim", "", "guardianship")}
        assert "Alina Kim looked at your insurance status as your parent or guardian." in {
            e["text"] for e in events}

    async def test_strangers_and_other_parents_do_not_see_the_child(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
    ) -> None:
        mother, child = await family(committed)
        other_mother, other_child = await family(committed, date(2019, 5, 5))
        token = await feeder(client, auth_service)
        await submit(client, token, link(mother, child), link(other_mother, other_child, "g-2"))
        seen = data(await graphql(client, NAMES, token=citizen(auth_service, other_mother)))
        assert seen["me"]["children"] == [{"firstName": "Dana"}]
        assert len(seen["me"]["children"]) == 1
        for person in (child, other_child):
            alone = data(await graphql(client, NAMES, token=citizen(auth_service, person)))
            assert alone["me"]["children"] == []

    @pytest.mark.parametrize(("days_to_birthday", "listed"), [(1, True), (0, False),
                                                               (-1, False)])
    async def test_the_link_ends_on_the_18th_birthday(
        self, committed: AsyncSession, auth_service: AuthService, engine: AsyncEngine,
        auth_settings: Any, days_to_birthday: int, listed: bool,
    ) -> None:
        birth = date(2008, 12, 10)
        mother, child = await family(committed, birth)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO core.guardianship (guardian_id, child_id, kind, valid_from,"
                " source, source_record_id) VALUES (:m, :c, 'parent', :b, 'test', 'x')"),
                {"m": mother.id, "c": child.id, "b": birth})
        today = date(2026, 12, 10) - timedelta(days=days_to_birthday)
        app = create_app(AppSettings(environment="development"), auth_settings,
                         engine=engine, today=lambda: today)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            seen = data(await graphql(http, NAMES, token=citizen(auth_service, mother)))
        assert seen["me"]["children"] == ([{"firstName": "Dana"}] if listed else [])


class TestStatements:
    async def test_the_children_screen_does_not_grow_with_the_childs_history(
        self, client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine,
        committed: AsyncSession, auth_service: AuthService,
    ) -> None:
        mother, child = await family(committed)
        await submit(client, await feeder(client, auth_service), link(mother, child))
        provider = await create_provider(committed)
        service = await create_medical_service(committed)
        await committed.commit()
        token = citizen(auth_service, mother)
        query = operation("Children")
        data(await graphql(client, query, token=token))  # warms the caches
        counts = []
        for _ in range(2):
            with counting(app, engine) as statements:
                data(await graphql(client, query, {"first": 5}, token=token))
            counts.append(len(statements))
            for day in range(1, 8):
                await create_service_payment(committed, child, provider, service,
                                             care_date=date(2026, 3, day),
                                             paid_on=date(2026, 4, 1))
            await committed.commit()
        assert counts[0] == counts[1]
