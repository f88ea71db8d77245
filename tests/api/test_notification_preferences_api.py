"""Notification preferences over HTTP: switches per category and channel, quiet hours, and
what a switched-off category means for the inbox and for pushes (critical warnings always
come through)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from tests.api.gql import data, graphql
from tests.api.test_notifications_api import (
    RU,
    SET_PREFERENCE,
    SET_QUIET_HOURS,
    STATUS_LOSS,
    Fund,
    dispatch,
    fcm_token,
    inbox,
    make_fund,
    new_person,
    nodes,
    phone_device,
    refused,
    register,
    rows,
    token_for,
)

PREFERENCES = """
{ me { notificationPreferences {
  switches { category channel enabled mutable }
  quietHours { starts ends timeZone }
} } }"""
CATEGORIES = ("PAYMENTS", "SERVICE_PAYMENTS", "STATUS", "REMINDERS", "ANNOUNCEMENTS", "CRITICAL")
CHANNELS = ("PUSH", "INBOX")

@pytest.fixture
async def fund(client: httpx.AsyncClient, auth_service: AuthService) -> Fund:
    return await make_fund(client, auth_service)


Switches = dict[tuple[str, str], tuple[bool, bool]]


def switches(preferences: dict[str, Any]) -> Switches:
    """(category, channel) -> (enabled, mutable); every pair at most once."""
    found = {(s["category"], s["channel"]): (s["enabled"], s["mutable"])
             for s in preferences["switches"]}
    assert len(found) == len(preferences["switches"])
    return found


def defaults() -> Switches:
    return {(category, channel): (True, category != "CRITICAL")
            for category in CATEGORIES for channel in CHANNELS}


async def preferences(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    found: dict[str, Any] = data(await graphql(client, PREFERENCES, token=token))["me"][
        "notificationPreferences"]
    return found


async def switch(client: httpx.AsyncClient, token: str, category: str, channel: str,
                 enabled: bool) -> dict[str, Any]:
    found: dict[str, Any] = data(await graphql(client, SET_PREFERENCE, {
        "category": category, "channel": channel, "enabled": enabled}, token=token))[
        "setNotificationPreference"]
    return found


async def stored_preferences(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    return await rows(engine, "SELECT person_id, category, channel, enabled"
                              " FROM notify.preference ORDER BY category, channel")


class TestSwitches:
    async def test_everything_is_on_until_switched_off(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await new_person(committed)
        found = await preferences(client, token_for(auth_service, person))
        assert len(found["switches"]) == 12
        assert switches(found) == defaults()
        assert found["quietHours"] is None

    async def test_switching_payments_push_off_and_on_again(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person, other = await new_person(committed), await new_person(committed)
        token = token_for(auth_service, person)
        expected = defaults()
        expected["PAYMENTS", "PUSH"] = (False, True)
        assert switches(await switch(client, token, "PAYMENTS", "PUSH", False)) == expected
        assert switches(await preferences(client, token)) == expected
        assert switches(await preferences(client, token_for(auth_service, other))) == defaults()

        assert switches(await switch(client, token, "PAYMENTS", "PUSH", True)) == defaults()
        assert switches(await preferences(client, token)) == defaults()

    async def test_critical_warnings_cannot_be_switched_off(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine
    ) -> None:
        person = await new_person(committed, language="ru")
        token = token_for(auth_service, person)
        for channel in CHANNELS:
            body = await graphql(client, SET_PREFERENCE, {
                "category": "CRITICAL", "channel": channel, "enabled": False},
                token=token, headers=RU)
            refused(body, "CATEGORY_NOT_MUTABLE", "ru")
        assert await stored_preferences(engine) == []
        assert switches(await preferences(client, token)) == defaults()


class TestQuietHours:
    async def test_set_then_clear(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine
    ) -> None:
        person = await new_person(committed)
        token = token_for(auth_service, person)
        night = {"starts": "22:00:00", "ends": "08:00:00", "timeZone": "Asia/Aqtobe"}
        answer = data(await graphql(client, SET_QUIET_HOURS, {"quietHours": night},
                                    token=token))["setQuietHours"]
        assert answer["quietHours"] == night
        assert (await preferences(client, token))["quietHours"] == night
        evening = {"starts": "20:30:00", "ends": "23:00:00", "timeZone": "Asia/Almaty"}
        answer = data(await graphql(client, SET_QUIET_HOURS, {"quietHours": evening},
                                    token=token))["setQuietHours"]
        assert answer["quietHours"] == evening
        assert len(await rows(engine, "SELECT * FROM notify.quiet_hours")) == 1

        cleared = data(await graphql(client, SET_QUIET_HOURS, {"quietHours": None},
                                     token=token))["setQuietHours"]
        assert cleared["quietHours"] is None
        assert (await preferences(client, token))["quietHours"] is None
        assert await rows(engine, "SELECT * FROM notify.quiet_hours") == []

    @pytest.mark.parametrize("query", [
        "mutation { setQuietHours { quietHours { starts } } }",
        "mutation($q: QuietHoursInput) { setQuietHours(quietHours: $q) { quietHours { starts } } }",
    ], ids=["argument left out", "variable without a value"])
    async def test_hours_left_out_clear_them_like_null(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, query: str
    ) -> None:
        # Found by make fuzz: a left-out argument reached the resolver as a TypeError (INTERNAL).
        person = await new_person(committed)
        token = token_for(auth_service, person)
        night = {"starts": "22:00:00", "ends": "08:00:00", "timeZone": "Asia/Almaty"}
        data(await graphql(client, SET_QUIET_HOURS, {"quietHours": night}, token=token))
        cleared = data(await graphql(client, query, token=token))["setQuietHours"]
        assert cleared["quietHours"] is None
        assert await rows(engine, "SELECT * FROM notify.quiet_hours") == []

    async def test_empty_hours_and_unknown_zones_are_refused_and_change_nothing(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await new_person(committed, language="ru")
        token = token_for(auth_service, person)
        night = {"starts": "22:00:00", "ends": "08:00:00", "timeZone": "Asia/Almaty"}
        data(await graphql(client, SET_QUIET_HOURS, {"quietHours": night}, token=token))

        empty = {"starts": "09:00:00", "ends": "09:00:00", "timeZone": "Asia/Almaty"}
        refused(await graphql(client, SET_QUIET_HOURS, {"quietHours": empty}, token=token,
                              headers=RU), "QUIET_HOURS_EMPTY", "ru")
        mars = {"starts": "23:00:00", "ends": "07:00:00", "timeZone": "Mars/Base"}
        refused(await graphql(client, SET_QUIET_HOURS, {"quietHours": mars}, token=token,
                              headers=RU), "TIME_ZONE_UNKNOWN", "ru")
        assert (await preferences(client, token))["quietHours"] == night


class TestWhatSwitchesDo:
    async def test_muted_payments_and_status_still_let_a_loss_of_insurance_through(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService,
        engine: AsyncEngine, fund: Fund
    ) -> None:
        person = await new_person(committed, language="en")
        token = token_for(auth_service, person)
        await register(client, token, phone_device(fcm_token()))
        for category in ("PAYMENTS", "STATUS"):
            for channel in ("PUSH", "INBOX"):
                await switch(client, token, category, channel, False)

        await fund.pays((person, "2026-10"))
        assert (await dispatch(engine)).events == 1
        me = await inbox(client, token)
        assert (me["unreadNotifications"], nodes(me)) == (0, [])
        assert await rows(engine, "SELECT * FROM notify.delivery") == []

        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO notify.outbox (person_id, kind, payload, dedupe_key)"
                " VALUES (:person, 'status.changed', CAST(:payload AS jsonb), :key)"),
                {"person": person.id, "payload": json.dumps(STATUS_LOSS),
                 "key": f"status.changed:test:{person.id}"})
        await dispatch(engine)
        me = await inbox(client, token)
        assert me["unreadNotifications"] == 1
        [warning] = nodes(me)
        assert (warning["kind"], warning["category"], warning["link"]) == (
            "status.changed", "CRITICAL", "mhi://insurance")
        assert "1 February 2027" in warning["body"]
        assert await rows(engine, "SELECT kind, category, state FROM notify.delivery") == [
            ("status.changed", "critical", "pending")]
