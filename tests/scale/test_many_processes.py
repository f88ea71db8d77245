"""Two API processes and two workers on one database, under load: what a citizen or an
operator would notice if processes doubled or lost work.

Everything runs as OS processes against a throwaway database migrated to head
(``tests/scale/cluster.py``): ``mhi serve`` twice, ``mhi worker`` twice, ``mhi fcm-local``.
The tests of this module share the processes and run in order; the worker killed in the
load test stays dead for the tests after it.

- pushes: the same payroll files arrive through both APIs at once; both workers dispatch;
  one is killed with SIGKILL mid-run. Every event has one inbox item and one delivery per
  phone, every ``sent`` delivery reached fcm-local exactly once, and only what the dead
  worker had in hand is left undecided (``sending``, later ``unknown``: never sent twice).
- statuses that time changes (a stored status past its ``stable_until``) change once: one
  history row, one ``status.changed`` event, one push per phone.
- the periodic jobs (rollup fold, verifiable log) count every record once.
- keys: two processes starting at once make one successor; a key made with
  ``mhi keys rotate --now`` is used and trusted by both APIs, the retired one refused by both.
- sessions, sign-in throttles and an integrator's request budget are held in PostgreSQL, so they
  hold across the APIs.
- and no process wrote an IIN or a phone number into its log.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.principals import Scope
from auth.service import AuthService
from auth.settings import AuthSettings
from backend.api.app import almaty_today
from backend.db.admin import drop_database
from backend.rates.repository import load_rate_book
from backend.settings import AppSettings
from backend.status import store
from notifications import devices
from tests.backend.rollups_recompute import assert_exact, deltas_waiting
from tests.conftest import AUTH_ROOT_SECRET, migrated_database, throwaway_url
from tests.factories import create_membership, create_person
from tests.notifications.dispatch_helpers import new_token
from tests.scale.cluster import (
    KEY_OVERLAP_SECONDS,
    KEYRING_REFRESH_SECONDS,
    Cluster,
    running_cluster,
)

PAYERS = 40  # people whose contributions arrive
TWO_PHONES = 4  # of them, with a second phone
LAPSING = 20  # people whose stored status runs out of time
WARNED = 10  # people whose cover ends in 14 or in 3 days
FILES = 24  # payroll files, each sent through both APIs at once
RECORDS_PER_PERSON = 2  # in each file
KILL_AFTER = 80  # pushes at fcm-local before one worker is killed
DRAIN_SECONDS = 90.0

REQUEST_CODE = """
mutation RequestSignInCode($iin: String!, $phone: String!) {
  requestSignInCode(iin: $iin, phone: $phone) { challengeId userErrors { code } }
}"""
SIGN_IN = """
mutation SignIn($challengeId: ID!, $code: String!) {
  signIn(challengeId: $challengeId, code: $code) {
    session { accessToken refreshToken }
    userErrors { code attemptsLeft }
  }
}"""
REFRESH = """
mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) {
    session { accessToken refreshToken } userErrors { code }
  }
}"""
SIGN_OUT = "mutation { signOut { sessionsEnded } }"
ME = "{ me { firstName } }"


# --- the processes and the database ---------------------------------------------------------


@pytest.fixture(scope="module")
async def engine_of_cluster(settings: AppSettings) -> AsyncIterator[AsyncEngine]:
    """A throwaway database of this module's own, migrated to head, dropped after."""
    url = throwaway_url(settings, "scale")
    engine = await migrated_database(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(url)


@pytest.fixture(scope="module")
async def cluster(engine_of_cluster: AsyncEngine,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """fcm-local, two ``mhi serve`` and two ``mhi worker`` on that database."""
    url = engine_of_cluster.url.render_as_string(hide_password=False)
    async with running_cluster(url, tmp_path_factory.mktemp("scale")) as running:
        yield running


def auth_service(engine: AsyncEngine) -> AuthService:
    """``auth`` on the cluster's database with its root secret (for integrator clients; no
    key ring is loaded here: tokens come from the APIs)."""
    return AuthService(engine, AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode())))


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Every row of ``sql``."""
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
                  *, token: str | None = None, address: str | None = None) -> dict[str, Any]:
    """POST ``query`` (from ``address``, as a proxy in front of the API names it)."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if address is not None:
        headers["X-Forwarded-For"] = address
    answer = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def code_of(body: dict[str, Any]) -> str | None:
    """The first error's ``extensions.code`` (None: no error)."""
    errors = body.get("errors") or []
    return str(errors[0]["extensions"]["code"]) if errors else None


