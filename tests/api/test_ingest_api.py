"""Ingestion over HTTP: the GraphQL mutations ``submitContributions`` and
``submitServicePayments`` (up to 1,000 records), and the bulk NDJSON endpoints
``POST /ingest/contributions`` and ``POST /ingest/service-payments``.

Integrator clients live in ``auth`` (not emptied between tests): every test makes its own,
and its client id is the source of what it sends.  People and records are emptied by
``committed``; the ``tidy`` fixture deletes this test's outbox rows and batches.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.tokens import Audience
from backend.ingest.codes import REJECTIONS
from backend.models import MedicalService, Person, Provider
from tests.api.gql import codes, data, graphql
from tests.factories import (
    create_employer,
    create_medical_service,
    create_person,
    create_provider,
    new_iin,
)

SUBMIT_CONTRIBUTIONS = """
mutation Submit($records: [ContributionRecordInput!]!) {
  submitContributions(records: $records) {
    batchId records accepted duplicates rejected statusesChanged
    issues { line recordId code message flags }
  }
}"""
SUBMIT_SERVICE_PAYMENTS = """
mutation Submit($records: [ServicePaymentRecordInput!]!) {
  submitServicePayments(records: $records) {
    batchId records accepted duplicates rejected statusesChanged
    issues { line recordId code message flags }
  }
}"""


@dataclass
class Tidy:
    """The sources (client ids) a test sent records as, cleaned up afterwards."""

    engine: AsyncEngine
    db: AsyncSession
    sources: list[str] = field(default_factory=list)

    async def all(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        async with self.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]

    async def stored(self, source: str, table: str = "contribution") -> dict[str, int]:
        """Record id -> amount of what ``source`` stored."""
        found = await self.all(f"SELECT source_record_id, amount_tiyn FROM core.{table}"
                               " WHERE source = :s", s=source)
        return {row[0]: row[1] for row in found}

    async def outbox(self, person: Person) -> list[str]:
        """The kinds of the person's events, in order."""
        found = await self.all("SELECT kind FROM notify.outbox WHERE person_id = :p"
                               " ORDER BY id", p=person.id)
        return [row[0] for row in found]


@pytest.fixture
async def tidy(engine: AsyncEngine, committed: AsyncSession) -> AsyncIterator[Tidy]:
    """Afterwards: this test's outbox rows, records and batches go."""
    tidy = Tidy(engine, committed)
    try:
        yield tidy
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM notify.outbox WHERE person_id IN"
                                    " (SELECT id FROM core.person)"))
            for table in ("contribution", "service_payment"):
                await conn.execute(text(f"DELETE FROM core.{table} WHERE source = ANY(:s)"),
                                   {"s": tidy.sources})
            await conn.execute(text("DELETE FROM core.ingestion_batch WHERE source = ANY(:s)"),
                               {"s": tidy.sources})


@dataclass(frozen=True)
class Integrator:
    """A client and a token of it."""

    client_id: str
    token: str


async def integrator(auth_service: AuthService, tidy: Tidy, *scopes: Scope,
                     requests_per_minute: int | None = None) -> Integrator:
    """A new client holding ``scopes``, with an access token."""
    made = await auth_service.clients.create(
        f"Fund ETL {secrets.token_hex(4)}", "НАО «ФСМС»", scopes,
        requests_per_minute=requests_per_minute)
    granted = await auth_service.clients.token(made.info.id, made.secret, None)
    tidy.sources.append(made.info.id)
    return Integrator(made.info.id, granted.access_token)


def rid(prefix: str = "C") -> str:
    """A record id no other record has."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def self_payment(person: Person, period: str = "2026-10", **overrides: Any) -> dict[str, Any]:
    """A self-payer's monthly contribution, as JSON."""
    return {"recordId": rid(), "iin": person.iin, "kind": "self_payment", "period": period,
            "amount": "4250.00", "paidOn": "2026-11-10", "paymentCode": 122, **overrides}


def service_payment(person: Person, provider: Provider, service: MedicalService,
                    **overrides: Any) -> dict[str, Any]:
    """A payment for a GP visit, as JSON."""
    return {"recordId": rid("SP"), "iin": person.iin, "providerBin": provider.bin,
            "serviceCode": service.code, "careDate": "2026-11-03", "amount": "12400.00",
            "paidOn": "2026-11-20", **overrides}


