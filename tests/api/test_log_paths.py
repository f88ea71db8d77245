"""Every way an IIN or a phone number can be written reaches no log line, by any of the paths a
line is written on: the redacting formatter itself, the GraphQL error masking, an unhandled
error in the API, uvicorn's access lines (under a real uvicorn), and the worker's logging as
``mhi worker`` configures it."""

from __future__ import annotations

import io
import json
import logging
import re

import httpx
import pytest
import strawberry
import uvicorn
from fastapi import FastAPI

from backend.api.server import uvicorn_options
from backend.gql.errors import ErrorCodes
from backend.logs import redact
from backend.observability.logs import LogSettings, configure_logging
from backend.settings import AppSettings
from tests.servers import serving

IINS = ["790303402568", "790303 402568", "790303-402568", "790-303-402-568",
        "7903 0340 2568", "79 03 03 402568", "790303\u00a0402568", "790.303.402.568"]
PHONES = ["+77011234567", "+7 701 123 45 67", "+7 (701) 123-45-67", "+7(701)1234567",
          "8 (701) 123-45-67", "8-701-123-45-67", "87011234567", "77011234567",
          "7011234567", "701 123 45 67", "701-123-45-67", "(701) 123-45-67", "701 123 4567",
          "7 701 123 45 67"]
VARIANTS = IINS + PHONES
NUMBER_RUN = re.compile(r"\d[\d\s().+\-\u00a0]*\d")


def survivors(text: str) -> list[str]:
    """The variants whose digits still appear in ``text`` (any spacing)."""
    runs = ["".join(filter(str.isdigit, run)) for run in NUMBER_RUN.findall(text)]
    found = []
    for variant in VARIANTS:
        digits = "".join(filter(str.isdigit, variant))
        core = digits if variant in IINS else digits[-10:]
        if variant in text or any(core in run for run in runs):
            found.append(variant)
    return found


def test_the_detector_sees_every_variant() -> None:
    assert survivors(" | ".join(VARIANTS)) == VARIANTS


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_formatter_masks_every_variant(variant: str) -> None:
    line = f"sms to {variant} failed; json {json.dumps({'v': variant})}"
    assert survivors(redact(line)) == []


def test_a_phone_sent_as_a_number_is_masked() -> None:
    for number in (77011234567, 87011234567, 7011234567, 77011234567.0):
        assert survivors(redact(f"variables: {{'phone': {number}}}")) == []


@strawberry.type
class Query:
    @strawberry.field
    def broken(self, value: str) -> str:
        raise RuntimeError(f"constraint failed for {value}")


async def test_the_error_masking_path(log_lines: io.StringIO) -> None:
    schema = strawberry.Schema(query=Query, extensions=[ErrorCodes])
    for variant in VARIANTS:
        result = await schema.execute("query ($v: String!) { broken(value: $v) }",
                                      variable_values={"v": variant})
        assert result.errors and result.errors[0].formatted["extensions"]["code"] == "INTERNAL"
    logged = log_lines.getvalue()
    assert logged.count("unexpected error in broken") == len(VARIANTS)
    assert survivors(logged) == []


async def test_a_real_uvicorn_logs_no_variant(app: FastAPI, log_lines: io.StringIO) -> None:
    """Query strings (access lines) and an unhandled error's traceback, under uvicorn as
    ``mhi serve`` runs it (``log_config=None``: its loggers write through the root's)."""
    @app.get("/test-broken")
    async def broken(value: str) -> None:
        raise RuntimeError(f"could not store {value}")

    options = uvicorn_options(AppSettings(environment="development"))
    async with (serving(uvicorn.Config(app, **options)) as port,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http):
        for variant in VARIANTS:
            failed = await http.get("/test-broken", params={"value": variant})
            assert failed.status_code == 500
            read = await http.get("/graphql", params={
                "query": "query ($p: String) { helpVersion }",
                "variables": json.dumps({"p": variant})})
            assert read.status_code == 200
    logged = log_lines.getvalue()
    assert logged.count("unhandled error answering a GET request") == len(VARIANTS)
    assert '"GET /graphql HTTP/1.1" 200' in logged, "uvicorn's access lines are written"
    assert survivors(logged) == []


def test_the_workers_logging(log_lines: io.StringIO) -> None:
    """``mhi worker`` logs through ``configure_logging``: every root handler redacts."""
    root = logging.getLogger()
    saved = list(root.handlers)
    stream = io.StringIO()
    root.handlers = [logging.StreamHandler(stream)]
    try:
        configure_logging(logging.INFO, LogSettings(_env_file=None, format="text"))
        worker = logging.getLogger("mhi.notify")
        for variant in VARIANTS:
            worker.error("a push could not be built (%s: %s); dead-lettered",
                         "KeyError", f"'phone': {variant}")
            try:
                raise ValueError(f"device of {variant}")
            except ValueError:
                worker.exception("a dispatcher round failed")
    finally:
        root.handlers = saved
    logged = stream.getvalue()
    assert logged.count("a dispatcher round failed") == len(VARIANTS)
    assert survivors(logged) == []


MARKER = "Qz7client"
MISTAKES: list[tuple[str, dict[str, object]]] = [
    ("query ($f: Int) { helpArticles(first: $f) { edges { node { slug } } } }", {"f": MARKER}),
    ("query ($l: LanguageCode) { helpArticles(language: $l) { edges { node { slug } } } }",
     {"l": MARKER}),
    ("query ($a: String) { helpArticles(after: $a) { edges { node { slug } } } }", {"a": MARKER}),
    ("query ($id: ID!) { node(id: $id) { id } }", {"id": MARKER}),
    ("mutation ($q: QuietHoursInput) { setQuietHours(quietHours: $q) { __typename } }",
     {"q": {"starts": MARKER, "ends": "08:00:00"}}),
    ("mutation ($q: QuietHoursInput) { setQuietHours(quietHours: $q) { __typename } }",
     {"q": {"starts": "22:00:00", "ends": "08:00:00", "timeZone": MARKER}}),
    ("mutation ($i: String!, $p: String!) { requestSignInCode(iin: $i, phone: $p) "
     "{ challengeId } }", {"i": MARKER, "p": 77011234567}),
    ("{ " + MARKER + " }", {}),
]


async def test_no_client_value_is_quoted_in_any_log_line(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    """Wrong variables of every kind, broken bodies and query strings carrying a marker: the
    answers may name the mistake, the log (at DEBUG, every logger) never repeats the value."""
    logging.getLogger().setLevel(logging.DEBUG)
    for query, variables in MISTAKES:
        answer = await client.post("/graphql", json={"query": query, "variables": variables})
        assert answer.status_code == 200 and answer.json()["errors"]
    await client.post("/graphql", content=f'{{"query": "{MARKER}'.encode(),
                      headers={"content-type": "application/json"})
    await client.post("/graphql", json={"query": "{ helpVersion }", "operationName": MARKER})
    await client.get("/graphql", params={"query": "{ helpVersion }", "marker": MARKER})
    await client.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "client_id": MARKER, "client_secret": MARKER})
    assert MARKER not in log_lines.getvalue()
