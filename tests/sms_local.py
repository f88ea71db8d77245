"""sms-local for tests: the fake Mobizon served for real (uvicorn on a free port of 127.0.0.1,
``tests.servers.serving``) in the session's event loop, on a clock the test moves.

Any test module or conftest takes the fixtures ``sms_local`` and ``sms_local_server`` by
importing them::

    from tests.sms_local import sms_local_fixture, sms_local_server_fixture  # noqa: F401

``sms_local`` is the session's server emptied for the test: no messages, no faults, delivery
after ``DEFAULT_DELIVER_AFTER_MS`` of its clock (``sms_local.clock.advance(2)`` delivers what
was sent).  ``sms_local.gateway()`` is the real ``MobizonGateway`` on it, and
``sms_local.settings(base)`` the ``AuthSettings`` that make ``gateway_for`` build one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from auth.settings import AuthSettings
from auth.sms_local import create_app
from auth.sms_local_state import SmsLocal
from auth.sms_mobizon import MobizonGateway
from tests.servers import serving

API_KEY = "sms-local-test-key"


@dataclass
class ManualClock:
    """Seconds since the epoch, moved by the test only."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass(frozen=True)
class SmsLocalServer:
    """A running sms-local: its base URL (``http://127.0.0.1:PORT``), state and clock."""

    url: str
    state: SmsLocal
    clock: ManualClock

    def gateway(self, **options: Any) -> MobizonGateway:
        """A Mobizon gateway on this server (``aclose`` it, or use ``async with``)."""
        return MobizonGateway(self.url, self.state.api_key, **options)

    def settings(self, base: AuthSettings, **overrides: Any) -> AuthSettings:
        """``base`` with ``AUTH_SMS_GATEWAY=mobizon`` pointed at this server."""
        return base.model_copy(update={
            "sms_gateway": "mobizon", "sms_api_url": self.url,
            "sms_api_key": SecretStr(self.state.api_key), **overrides})


@contextlib.asynccontextmanager
async def serve_sms_local(api_key: str = API_KEY) -> AsyncIterator[SmsLocalServer]:
    """A new sms-local, served until the block ends."""
    clock = ManualClock()
    state = SmsLocal(api_key=api_key, clock=clock)
    config = uvicorn.Config(create_app(state), log_config=None, log_level="warning",
                            access_log=False, lifespan="off")
    async with serving(config) as port:
        yield SmsLocalServer(f"http://127.0.0.1:{port}", state, clock)


@pytest.fixture(scope="session", name="sms_local_server")
async def sms_local_server_fixture() -> AsyncIterator[SmsLocalServer]:
    """One sms-local for the session (per module that imports the fixture)."""
    async with serve_sms_local() as server:
        yield server


@pytest.fixture(name="sms_local")
def sms_local_fixture(sms_local_server: SmsLocalServer) -> SmsLocalServer:
    """The session's sms-local, emptied: no messages, no counters, no faults."""
    sms_local_server.state.reset()
    return sms_local_server
