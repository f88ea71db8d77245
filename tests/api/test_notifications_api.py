"""Notifications over HTTP: push devices, the inbox, and who may touch them.

Events come the real way: an integrator sends contributions through ``submitContributions``,
which writes ``notify.outbox`` rows in the same transaction; ``expand`` (the dispatcher's
first step) then turns them into inbox items and pending deliveries.  ``committed`` empties
people, records and every ``notify`` table after each test.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.sms import DevSmsSink
from auth.tokens import Audience
from backend.inbox.texts import REFUSALS
from backend.models import Person
from notifications.expand import Expanded, expand
from notifications.formatting import format_amount
from notifications.settings import NotifySettings
from notifications.templates import render
from tests.api.gql import codes, data, graphql, operation
from tests.api.test_sign_in import Phone, new_phone
from tests.factories import create_person

DEVICE_FIELDS = ("id platform appVersion language timeZone registeredAt lastSeenAt pushOn"
                 " pushOffReason")
REGISTER = f"""
mutation Register($device: PushDeviceInput!) {{
  registerPushDevice(device: $device) {{ {DEVICE_FIELDS} }}
}}"""
DEVICES = f"{{ me {{ pushDevices {{ {DEVICE_FIELDS} }} }} }}"
UNREGISTER = "mutation Unregister($id: ID!) { unregisterPushDevice(id: $id) }"
SIGN_OUT = "mutation { signOut { sessionsEnded } }"
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { sessionsEnded } }"
SUBMIT = """
mutation Submit($records: [ContributionRecordInput!]!) {
  submitContributions(records: $records) { accepted rejected issues { code message } }
}"""
INBOX = """
query Inbox($first: Int, $after: String, $unreadOnly: Boolean! = false) {
  me {
    unreadNotifications
    notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
      edges {
        cursor
        node {
          id kind category title body link read readAt createdAt
          contributions { id period amount { amount currency } }
        }
      }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}"""
RECEIPT_IDS = "{ me { contributions(first: 20) { edges { node { id } } } } }"
MARK = """
mutation Mark($ids: [ID!]!) { markNotificationsRead(ids: $ids) { marked unreadCount } }"""
MARK_ALL = """
mutation MarkAll($upTo: ID) { markAllNotificationsRead(upTo: $upTo) { marked unreadCount } }"""
NODE = "query Node($id: ID!) { node(id: $id) { id ... on Notification { kind title } } }"
SET_PREFERENCE = """
mutation Set($category: NotificationCategory!, $channel: NotificationChannel!,
             $enabled: Boolean!) {
  setNotificationPreference(category: $category, channel: $channel, enabled: $enabled) {
    switches { category channel enabled mutable }
  }
}"""
SET_QUIET_HOURS = """
mutation Quiet($quietHours: QuietHoursInput) {
  setQuietHours(quietHours: $quietHours) { quietHours { starts ends timeZone } }
}"""
RU = {"Accept-Language": "ru"}
STATUS_LOSS = {"oldStatus": "INSURED", "newStatus": "CONDITIONALLY_INSURED",
               "reason": "GRACE_PERIOD", "on": "2026-11-23", "changesOn": "2027-02-01"}


# --- helpers ---------------------------------------------------------------------------------


def token_for(auth_service: AuthService, person: Person) -> str:
    """A citizen access token without a session."""
    return auth_service.mint(str(person.id), Audience.MOBILE)


def fcm_token() -> str:
    """An FCM-looking registration token of this test's own."""
    return f"fcm-{secrets.token_hex(8)}:APA91b{secrets.token_urlsafe(48)}"


def phone_device(token: str, **overrides: Any) -> dict[str, Any]:
    """A ``PushDeviceInput``: an Android phone in Almaty reading Russian."""
    return {"token": token, "platform": "ANDROID", "appVersion": "1.4.2", "language": "ru",
            "timeZone": "Asia/Almaty", **overrides}


def key_of(global_id: str) -> int:
    """The database key of a global id ``Type:key``."""
    return int(base64.b64decode(global_id).decode().partition(":")[2])


def node_id(type_name: str, key: object) -> str:
    """The global id of ``Type:key`` (for ids a client might make up)."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def refused(body: dict[str, Any], reason: str, language: str) -> None:
    """``body`` is a BAD_USER_INPUT refusal ``reason`` in ``language``, with no data."""
    assert body.get("data") is None, body
    assert codes(body) == ["BAD_USER_INPUT"], body
    error = body["errors"][0]
    assert error["extensions"].get("reason") == reason, body
    assert error["message"] == REFUSALS[reason][language], body


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]


async def device_table(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """Every device row, as it is stored."""
    return await rows(engine, "SELECT * FROM notify.device ORDER BY id")


async def dispatch(engine: AsyncEngine) -> Expanded:
    """Expand every pending event (a burst of service payments waits for nothing)."""
    async with engine.begin() as conn:
        return await expand(conn, NotifySettings(digest_window_seconds=0))


async def new_person(committed: AsyncSession, **overrides: Any) -> Person:
    person = await create_person(committed, phone=new_phone(), **overrides)
    await committed.commit()
    return person


@dataclass(frozen=True)
class Fund:
    """An integrator holding contributions:write: sends contributions the way the Fund's
    ETL does."""

    client: httpx.AsyncClient
    token: str

    async def pays(self, *payments: tuple[Person, str]) -> None:
        """One batch: a 4,250 KZT self-payment per (person, period)."""
        records = [{"recordId": f"C-{uuid.uuid4().hex[:16]}", "iin": person.iin,
                    "kind": "self_payment", "period": period, "amount": "4250.00",
                    "paidOn": "2026-11-10", "paymentCode": 122}
                   for person, period in payments]
        answer = data(await graphql(self.client, SUBMIT, {"records": records},
                                    token=self.token))["submitContributions"]
        assert (answer["accepted"], answer["rejected"]) == (len(records), 0), answer


async def make_fund(client: httpx.AsyncClient, auth_service: AuthService) -> Fund:
    """A new integrator client of the Fund, with a token."""
    made = await auth_service.clients.create(
        f"Fund ETL {secrets.token_hex(4)}", "НАО «ФСМС»", [Scope.CONTRIBUTIONS_WRITE])
    granted = await auth_service.clients.token(made.info.id, made.secret, None)
    return Fund(client, granted.access_token)


@pytest.fixture
async def fund(client: httpx.AsyncClient, auth_service: AuthService) -> Fund:
    return await make_fund(client, auth_service)


@pytest.fixture
def phone(app: FastAPI, client: httpx.AsyncClient, auth_settings: AuthSettings) -> Phone:
    """Signing in the real way (a code by SMS), for tokens that carry a session."""
    return Phone(app, client, DevSmsSink(auth_settings.dev_sms_file))


async def register(client: httpx.AsyncClient, token: str, device: dict[str, Any]
                   ) -> dict[str, Any]:
    result: dict[str, Any] = data(await graphql(client, REGISTER, {"device": device},
                                                token=token))["registerPushDevice"]
    return result


async def push_devices(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = data(await graphql(client, DEVICES, token=token))["me"][
        "pushDevices"]
    return found


async def inbox(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    me: dict[str, Any] = data(await graphql(client, INBOX, variables, token=token,
                                            headers={"Accept-Language": "en"}))["me"]
    return me


def nodes(me: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in me["notifications"]["edges"]]


# --- push devices ----------------------------------------------------------------------------


class TestRegister:
    async def test_registering_returns_the_device_and_again_refreshes_it(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine
    ) -> None:
        person = await new_person(committed)
        token = token_for(auth_service, person)
        fcm = fcm_token()
        first = await register(client, token, phone_device(fcm, timeZone="Asia/Aqtobe"))
        assert {k: first[k] for k in ("platform", "appVersion", "language", "timeZone",
                                      "pushOn", "pushOffReason")} == {
            "platform": "ANDROID", "appVersion": "1.4.2", "language": "ru",
            "timeZone": "Asia/Aqtobe", "pushOn": True, "pushOffReason": None}

        again = await register(client, token, phone_device(fcm, appVersion="1.5.0",
                                                           language="kk"))
        assert again["id"] == first["id"]
        assert datetime.fromisoformat(again["lastSeenAt"]) > datetime.fromisoformat(
            first["lastSeenAt"])
        assert again["registeredAt"] == first["registeredAt"]
        assert (again["appVersion"], again["language"], again["timeZone"]) == (
            "1.5.0", "kk", "Asia/Almaty")
        listed = await push_devices(client, token)
        assert [(d["id"], d["pushOn"], d["appVersion"]) for d in listed] == [
            (first["id"], True, "1.5.0")]
        assert len(await device_table(engine)) == 1

    async def test_a_token_registered_by_someone_else_moves_and_cancels_waiting_pushes(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        seller = await new_person(committed)
        buyer = await new_person(committed)
        fcm = fcm_token()
        sold = await register(client, token_for(auth_service, seller), phone_device(fcm))
        await fund.pays((seller, "2026-10"))
        assert (await dispatch(engine)).deliveries == 1
        pending = "SELECT count(*) FROM notify.delivery WHERE device_id = :d AND state = 'pending'"
        assert await rows(engine, pending, d=key_of(sold["id"])) == [(1,)]

        bought = await register(client, token_for(auth_service, buyer), phone_device(fcm))
        assert bought["pushOn"] is True
        observed = {
            "buyer's phones": [(d["id"], d["pushOn"]) for d in await push_devices(
                client, token_for(auth_service, buyer))],
            # The seller still sees the phone, and why it gets nothing any more.
            "seller's phones": [(d["id"], d["pushOn"], d["pushOffReason"]) for d in
                                await push_devices(client, token_for(auth_service, seller))],
            # The seller's money news never reaches the buyer's hands.
            "seller's pushes waiting for the buyer's phone": await rows(
                engine, "SELECT count(*) FROM notify.delivery d JOIN notify.device v"
                " ON v.id = d.device_id WHERE d.person_id = :seller AND v.person_id = :buyer"
                " AND d.state = 'pending'", seller=seller.id, buyer=buyer.id),
            "pending on the seller's device row": await rows(engine, pending,
                                                              d=key_of(sold["id"])),
        }
        assert observed == {
            "buyer's phones": [(bought["id"], True)],
            "seller's phones": [(sold["id"], False, "MOVED")],
            "seller's pushes waiting for the buyer's phone": [(0,)],
            "pending on the seller's device row": [(0,)],
        }
        assert bought["id"] != sold["id"]

    @pytest.mark.parametrize(("field", "value", "reason"), [
        ("token", "abc def", "TOKEN_INVALID"),
        ("token", "", "TOKEN_INVALID"),
        ("timeZone", "Mars/Base", "TIME_ZONE_UNKNOWN"),
        ("language", "de", "LANGUAGE_UNKNOWN"),
        ("appVersion", "1.4 beta", "APP_VERSION_INVALID"),
        ("tokenKind", "apns", "TOKEN_INVALID"),
    ])
    async def test_bad_input_is_refused_in_the_readers_language_and_changes_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, field: str, value: str, reason: str
    ) -> None:
        person = await new_person(committed, language="ru")
        token = token_for(auth_service, person)
        fcm = fcm_token()
        await register(client, token, phone_device(fcm))
        before = await device_table(engine)
        body = await graphql(client, REGISTER, {"device": {**phone_device(fcm), field: value}},
                             token=token, headers=RU)
        refused(body, reason, "ru")
        assert await device_table(engine) == before

class TestRefusalLanguage:
    @pytest.mark.parametrize(("query", "variables", "reason"), [
        (REGISTER, {"device": phone_device("abc def")}, "TOKEN_INVALID"),
        (SET_PREFERENCE, {"category": "CRITICAL", "channel": "PUSH", "enabled": False},
         "CATEGORY_NOT_MUTABLE"),
        (SET_QUIET_HOURS, {"quietHours": {"starts": "22:00:00", "ends": "08:00:00",
                                          "timeZone": "Mars/Base"}}, "TIME_ZONE_UNKNOWN"),
    ], ids=["registerPushDevice", "setNotificationPreference", "setQuietHours"])
    async def test_the_persons_own_language_wins_over_the_header(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        query: str, variables: dict[str, Any], reason: str
    ) -> None:
        person = await new_person(committed, language="ru")
        body = await graphql(client, query, variables, token=token_for(auth_service, person),
                             headers={"Accept-Language": "en"})
        # The person reads Russian (their own setting); the phone's header says English.
        refused(body, reason, "ru")


class TestDeviceList:
    async def test_the_token_is_never_shown(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await new_person(committed)
        token = token_for(auth_service, person)
        fcm = fcm_token()
        registered = await client.post("/graphql", json={
            "query": REGISTER, "variables": {"device": phone_device(fcm)}},
            headers={"Authorization": f"Bearer {token}"})
        listed = await client.post("/graphql", json={"query": DEVICES},
                                   headers={"Authorization": f"Bearer {token}"})
        assert "pushDevices" in listed.text and "registerPushDevice" in registered.text
        for response in (registered, listed):
            assert fcm not in response.text
            assert fcm.split(":")[1] not in response.text

    async def test_a_phone_not_seen_for_31_days_gets_no_pushes(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        person = await new_person(committed)
        token = token_for(auth_service, person)
        old = await register(client, token, phone_device(fcm_token()))
        fresh = await register(client, token, phone_device(fcm_token(), platform="IOS"))
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE notify.device SET last_seen_at = now()"
                                    " - interval '31 days' WHERE id = :id"),
                               {"id": key_of(old["id"])})
        listed = {d["id"]: (d["pushOn"], d["pushOffReason"])
                  for d in await push_devices(client, token)}
        assert listed == {old["id"]: (False, "NOT_SEEN_RECENTLY"), fresh["id"]: (True, None)}
        await fund.pays((person, "2026-10"))
        await dispatch(engine)
        assert await rows(engine, "SELECT device_id FROM notify.delivery") == [
            (key_of(fresh["id"]),)]


class TestUnregister:
    async def test_own_device_stops_and_another_persons_is_not_found(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine
    ) -> None:
        mine, theirs = await new_person(committed), await new_person(committed)
        my_token = token_for(auth_service, mine)
        my_phone = await register(client, my_token, phone_device(fcm_token()))
        their_phone = await register(client, token_for(auth_service, theirs),
                                     phone_device(fcm_token()))

        assert data(await graphql(client, UNREGISTER, {"id": my_phone["id"]},
                                  token=my_token)) == {"unregisterPushDevice": True}
        assert [(d["pushOn"], d["pushOffReason"]) for d in await push_devices(
            client, my_token)] == [(False, "UNREGISTERED_BY_USER")]

        before = await rows(engine, "SELECT * FROM notify.device WHERE id = :id",
                            id=key_of(their_phone["id"]))
        body = await graphql(client, UNREGISTER, {"id": their_phone["id"]}, token=my_token,
                             headers=RU)
        refused(body, "DEVICE_NOT_FOUND", "ru")
        assert await rows(engine, "SELECT * FROM notify.device WHERE id = :id",
                          id=key_of(their_phone["id"])) == before
        assert [d["pushOn"] for d in await push_devices(
            client, token_for(auth_service, theirs))] == [True]


class TestSignOut:
    async def test_sign_out_retires_this_sessions_phone_and_everywhere_retires_all(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        phone: Phone
    ) -> None:
        person = await new_person(committed)
        leaving = await phone.sign_in(person, "iPhone 13", "ios")
        staying = await phone.sign_in(person, "Galaxy Tab A8", "android")
        left = await register(client, leaving["accessToken"], phone_device(fcm_token(),
                                                                          platform="IOS"))
        kept = await register(client, staying["accessToken"], phone_device(fcm_token()))
        viewer = token_for(auth_service, person)
        sessionless = await register(client, viewer, phone_device(fcm_token(), platform="WEB"))

        data(await graphql(client, SIGN_OUT, token=leaving["accessToken"]))
        states = {d["id"]: (d["pushOn"], d["pushOffReason"])
                  for d in await push_devices(client, viewer)}
        assert states == {left["id"]: (False, "SIGNED_OUT"), kept["id"]: (True, None),
                          sessionless["id"]: (True, None)}

        data(await graphql(client, SIGN_OUT_EVERYWHERE, token=staying["accessToken"]))
        assert {(d["pushOn"], d["pushOffReason"]) for d in await push_devices(
            client, viewer)} == {(False, "SIGNED_OUT")}


# --- the inbox -------------------------------------------------------------------------------


async def three_for_one_and_one_for_another(fund: Fund, engine: AsyncEngine, person: Person,
                                            other: Person) -> None:
    """Three batches pay for ``person`` (October, then September, then August: the newest
    item is August's) and one for ``other``; the events are expanded."""
    await fund.pays((person, "2026-10"), (other, "2026-10"))
    await fund.pays((person, "2026-09"))
    await fund.pays((person, "2026-08"))
    assert await rows(engine, "SELECT kind FROM notify.outbox WHERE person_id = :p",
                      p=person.id) == [("contribution.received",)] * 3
    assert (await dispatch(engine)).inbox_items == 4


class TestInbox:
    async def test_money_news_reads_in_the_persons_language_and_opens_the_receipt(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        person = await new_person(committed, language="ru")
        token = token_for(auth_service, person)
        home = operation("HomeScreen")
        assert data(await graphql(client, home, token=token))["me"]["unreadNotifications"] == 0
        await fund.pays((person, "2026-10"))
        await dispatch(engine)

        me = await inbox(client, token)  # asks in English; the person reads Russian
        assert me["unreadNotifications"] == 1
        [item] = nodes(me)
        [(payload,)] = await rows(engine, "SELECT payload FROM notify.outbox")
        expected = render("contribution.received", payload, "ru")
        assert (item["kind"], item["category"], item["title"], item["body"]) == (
            "contribution.received", "PAYMENTS", expected.title, expected.body)
        assert "октябрь 2026" in item["title"]
        assert format_amount(425_000, "ru") in item["body"]
        assert (item["read"], item["readAt"]) == (False, None)
        [receipt] = [edge["node"]["id"] for edge in data(await graphql(
            client, RECEIPT_IDS, token=token))["me"]["contributions"]["edges"]]
        assert item["contributions"] == [{"id": receipt, "period": "2026-10",
                                          "amount": {"amount": "4250.00", "currency": "KZT"}}]
        assert item["link"].startswith("mhi://contributions")
        assert receipt.rstrip("=") in item["link"]

        assert data(await graphql(client, home, token=token))["me"]["unreadNotifications"] == 1

    async def test_pages_walk_every_item_once_newest_first(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        person, other = await new_person(committed, language="en"), await new_person(committed)
        await three_for_one_and_one_for_another(fund, engine, person, other)
        token = token_for(auth_service, person)

        whole = nodes(await inbox(client, token, first=10))
        assert [item["title"] for item in whole] == [
            "Insurance paid for August 2026", "Insurance paid for September 2026",
            "Insurance paid for October 2026"]
        seen: list[str] = []
        after = None
        pages = []
        while True:
            page = (await inbox(client, token, first=2, after=after))["notifications"]
            pages.append(len(page["edges"]))
            seen += [edge["node"]["id"] for edge in page["edges"]]
            assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert pages == [2, 1]
        assert seen == [item["id"] for item in whole]

    async def test_marking_read_counts_and_touches_only_ones_own(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        person, other = await new_person(committed), await new_person(committed)
        await three_for_one_and_one_for_another(fund, engine, person, other)
        token, other_token = token_for(auth_service, person), token_for(auth_service, other)
        august, september, october = (item["id"] for item in nodes(await inbox(client, token)))
        [theirs] = (item["id"] for item in nodes(await inbox(client, other_token)))

        marked = data(await graphql(client, MARK, {"ids": [september]}, token=token))
        assert marked["markNotificationsRead"] == {"marked": 1, "unreadCount": 2}
        assert [(item["id"], item["read"]) for item in nodes(await inbox(client, token))] == [
            (august, False), (september, True), (october, False)]
        unread = nodes(await inbox(client, token, unreadOnly=True))
        assert [item["id"] for item in unread] == [august, october]

        marked = data(await graphql(client, MARK, {"ids": [theirs]}, token=token))
        assert marked["markNotificationsRead"] == {"marked": 0, "unreadCount": 2}
        assert (await inbox(client, other_token))["unreadNotifications"] == 1

        # What the person had seen: up to October's item; August's arrived after.
        marked = data(await graphql(client, MARK_ALL, {"upTo": october}, token=token))
        assert marked["markAllNotificationsRead"] == {"marked": 1, "unreadCount": 1}
        assert [item["id"] for item in nodes(await inbox(client, token, unreadOnly=True))] == [
            august]
        marked = data(await graphql(client, MARK_ALL, token=token))
        assert marked["markAllNotificationsRead"] == {"marked": 1, "unreadCount": 0}
        assert (await inbox(client, other_token))["unreadNotifications"] == 1

    @pytest.mark.parametrize(("mutation", "variables"), [
        (MARK, {"ids": ["not a global id"]}),
        (MARK, {"ids": [node_id("PushDevice", 1)]}),
        (MARK, {"ids": [node_id("Notification", "one")]}),
        (MARK_ALL, {"upTo": "%%%"}),
    ])
    async def test_a_malformed_id_is_bad_input_and_marks_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund, mutation: str, variables: dict[str, Any]
    ) -> None:
        person = await new_person(committed)
        await fund.pays((person, "2026-10"))
        await dispatch(engine)
        token = token_for(auth_service, person)
        body = await graphql(client, mutation, variables, token=token)
        assert body.get("data") is None
        assert codes(body) == ["BAD_USER_INPUT"]
        assert (await inbox(client, token))["unreadNotifications"] == 1

    async def test_node_finds_ones_own_notification_only(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        person, other = await new_person(committed), await new_person(committed)
        await fund.pays((person, "2026-10"), (other, "2026-10"))
        await dispatch(engine)
        token = token_for(auth_service, person)
        [mine] = nodes(await inbox(client, token))
        [theirs] = nodes(await inbox(client, token_for(auth_service, other)))
        found = data(await graphql(client, NODE, {"id": mine["id"]}, token=token))["node"]
        assert found == {"id": mine["id"], "kind": "contribution.received",
                         "title": mine["title"]}
        body = await graphql(client, NODE, {"id": theirs["id"]}, token=token)
        assert body.get("data") is None
        assert codes(body) == ["NOT_FOUND"]
        assert theirs["title"] not in str(body)


# --- who may ---------------------------------------------------------------------------------

OPERATIONS = [
    pytest.param("{ me { unreadNotifications } }", {}, id="unreadNotifications"),
    pytest.param("{ me { notifications { edges { node { id } } } } }", {}, id="notifications"),
    pytest.param("{ me { pushDevices { id } } }", {}, id="pushDevices"),
    pytest.param("{ me { notificationPreferences { switches { enabled } } } }", {},
                 id="notificationPreferences"),
    pytest.param(NODE, {"id": node_id("Notification", 1)}, id="node"),
    pytest.param(REGISTER, {"device": phone_device("fcm-token-of-nobody")},
                 id="registerPushDevice"),
    pytest.param(UNREGISTER, {"id": node_id("PushDevice", 1)}, id="unregisterPushDevice"),
    pytest.param(SET_PREFERENCE, {"category": "PAYMENTS", "channel": "PUSH", "enabled": False},
                 id="setNotificationPreference"),
    pytest.param(SET_QUIET_HOURS, {"quietHours": {"starts": "22:00:00", "ends": "08:00:00"}},
                 id="setQuietHours"),
    pytest.param(MARK, {"ids": [node_id("Notification", 1)]}, id="markNotificationsRead"),
    pytest.param(MARK_ALL, {}, id="markAllNotificationsRead"),
]


@pytest.mark.parametrize(("query", "variables"), OPERATIONS)
@pytest.mark.parametrize(("principal", "code"), [
    ("anonymous", "UNAUTHENTICATED"), ("desk", "FORBIDDEN"), ("integrator", "FORBIDDEN")])
async def test_only_the_citizen_may(
    client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
    engine: AsyncEngine, fund: Fund, query: str, variables: dict[str, Any], principal: str,
    code: str
) -> None:
    tokens = {"anonymous": None, "integrator": fund.token,
              "desk": auth_service.mint(str(uuid.uuid4()), Audience.DESK,
                                        {"org": str(uuid.uuid4())})}
    body = await graphql(client, query, variables, token=tokens[principal])
    assert body.get("data") is None, body
    assert codes(body) == [code]
    for table in ("device", "preference", "quiet_hours"):
        assert await rows(engine, f"SELECT * FROM notify.{table}") == []
