"""The Fund's announcements over HTTP: an integrator with ``announcements:write`` publishes,
each person of the region gets an inbox item in their language, and the pushes are spread at
the announcement's rate."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.tokens import Audience
from notifications import devices
from notifications.devices import Registration
from notifications.expand import expand
from notifications.settings import NotifySettings
from tests.api.gql import data, graphql
from tests.api.test_integrators import access_token, new_client
from tests.factories import create_person

PUBLISH = """
mutation Publish($a: AnnouncementInput!) {
  publishAnnouncement(announcement: $a) { id recipients publishedAt ratePerSecond }
}"""
INBOX = "{ me { unreadNotifications notifications(first: 5) { edges { node { kind category " \
        "title body link } } } } }"
NEWS: dict[str, Any] = {
    "title": {"kk": "Жаңа анықтама", "ru": "Новая справка", "en": "New help article"},
    "body": {"kk": "Қосымшаны орнату туралы оқыңыз.", "ru": "Прочитайте, как установить "
             "приложение.", "en": "Read how to install the app."},
}


def codes_and_reasons(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(code, reason) of each error."""
    return [(e["extensions"]["code"], e["extensions"].get("reason"))
            for e in body.get("errors", [])]


async def expand_all(engine: AsyncEngine) -> None:
    """Turn every pending event into inbox items and deliveries."""
    async with engine.begin() as conn:
        await expand(conn, NotifySettings(), limit=10_000)


async def integrator(client: httpx.AsyncClient, auth_service: AuthService,
                     *scopes: Scope) -> str:
    """A token of a new client holding ``scopes``."""
    return await access_token(client, await new_client(auth_service, *scopes))


async def outbox_count(engine: AsyncEngine) -> int:
    """Announcement events written."""
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT count(*) FROM notify.outbox WHERE kind = 'announcement.published'"))
        ).scalar_one())


class TestPublish:
    async def test_the_region_reads_it_in_their_language_and_pushes_are_paced(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService,
    ) -> None:
        kazakh = await create_person(committed, language="kk", region_code="KZ-75")
        russians = [await create_person(committed, region_code="KZ-75") for _ in range(3)]
        await create_person(committed, region_code="KZ-75", death_date=date(2026, 1, 5))
        elsewhere = await create_person(committed, region_code="KZ-71")
        await committed.commit()
        async with engine.begin() as conn:
            for n, person in enumerate([kazakh, *russians]):
                await devices.register(conn, person.id, Registration(
                    token=f"news-phone-{n}", platform="ios", app_version="1.0",
                    language=person.language, time_zone="Asia/Almaty"))
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)

        body = await graphql(client, PUBLISH, {"a": {**NEWS, "regionCode": "KZ-75",
                                                     "ratePerSecond": 2}}, token=token)

        published = data(body)["publishAnnouncement"]
        assert published["recipients"] == 4  # the living people of the region
        assert published["ratePerSecond"] == 2
        await expand_all(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT d.due_at, (o.payload->>'sendAt')::timestamptz FROM notify.delivery d"
                " JOIN notify.outbox o ON o.id = d.event_id"
                " WHERE d.kind = 'announcement.published' ORDER BY 2"))).all()
        send_at = [row[1] for row in rows]
        assert [(b - send_at[0]).total_seconds() for b in send_at] == [0.0, 0.5, 1.0, 1.5]
        # each push waits for its place in line (the first one: it was due when expanded)
        assert all(due >= at for due, at in rows)
        assert rows[-1][0] == send_at[-1]  # expanded well before its turn: held until then
        reader = auth_service.mint(str(kazakh.id), Audience.MOBILE)
        me = data(await graphql(client, INBOX, token=reader))["me"]
        assert me["unreadNotifications"] == 1
        [edge] = me["notifications"]["edges"]
        assert edge["node"]["title"] == "Жаңа анықтама"
        assert edge["node"]["category"] == "ANNOUNCEMENTS"
        other = auth_service.mint(str(elsewhere.id), Audience.MOBILE)
        assert data(await graphql(client, INBOX, token=other))["me"]["unreadNotifications"] == 0

    async def test_a_help_article_is_linked(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService,
    ) -> None:
        person = await create_person(committed, language="en")
        await committed.commit()
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)
        slug = "install-the-app"
        body = await graphql(client, PUBLISH, {"a": {**NEWS, "helpSlug": slug}}, token=token)
        assert data(body)["publishAnnouncement"]["recipients"] >= 1
        await expand_all(engine)
        reader = auth_service.mint(str(person.id), Audience.MOBILE)
        [edge] = data(await graphql(client, INBOX, token=reader))["me"]["notifications"]["edges"]
        assert edge["node"]["link"] == f"mhi://help/{slug}"
        assert edge["node"]["body"] == "Read how to install the app."


class TestRefusals:
    async def test_every_language_is_needed_and_nothing_is_written(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService,
    ) -> None:
        await create_person(committed)
        await committed.commit()
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)
        partial = {**NEWS, "body": {**NEWS["body"], "kk": "  "}}
        body = await graphql(client, PUBLISH, {"a": partial}, token=token,
                             headers={"Accept-Language": "ru"})
        assert codes_and_reasons(body) == [("BAD_USER_INPUT", "ANNOUNCEMENT_INCOMPLETE")]
        assert "языках" in body["errors"][0]["message"]
        assert await outbox_count(engine) == 0

    async def test_an_unknown_region_an_unknown_article_and_a_silly_rate(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService,
    ) -> None:
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)
        for extra, reason in (({"regionCode": "KZ-99"}, "REGION_UNKNOWN"),
                              ({"helpSlug": "no-such-article"}, None),
                              ({"ratePerSecond": 0}, None)):
            body = await graphql(client, PUBLISH, {"a": {**NEWS, **extra}}, token=token)
            assert codes_and_reasons(body) == [("BAD_USER_INPUT", reason)], extra
        assert await outbox_count(engine) == 0

    async def test_only_integrators_holding_the_scope_may_publish(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService,
    ) -> None:
        person = await create_person(committed)
        await committed.commit()
        without = await integrator(client, auth_service, Scope.CONTRIBUTIONS_WRITE)
        citizen = auth_service.mint(str(person.id), Audience.MOBILE)
        for token in (without, citizen):
            body = await graphql(client, PUBLISH, {"a": NEWS}, token=token)
            assert codes_and_reasons(body)[0][0] == "FORBIDDEN"
        body = await graphql(client, PUBLISH, {"a": NEWS})
        assert codes_and_reasons(body)[0][0] == "UNAUTHENTICATED"
        assert await outbox_count(engine) == 0

