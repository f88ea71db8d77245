"""A citizen's screens read from a streaming replica, and never an older state than their own
writes; a replica that lags or is down serves nothing, and nobody sees an error.

What the replica says is made visible by pausing its replay (``pg_wal_replay_pause()``): then
a change committed on the primary is on the primary only, and an answer tells which server it
came from.  The inbox's unread count is the screen read (``me { unreadNotifications }``,
part of HomeScreen, read through the request's ``Reads``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.replica import TOKEN_HEADER
from backend.db.standby import ReplicaPair
from tests.api.gql import data, graphql
from tests.replica.conftest import (
    DATABASE,
    MARK_ALL,
    UNREAD,
    AppFactory,
    Reader,
    add_items,
    routed,
    routed_to,
    router_of,
)


async def unread(client: httpx.AsyncClient, reader: Reader, token: str | None = None) -> int:
    """The reader's unread count as the app answers it (no error allowed)."""
    headers = {TOKEN_HEADER: token} if token else None
    body = await graphql(client, UNREAD, token=reader.token, headers=headers)
    count: int = data(body)["me"]["unreadNotifications"]
    return count


def pause(pair: ReplicaPair) -> None:
    """The standby stops replaying (it still receives WAL)."""
    pair.sql("SELECT pg_wal_replay_pause()", standby=True)


async def until(client: httpx.AsyncClient, state: str, seconds: float = 30.0) -> None:
    """Until ``/readyz`` (200 all along) names the replica's ``state``."""
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        if response.json().get("replica") == state:
            return
        assert time.monotonic() < deadline, f"the replica never became {state}"
        await asyncio.sleep(0.05)


class TestFreshReplica:
    async def test_a_citizens_screen_is_read_from_the_replica(
            self, pair: ReplicaPair, primary: AsyncEngine, app_with: AppFactory,
            reader: Reader) -> None:
        async with app_with(max_lag_seconds=60) as client:
            await until(client, "fresh")
            assert await unread(client, reader) == 3
            pause(pair)
            await add_items(primary, reader.person_id, 2)  # someone else's write: no mark

            before = routed("replica", "fresh")
            assert await unread(client, reader) == 3  # the standby's view, not the primary's
            assert routed("replica", "fresh") == before + 1

            pair.sql("SELECT pg_wal_replay_resume()", standby=True)
            pair.wait_caught_up()
            assert await unread(client, reader) == 5


class TestReadYourWrites:
    async def test_a_read_after_the_readers_own_write_sees_it(
            self, pair: ReplicaPair, app_with: AppFactory, reader: Reader) -> None:
        async with app_with(max_lag_seconds=60, wait_seconds=0.05) as client:
            await until(client, "fresh")
            pause(pair)
            response = await client.post("/graphql", json={"query": MARK_ALL},
                                         headers={"Authorization": f"Bearer {reader.token}"})
            assert response.json()["data"]["markAllNotificationsRead"] == {
                "marked": 3, "unreadCount": 0}  # the mutation's read-back: the primary
            assert response.headers[TOKEN_HEADER]

            assert await unread(client, reader) == 0  # never the replica's 3
            assert pair.sql(
                f"SELECT count(*) FROM notify.notification WHERE person_id = "
                f"'{reader.person_id}' AND read_at IS NULL", standby=True,
                database="mhi_replica") == "3"
            assert router_of(client).state.state == "fresh"  # not the lag: the mark

    async def test_the_token_carries_the_write_to_another_api_process(
            self, pair: ReplicaPair, app_with: AppFactory, reader: Reader) -> None:
        async with (app_with(max_lag_seconds=60) as first,
                    app_with(max_lag_seconds=60, wait_seconds=0.05) as second):
            await until(first, "fresh")
            await until(second, "fresh")
            pause(pair)
            response = await first.post("/graphql", json={"query": MARK_ALL},
                                        headers={"Authorization": f"Bearer {reader.token}"})
            token = response.headers[TOKEN_HEADER]

            assert await unread(second, reader) == 3  # no token: the second reads the replica
            assert await unread(second, reader, token) == 0  # with it: what was written

            pair.sql("SELECT pg_wal_replay_resume()", standby=True)
            pair.wait_caught_up()
            before = routed_to("replica")
            assert await unread(second, reader, token) == 0
            assert routed_to("replica") == before + 1  # replayed: the replica again

    async def test_a_malformed_token_is_ignored(
            self, app_with: AppFactory, reader: Reader) -> None:
        async with app_with() as client:
            await until(client, "fresh")
            for token in ("nonsense", "1.zz", "1." + "f" * 40, "2.10"):
                assert await unread(client, reader, token) == 3


