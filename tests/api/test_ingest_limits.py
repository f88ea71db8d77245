"""Bounded ingestion over HTTP: an answer lists at most N records of each refusal code and
each flag (all of them counted), and a body to ``/ingest/*`` over its limit is refused with
413 while it streams, never read whole, with nothing stored.

The helpers and the ``tidy`` and ``people`` fixtures are those of ``test_ingest_api``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from backend.api.app import create_app
from backend.ingest.codes import REJECTIONS
from backend.messages import message
from backend.models import Person
from backend.settings import AppSettings
from tests.api import test_ingest_api as base
from tests.api.conftest import TODAY, new_ip
from tests.api.gql import data, graphql

tidy = base.tidy
people = base.people
Tidy = base.Tidy
PER_CODE = 3
MAX_BODY = 64 * 1024
SUBMIT = """
mutation Submit($records: [ContributionRecordInput!]!) {
  submitContributions(records: $records) {
    records rejected issuesTruncated
    rejectedByCode { code count } flaggedByFlag { code count }
    issues { line code }
  }
}"""


@pytest.fixture
async def small(engine: AsyncEngine, auth_settings: AuthSettings, auth_service: AuthService
                ) -> AsyncIterator[httpx.AsyncClient]:
    """The app with small limits: 3 issues per code, bodies up to 64 KiB."""
    app: FastAPI = create_app(
        AppSettings(environment="development", ingest_issues_per_code=PER_CODE,
                    ingest_max_body_bytes=MAX_BODY),
        auth_settings, engine=engine, today=lambda: TODAY)
    transport = httpx.ASGITransport(app=app, client=(new_ip(), 1234))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


async def batches(tidy: Tidy, source: str) -> int:
    """How many batches ``source`` has recorded."""
    return int((await tidy.all("SELECT count(*) FROM core.ingestion_batch WHERE source = :s",
                               s=source))[0][0])


async def test_half_a_million_broken_lines_get_a_small_answer(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy
) -> None:
    """A 1 MB file of 500,000 broken lines (once an 85 MB answer): 100 listed, all counted."""
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    file = b"x\n" * 500_000
    response = await base.post_file(client, "/ingest/contributions", file, sender.token,
                                    {"Accept-Language": "en"})
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) < 32 * 1024
    summary = response.json()
    assert (summary["records"], summary["rejected"], summary["accepted"]) == (500_000, 500_000, 0)
    assert summary["rejectedByCode"] == {"MALFORMED_RECORD": 500_000}
    assert summary["issuesTruncated"] is True
    assert [issue["line"] for issue in summary["issues"]] == list(range(1, 101))
    assert summary["issues"][0] == {"line": 1, "recordId": None, "code": "MALFORMED_RECORD",
                                    "message": REJECTIONS["MALFORMED_RECORD"]["en"],
                                    "flags": []}


async def test_each_code_lists_its_first_records_and_counts_them_all(
    small: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    good = [base.self_payment(people[0], period=f"2026-{month:02d}") for month in (1, 2)]
    future = [base.self_payment(people[1], period="2026-12") for _ in range(5)]
    negative = [base.self_payment(people[1], amount="-1") for _ in range(2)]
    file = base.ndjson([good[0], *future, *negative, good[1]]) + b"[]\n" * 4
    response = await base.post_file(small, "/ingest/contributions", file, sender.token)
    summary = response.json()
    assert (summary["records"], summary["accepted"], summary["rejected"]) == (13, 2, 11)
    assert summary["rejectedByCode"] == {"PERIOD_IN_FUTURE": 5, "AMOUNT_INVALID": 2,
                                         "MALFORMED_RECORD": 4}
    assert summary["flaggedByFlag"] == {}
    assert summary["issuesTruncated"] is True
    assert [(issue["line"], issue["code"]) for issue in summary["issues"]] == [
        (2, "PERIOD_IN_FUTURE"), (3, "PERIOD_IN_FUTURE"), (4, "PERIOD_IN_FUTURE"),
        (7, "AMOUNT_INVALID"), (8, "AMOUNT_INVALID"),
        (10, "MALFORMED_RECORD"), (11, "MALFORMED_RECORD"), (12, "MALFORMED_RECORD")]
    assert set(await tidy.stored(sender.client_id)) == {r["recordId"] for r in good}


async def test_a_graphql_batch_is_bounded_the_same_way(
    small: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    records = [base.self_payment(people[0], period="2026-12") for _ in range(4)]
    answer = data(await graphql(small, SUBMIT, {"records": records},
                                token=sender.token))["submitContributions"]
    assert answer == {
        "records": 4, "rejected": 4, "issuesTruncated": True,
        "rejectedByCode": [{"code": "PERIOD_IN_FUTURE", "count": 4}], "flaggedByFlag": [],
        "issues": [{"line": n, "code": "PERIOD_IN_FUTURE"} for n in (1, 2, 3)]}
    fits = data(await graphql(small, SUBMIT, {"records": records[:PER_CODE]},
                              token=sender.token))["submitContributions"]
    assert (fits["issuesTruncated"], len(fits["issues"])) == (False, PER_CODE)


async def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(
    small: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(MAX_BODY // 1024 + 1):
            sent += 1
            yield b" " * 1023 + b"\n"

    response = await small.post(
        "/ingest/contributions", content=body(),
        headers={"Authorization": f"Bearer {sender.token}", "Accept-Language": "ru",
                 "Content-Length": str(MAX_BODY + 1024)})
    assert response.status_code == 413
    assert response.json() == {"error": {
        "code": "BAD_REQUEST", "limit": "body_size",
        "message": message("body_too_large", max=MAX_BODY)["ru"]}}
    assert sent <= 1
    assert await batches(tidy, sender.client_id) == 0


async def test_a_streamed_body_over_the_limit_is_cut_off_and_nothing_is_stored(
    small: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    """No Content-Length (chunked): the endpoint stops reading once past the limit."""
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    line = (json.dumps(base.self_payment(people[0])) + "\n").encode()
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(4 * MAX_BODY // len(line)):
            sent += len(line)
            yield line

    response = await small.post("/ingest/contributions", content=body(),
                                headers={"Authorization": f"Bearer {sender.token}",
                                         "Accept-Language": "en"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BAD_REQUEST"
    assert response.json()["error"]["message"] == message("body_too_large", max=MAX_BODY)["en"]
    assert MAX_BODY < sent <= MAX_BODY + len(line)
    assert await tidy.stored(sender.client_id) == {}
    assert await batches(tidy, sender.client_id) == 0


async def test_a_body_just_under_the_limit_is_taken(
    small: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await base.integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    record = base.self_payment(people[0])
    file = base.ndjson([record])
    file += b"\n" * (MAX_BODY - len(file))
    response = await base.post_file(small, "/ingest/contributions", file, sender.token)
    assert response.status_code == 200, response.text
    assert (response.json()["accepted"], response.json()["records"]) == (1, 1)