def ndjson(records: Sequence[Mapping[str, Any]]) -> bytes:
    """Records as an NDJSON file."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode()


async def post_file(client: httpx.AsyncClient, path: str, body: bytes | AsyncIterator[bytes],
                    token: str | None, headers: Mapping[str, str] | None = None
                    ) -> httpx.Response:
    """POST a file to a bulk endpoint."""
    all_headers = {"Content-Type": "application/x-ndjson", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    return await client.post(path, content=body, headers=all_headers)


@pytest.fixture
async def people(tidy: Tidy) -> list[Person]:
    """Two people (committed)."""
    found = [await create_person(tidy.db, birth_date=date(1985, 4, 12), sex="F"),
             await create_person(tidy.db, birth_date=date(1991, 7, 7), sex="M")]
    await tidy.db.commit()
    return found


# --- GraphQL --------------------------------------------------------------------------------


async def test_submit_contributions_stores_and_answers_each_record(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    employer = await create_employer(tidy.db)
    await tidy.db.commit()
    unknown = new_iin(date(1966, 6, 6), "M")
    records = [
        self_payment(people[0]),
        {"recordId": rid(), "iin": people[1].iin, "kind": "employer_deduction",
         "period": "2026-10", "amount": "15300.00", "paidOn": "2026-11-10",
         "paymentCode": 121, "payerBin": employer.bin},
        self_payment(people[0], iin=unknown),
        self_payment(people[1], period="2026-12"),
    ]
    body = await graphql(client, SUBMIT_CONTRIBUTIONS, {"records": records},
                         token=sender.token, headers={"Accept-Language": "en"})
    answer = data(body)["submitContributions"]
    assert int(answer["batchId"]) > 0
    assert {k: answer[k] for k in ("records", "accepted", "duplicates", "rejected")} == {
        "records": 4, "accepted": 2, "duplicates": 0, "rejected": 2}
    assert answer["issues"] == [
        {"line": 3, "recordId": records[2]["recordId"], "code": "PERSON_UNKNOWN",
         "message": REJECTIONS["PERSON_UNKNOWN"]["en"], "flags": []},
        {"line": 4, "recordId": records[3]["recordId"], "code": "PERIOD_IN_FUTURE",
         "message": REJECTIONS["PERIOD_IN_FUTURE"]["en"], "flags": []},
    ]
    assert await tidy.stored(sender.client_id) == {records[0]["recordId"]: 425_000,
                                                   records[1]["recordId"]: 1_530_000}
    assert await tidy.outbox(people[0]) == ["contribution.received"]

    again = data(await graphql(client, SUBMIT_CONTRIBUTIONS, {"records": records},
                               token=sender.token))["submitContributions"]
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 2)
    assert again["issues"][0]["message"] == REJECTIONS["PERSON_UNKNOWN"]["kk"]
    assert await tidy.outbox(people[0]) == ["contribution.received"]


async def test_submit_service_payments_reports_flags(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.SERVICES_WRITE)
    provider = await create_provider(tidy.db)
    gp = await create_medical_service(tidy.db)
    screening = await create_medical_service(tidy.db, sex="F", category="screening")
    await tidy.db.commit()
    records = [service_payment(people[0], provider, screening, practitioner="doc-1"),
               service_payment(people[1], provider, screening),
               service_payment(people[1], provider, gp, serviceCode="NOPE")]
    answer = data(await graphql(client, SUBMIT_SERVICE_PAYMENTS, {"records": records},
                                token=sender.token,
                                headers={"Accept-Language": "ru"}))["submitServicePayments"]
    assert (answer["records"], answer["accepted"], answer["rejected"]) == (3, 2, 1)
    assert answer["statusesChanged"] == 0
    assert answer["issues"] == [
        {"line": 2, "recordId": records[1]["recordId"], "code": None, "message": None,
         "flags": ["SEX_MISMATCH"]},
        {"line": 3, "recordId": records[2]["recordId"], "code": "SERVICE_UNKNOWN",
         "message": REJECTIONS["SERVICE_UNKNOWN"]["ru"], "flags": []},
    ]
    assert set(await tidy.stored(sender.client_id, "service_payment")) == {
        records[0]["recordId"], records[1]["recordId"]}


@pytest.mark.parametrize(("mutation", "scope"), [
    (SUBMIT_CONTRIBUTIONS, Scope.SERVICES_WRITE),
    (SUBMIT_CONTRIBUTIONS, Scope.ELIGIBILITY_READ),
    (SUBMIT_SERVICE_PAYMENTS, Scope.CONTRIBUTIONS_WRITE),
])
async def test_a_token_without_the_scope_is_forbidden(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person],
    mutation: str, scope: Scope
) -> None:
    sender = await integrator(auth_service, tidy, scope)
    provider = await create_provider(tidy.db)
    service = await create_medical_service(tidy.db)
    await tidy.db.commit()
    records = ([self_payment(people[0])] if mutation == SUBMIT_CONTRIBUTIONS
               else [service_payment(people[0], provider, service)])
    body = await graphql(client, mutation, {"records": records}, token=sender.token)
    assert body.get("data") is None
    assert codes(body) == ["FORBIDDEN"]
    assert await tidy.stored(sender.client_id) == {}
    assert await tidy.stored(sender.client_id, "service_payment") == {}


async def test_a_citizen_token_is_forbidden(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    token = auth_service.mint(str(people[0].id), Audience.MOBILE)
    body = await graphql(client, SUBMIT_CONTRIBUTIONS, {"records": [self_payment(people[0])]},
                         token=token)
    assert body.get("data") is None
    assert codes(body) == ["FORBIDDEN"]
    assert await tidy.all("SELECT count(*) FROM core.contribution WHERE person_id = :p",
                          p=people[0].id) == [(0,)]


async def test_without_a_token_it_needs_sign_in(
    client: httpx.AsyncClient, people: list[Person]
) -> None:
    body = await graphql(client, SUBMIT_CONTRIBUTIONS, {"records": [self_payment(people[0])]})
    assert body.get("data") is None
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_more_than_1000_records_are_refused(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    # The smallest records the input type allows, so that the body stays under its limit
    # and the batch limit itself answers.
    records = [{"recordId": str(n), "iin": "1", "amount": "1", "paidOn": "1"}
               for n in range(1001)]
    body = await graphql(client, SUBMIT_CONTRIBUTIONS, {"records": records},
                         token=sender.token, headers={"Accept-Language": "en"})
    assert body.get("data") is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "limit" not in body["errors"][0]["extensions"]
    assert "1000" in body["errors"][0]["message"]
    assert await tidy.all("SELECT count(*) FROM core.ingestion_batch WHERE source = :s",
                          s=sender.client_id) == [(0,)]

    answer = data(await graphql(client, SUBMIT_CONTRIBUTIONS, {"records": records[:1000]},
                                token=sender.token))["submitContributions"]
    assert (answer["records"], answer["rejected"]) == (1000, 1000)
    assert {issue["code"] for issue in answer["issues"]} == {"IIN_INVALID"}


async def test_a_batch_of_1000_ordinary_records_can_be_sent(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    """The mutation takes up to 1,000 records; a batch of that many ordinary records must fit
    the request's body limit."""
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    records = [self_payment(people[n % 2], period=f"2025-{n % 12 + 1:02d}")
               for n in range(1000)]
    response = await client.post("/graphql", json={"query": SUBMIT_CONTRIBUTIONS,
                                                   "variables": {"records": records}},
                                 headers={"Authorization": f"Bearer {sender.token}"})
    assert response.status_code == 200, response.text[:300]
    answer = data(response.json())["submitContributions"]
    assert (answer["records"], answer["accepted"], answer["rejected"]) == (1000, 1000, 0)