class TestUnfitReplica:
    async def test_a_replica_lagging_past_the_threshold_serves_nothing(
            self, pair: ReplicaPair, primary: AsyncEngine, app_with: AppFactory,
            reader: Reader) -> None:
        async with app_with(max_lag_seconds=0.3) as client:
            await until(client, "fresh")
            pause(pair)
            await add_items(primary, reader.person_id, 2)
            await until(client, "lagging")

            before = routed("primary", "lagging")
            assert await unread(client, reader) == 5  # the primary's, without an error
            assert routed("primary", "lagging") == before + 1

            pair.sql("SELECT pg_wal_replay_resume()", standby=True)
            await until(client, "fresh")
            assert await unread(client, reader) == 5

    async def test_a_stopped_replica_sends_reads_to_the_primary_until_it_returns(
            self, pair: ReplicaPair, app_with: AppFactory, reader: Reader) -> None:
        async with app_with() as client:
            await until(client, "fresh")
            assert await unread(client, reader) == 3  # a pooled connection to the standby
            pair.stop_standby()

            for _ in range(3):  # the pooled connection is dead, then the standby is away
                assert await unread(client, reader) == 3
            response = await client.get("/readyz")
            assert response.status_code == 200
            assert response.json()["replica"] in ("down", "starting")

            pair.start_standby()
            await until(client, "fresh")
            before = routed("replica", "fresh")
            assert await unread(client, reader) == 3
            assert routed("replica", "fresh") == before + 1

    async def test_a_replica_that_never_answers_is_given_up_on_quickly(
            self, app_with: AppFactory, reader: Reader) -> None:
        with socket.socket() as silent:  # accepts connections, never says a word
            silent.bind(("127.0.0.1", 0))
            silent.listen(64)
            port = silent.getsockname()[1]
            url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{DATABASE}"
            async with app_with(url, connect_timeout_seconds=0.2) as client:
                started = time.monotonic()
                assert await unread(client, reader) == 3
                assert time.monotonic() - started < 10  # not asyncpg's 60 s
                response = await client.get("/readyz")
                assert response.status_code == 200
                assert response.json()["replica"] in ("down", "starting")

    async def test_a_hung_replica_is_read_around(
            self, pair: ReplicaPair, app_with: AppFactory, reader: Reader) -> None:
        async with app_with(statement_timeout_seconds=0.5, connect_timeout_seconds=0.5) as client:
            await until(client, "fresh")
            assert await unread(client, reader) == 3  # a pooled connection to the standby
            frozen = cluster_processes(pair.standby_data)
            try:
                for pid in frozen:
                    os.kill(pid, signal.SIGSTOP)
                started = time.monotonic()
                assert await unread(client, reader) == 3  # from the primary, no error
                assert time.monotonic() - started < 10
                assert (await client.get("/readyz")).json()["replica"] in ("down", "starting")
            finally:
                for pid in frozen:
                    os.kill(pid, signal.SIGCONT)
            await until(client, "fresh")


def cluster_processes(pgdata: Path) -> list[int]:
    """The postmaster of the cluster in ``pgdata`` and its children."""
    postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == postmaster:
                children.append(int(entry.name))
    return [postmaster, *children]
