"""The main screens cost a fixed number of SQL statements, however many items they show."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.tokens import Audience
from backend.db.reads import Reads
from backend.models import Person
from backend.rates.repository import load_rate_book
from backend.status import store
from tests.api.conftest import TODAY
from tests.api.gql import data, graphql, operation
from tests.factories import (
    create_contribution,
    create_employer,
    create_medical_service,
    create_person,
    create_provider,
    create_service_payment,
)


@contextmanager
def counting(app: FastAPI, engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement sent while the block runs: the app's reads through the driver, and
    anything through SQLAlchemy (the rate table, say)."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    reads: Reads = app.state.runtime.reads
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    reads.listeners.append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        reads.listeners.remove(statements.append)


async def person_with(session: AsyncSession, months: int, services: int) -> Person:
    """A person whose every month has a different employer, and as many distinct providers."""
    person = await create_person(session, language="en")
    for index in range(months):
        employer = await create_employer(session)
        period = date(2026 - index // 12, 12 - index % 12, 1)
        await create_contribution(
            session, person, kind="employer_deduction", payment_code=121, payer_id=employer.id,
            payer_kind="employer", period=period, paid_on=date(2026, 12, 31))
    for index in range(services):
        provider = await create_provider(session)
        service = await create_medical_service(session)
        await create_service_payment(session, person, provider, service,
                                     care_date=date(2026, 1 + index % 10, 1 + index % 28),
                                     paid_on=date(2026, 11, 1))
    return person


async def store_statuses(engine: AsyncEngine, people: list[uuid.UUID], today: date) -> None:
    """Store the statuses of ``people`` on ``today``, as the worker's status pass does."""
    async with engine.connect() as conn:
        rates = await load_rate_book(conn)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        db: Any = raw.driver_connection
        async with db.transaction():
            await store.refresh(db, people, today=today, rates=rates, cause="test",
                                force=people)


async def statements_for(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine, token: str, query: str,
    variables: dict[str, Any] | None = None,
) -> list[str]:
    with counting(app, engine) as statements:
        data(await graphql(client, query, variables, token=token))
    return [sql for sql in statements if not sql.lstrip().upper().startswith("SELECT 1")]


class TestStatementCounts:
    async def test_home_screen_does_not_grow_with_the_history(
        self, client: httpx.AsyncClient, app: FastAPI, committed: AsyncSession,
        engine: AsyncEngine, auth_service: AuthService,
    ) -> None:
        small = await person_with(committed, months=3, services=3)
        large = await person_with(committed, months=60, services=40)
        await committed.commit()
        warm = auth_service.mint(str(small.id), Audience.MOBILE)
        await statements_for(client, app, engine, warm, operation("HomeScreen"))  # loads rates and
        # reference data once per process
        counts = []
        for person in (small, large):
            token = auth_service.mint(str(person.id), Audience.MOBILE)
            counts.append(await statements_for(client, app, engine, token, operation("HomeScreen")))
        assert len(counts[0]) == len(counts[1]), (counts[0], counts[1])
        # No stored status yet, so it is computed: the person's own row (with the stored
        # status, none, and the inbox's unread count), their memberships and contributions,
        # and the two lists.
        assert len(counts[1]) == 5, counts[1]
        before = [data(await graphql(client, operation("HomeScreen"),
                                     token=auth_service.mint(str(p.id), Audience.MOBILE)))
                  for p in (small, large)]
        # With their statuses stored (the worker's pass): the stored row, read with the
        # person, is the status; the screen is three statements.
        await store_statuses(engine, [small.id, large.id], TODAY)
        for index, person in enumerate((small, large)):
            token = auth_service.mint(str(person.id), Audience.MOBILE)
            stored = await statements_for(client, app, engine, token, operation("HomeScreen"))
            assert len(stored) == 3, stored
            assert data(await graphql(client, operation("HomeScreen"), token=token)) \
                == before[index]

    async def test_a_hundred_item_page_costs_what_a_ten_item_page_costs(
        self, client: httpx.AsyncClient, app: FastAPI, committed: AsyncSession,
        engine: AsyncEngine, auth_service: AuthService,
    ) -> None:
        person = await person_with(committed, months=110, services=110)
        await committed.commit()
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        for name in ("Receipts", "CoveredServices"):  # the first also loads reference data
            await statements_for(client, app, engine, token, operation(name), {"first": 1})
        for name in ("Receipts", "CoveredServices"):
            ten = await statements_for(client, app, engine, token, operation(name), {"first": 10})
            hundred = await statements_for(client, app, engine, token, operation(name),
                                           {"first": 100})
            assert len(ten) == len(hundred), (name, ten, hundred)
            assert len(hundred) == 2, (name, hundred)
