"""A primary and its streaming hot standby, from the embedded binaries, for the whole run of
this folder; the app's database migrated on the primary (and so on the standby).

Each test gets a person with unread inbox items (the count is what the tests read: a citizen's
screen read through ``Reads``) and apps made with the settings the test needs; replay is
resumed and the standby started again after every test, whatever it did to them.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.access.directory import PeopleDirectory
from backend.api.app import create_app
from backend.db.reads import Reads
from backend.db.replica import ReplicaRouter
from backend.db.standby import ReplicaPair, replica_pair
from backend.settings import AppSettings
from tests.conftest import AUTH_ROOT_SECRET, migrated_database
from tests.factories import create_person

TODAY = date(2026, 11, 23)
DATABASE = "mhi_replica"
UNREAD = "{ me { unreadNotifications } }"
MARK_ALL = "mutation { markAllNotificationsRead { marked unreadCount } }"


@pytest.fixture(scope="session")
def pair() -> Iterator[ReplicaPair]:
    """A primary and a hot standby (a few seconds to make; stopped and removed after)."""
    with replica_pair() as made:
        yield made


@pytest.fixture(scope="session")
async def primary(pair: ReplicaPair) -> AsyncIterator[AsyncEngine]:
    """An engine on the app's database on the primary, migrated to head."""
    engine = await migrated_database(pair.url(DATABASE))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def auth_settings(tmp_path_factory: pytest.TempPathFactory,
                        primary: AsyncEngine) -> AuthSettings:
    """Identity settings, with the signing keys made once on the primary."""
    folder = Path(tmp_path_factory.mktemp("replica-auth"))
    made = AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode()), dev_sms_file=folder / "sms.jsonl")
    await AuthService.open(primary, made, directory=PeopleDirectory(Reads(primary)))
    return made


@pytest.fixture(autouse=True)
def standby_restored(pair: ReplicaPair) -> Iterator[None]:
    """After each test: the standby runs and replays again."""
    yield
    if not _running(pair):
        pair.start_standby()
    pair.sql("SELECT pg_wal_replay_resume()", standby=True)
    pair.wait_caught_up()


def _running(pair: ReplicaPair) -> bool:
    try:
        pair.sql("SELECT 1", standby=True)
    except Exception:
        return False
    return True


@dataclass
class Reader:
    """A citizen with unread inbox items, and their token."""

    person_id: uuid.UUID
    token: str
    unread: int


@pytest.fixture
async def reader(pair: ReplicaPair, primary: AsyncEngine,
                 auth_settings: AuthSettings) -> Reader:
    """A new person with three unread inbox items, replayed on the standby."""
    async with AsyncSession(bind=primary, expire_on_commit=False) as db:
        person = await create_person(db)
        await db.commit()
    await add_items(primary, person.id, 3)
    auth = await AuthService.open(primary, auth_settings,
                                  directory=PeopleDirectory(Reads(primary)))
    pair.wait_caught_up()
    return Reader(person.id, auth.mint(str(person.id), Audience.MOBILE), 3)


async def add_items(engine: AsyncEngine, person_id: uuid.UUID, count: int) -> None:
    """``count`` unread inbox items for ``person_id``, committed on the primary."""
    async with engine.begin() as db:
        for _ in range(count):
            event = (await db.execute(text(
                "INSERT INTO notify.outbox (person_id, kind, payload, dedupe_key, dispatched_at)"
                " VALUES (:person, 'contribution.received', '{}', :key, now()) RETURNING id"),
                {"person": person_id, "key": uuid.uuid4().hex})).scalar_one()
            await db.execute(text(
                "INSERT INTO notify.notification (event_id, person_id, kind, category, payload,"
                " created_at)"
                " VALUES (:event, :person, 'contribution.received', 'payments', '{}', now())"),
                {"event": event, "person": person_id})


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_with(pair: ReplicaPair, primary: AsyncEngine, auth_settings: AuthSettings
             ) -> AppFactory:
    """``async with app_with(max_lag_seconds=...) as client``: an app (its own process state:
    marks, monitor) reading the standby (or ``url``), served over ASGI."""

    @asynccontextmanager
    async def made(url: str | None = None, **replica: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = AppSettings(
            environment="development",
            database_replica_url=url or pair.url(DATABASE, standby=True),
            replica_poll_seconds=0.05, replica_retry_seconds=0.3,
            **{f"replica_{name}": value for name, value in replica.items()})
        app = create_app(settings, auth_settings, engine=primary, today=lambda: TODAY)
        transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 1234))
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://testserver") as http):
            http.router = app.state.runtime.router  # type: ignore[attr-defined]
            yield http

    return made


def router_of(client: httpx.AsyncClient) -> ReplicaRouter:
    """The replica router of the app behind ``client``."""
    router: ReplicaRouter = client.router  # type: ignore[attr-defined]
    return router


def routed(target: str, reason: str) -> float:
    """``mhi_replica_route_total{target, reason}`` as Prometheus would scrape it now."""
    value = REGISTRY.get_sample_value("mhi_replica_route_total",
                                      {"target": target, "reason": reason})
    return value or 0.0


def routed_to(target: str) -> float:
    """Requests whose reads went to ``target`` (replica, primary), for every reason."""
    return sum(routed(target, reason) for reason in (
        "fresh", "replayed", "waited", "own_write", "lagging", "down", "failed", "pinned"))
