"""Strings clients send: no NUL and no lone surrogate anywhere (variables and literals, every
operation), and every string a mutation takes is at most the length its schema description
states.  Refusals are ``BAD_USER_INPUT`` naming the field, in the reader's language, with
nothing written and nothing logged."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLScalarType,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from backend.gql.schema import build_schema
from backend.gql.strings import MAX_LENGTH
from backend.messages import message
from tests.api.test_announcements_api import NEWS, PUBLISH, integrator, outbox_count
from tests.api.test_client_mistakes import post, quiet, refused
from tests.api.test_no_personal_data_in_logs import every_logger_propagates  # noqa: F401
from tests.factories import create_person

REFRESH = ("mutation Refresh($refreshToken: String!) { refreshSession(refreshToken: "
           "$refreshToken) { session { accessToken } } }")
STAFF = ("mutation Staff($username: String!, $password: String!, $device: DeviceInput) { "
         "staffSignIn(username: $username, password: $password, device: $device) "
         "{ userErrors { code } } }")
SIGN_IN = ("mutation SignIn($challengeId: ID!, $code: String!, $device: DeviceInput) { "
           "signIn(challengeId: $challengeId, code: $code, device: $device) "
           "{ userErrors { code } } }")
TAG = "query Tag($tag: String) { helpArticles(tag: $tag) { edges { cursor } } }"
BAD = [pytest.param("\x00", id="NUL"), pytest.param("\ud800", id="lone high surrogate"),
       pytest.param("\udc00", id="lone low surrogate")]
CHALLENGE = "00000000-0000-4000-8000-000000000000"


def bad(value: str) -> str:
    """A text of the client's own with ``value`` inside it."""
    return f"7731-{value}-7731"


FORBIDDEN_VARIABLES = [
    pytest.param(REFRESH, lambda v: {"refreshToken": v}, "$refreshToken", id="refreshSession"),
    pytest.param(STAFF, lambda v: {"username": v, "password": "x"}, "$username",
                 id="staffSignIn username"),
    pytest.param(STAFF, lambda v: {"username": "desk", "password": v}, "$password",
                 id="staffSignIn password"),
    pytest.param(SIGN_IN, lambda v: {"challengeId": CHALLENGE, "code": "123456",
                                     "device": {"name": v}}, "$device.name",
                 id="a device name"),
    pytest.param(TAG, lambda v: {"tag": v}, "$tag", id="a query's argument"),
]


class TestForbiddenCharacters:
    @pytest.mark.parametrize(("query", "variables", "field"), FORBIDDEN_VARIABLES)
    @pytest.mark.parametrize("value", BAD)
    @pytest.mark.parametrize("language", ["kk", "ru", "en"])
    @pytest.mark.usefixtures("every_logger_propagates")
    async def test_in_a_variable(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, query: str,
        variables: Any, field: str, value: str, language: str,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        body = await post(client, query, variables(bad(value)), language=language)
        refused(body, message("text_forbidden", field=field), language, field)
        quiet(caplog, "7731")

    @pytest.mark.parametrize(("query", "field"), [
        ('mutation { refreshSession(refreshToken: "7731\\u0000") { session { accessToken } } }',
         "refreshToken"),
        ('mutation { staffSignIn(username: "desk", password: "\\u0000", device: '
         '{ name: "7731\\u0000" }) { userErrors { code } } }', "device.name"),
        ('{ helpArticle(slug: "install\\u0000") { id } }', "slug"),
    ])
    async def test_in_a_literal(self, client: httpx.AsyncClient, query: str,
                                field: str) -> None:
        body = await post(client, query, language="ru")
        errors = body["errors"]
        assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
        assert errors[-1]["extensions"]["field"] == field
        assert errors[-1]["message"] == message("text_forbidden", field=field)["ru"]

    async def test_a_key_that_is_not_a_name_is_not_quoted(self, client: httpx.AsyncClient
                                                          ) -> None:
        body = await post(client, SIGN_IN, {"challengeId": CHALLENGE, "code": "1",
                                            "device": {"7731\x00": "x"}})
        refused(body, message("text_forbidden", field="$device"), "en", "$device")


class TestAnnouncementLengths:
    @pytest.mark.parametrize(("part", "language", "length", "limit"), [
        ("title", "kk", 61, 60), ("title", "en", 40_000, 60), ("body", "ru", 241, 240),
        ("body", "en", 40_000, 240)])
    async def test_a_text_longer_than_the_schema_says_is_refused_and_nothing_is_written(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService, part: str, language: str, length: int, limit: int,
    ) -> None:
        await create_person(committed, region_code="KZ-75")
        await committed.commit()
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)
        news: dict[str, Any] = {**NEWS, part: {**NEWS[part], language: "ы" * length}}
        body = await post(client, PUBLISH, {"a": news}, token=token)
        field = f"announcement.{part}.{language}"
        refused(body, message("text_too_long", field=field, max=limit), "en", field)
        assert await outbox_count(engine) == 0

    async def test_exactly_the_stated_length_is_published(
        self, client: httpx.AsyncClient, committed: AsyncSession, engine: AsyncEngine,
        auth_service: AuthService,
    ) -> None:
        await create_person(committed, region_code="KZ-75")
        await committed.commit()
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)
        news = {"title": dict.fromkeys(("kk", "ru", "en"), "ә" * 60),
                "body": dict.fromkeys(("kk", "ru", "en"), "ә" * 240)}
        body = await post(client, PUBLISH, {"a": news}, token=token)
        assert body["data"]["publishAnnouncement"]["recipients"] >= 1, body
        assert await outbox_count(engine) == 1

    async def test_a_lone_surrogate_in_a_title(self, client: httpx.AsyncClient,
                                               auth_service: AuthService,
                                               engine: AsyncEngine) -> None:
        token = await integrator(client, auth_service, Scope.ANNOUNCEMENTS_WRITE)
        news = {**NEWS, "title": {**NEWS["title"], "ru": "Новость \ud83d"}}
        body = await post(client, PUBLISH, {"a": news}, token=token, language="kk")
        refused(body, message("text_forbidden", field="$a.title.ru"), "kk", "$a.title.ru")
        assert await outbox_count(engine) == 0


def _inputs(arguments: dict[str, GraphQLArgument] | dict[str, GraphQLInputField], path: str,
            limit: int | None) -> list[tuple[str, int | None, str]]:
    """(path, limit in force, description) of every String or ID input under ``arguments``."""
    found = []
    for name, argument in arguments.items():
        definition = argument.extensions.get("strawberry-definition")
        own = getattr(definition, "metadata", {}).get(MAX_LENGTH)
        named = get_named_type(argument.type)
        if own is not None:
            assert argument.description is not None
            assert argument.description.endswith(f"At most {own} characters."), (path, name)
        in_force = own if own is not None else limit
        if isinstance(named, GraphQLScalarType) and named.name in {"String", "ID"}:
            found.append((f"{path}.{name}", in_force, argument.description or ""))
        elif isinstance(named, GraphQLInputObjectType):
            found.extend(_inputs(named.fields, f"{path}.{name}", in_force))
    return found


def test_every_string_a_mutation_takes_has_a_stated_length() -> None:
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    found = [entry for name, field in mutation.fields.items()
             for entry in _inputs(field.args, name, None)]
    assert len(found) > 40
    assert [path for path, limit, _ in found if limit is None] == []


def test_the_exported_schema_states_the_limits() -> None:
    from pathlib import Path
    sdl = (Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql").read_text()
    assert re.search(r"A short headline, in each language\. At most 60 characters\.", sdl)
    assert re.search(r"The text, in each language\. At most 240 characters\.", sdl)
