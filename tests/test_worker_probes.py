"""``mhi worker --health-port``: the probes a Kubernetes pod or a compose healthcheck asks, and
the drain on SIGTERM (finish what is under way, claim nothing more, exit 0) that the worker's
``terminationGracePeriodSeconds`` in infra/k8s is sized for."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from backend.cli.worker_health import serve_probes
from backend.db.admin import drop_database
from backend.settings import AppSettings
from tests.conftest import throwaway_url

ROOT = Path(__file__).resolve().parent.parent
MHI = Path(sys.executable).with_name("mhi")


class Switch:
    """A readiness check a test turns on and off."""

    def __init__(self) -> None:
        self.ready: bool | None = True  # None: the check raises

    async def __call__(self) -> bool:
        if self.ready is None:
            raise RuntimeError("the database is away")
        return self.ready


@pytest.fixture
async def probes() -> AsyncIterator[tuple[str, Switch]]:
    switch = Switch()
    server = await serve_probes("127.0.0.1", 0, switch)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", switch
    finally:
        server.close()
        await server.wait_closed()


class TestProbes:
    async def test_healthz_answers_while_the_loop_runs(self, probes: tuple[str, Switch]) -> None:
        base, switch = probes
        switch.ready = False
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readyz_follows_the_check(self, probes: tuple[str, Switch]) -> None:
        base, switch = probes
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/readyz")).status_code == 200
            switch.ready = False
            assert (await client.get("/readyz")).status_code == 503
            switch.ready = None
            assert (await client.get("/readyz?verbose=1")).status_code == 503

    async def test_other_paths_are_not_found(self, probes: tuple[str, Switch]) -> None:
        base, _ = probes
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/metrics")).status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_worker_is_ready_then_drains_on_sigterm_and_exits_0(
        settings: AppSettings, tmp_path: Path) -> None:
    url = throwaway_url(settings, "worker_probes")
    port = _free_port()
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": url, "APP_HOST": "127.0.0.1",
           "APP_ENVIRONMENT": "test", "NOTIFY_FCM_LOCAL_URL": f"http://127.0.0.1:{_free_port()}"}
    with log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603 (our own command)
            [str(MHI), "worker", "--health-port", str(port)], cwd=ROOT, env=env,
            stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 90  # it creates and migrates its database first
        ready: int | None = None
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            except httpx.TransportError:
                ready = None
            if ready == 200:
                break
            time.sleep(0.3)
        assert ready == 200, log.read_text()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()
        assert "worker stopped" in log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        asyncio.run(drop_database(url))