def kid_of(token: str) -> str:
    """The ``kid`` in a JWT's header."""
    head = token.split(".")[0]
    header: dict[str, str] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return header["kid"]


def new_address() -> str:
    """A client address of its own (throttles count per address)."""
    number = secrets.randbelow(2 ** 24)
    return f"10.{number >> 16}.{number >> 8 & 255}.{number & 255}"


def new_phone() -> str:
    """A Kazakhstan mobile number of its own."""
    return f"+7701{secrets.randbelow(10 ** 7):07d}"


async def until(check: Any, seconds: float, what: str) -> Any:
    """Poll the coroutine function ``check`` until it returns something true."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {found!r}"
        await asyncio.sleep(0.2)


# --- keys made at start ---------------------------------------------------------------------


async def test_two_processes_starting_at_once_make_one_successor_key(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    # Both APIs found the table empty, then the first key due for a successor, at once.
    keys = await rows(engine_of_cluster,
                      "SELECT kid, not_before <= now() FROM auth.signing_key ORDER BY not_before")
    assert [signs for _, signs in keys] == [True, False], keys
    async with httpx.AsyncClient(timeout=30.0) as http:
        sets = [(await http.get(f"{api}/.well-known/jwks.json")).json() for api in cluster.apis]
    assert [sorted(k["kid"] for k in found["keys"]) for found in sets] == [
        sorted(kid for kid, _ in keys)] * 2


# --- pushes and statuses under load, one worker killed --------------------------------------


@dataclass(frozen=True)
class Crowd:
    """The people of the load test, each with a phone (some payers with two)."""

    payers: list[Any]  # their contributions arrive
    lapsing: list[Any]  # their stored status, computed in April, has run out of time
    warned: list[Any]  # their cover ends soon: in 14 days (even places) or 3 days (odd)


async def make_people(engine: AsyncEngine) -> Crowd:
    """The people, their phones and their stored statuses, in one transaction: the workers
    see the lapsing people due (a pensioner's category that ended in June, judged in April)
    and the warned people's deadlines only once their phones are on."""
    today = almaty_today()
    async with AsyncSession(bind=engine, expire_on_commit=False) as db:
        payers = [await create_person(db, phone=new_phone(), language=("kk", "ru", "en")[n % 3])
                  for n in range(PAYERS)]
        lapsing = [await create_person(db, phone=new_phone()) for _ in range(LAPSING)]
        warned = [await create_person(db, phone=new_phone()) for _ in range(WARNED)]
        for person in lapsing:
            await create_membership(db, person, valid_to=date(2026, 6, 30))
        for place, person in enumerate(warned):  # covered up to the day before the drop
            await create_membership(db, person, valid_to=today + timedelta(
                days=(3 if place % 2 else 14) - 1))
        conn = await db.connection()
        for number, person in enumerate([*payers, *lapsing, *warned]):
            await devices.register(conn, person.id, devices.Registration(
                token=new_token(), platform="android", app_version="1.4.0",
                language=("kk", "ru", "en")[number % 3], time_zone="Asia/Almaty"))
        for person in payers[:TWO_PHONES]:
            await devices.register(conn, person.id, devices.Registration(
                token=new_token(), platform="ios", app_version="1.4.0", language="en",
                time_zone="Asia/Almaty"))
        rates = await load_rate_book(conn)
        driver: Any = (await conn.get_raw_connection()).driver_connection
        await store.refresh(driver, [p.id for p in lapsing], today=date(2026, 4, 10),
                            rates=rates, cause="test")
        await store.refresh(driver, [p.id for p in warned], today=today, rates=rates,
                            cause="test")
        await db.commit()
    return Crowd(payers, lapsing, warned)


def payroll(payers: list[Any], number: int) -> bytes:
    """One payroll file: ``RECORDS_PER_PERSON`` self-payments of every payer."""
    lines = []
    for index, person in enumerate(payers):
        for month in range(RECORDS_PER_PERSON):
            lines.append(json.dumps({
                "recordId": f"F{number}-{index}-{month}", "iin": person.iin,
                "kind": "self_payment", "period": f"2026-{(number + month) % 10 + 1:02d}",
                "amount": "4250.00", "paidOn": "2026-11-10", "paymentCode": 122}))
    return ("\n".join(lines) + "\n").encode()


async def integrator_token(api: str, client_id: str, secret: str) -> str:
    """A client-credentials token from ``api``."""
    async with httpx.AsyncClient(base_url=api, timeout=30.0) as http:
        answer = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def send_files(cluster: Cluster, engine: AsyncEngine, payers: list[Any]
                     ) -> list[dict[str, Any]]:
    """Every payroll file through both APIs at once (a sender retrying through another
    node); the summaries."""
    made = await auth_service(engine).clients.create(
        f"Payroll {secrets.token_hex(4)}", "ЕНПФ", [Scope.CONTRIBUTIONS_WRITE],
        requests_per_minute=10_000)
    tokens = [await integrator_token(api, made.info.id, made.secret)
              for api in cluster.apis]
    gate = asyncio.Semaphore(4)

    async def post(api: str, token: str, body: bytes) -> dict[str, Any]:
        async with gate, httpx.AsyncClient(base_url=api, timeout=120.0) as http:
            answer = await http.post("/ingest/contributions", content=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
        assert answer.status_code == 200, answer.text
        summary: dict[str, Any] = answer.json()
        return summary

    files = [payroll(payers, number) for number in range(FILES)]
    return list(await asyncio.gather(*(
        post(api, token, body) for body in files
        for api, token in zip(cluster.apis, tokens, strict=True))))


async def kill_a_worker_midway(cluster: Cluster) -> float:
    """Once fcm-local has ``KILL_AFTER`` pushes, SIGKILL worker 1; when (seconds since the
    epoch, to compare with the database's times)."""
    await until(lambda: _at_least(cluster, KILL_AFTER), 120, "the first pushes")
    await cluster.processes["worker1"].kill()
    return time.time()


async def _at_least(cluster: Cluster, count: int) -> bool:
    return await cluster.accepted() >= count


async def settled(engine: AsyncEngine, killed_at: float) -> bool:
    """Nothing left for the live worker: every event of a known kind expanded, no delivery
    waiting, due, being retried, or in a call it made (the dead worker's calls stay
    ``sending`` until the lease has passed and a worker's upkeep marks them ``unknown``)."""
    [(open_events, waiting)] = await rows(engine, (
        "SELECT (SELECT count(*) FROM notify.outbox WHERE dispatched_at IS NULL),"
        " (SELECT count(*) FROM notify.delivery WHERE state IN ('pending', 'retry')"
        "  OR (state = 'sending' AND claimed_at > to_timestamp(:killed)))"), killed=killed_at)
    return bool(open_events == 0 and waiting == 0)


async def test_pushes_and_status_changes_once_with_a_worker_killed_midway(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    engine = engine_of_cluster
    crowd = await make_people(engine)
    killer = asyncio.create_task(kill_a_worker_midway(cluster))
    try:
        summaries = await send_files(cluster, engine, crowd.payers)
        killed_at = await asyncio.wait_for(killer, 120)
    finally:
        if not killer.done():
            killer.cancel()
    assert cluster.processes["worker1"].process.returncode == -9

    # Ingestion: each record stored once, whichever API won it.
    records = FILES * PAYERS * RECORDS_PER_PERSON
    assert sum(s["accepted"] for s in summaries) == records
    assert sum(s["duplicates"] for s in summaries) == records
    assert sum(s["rejected"] for s in summaries) == 0
    [(stored,)] = await rows(engine, "SELECT count(*) FROM core.contribution")
    assert stored == records

    # The lapsing people's statuses changed and the warnings were written (both workers
    # write the day's warnings on every pass); the survivor sent everything.
    lapsed = await until(lambda: _lapsed(engine, crowd.lapsing), 60, "the statuses to lapse")
    assert lapsed == LAPSING
    await until(lambda: _warned(engine, crowd.warned), 60, "the warnings")
    await until(lambda: settled(engine, killed_at), DRAIN_SECONDS, "the pushes to drain")
    await check_pushes(cluster, engine, killed_at)
    await check_contribution_events(engine, records)
    await check_status_history(engine, crowd)


async def _warned(engine: AsyncEngine, warned: list[Any]) -> bool:
    [(count,)] = await rows(engine, (
        "SELECT count(DISTINCT person_id) FROM notify.outbox WHERE kind = 'status.warning'"
        " AND person_id = ANY(CAST(:p AS uuid[]))"), p=[x.id for x in warned])
    return bool(count == len(warned))


async def _lapsed(engine: AsyncEngine, lapsing: list[Any]) -> int:
    [(count,)] = await rows(engine, (
        "SELECT count(*) FROM core.person_status WHERE person_id = ANY(CAST(:p AS uuid[]))"
        " AND status <> 'insured'"), p=[x.id for x in lapsing])
    return int(count)


async def check_pushes(cluster: Cluster, engine: AsyncEngine, killed_at: float) -> None:
    """One inbox item per event, one delivery per (event, phone); a ``sent`` delivery at
    fcm-local once; only what the dead worker held is undecided, and never sent twice."""
    events = await rows(engine, (
        "SELECT o.id, o.kind, count(n.event_id) FROM notify.outbox o"
        " LEFT JOIN notify.notification n ON n.event_id = o.id GROUP BY o.id, o.kind"))
    assert events and all(inbox == 1 for _, _, inbox in events), [
        e for e in events if e[2] != 1][:5]
    deliveries = await rows(engine, (
        "SELECT o.id, v.token, d.state, d.claimed_at, n.event_id"
        " FROM notify.outbox o JOIN notify.device v ON v.person_id = o.person_id"
        " JOIN notify.notification n ON n.event_id = o.id"
        " LEFT JOIN notify.delivery d ON d.event_id = o.id AND d.device_id = v.id"))
    states = Counter(state for *_, state, _, _ in deliveries)
    assert None not in states, f"an event with no delivery to a phone: {states}"
    messages = await cluster.received()
    at_fcm = Counter((m["target"], m["message"]["data"]["notificationId"]) for m in messages)
    assert max(at_fcm.values()) == 1, "a push reached a phone twice"
    undecided = 0
    for _, token, state, claimed_at, notification in deliveries:
        times = at_fcm.get((token, notification_node(notification)), 0)
        if state == "sent":
            assert times == 1, "a delivery recorded as sent never reached fcm-local"
        else:  # the dead worker's calls in flight: FCM may have them, never sent again
            assert state in ("sending", "unknown"), state
            assert claimed_at.timestamp() <= killed_at
            undecided += 1
    assert undecided <= 2 * 50, "more undecided than the dead worker's senders can hold"
    assert len(messages) == sum(at_fcm.values()) <= len(deliveries)
    assert states["sent"] >= len(deliveries) - undecided


def notification_node(notification_id: int) -> str:
    """The push's ``notificationId``: the inbox item's global id."""
    return base64.b64encode(f"Notification:{notification_id}".encode()).decode()


async def check_contribution_events(engine: AsyncEngine, records: int) -> None:
    """Every stored contribution is announced in exactly one event."""
    announced = Counter(
        int(item["id"]) for (payload,) in await rows(
            engine, "SELECT payload FROM notify.outbox WHERE kind = 'contribution.received'")
        for item in payload["contributions"])
    assert len(announced) == records and max(announced.values()) == 1


async def check_status_history(engine: AsyncEngine, crowd: Crowd) -> None:
    """Each change of anyone's status is one history row and, unless it is the first, one
    ``status.changed`` event; the lapsing people have exactly one each; each warned person
    has the one warning of their deadline."""
    history = await rows(engine, (
        "SELECT person_id, old_status, new_status, cause FROM core.status_history"
        " ORDER BY person_id, id"))
    by_person: dict[uuid.UUID, list[tuple[Any, ...]]] = {}
    for person, *change in history:
        by_person.setdefault(person, []).append(tuple(change))
    for changes in by_person.values():  # a chain: each change starts where the last ended
        assert all(a[1] == b[0] for a, b in itertools.pairwise(changes)), changes
        assert all(old != new for old, new, _ in changes), changes
    for person in crowd.lapsing:  # judged in April, then once by a worker
        assert [c[0::2] for c in by_person[person.id]] == [(None, "test"),
                                                           ("insured", "schedule")]
    [(events,)] = await rows(engine, "SELECT count(*) FROM notify.outbox"
                                     " WHERE kind = 'status.changed'")
    assert events == sum(1 for *_, old, _, _ in history if old is not None)
    warnings = Counter(
        (person, payload["daysLeft"]) for person, payload in await rows(
            engine, "SELECT person_id, payload FROM notify.outbox WHERE kind = 'status.warning'"))
    assert warnings == Counter({(person.id, 3 if place % 2 else 14): 1
                                for place, person in enumerate(crowd.warned)})


# --- the periodic jobs ----------------------------------------------------------------------


async def test_the_periodic_jobs_count_every_record_once(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    engine = engine_of_cluster

    async def folded_and_logged() -> bool:
        waiting = await deltas_waiting(engine)
        [(pending, leaves, signed)] = await rows(engine, (
            "SELECT (SELECT count(*) FROM tlog.pending), (SELECT count(*) FROM tlog.leaf),"
            " (SELECT max(size) FROM tlog.checkpoint)"))
        # the newest signed checkpoint covers every leaf (none is published here: no witness
        # runs to cosign it)
        return not any(waiting.values()) and pending == 0 and signed == leaves

    await until(folded_and_logged, 60, "the fold and the log to catch up")
    await assert_exact(engine, fold=False)  # the rollups equal a recount of the rows
    [(contributions,)] = await rows(engine, "SELECT count(*) FROM core.contribution")
    leaves = await rows(engine, "SELECT kind, record_id, leaf_index FROM tlog.leaf"
                                " ORDER BY leaf_index")
    assert [index for *_, index in leaves] == list(range(len(leaves)))  # no gap, no double
    assert Counter(kind for kind, *_ in leaves)["contribution"] == contributions
    assert len({(kind, record) for kind, record, _ in leaves}) == len(leaves)


# --- sessions and throttles -----------------------------------------------------------------


async def sign_in(cluster: Cluster, person: Any, ask: httpx.AsyncClient,
                  answer: httpx.AsyncClient, address: str) -> dict[str, str]:
    """A code asked for at one API, typed at the other; the session."""
    before = len(cluster.codes_to(person.phone))
    asked = await graphql(ask, REQUEST_CODE, {"iin": person.iin, "phone": person.phone},
                          address=address)
    challenge = asked["data"]["requestSignInCode"]["challengeId"]
    code = await cluster.next_code(person.phone, before)
    body = await graphql(answer, SIGN_IN, {"challengeId": challenge, "code": code},
                         address=address)
    session: dict[str, str] = body["data"]["signIn"]["session"]
    assert session, body
    return session


async def test_sessions_hold_across_the_apis(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    async with AsyncSession(bind=engine_of_cluster, expire_on_commit=False) as db:
        people = [await create_person(db, phone=new_phone(), first_name=f"P{n}")
                  for n in range(2)]
        await db.commit()
    async with (httpx.AsyncClient(base_url=cluster.apis[0], timeout=30.0) as one,
                httpx.AsyncClient(base_url=cluster.apis[1], timeout=30.0) as two):
        first = await sign_in(cluster, people[0], one, two, new_address())
        renewed = (await graphql(one, REFRESH, {"refreshToken": first["refreshToken"]}))[
            "data"]["refreshSession"]["session"]
        assert renewed
        # The old refresh token replayed at the other API: reuse, the family ends everywhere.
        replayed = await graphql(two, REFRESH, {"refreshToken": first["refreshToken"]})
        assert code_of(replayed) == "UNAUTHENTICATED", replayed
        assert code_of(await graphql(one, REFRESH, {
            "refreshToken": renewed["refreshToken"]})) == "UNAUTHENTICATED"

        second = await sign_in(cluster, people[1], two, one, new_address())
        out = await graphql(one, SIGN_OUT, token=second["accessToken"])
        assert out["data"]["signOut"] == {"sessionsEnded": 1}
        assert code_of(await graphql(two, REFRESH, {
            "refreshToken": second["refreshToken"]})) == "UNAUTHENTICATED"


async def test_sign_in_throttles_count_over_both_apis(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    async with AsyncSession(bind=engine_of_cluster, expire_on_commit=False) as db:
        person: Any = await create_person(db, phone=new_phone(), first_name="Owner")
        await db.commit()
    stranger = new_address()
    async with (httpx.AsyncClient(base_url=cluster.apis[0], timeout=30.0) as one,
                httpx.AsyncClient(base_url=cluster.apis[1], timeout=30.0) as two):
        apis = [one, two]
        challenges = []
        for number in range(3):  # 3 codes per IIN from one address in 15 minutes, in all
            before = len(cluster.codes_to(person.phone))
            asked = await graphql(apis[number % 2], REQUEST_CODE, {
                "iin": person.iin, "phone": person.phone}, address=stranger)
            challenges.append((asked["data"]["requestSignInCode"]["challengeId"],
                               await cluster.next_code(person.phone, before)))
        fourth = await graphql(two, REQUEST_CODE, {"iin": person.iin, "phone": person.phone},
                               address=stranger)
        assert code_of(fourth) == "RATE_LIMITED", fourth

        # A guesser spreads wrong codes over both APIs: each challenge still allows 5 in all.
        for challenge, code in challenges[:2]:
            left = []
            for attempt in range(5):
                body = await graphql(apis[attempt % 2], SIGN_IN, {
                    "challengeId": challenge, "code": f"{(int(code) + 1) % 10 ** 6:06d}"},
                    address=stranger)
                [error] = body["data"]["signIn"]["userErrors"]
                left.append((error["code"], error["attemptsLeft"]))
            assert left == [("WRONG_CODE", 4), ("WRONG_CODE", 3), ("WRONG_CODE", 2),
                            ("WRONG_CODE", 1), ("CODE_ATTEMPTS_EXHAUSTED", None)]
        # Ten wrong codes from one address, over both APIs: even the right one is refused
        # there, at either API; the owner, elsewhere, signs in.
        challenge, code = challenges[2]
        for api in apis:
            body = await graphql(api, SIGN_IN, {"challengeId": challenge, "code": code},
                                 address=stranger)
            assert code_of(body) == "RATE_LIMITED", body
        session = await sign_in(cluster, person, two, one, new_address())
        assert (await graphql(two, ME, token=session["accessToken"]))["data"]["me"] == {
            "firstName": "Owner"}


async def test_an_integrators_budget_counts_requests_at_both_apis(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    query = "query Eligibility($iins: [String!]!) { eligibility(iins: $iins) { iin found } }"
    async with (httpx.AsyncClient(base_url=cluster.apis[0], timeout=30.0) as one,
                httpx.AsyncClient(base_url=cluster.apis[1], timeout=30.0) as two):
        for _ in range(2):  # a second client if the minute's window ended mid-way
            made = await auth_service(engine_of_cluster).clients.create(
                f"Clinic MIS {secrets.token_hex(4)}", "ГКП «Поликлиника № 5»",
                [Scope.ELIGIBILITY_READ], requests_per_minute=4)
            token = await integrator_token(cluster.apis[0], made.info.id, made.secret)
            answers = [code_of(await graphql(api, query, {"iins": []}, token=token))
                       for api in (one, two, one, two, one, two)]
            if answers == [None] * 4 + ["RATE_LIMITED"] * 2:
                break  # 4 a minute in all, not 4 at each process
    assert answers == [None] * 4 + ["RATE_LIMITED"] * 2


# --- key rotation while both APIs serve -----------------------------------------------------


async def accepted(api: httpx.AsyncClient, token: str) -> bool:
    """Whether ``api`` takes ``token`` (the citizen's ``me``)."""
    body = await graphql(api, ME, token=token)
    if code_of(body) == "UNAUTHENTICATED":
        return False
    assert body["data"]["me"] is not None, body
    return True


async def test_a_rotated_key_is_used_and_trusted_by_both_apis_and_the_old_one_retires(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    async with AsyncSession(bind=engine_of_cluster, expire_on_commit=False) as db:
        people = [await create_person(db, phone=new_phone(), first_name="Keys")
                  for _ in range(12)]  # a sign-in each: no phone near its daily SMS ceiling
        await db.commit()
    kids = {kid for (kid,) in await rows(engine_of_cluster, "SELECT kid FROM auth.signing_key")}
    async with (httpx.AsyncClient(base_url=cluster.apis[0], timeout=30.0) as one,
                httpx.AsyncClient(base_url=cluster.apis[1], timeout=30.0) as two):
        old = (await sign_in(cluster, people.pop(), one, two, new_address()))["accessToken"]
        assert [await accepted(api, old) for api in (one, two)] == [True, True]

        await cluster.mhi("keys", "rotate", "--now")
        [(new_kid, starts)] = await rows(
            engine_of_cluster, "SELECT kid, extract(epoch FROM not_before)"
                               " FROM auth.signing_key WHERE NOT kid = ANY(:kids)",
            kids=list(kids))
        retires_at = float(starts) + KEY_OVERLAP_SECONDS
        # Within the overlap, tokens of the old key still work at both.
        if time.time() < retires_at - 2:
            assert [await accepted(api, old) for api in (one, two)] == [True, True]

        async def signs_with_new_key(ask: httpx.AsyncClient, answer: httpx.AsyncClient
                                     ) -> str | None:
            token = (await sign_in(cluster, people.pop(), ask, answer, new_address())
                     )["accessToken"]
            return token if kid_of(token) == new_kid else None

        bound = KEYRING_REFRESH_SECONDS + 20
        fresh = [await until(lambda a=a, b=b: signs_with_new_key(a, b), bound,
                             "the API to sign with the new key")
                 for a, b in ((two, one), (one, two))]
        for token in fresh:
            assert [await accepted(api, token) for api in (one, two)] == [True, True]

        # After the overlap, the old key's tokens are refused by both.
        async def refused_by_both() -> bool:
            return not any([await accepted(api, old) for api in (one, two)])

        await until(refused_by_both, KEY_OVERLAP_SECONDS + KEYRING_REFRESH_SECONDS + 20,
                    "the old key to retire")
        assert time.time() >= retires_at - 1, "the old key was refused before its overlap ended"
        for token in fresh:
            assert [await accepted(api, token) for api in (one, two)] == [True, True]


async def test_no_process_logged_an_iin_or_a_phone(
        cluster: Cluster, engine_of_cluster: AsyncEngine) -> None:
    people = await rows(engine_of_cluster, "SELECT iin, phone FROM core.person")
    secrets_seen = {value for person in people for value in person if value}
    assert secrets_seen
    for process in cluster.processes.values():
        logged = process.log.read_text(errors="replace")
        assert logged, process.name
        leaked = {value for value in secrets_seen if value in logged}
        assert not leaked, f"{process.name} logged personal data"
