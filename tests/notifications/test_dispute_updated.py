"""A case about a covered service ("I did not receive this"), end to end through the real
pieces: each change of state made by ``backend.disputes.service`` writes its
``dispute.updated`` event in the same transaction, and the real ``Dispatcher`` turns it into an
inbox item and a push, through firebase-admin, to fcm-local: to whoever reported (the patient,
or the parent who reported for a child), in each phone's language, its data valid against
``mobile_contract/push/dispute.updated.schema.json``."""

from __future__ import annotations

from datetime import date
from typing import Any

import firebase_admin
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.disputes import service
from backend.disputes.rules import Answers
from backend.disputes.service import Actor
from backend.models import Person, ServicePayment
from backend.models.disputes import Answer, DisputeActor
from notifications import templates
from tests.factories import (
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
)
from tests.notifications.conftest import FcmLocalServer
from tests.notifications.dispatch_helpers import (
    add_device,
    dispatcher,
    inbox_count,
    notification_id,
    notify_settings,
    pushes,
    scalar,
    schema_errors,
)

TODAY = date(2026, 11, 23)
NBSP = "\u00a0"
NOT_GIVEN = Answers(Answer.NO, None, False, None, None)
FUND = Actor(DisputeActor.INTEGRATOR, "cl_fund", "Fund review desk", "ФСМС", "Сауле Ахметова")
WHY = {"kk": "Емхана жазбаларында бұл қабылдау жоқ.",
       "ru": "В записях поликлиники этого приёма нет.",
       "en": "The polyclinic's records show no such visit."}


async def care(session: AsyncSession) -> tuple[Person, Person, ServicePayment, ServicePayment]:
    """A mother, her daughter (linked), and a GP visit of each (3 November 2025, 12,400 ₸)."""
    mother = await create_person(session, first_name="Alina", last_name="Kim")
    child = await create_person(session, first_name="Dana", birth_date=date(2018, 9, 1))
    provider = await create_provider(session, name_en="Polyclinic No. 5",
                                     name_ru="Поликлиника № 5", name_kk="№ 5 емхана")
    gp = await create_medical_service(session)
    visits = (await create_service_payment(session, mother, provider, gp),
              await create_service_payment(session, child, provider, gp))
    await session.commit()
    await session.execute(text(
        "INSERT INTO core.guardianship (guardian_id, child_id, kind, valid_from, source,"
        " source_record_id) VALUES (:m, :c, 'parent', '2018-09-01', 'test', 'push-test')"),
        {"m": mother.id, "c": child.id})
    await session.commit()
    return mother, child, *visits


def citizen_of(person: Person) -> Actor:
    return Actor(DisputeActor.CITIZEN, str(person.id), f"{person.first_name} {person.last_name}")


def shown(message: dict[str, Any]) -> tuple[str, str]:
    return message["notification"]["title"], message["notification"]["body"]


async def test_each_change_of_a_case_reaches_the_reporters_phones(
        db: AsyncEngine, committed: AsyncSession, fcm_local: FcmLocalServer,
        firebase: firebase_admin.App) -> None:
    mother, _, visit, _ = await care(committed)
    phones = (await add_device(db, mother.id, language="en", platform="android"),
              await add_device(db, mother.id, language="ru", platform="ios", token_kind="fid"))
    case = await service.report(db, reporter=citizen_of(mother), patient=mother.id,
                                service_id=visit.id, answers=NOT_GIVEN, today=TODAY,
                                daily_limit=5)
    settings = notify_settings(fcm_local.url)
    async with dispatcher(db, settings, firebase) as worker:
        assert (await worker.drain()).sent == 2  # the worker's totals add up
        await service.assign(db, case_id=case.id, assignee="Сауле Ахметова", actor=FUND)
        assert (await worker.drain()).sent == 4
        await service.resolve(db, case_id=case.id, confirmed=True, explanation=WHY,
                              actor=FUND, today=TODAY)
        assert (await worker.drain()).sent == 6
    english = [shown(message) for message in pushes(fcm_local.state, phones[0].token)]
    assert english == [
        ("Your report was received", "We received your report about General practitioner "
         "visit at Polyclinic No. 5 on 3 November 2025. The Fund will answer by 8 December "
         "2026."),
        ("The Fund is checking your report", "The Fund has started checking your report "
         "about General practitioner visit at Polyclinic No. 5 on 3 November 2025. It will "
         "answer by 8 December 2026."),
        ("Your report was confirmed", "The Fund confirmed your report about General "
         f"practitioner visit at Polyclinic No. 5 on 3 November 2025 and took 12,400{NBSP}₸ "
         "back from the clinic. The polyclinic's records show no such visit.")]
    russian = [shown(message) for message in pushes(fcm_local.state, phones[1].token)]
    assert [title for title, _ in russian] == [
        "Ваше обращение принято", "Фонд проверяет обращение", "Ваше обращение подтвердилось"]
    assert russian[2][1].endswith(f"и вернул у клиники 12{NBSP}400{NBSP}₸. {WHY['ru']}")
    events = [int(event) for event in await scalar(
        db, "SELECT array_agg(id ORDER BY id) FROM notify.outbox WHERE kind = 'dispute.updated'")]
    for phone in phones:
        for message, event, state in zip(pushes(fcm_local.state, phone.token), events,
                                         ("SUBMITTED", "IN_REVIEW", "CONFIRMED"), strict=True):
            data = message["data"]
            assert schema_errors(data) == []
            assert (data["state"], data["notificationId"], data["category"]) == (
                state, notification_id(event), "service_payments")
            assert data["link"] == f"mhi://cases/{data['caseId']}"
    assert await inbox_count(db, mother.id) == 3
    stored = await scalar(db, "SELECT payload FROM notify.notification WHERE event_id = :e",
                          {"e": events[2]})
    assert templates.render("dispute.updated", stored, "en") == templates.Rendered(*english[2])


async def test_a_parents_report_goes_to_the_parent_naming_the_child(
        db: AsyncEngine, committed: AsyncSession, fcm_local: FcmLocalServer,
        firebase: firebase_admin.App) -> None:
    mother, child, _, child_visit = await care(committed)
    parent_phone = await add_device(db, mother.id, language="kk")
    child_phone = await add_device(db, child.id, language="en")
    parent = Actor(DisputeActor.GUARDIAN, str(mother.id), "Alina Kim")
    await service.report(db, reporter=parent, patient=child.id, service_id=child_visit.id,
                         answers=NOT_GIVEN, today=TODAY, daily_limit=5, guardianship=1)
    async with dispatcher(db, notify_settings(fcm_local.url), firebase) as worker:
        await worker.drain()
    [message] = pushes(fcm_local.state, parent_phone.token)
    title, body = shown(message)
    assert title == "Өтінішіңіз қабылданды"
    assert body.startswith("Dana: 2025 жылғы 3 қарашада ")
    assert body.endswith("Қор 2026 жылғы 8 желтоқсанға дейін жауап береді.")
    assert schema_errors(message["data"]) == []
    assert pushes(fcm_local.state, child_phone.token) == []
    assert (await inbox_count(db, mother.id), await inbox_count(db, child.id)) == (1, 0)
    assert await scalar(db, "SELECT count(*) FROM core.access_log WHERE person_id = :c"
                            " AND purpose = 'service_report'", {"c": child.id}) == 1
