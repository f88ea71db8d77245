"""Every operation of the app, end to end over HTTP, on a small demo country; in kk, ru, en."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.sms import DevSmsSink
from auth.tokens import Audience
from backend.cli.shared import refresh_statuses
from backend.demo import generator
from backend.demo.cast import CAST
from backend.gql.nodes import global_id
from backend.transparency.rollups import fold_and_snapshot
from notifications.expand import expand
from notifications.settings import NotifySettings
from tests.api.conftest import TODAY
from tests.api.gql import OPERATIONS, data, graphql, operation
from tests.conftest import NOTIFY_TABLES

KAZAKH, RUSSIAN, ENGLISH = CAST[0], CAST[1], CAST[3]
DESK_EXAMPLES = {"StaffSignIn", "OpenPatientWindow", "PatientWindow", "CreateOnboardingCode",
                 "Eligibility"}
SESSION_OPERATIONS = {"RequestSignInCode", "SignIn", "RefreshSession", "MyDevices",
                      "CreateConsentCode", "RedeemOnboardingCode", "AccessLog", "AccessLog2",
                      "SignOut",
                      "SignOutEverywhere", *DESK_EXAMPLES}
NOTIFICATION_OPERATIONS = {"RegisterPushDevice", "UnregisterPushDevice", "Inbox",
                           "MarkNotificationsRead", "MarkAllNotificationsRead",
                           "NotificationSettings", "SetNotificationPreference", "SetQuietHours"}


async def conn_provider(engine: AsyncEngine) -> tuple[uuid.UUID, str]:
    """A clinic of the demo country: its id and name."""
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT id, name_ru FROM core.provider ORDER BY id LIMIT 1"))).one()
    return row[0], row[1]


@pytest.fixture
async def demo(engine: AsyncEngine) -> AsyncIterator[None]:
    """A demo country of 60 people (the cast first), removed afterwards."""
    await generator.generate(engine, people=60, seed=3, as_of=TODAY, quiet=True)
    try:
        yield
    finally:  # the rows, the rollups and the log's queue and leaves: ids restart
        await generator.clear(engine)


def token(auth_service: AuthService, index: int) -> str:
    return auth_service.mint(str(CAST[index].id), Audience.MOBILE)


async def run(client: httpx.AsyncClient, name: str, token: str | None,
              variables: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    return data(await graphql(client, operation(name), variables, token=token, headers=headers))


@pytest.mark.usefixtures("demo")
class TestEveryOperation:
    async def test_each_operation_runs_for_each_cast_member(
        self, client: httpx.AsyncClient, auth_service: AuthService, engine: AsyncEngine
    ) -> None:
        names = {path.stem for path in OPERATIONS.glob("*.graphql")}
        covered: set[str] = set()
        for index in range(len(CAST)):
            bearer = token(auth_service, index)
            home = (await run(client, "HomeScreen", bearer))["me"]
            assert home["insurance"]["reason"]["text"]
            covered.add("HomeScreen")
            for name in ("InsuranceStatus", "Receipts", "ContributionMonths",
                         "CoveredServices", "WhereMyMoneyWent", "Children", "HowToPay",
                         "MyCases"):
                assert (await run(client, name, bearer))["me"]["id"] == home["id"]
                covered.add(name)
            # The same screens with each row's proof from the verifiable log: the same rows,
            # each proof null until its record is in a cosigned checkpoint (none is here; the
            # proofs themselves: tests/api/test_tlog_proofs.py).
            for old, new, field in (("Receipts", "Receipts2", "contributions"),
                                    ("CoveredServices", "CoveredServices2", "coveredServices")):
                before = (await run(client, old, bearer))["me"][field]["edges"]
                after = (await run(client, new, bearer))["me"][field]["edges"]
                assert [e["node"]["id"] for e in after] == [e["node"]["id"] for e in before]
                assert all(edge["node"]["proof"] is None for edge in after)
                covered.add(new)
            services = home["coveredServices"]["edges"]
            if services:
                for name in ("ServiceDetail", "ServiceDetail2"):
                    detail = await run(client, name, bearer, {"id": services[0]["node"]["id"]})
                    assert detail["node"]["id"] == services[0]["node"]["id"]
                    covered.add(name)
        # The demo's open case: Айгерім reported her latest covered service as never given.
        kazakh = token(auth_service, 0)
        [case] = (await run(client, "MyCases", kazakh))["me"]["cases"]["edges"]
        assert (case["node"]["state"], case["node"]["stateName"]) == ("SUBMITTED", "Қабылданды")
        detail = (await run(client, "CaseDetail", kazakh, {"id": case["node"]["id"]}))["node"]
        assert detail["careGiven"] == "NO" and detail["comment"]
        shown = await run(client, "ServiceDetail2", kazakh, {"id": detail["service"]["id"]})
        assert shown["node"]["case"]["id"] == case["node"]["id"]
        covered.add("CaseDetail")
        parent = (await run(client, "Children", token(auth_service, 5)))["me"]
        [child] = parent["children"]
        assert (child["firstName"], child["relationship"]) == (CAST[3].first_name, "PARENT")
        assert child["insurance"]["reason"]["text"]
        # The mother reports her daughter's latest covered service; it shows under children.
        care = child["coveredServices"]["edges"]
        if care:
            sent = (await run(client, "ReportService", token(auth_service, 5), {
                "serviceId": care[0]["node"]["id"], "input": {"careGiven": "NOT_SURE"}}))
            assert sent["reportService"]["case"]["category"] == "UNSURE"
            again = (await run(client, "Children", token(auth_service, 5)))["me"]
            assert [e["node"]["reporter"] for e in again["children"][0]["cases"]["edges"]] == [
                "GUARDIAN"]
            covered.add("ReportService")
        listing = await run(client, "HelpList", None, {"audience": "CITIZEN"})
        slug = listing["helpArticles"]["edges"][0]["node"]["slug"]
        article = await run(client, "HelpArticle", None, {"slug": slug})
        assert article["helpArticle"]["body"]
        found = await run(client, "HelpSearch", None, {"query": article["helpArticle"]["title"]
                                                        .split()[0]})
        assert found["searchHelp"]["edges"]
        covered |= {"HelpList", "HelpArticle", "HelpSearch"}
        # Anyone, without signing in: where the country's insurance money goes.  The month's
        # insured people are counted from the stored statuses by the worker's snapshot
        # (provisional until the month ends), as `make run` does.
        await refresh_statuses(engine, TODAY, everyone=True)
        await fold_and_snapshot(engine, [TODAY], final=False)
        public = (await run(client, "PublicStats", None))["publicStats"]
        assert public["balance"]["balance"]["amount"]
        assert any(row["count"] for row in public["moneyIn"]["byMonth"])
        assert public["providers"]["edges"]
        kinds = (await run(client, "PublicStatsByKind", None))["publicStats"]
        assert any(row["count"] for row in kinds["moneyOut"]["byPackage"])
        first = public["providers"]["edges"][0]["node"]["provider"]
        region = (await run(client, "PublicStatsProviders", None, {
            "regionCode": first["region"]["code"]}))["publicStats"]["providers"]["edges"]
        assert first["id"] in {edge["node"]["provider"]["id"] for edge in region}
        covered |= {"PublicStats", "PublicStatsByKind", "PublicStatsProviders"}
        assert covered == names - SESSION_OPERATIONS - NOTIFICATION_OPERATIONS

    async def test_the_notification_operations_run_end_to_end(
        self, client: httpx.AsyncClient, engine: AsyncEngine, auth_service: AuthService
    ) -> None:
        names = {path.stem for path in OPERATIONS.glob("*.graphql")}
        assert names >= NOTIFICATION_OPERATIONS
        bearer = token(auth_service, 0)
        try:
            device = (await run(client, "RegisterPushDevice", bearer, {"device": {
                "token": "demo-ops-phone-1", "platform": "ANDROID", "appVersion": "1.0.0",
                "language": "kk", "timeZone": "Asia/Almaty"}}))["registerPushDevice"]
            assert device["pushOn"] is True
            async with engine.begin() as conn:
                receipt = (await conn.execute(text(
                    "SELECT id, to_char(period, 'YYYY-MM'), amount_tiyn FROM core.contribution"
                    " WHERE person_id = :p ORDER BY id DESC LIMIT 1"), {"p": KAZAKH.id})).one()
                await conn.execute(text(
                    "INSERT INTO notify.outbox (person_id, kind, payload, dedupe_key) VALUES"
                    " (:p, 'contribution.received', CAST(:payload AS jsonb), 'ops-1')"),
                    {"p": KAZAKH.id, "payload": json.dumps({"batch": 1, "contributions": [{
                        "id": receipt[0], "kind": "employer_deduction", "period": receipt[1],
                        "amountTiyn": receipt[2], "paidOn": "2026-11-20", "payer": None}]})})
                await expand(conn, NotifySettings(digest_window_seconds=0))
            inbox = (await run(client, "Inbox", bearer, {"first": 5}))["me"]
            assert inbox["unreadNotifications"] == 1
            [edge] = inbox["notifications"]["edges"]
            item = edge["node"]
            assert "төленді" in item["title"]  # Kazakh: "paid"
            assert [c["id"] for c in item["contributions"]] == [
                global_id("Contribution", receipt[0])]
            read = await run(client, "MarkNotificationsRead", bearer, {"ids": [item["id"]]})
            assert read["markNotificationsRead"] == {"marked": 1, "unreadCount": 0}
            marked = await run(client, "MarkAllNotificationsRead", bearer, {"upTo": None})
            assert marked["markAllNotificationsRead"]["marked"] == 0
            switched = await run(client, "SetNotificationPreference", bearer, {
                "category": "ANNOUNCEMENTS", "channel": "PUSH", "enabled": False})
            assert {"category": "ANNOUNCEMENTS", "channel": "PUSH", "enabled": False,
                    "mutable": True} in switched["setNotificationPreference"]["switches"]
            quiet = await run(client, "SetQuietHours", bearer, {"quietHours": {
                "starts": "22:00:00", "ends": "08:00:00", "timeZone": "Asia/Almaty"}})
            assert quiet["setQuietHours"]["quietHours"]["starts"] == "22:00:00"
            settings = (await run(client, "NotificationSettings", bearer))["me"]
            assert [d["id"] for d in settings["pushDevices"]] == [device["id"]]
            gone = await run(client, "UnregisterPushDevice", bearer, {"id": device["id"]})
            assert gone["unregisterPushDevice"] is True
        finally:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {', '.join(NOTIFY_TABLES)} RESTART IDENTITY"))

    async def test_the_sign_in_and_desk_operations_run_end_to_end(
        self, client: httpx.AsyncClient, app: FastAPI, auth_service: AuthService,
        auth_settings: AuthSettings, engine: AsyncEngine,
    ) -> None:
        names = {path.stem for path in OPERATIONS.glob("*.graphql")}
        assert names & SESSION_OPERATIONS == SESSION_OPERATIONS - DESK_EXAMPLES
        async with engine.connect() as conn:
            iin, phone = (await conn.execute(text(
                "SELECT iin, phone FROM core.person WHERE id = :id"), {"id": KAZAKH.id})).one()
        # A citizen signs in by SMS code, refreshes, and sees their device.
        asked = (await run(client, "RequestSignInCode", None,
                           {"iin": iin, "phone": phone}))["requestSignInCode"]
        await app.state.runtime.auth.login.drain()
        code = DevSmsSink(auth_settings.dev_sms_file).recent(1)[0].text.split()[1]
        session = (await run(client, "SignIn", None, {
            "challengeId": asked["challengeId"], "code": code,
            "device": {"name": "Redmi 12C", "platform": "android"}}))["signIn"]["session"]
        session = (await run(client, "RefreshSession", None, {
            "refreshToken": session["refreshToken"]}))["refreshSession"]["session"]
        citizen = session["accessToken"]
        devices = (await run(client, "MyDevices", citizen))["me"]["signedInDevices"]
        assert [(d["deviceName"], d["current"]) for d in devices] == [("Redmi 12C", True)]
        # At a clinic's desk, with the citizen's consent, a worker makes a new-phone code.
        provider = (await conn_provider(engine))
        password = "correct horse battery staple"
        worker = await auth_service.desk.create_staff(
            f"desk-{uuid.uuid4().hex[:8]}", "Сәуле Нұрланқызы", password, provider[0],
            provider[1])
        consent = (await run(client, "CreateConsentCode", citizen))["createConsentCode"]
        desk = (await run(client, "StaffSignIn", None, {
            "username": worker.username, "password": password}))["staffSignIn"]["session"]
        staff = desk["accessToken"]
        window = (await run(client, "OpenPatientWindow", staff, {
            "consentCode": consent["code"]}))["openPatientWindow"]["window"]
        seen = (await run(client, "PatientWindow", staff, {"id": window["id"]}))
        assert seen["patientWindow"]["patient"]["firstName"] == KAZAKH.first_name
        made = (await run(client, "CreateOnboardingCode", staff, {
            "windowId": window["id"]}))["createOnboardingCode"]["onboardingCode"]
        redeemed = (await run(client, "RedeemOnboardingCode", None, {
            "code": made["qrText"]}))["redeemOnboardingCode"]
        await app.state.runtime.auth.login.drain()  # the patient confirms with the SMS code
        code = DevSmsSink(auth_settings.dev_sms_file).recent(1)[0].text.split()[1]
        second = (await run(client, "SignIn", None, {
            "challengeId": redeemed["challengeId"], "code": code,
            "device": {"name": "new phone"}}))["signIn"]["session"]["accessToken"]
        # The citizen sees who looked, then signs out here and everywhere.
        looks = (await run(client, "AccessLog", second, {"first": 10}))["me"]["accessLog"]
        assert {edge["node"]["actorName"] for edge in looks["edges"]} == {"Сәуле Нұрланқызы"}
        proven = (await run(client, "AccessLog2", second, {"first": 10}))["me"]["accessLog"]
        assert [(e["node"]["at"], e["node"]["proof"]) for e in proven["edges"]] == [
            (e["node"]["at"], None) for e in looks["edges"]]  # not yet in a checkpoint
        assert (await run(client, "SignOut", second))["signOut"]["sessionsEnded"] == 1
        ended = (await run(client, "SignOutEverywhere", citizen))["signOutEverywhere"]
        assert ended["sessionsEnded"] == 1
        # An integrator checks eligibility (graphql/operations, the integrators' example).
        created = await auth_service.clients.create("Emhana", "Emhana LLP",
                                                    [Scope.ELIGIBILITY_READ])
        issued = await auth_service.clients.token(created.info.id, created.secret, None)
        answers = (await run(client, "Eligibility", issued.access_token,
                             {"iins": [iin]}))["eligibility"]
        assert answers[0]["found"] and answers[0]["status"] == "INSURED"

    async def test_the_cast_shows_every_status(
        self, client: httpx.AsyncClient, auth_service: AuthService
    ) -> None:
        statuses = set()
        for index in range(len(CAST)):
            home = (await run(client, "HomeScreen", token(auth_service, index)))["me"]
            statuses.add(home["insurance"]["status"])
        assert statuses == {"INSURED", "CONDITIONALLY_INSURED", "NOT_INSURED"}


@pytest.mark.usefixtures("demo")
class TestLanguages:
    @pytest.mark.parametrize(("index", "language", "word"), [
        (0, "KK", "Сақтандырылғансыз"), (1, "RU", "застрахованы"), (3, "EN", "Insured")])
    async def test_the_home_screen_speaks_the_persons_language(
        self, client: httpx.AsyncClient, auth_service: AuthService, index: int, language: str,
        word: str,
    ) -> None:
        home = (await run(client, "HomeScreen", token(auth_service, index),
                          headers={"Accept-Language": "de, en;q=0.1"}))["me"]
        assert home["language"] == language
        assert word in home["insurance"]["reason"]["text"]

    @pytest.mark.parametrize(("header", "expected"), [
        (None, "KK"), ("ru-RU,ru;q=0.9", "RU"), ("en-US", "EN")])
    async def test_help_for_a_visitor_follows_accept_language(
        self, client: httpx.AsyncClient, header: str | None, expected: str
    ) -> None:
        headers = {"Accept-Language": header} if header else None
        body = await run(client, "HelpArticle", None, {"slug": "install-the-app"},
                         headers=headers)
        assert body["helpArticle"]["language"] == expected