# --- the bulk endpoint ----------------------------------------------------------------------


async def test_a_file_is_answered_with_a_json_summary(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    good = [self_payment(people[0], period=p) for p in ("2026-08", "2026-09", "2026-10")]
    bad = self_payment(people[1], amount="-1")
    file = ndjson([good[0], bad, good[1]]) + b"\n" + b"{\"recordId\": \"x\",\n" + ndjson(
        [good[2]])

    response = await post_file(client, "/ingest/contributions", file, sender.token,
                               {"Accept-Language": "en"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    summary = response.json()
    assert set(summary) == {"batchId", "records", "accepted", "duplicates", "rejected",
                            "statusesChanged", "issues", "rejectedByCode", "flaggedByFlag",
                            "issuesTruncated"}
    assert {k: summary[k] for k in ("records", "accepted", "duplicates", "rejected")} == {
        "records": 5, "accepted": 3, "duplicates": 0, "rejected": 2}
    assert (summary["rejectedByCode"], summary["flaggedByFlag"], summary["issuesTruncated"]) == (
        {"AMOUNT_INVALID": 1, "MALFORMED_RECORD": 1}, {}, False)
    assert summary["issues"] == [
        {"line": 2, "recordId": bad["recordId"], "code": "AMOUNT_INVALID",
         "message": REJECTIONS["AMOUNT_INVALID"]["en"], "flags": []},
        {"line": 5, "recordId": None, "code": "MALFORMED_RECORD",
         "message": REJECTIONS["MALFORMED_RECORD"]["en"], "flags": []},
    ]
    assert set(await tidy.stored(sender.client_id)) == {record["recordId"] for record in good}
    batch = await tidy.all("SELECT kind, records, accepted, duplicates, rejected"
                           " FROM core.ingestion_batch WHERE id = :b", b=summary["batchId"])
    assert batch == [("contributions", 5, 3, 0, 2)]


async def test_a_streamed_file_split_mid_line_is_read_whole(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    records = [self_payment(people[n % 2], period=f"2026-{n % 10 + 1:02d}",
                            paidOn="2026-11-11") for n in range(40)]
    file = ndjson(records)
    sizes = [1, 13, 97, 5, 256, 3]
    chunks: list[bytes] = []
    at, turn = 0, 0
    while at < len(file):
        chunks.append(file[at:at + sizes[turn % len(sizes)]])
        at += sizes[turn % len(sizes)]
        turn += 1
    assert not any(chunk.endswith(b"\n") for chunk in chunks[:3])

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = await post_file(client, "/ingest/contributions", body(), sender.token)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["records"], summary["accepted"], summary["rejected"]) == (40, 40, 0)
    assert summary["issues"] == []
    assert set(await tidy.stored(sender.client_id)) == {r["recordId"] for r in records}


async def test_the_same_file_twice_is_all_duplicates(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    file = ndjson([self_payment(people[n % 2], period=f"2026-{n + 1:02d}") for n in range(6)])
    first = (await post_file(client, "/ingest/contributions", file, sender.token)).json()
    events = await tidy.outbox(people[0]) + await tidy.outbox(people[1])
    second = (await post_file(client, "/ingest/contributions", file, sender.token)).json()
    assert (first["accepted"], first["duplicates"]) == (6, 0)
    assert (second["records"], second["accepted"], second["duplicates"], second["rejected"]) == (
        6, 0, 6, 0)
    assert second["statusesChanged"] == 0
    assert second["batchId"] != first["batchId"]
    assert len(await tidy.stored(sender.client_id)) == 6
    assert await tidy.outbox(people[0]) + await tidy.outbox(people[1]) == events


async def test_blank_lines_are_ignored(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    record = self_payment(people[0])
    file = b"\n" + ndjson([record]) + b"\n  \n\r\n"
    summary = (await post_file(client, "/ingest/contributions", file, sender.token)).json()
    assert (summary["records"], summary["accepted"], summary["issues"]) == (1, 1, [])


async def test_a_line_of_tabs_is_blank_too(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    """Whitespace is whitespace: a line of tabs is as blank as a line of spaces."""
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    file = ndjson([self_payment(people[0])]) + b"\t\n \t \n"
    summary = (await post_file(client, "/ingest/contributions", file, sender.token)).json()
    assert (summary["records"], summary["accepted"], summary["issues"]) == (1, 1, [])


async def test_an_empty_file_is_an_empty_batch(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    response = await post_file(client, "/ingest/contributions", b"", sender.token)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["records"], summary["accepted"], summary["issues"]) == (0, 0, [])


async def test_service_payments_go_to_their_own_endpoint(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.SERVICES_WRITE)
    provider = await create_provider(tidy.db)
    service = await create_medical_service(tidy.db)
    await tidy.db.commit()
    records = [service_payment(people[0], provider, service),
               service_payment(people[0], provider, service)]  # the same visit billed twice
    response = await post_file(client, "/ingest/service-payments", ndjson(records),
                               sender.token)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    summary = response.json()
    assert (summary["accepted"], summary["rejected"]) == (2, 0)
    assert summary["issues"] == [{"line": 2, "recordId": records[1]["recordId"], "code": None,
                                  "message": None, "flags": ["DUPLICATE_BILLING"]}]
    assert await tidy.outbox(people[0]) == ["service.paid"]


@pytest.mark.parametrize("token", [None, "not-a-token", "a.b.c"])
async def test_without_an_integrator_token_it_is_401(
    client: httpx.AsyncClient, tidy: Tidy, people: list[Person], token: str | None
) -> None:
    response = await post_file(client, "/ingest/contributions",
                               ndjson([self_payment(people[0])]), token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert await tidy.all("SELECT count(*) FROM core.contribution") == [(0,)]


async def test_a_citizen_token_is_refused(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    token = auth_service.mint(str(people[0].id), Audience.MOBILE)
    response = await post_file(client, "/ingest/contributions",
                               ndjson([self_payment(people[0])]), token)
    assert response.status_code in (401, 403), response.text
    assert await tidy.all("SELECT count(*) FROM core.contribution") == [(0,)]


@pytest.mark.parametrize(("path", "scope"), [
    ("/ingest/contributions", Scope.SERVICES_WRITE),
    ("/ingest/contributions", Scope.ELIGIBILITY_READ),
    ("/ingest/service-payments", Scope.CONTRIBUTIONS_WRITE),
])
async def test_without_the_scope_it_is_403(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person],
    path: str, scope: Scope
) -> None:
    sender = await integrator(auth_service, tidy, scope)
    response = await post_file(client, path, ndjson([self_payment(people[0])]), sender.token)
    assert response.status_code == 403, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert await tidy.all("SELECT count(*) FROM core.ingestion_batch WHERE source = :s",
                          s=sender.client_id) == [(0,)]


async def test_an_unknown_kind_is_404(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    response = await post_file(client, "/ingest/payments", b"{}\n", sender.token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_each_file_spends_one_request_of_the_budget(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE,
                              requests_per_minute=1)
    file = ndjson([self_payment(people[0])])
    assert (await post_file(client, "/ingest/contributions", file, sender.token)
            ).status_code == 200
    limited = await post_file(client, "/ingest/contributions", file, sender.token)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["error"]["code"] == "RATE_LIMITED"



async def odd_file(client: httpx.AsyncClient, sender: Integrator, people: list[Person],
                   odd: bytes) -> tuple[httpx.Response, list[str]]:
    """A file of a good record, an ``odd`` line and another good record; the answer and the
    good records' ids."""
    first, last = self_payment(people[0], "2026-09"), self_payment(people[0], "2026-10")
    file = ndjson([first]) + odd + b"\n" + ndjson([last])
    response = await post_file(client, "/ingest/contributions", file, sender.token)
    return response, [first["recordId"], last["recordId"]]


async def test_a_line_of_a_backslash_and_a_dot_does_not_end_the_file(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    """``\\.`` ends a CSV COPY on older PostgreSQL: here it must be one malformed line."""
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    response, good = await odd_file(client, sender, people, b"\\.")
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["records"], summary["accepted"]) == (3, 2)
    assert [(i["line"], i["code"]) for i in summary["issues"]] == [(2, "MALFORMED_RECORD")]
    assert set(await tidy.stored(sender.client_id)) == set(good)


@pytest.mark.parametrize("odd", [b"\xff\xfe{}", b"{\"recordId\": \"a\x00b\"}"],
                         ids=["not UTF-8", "NUL byte"])
async def test_a_line_that_is_not_text_is_malformed_not_a_failed_file(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person],
    odd: bytes
) -> None:
    """One line of bytes that are not UTF-8 text (or hold NUL) is one malformed record; the
    rest of the file is still read and answered."""
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    response, good = await odd_file(client, sender, people, odd)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["records"], summary["accepted"], summary["rejected"]) == (3, 2, 1)
    assert [(i["line"], i["code"]) for i in summary["issues"]] == [(2, "MALFORMED_RECORD")]
    assert set(await tidy.stored(sender.client_id)) == set(good)


async def test_a_raw_control_character_makes_a_line_malformed(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    """JSON forbids raw control characters in strings; the line must not be stored with
    them quietly removed."""
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    sneaky = json.dumps(self_payment(people[0], "2026-08", recordId="CTRL-1")).encode()
    response, good = await odd_file(client, sender, people,
                                    sneaky.replace(b"CTRL-1", b"CTRL\x01-1"))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert [(i["line"], i["code"]) for i in summary["issues"]] == [(2, "MALFORMED_RECORD")]
    assert set(await tidy.stored(sender.client_id)) == set(good)


async def test_a_mutation_answer_is_not_cached(
    client: httpx.AsyncClient, auth_service: AuthService, tidy: Tidy, people: list[Person]
) -> None:
    sender = await integrator(auth_service, tidy, Scope.CONTRIBUTIONS_WRITE)
    response = await client.post("/graphql", json={
        "query": SUBMIT_CONTRIBUTIONS, "variables": {"records": [self_payment(people[0])]}},
        headers={"Authorization": f"Bearer {sender.token}"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert data(response.json())["submitContributions"]["accepted"] == 1
