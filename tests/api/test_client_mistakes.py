"""Every mistake a GraphQL client can make is a typed ``BAD_USER_INPUT`` in the reader's
language, never ``INTERNAL``, and never a log line that quotes what the client sent.

Each class is one kind of mistake: a variable that does not fit its type, a number out of
range, a forged cursor or global id, an unknown time zone.  Strings (NUL, lone surrogates,
lengths) are in ``test_string_limits``.  Requests go over real HTTP; bodies are written with
``json.dumps`` (ASCII escapes), as a client would, so that a lone surrogate can be sent.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.service import AuthService
from backend.gql.errors import INTERNAL_MESSAGE, ErrorCodes
from backend.gql.schema import QuietSchema
from backend.inbox.texts import REFUSALS
from backend.messages import message
from tests.api.test_no_personal_data_in_logs import (  # noqa: F401 (a fixture)
    every_logger_propagates,
    logged_text,
)
from tests.api.test_notifications_api import new_person, token_for

LANGUAGES = ("kk", "ru", "en")


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               *, language: str = "en", token: str | None = None) -> dict[str, Any]:
    """POST /graphql as a client would; GraphQL errors come back with HTTP 200."""
    headers = {"content-type": "application/json", "accept-language": language}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    response = await client.post("/graphql", content=json.dumps(payload), headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any], texts: Mapping[str, str], language: str,
            field: str | None = None) -> dict[str, Any]:
    """``body`` is one BAD_USER_INPUT with ``texts`` in ``language`` (and ``field``)."""
    assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert error["message"] == texts[language], body
    if field is not None:
        assert error["extensions"]["field"] == field, body
    return dict(error)


def quiet(caplog: pytest.LogCaptureFixture, *values: str) -> None:
    """Nothing was logged at WARNING or above, and no record quotes any of ``values``."""
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    for line in logged_text(caplog.records):
        for value in values:
            assert value not in line, line


HELP = "query Help($slug: String!) { helpArticle(slug: $slug) { id } }"
PAGE = "query Page($first: Int) { helpArticles(first: $first) { edges { cursor } } }"
LANGUAGE = ("query Lang($language: LanguageCode) { helpArticles(language: $language) "
            "{ edges { cursor } } }")
QUIET = ("mutation Quiet($q: QuietHoursInput) { setQuietHours(quietHours: $q) "
         "{ quietHours { starts } } }")

COERCION = [
    pytest.param(HELP, {}, "$slug", "variable_missing", "String!", id="missing required"),
    pytest.param(HELP, {"slug": None}, "$slug", "variable_missing", "String!",
                 id="null for non-null"),
    pytest.param(PAGE, {"first": "twenty-7731"}, "$first", "variable_invalid", "Int",
                 id="wrong type"),
    pytest.param(LANGUAGE, {"language": "DE_7731"}, "$language", "variable_invalid",
                 "LanguageCode", id="unknown enum value"),
    pytest.param(PAGE, {"first": 2**40}, "$first", "variable_invalid", "Int",
                 id="Int beyond 32 bits"),
    pytest.param(QUIET, {"q": {"starts": "25:00:00", "ends": "08:00:00"}}, "$q.starts",
                 "variable_invalid", "Time!", id="Time of 25:00:00"),
    pytest.param(QUIET, {"q": {"starts": "22:00:00"}}, "$q", "variable_invalid",
                 "QuietHoursInput", id="input without a required field"),
    pytest.param(QUIET, {"q": "22:00-7731"}, "$q", "variable_invalid", "QuietHoursInput",
                 id="scalar for an input object"),
]


class TestVariableCoercion:
    @pytest.mark.parametrize(("query", "variables", "field", "key", "type_"), COERCION)
    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.usefixtures("every_logger_propagates")
    async def test_a_variable_that_does_not_fit_is_bad_user_input(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture,
        query: str, variables: dict[str, Any], field: str, key: str, type_: str, language: str,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        body = await post(client, query, variables, language=language)
        refused(body, message(key, field=field, type=type_), language, field)
        quiet(caplog, "7731", "25:00", str(2**40))

    @pytest.mark.usefixtures("every_logger_propagates")
    async def test_a_wrong_typed_iin_is_neither_answered_nor_logged(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        body = await post(client, """
            mutation Code($iin: String!, $phone: String!) {
              requestSignInCode(iin: $iin, phone: $phone) { challengeId }
            }""", {"iin": 790303402568, "phone": 77011234567})
        assert [e["extensions"] for e in body["errors"]] == [
            {"code": "BAD_USER_INPUT", "field": "$iin"},
            {"code": "BAD_USER_INPUT", "field": "$phone"}]
        assert "790303402568" not in json.dumps(body)
        assert "7011234567" not in json.dumps(body)
        quiet(caplog, "790303402568", "7011234567")

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.usefixtures("every_logger_propagates")
    async def test_null_where_validation_allows_it_but_the_argument_is_non_null(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, language: str,
    ) -> None:
        """A variable with a default may stand in a non-null argument; an explicit null for
        it is refused only while executing (found by ``make fuzz``)."""
        caplog.set_level(logging.DEBUG)
        body = await post(client, 'query Help($s: String = "x") { helpArticle(slug: $s) '
                                  '{ id } }', {"s": None}, language=language)
        refused(body, message("variable_missing", field="$s", type="String!"), language, "$s")
        quiet(caplog)

    async def test_the_same_mistake_written_inline_stays_typed(
        self, client: httpx.AsyncClient) -> None:
        body = await post(client, "{ helpArticles(first: 99999999999) { edges { cursor } } }")
        assert [e["extensions"]["code"] for e in body["errors"]] == [
            "GRAPHQL_VALIDATION_FAILED"]


@strawberry.type
class Faulty:
    @strawberry.field
    def echo(self, count: int) -> int:
        raise RuntimeError(f"a genuine fault with {count}")


FAULTY = QuietSchema(query=Faulty, extensions=[ErrorCodes])


class TestServerFaultsStayInternal:
    async def test_a_raise_inside_a_resolver_is_masked_and_logged(
        self, caplog: pytest.LogCaptureFixture) -> None:
        result = await FAULTY.execute("query($n: Int!) { echo(count: $n) }",
                                      variable_values={"n": 7})
        assert result.errors is not None
        assert result.errors[0].formatted["extensions"] == {"code": "INTERNAL"}
        assert result.errors[0].message == INTERNAL_MESSAGE
        assert "unexpected error in echo" in caplog.text

    async def test_a_variable_of_the_wrong_type_there_is_not(
        self, caplog: pytest.LogCaptureFixture) -> None:
        result = await FAULTY.execute("query($n: Int!) { echo(count: $n) }",
                                      variable_values={"n": "seven"})
        assert result.errors is not None
        assert result.errors[0].formatted["extensions"] == {"code": "BAD_USER_INPUT",
                                                            "field": "$n"}
        assert caplog.records == []


def cursor(*parts: str) -> str:
    """A cursor as we write them (base64url of a JSON array), from raw JSON texts."""
    raw = "[" + ",".join(parts) + "]"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def node_id(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


FORGED_PARTS = [
    pytest.param("Infinity", id="Infinity"), pytest.param("NaN", id="NaN"),
    pytest.param("1e300", id="a float"), pytest.param(str(2**63), id="beyond int64"),
    pytest.param('"\\u00b2"', id="a superscript digit"), pytest.param('"12"', id="a string"),
    pytest.param("true", id="a boolean"),
]


@pytest.fixture
async def citizen(auth_service: AuthService, committed: AsyncSession) -> str:
    """A citizen's access token (reading English: the language of their errors whether or
    not the API has read their setting yet)."""
    return token_for(auth_service, await new_person(committed, language="en"))


class TestForgedCursors:
    @pytest.mark.parametrize("part", FORGED_PARTS)
    async def test_a_cursor_of_a_dated_list(self, client: httpx.AsyncClient, citizen: str,
                                            part: str) -> None:
        for kind, field in (("contribution", "contributions"),
                            ("covered_service", "coveredServices"), ("access", "accessLog")):
            body = await post(client, f"query($a: String) {{ me {{ {field}(after: $a) "
                                      f"{{ edges {{ cursor }} }} }} }}",
                              {"a": cursor(f'"{kind}"', '"2026-01-01"', part)}, token=citizen)
            refused(body, message("bad_cursor"), "en")

    @pytest.mark.parametrize("part", FORGED_PARTS)
    async def test_a_cursor_of_the_inbox_and_of_help(self, client: httpx.AsyncClient,
                                                     citizen: str, part: str) -> None:
        body = await post(client, "query($a: String) { me { notifications(after: $a) "
                                  "{ edges { cursor } } } }",
                          {"a": cursor('"notification"', part)}, token=citizen)
        refused(body, message("bad_cursor"), "en")
        body = await post(client, "query($a: String) { helpArticles(after: $a) "
                                  "{ edges { cursor } } }",
                          {"a": cursor('"help"', part, '"a"')}, language="kk")
        refused(body, message("bad_cursor"), "kk")

    async def test_an_over_long_cursor(self, client: httpx.AsyncClient) -> None:
        body = await post(client, "query($a: String) { helpArticles(after: $a) "
                                  "{ edges { cursor } } }", {"a": "W" * 10_000})
        refused(body, message("bad_cursor"), "en")


class TestForgedGlobalIds:
    @pytest.mark.parametrize("raw", ["Notification:\u00b2", "Contribution:" + "9" * 20,
                                     "CoveredService:" + str(2**63), "Notification:1\u0000",
                                     ":1", "Notification:", "No tification:1"])
    async def test_a_forged_id_is_not_an_id(self, client: httpx.AsyncClient, citizen: str,
                                            raw: str) -> None:
        body = await post(client, "query($id: ID!) { node(id: $id) { id } }",
                          {"id": node_id(raw)}, token=citizen)
        refused(body, message("invalid_id"), "en")
        body = await post(client, "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) "
                                  "{ marked } }", {"ids": [node_id(raw)]}, token=citizen)
        refused(body, message("invalid_id"), "en")
        body = await post(client, "mutation($id: ID!) { unregisterPushDevice(id: $id) }",
                          {"id": node_id(raw.replace("Notification", "PushDevice"))},
                          token=citizen)
        refused(body, message("invalid_id"), "en")


class TestYears:
    @pytest.mark.parametrize("year", [0, -5, 9999, 10_000, 2**31 - 1])
    async def test_a_year_outside_the_calendar(self, client: httpx.AsyncClient, citizen: str,
                                               year: int) -> None:
        for field in ("contributions", "coveredServices"):
            body = await post(client, f"query($y: Int) {{ me {{ {field}(year: $y) "
                                      f"{{ edges {{ cursor }} }} }} }}", {"y": year},
                              token=citizen)
            refused(body, message("range", name="year", low=1, high=9998), "en")

    async def test_the_last_year_that_has_a_next_one_is_fine(
        self, client: httpx.AsyncClient, citizen: str) -> None:
        body = await post(client, "{ me { contributions(year: 9998) { edges { cursor } } } }",
                          token=citizen)
        assert body["data"]["me"]["contributions"]["edges"] == []


class TestTimeZones:
    @pytest.mark.parametrize("zone", ["Asia", "Europe", "Asia/Nowhere", "../etc/passwd"])
    async def test_quiet_hours_in_a_zone_that_is_not_one(
        self, client: httpx.AsyncClient, citizen: str, zone: str) -> None:
        body = await post(client, QUIET, {"q": {"starts": "22:00:00", "ends": "08:00:00",
                                                "timeZone": zone}}, token=citizen)
        error = refused(body, REFUSALS["TIME_ZONE_UNKNOWN"], "en")
        assert error["extensions"]["reason"] == "TIME_ZONE_UNKNOWN"

    async def test_a_phone_in_a_zone_that_is_not_one(self, client: httpx.AsyncClient,
                                                     citizen: str) -> None:
        body = await post(client, """
            mutation($d: PushDeviceInput!) { registerPushDevice(device: $d) { id } }""",
                          {"d": {"token": "fcm-abc:APA91b" + "x" * 40, "platform": "ANDROID",
                                 "appVersion": "1.4.2", "language": "ru",
                                 "timeZone": "Asia"}}, token=citizen)
        refused(body, REFUSALS["TIME_ZONE_UNKNOWN"], "en")

    async def test_a_zone_of_300_characters(self, client: httpx.AsyncClient,
                                            citizen: str) -> None:
        body = await post(client, QUIET, {"q": {"starts": "22:00:00", "ends": "08:00:00",
                                                "timeZone": "Asia/" + "x" * 295}},
                          token=citizen)
        refused(body, message("text_too_long", field="quietHours.timeZone", max=64), "en",
                "quietHours.timeZone")
