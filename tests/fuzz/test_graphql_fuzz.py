"""Generated input against the live GraphQL endpoint: no request, from anybody, gets a server
error (HTTP 5xx) or an ``INTERNAL`` error.  Issue 12, item 11.

Every caller kind (nobody, a citizen, a desk worker without and with a consent window, an
integrator) sends generated queries and mutations (see ``documents``) over HTTP to the app on
a real database; each pair is a test of its own with a seed of its own.  The run is bounded
three ways: fixed seeds, ``FUZZ_EXAMPLES`` examples per test, and ``FUZZ_SECONDS`` of sending
per test (after that, examples are drawn but not sent, unless a fault is being shrunk, which
stops at four times that).
``make fuzz`` runs it; ``make test`` deselects the ``fuzz`` marker.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import cast

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz.documents import Operation
from tests.fuzz.envelopes import any_request
from tests.fuzz.findings import EscapedErrors, Findings, logged_tracebacks, parse
from tests.fuzz.kinds import KINDS
from tests.fuzz.world import World

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "500"))
SECONDS = float(os.environ.get("FUZZ_SECONDS", "14"))
SHRINK_SECONDS = 4 * SECONDS
SEED = int(os.environ.get("FUZZ_SEED", "20261206"))
OPERATIONS: tuple[Operation, ...] = ("query", "mutation")
CHECK_EVERY = 40
"""How often (in requests) the run checks that every kind's credentials still work."""


class Clock:
    """When this test started sending, and how many requests it sent."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.sent = 0

    def spent(self) -> bool:
        """Whether the test's sending time is up."""
        return time.monotonic() - self.started > SECONDS

    def over(self) -> bool:
        """Whether even shrinking a fault must stop (Hypothesis then reports the fault as
        flaky, with the failure it saw first): a bound on a failing run too."""
        return time.monotonic() - self.started > SHRINK_SECONDS


@pytest.fixture
def clock() -> Clock:
    """This test's sending budget."""
    return Clock()


async def send_one(kind: str, operation: Operation, data: st.DataObject,
                   client: httpx.AsyncClient, world: World, findings: Findings,
                   escaped: EscapedErrors, clock: Clock, caplog: pytest.LogCaptureFixture
                   ) -> None:
    """Draw one request, send it as ``kind``, and fail with the fault's own class if the
    server fails."""
    request = data.draw(any_request(operation, kind, world.known), label="request")
    if (clock.spent() and not findings.seen) or clock.over():
        return  # drawn all the same: Hypothesis replays prefixes and wants the same draws
    caplog.set_level(logging.ERROR)
    caplog.clear()
    escaped.tracebacks.clear()
    response = await request.send(client, world.headers(kind))
    clock.sent += 1
    body = parse(response.content)
    findings.count(response.status_code, body)
    findings.judge(kind, request, response.status_code, body,
                   escaped.tracebacks + logged_tracebacks(caplog.records))
    if clock.sent % CHECK_EVERY == 0:
        assert await world.check(client) == [], "generated requests ended a credential"


def fuzz_test(kind: str, operation: Operation, number: int) -> Callable[..., Awaitable[None]]:
    """The test of ``operation`` documents sent as ``kind``, with seed ``SEED + number``."""

    @pytest.mark.fuzz
    @settings(max_examples=EXAMPLES, deadline=None, database=None, report_multiple_bugs=True,
              print_blob=False, suppress_health_check=list(HealthCheck))
    @seed(SEED + number)
    @given(data=st.data())
    async def test(data: st.DataObject, fuzz_client: httpx.AsyncClient, world: World,
                   findings: Findings, escaped: EscapedErrors, clock: Clock,
                   caplog: pytest.LogCaptureFixture) -> None:
        await send_one(kind, operation, data, fuzz_client, world, findings, escaped, clock,
                       caplog)

    test.__doc__ = f"No generated {operation} sent as {kind} gets a 5xx or INTERNAL."
    return cast(Callable[..., Awaitable[None]], test)


for _number, (_kind, _operation) in enumerate(itertools.product(KINDS, OPERATIONS)):
    globals()[f"test_{_operation}_as_{_kind}"] = fuzz_test(_kind, _operation, _number)
