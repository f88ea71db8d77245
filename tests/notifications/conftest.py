"""Fixtures of the ``notifications`` tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from notifications.fcm_local import FcmLocal, create_app

# --- fcm-local: the FCM HTTP v1 server, under uvicorn in the session's event loop -----------


@dataclass(frozen=True)
class FcmLocalServer:
    """A running fcm-local: its base URL (``http://127.0.0.1:PORT``) and its state."""

    url: str
    state: FcmLocal


class _InProcessServer(uvicorn.Server):
    """uvicorn that leaves the signal handlers to pytest."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture(scope="session")
async def fcm_local_server() -> AsyncIterator[FcmLocalServer]:
    """One fcm-local for the session, on a free port of 127.0.0.1."""
    state = FcmLocal()
    config = uvicorn.Config(create_app(state), log_config=None, log_level="warning",
                            access_log=False, lifespan="off")
    server = _InProcessServer(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what stopped the start
            raise RuntimeError("fcm-local stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield FcmLocalServer(f"http://127.0.0.1:{sock.getsockname()[1]}", state)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
def fcm_local(fcm_local_server: FcmLocalServer) -> FcmLocalServer:
    """The session's fcm-local, emptied: no records, no counters, no faults."""
    fcm_local_server.state.reset()
    return fcm_local_server
