"""What the observability tests share: free ports, processes started as an operator starts
them (``mhi serve``, ``mhi worker``, Debian's ``prometheus``), fcm-local, Prometheus's API."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from prometheus_client.core import Metric
from prometheus_client.registry import REGISTRY
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.service import AuthService
from auth.settings import AuthSettings
from backend.access.directory import PeopleDirectory
from backend.api.app import create_app
from backend.db.reads import Reads
from backend.observability.server import MetricsSettings
from backend.observability.worker import instrument_worker
from backend.settings import AppSettings
from notifications.fcm_local import KEEP_ALIVE_SECONDS, FcmLocal
from notifications.fcm_local import create_app as create_fcm_local
from notifications.gateway import Gateway, close_app, open_app
from notifications.settings import NotifySettings
from notifications.worker import Dispatcher
from tests.conftest import AUTH_ROOT_SECRET
from tests.servers import serving

ROOT = Path(__file__).resolve().parents[2]
MHI = Path(sys.executable).with_name("mhi")
PROMETHEUS_YML = ROOT / "infra" / "prometheus" / "prometheus.yml"
START_SECONDS = 60.0
STOP_SECONDS = 20.0


def free_port() -> int:
    """A port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class FcmLocalServer:
    """A running fcm-local: its base URL and its state (what the phones received)."""

    url: str
    state: FcmLocal


@pytest.fixture(scope="module")
async def fcm_local() -> AsyncIterator[FcmLocalServer]:
    """fcm-local under uvicorn in the test's event loop, on a free port."""
    state = FcmLocal()
    config = uvicorn.Config(create_fcm_local(state), log_config=None, log_level="warning",
                            access_log=False, lifespan="off",
                            timeout_keep_alive=KEEP_ALIVE_SECONDS)
    async with serving(config) as port:
        yield FcmLocalServer(f"http://127.0.0.1:{port}", state)


def service_env(database_url: str, folder: Path, **values: str) -> dict[str, str]:
    """The environment of an ``mhi`` process on the test database: the suite's root secret
    (its signing keys are sealed under it), SMS into ``folder``, and ``values``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("APP_", "AUTH_", "NOTIFY_", "METRICS_"))}
    env.update({
        "DATABASE_URL": database_url,
        "APP_ENVIRONMENT": "test",
        "APP_HOST": "127.0.0.1",
        "AUTH_SECRET_KEY": base64.b64encode(AUTH_ROOT_SECRET).decode(),
        "AUTH_DEV_SMS_FILE": str(folder / "sms.jsonl"),
        "METRICS_HOST": "127.0.0.1",
    })
    env.update(values)
    return env


@asynccontextmanager
async def running(name: str, argv: Sequence[str], env: Mapping[str, str], log: Path,
                  ready_url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A process started like an operator starts it, waited for until ``ready_url``
    answers 200, stopped with SIGTERM (as a deployment stops it) when the block ends."""
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=dict(env), stdout=out, stderr=out,
            start_new_session=True)
    try:
        await _until_ready(name, process, ready_url, log)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _until_ready(name: str, process: asyncio.subprocess.Process, url: str,
                       log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as http:
        while loop.time() < deadline:
            if process.returncode is not None:
                break
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    tail = (await asyncio.to_thread(log.read_text, errors="replace"))[-3000:]
    pytest.fail(f"{name} did not become ready at {url} (exit {process.returncode}):\n{tail}")


def prometheus_binary() -> str:
    """Debian's prometheus (``make prometheus`` installs it)."""
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("prometheus is missing: run `make prometheus` (it installs Debian's "
                    "prometheus package)")
    return found


def prometheus_config(api_metrics: int, worker_metrics: int) -> str:
    """``infra/prometheus/prometheus.yml`` (the one ``make run`` is scraped with) with the
    test's ports, a 1 s scrape and evaluation, and the rules by their absolute path."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", scrape_timeout="1s",
                            evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_YML.parent / name) for name in config["rule_files"]]
    ports = {"mhi-api": api_metrics, "mhi-worker": worker_metrics}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    assert set(ports) == {job["job_name"] for job in config["scrape_configs"]}
    return str(yaml.safe_dump(config))


class PrometheusApi:
    """Prometheus's HTTP API, as Grafana or an operator reads it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of ``promql`` now (``/api/v1/query``)."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as http:
            answer = (await http.get("/api/v1/query", params={"query": promql})).json()
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    async def values(self, promql: str) -> dict[tuple[tuple[str, str], ...], float]:
        """``promql``'s samples: their labels (sorted, without the name) → value."""
        return {tuple(sorted((k, v) for k, v in item["metric"].items() if k != "__name__")):
                float(item["value"][1]) for item in await self.query(promql)}

    async def rules(self) -> list[dict[str, Any]]:
        """The loaded alerting rules with their health (``/api/v1/rules``)."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as http:
            answer = (await http.get("/api/v1/rules", params={"type": "alert"})).json()
        return [rule for group in answer["data"]["groups"] for rule in group["rules"]]

    async def wait_for(self, promql: str, seconds: float = 45.0) -> list[dict[str, Any]]:
        """``promql``'s first non-empty answer (series appear a scrape or two after the
        traffic that made them); fails with the last answer after ``seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            found = await self.query(promql)
            if found or loop.time() > deadline:
                assert found, f"Prometheus has nothing for {promql}"
                return found
            await asyncio.sleep(0.5)


# --- the API and a worker instrumented in this process ----------------------------------------


@dataclass(frozen=True)
class Metered:
    """An app (lifespan running) and a dispatcher, both instrumented, on the suite's
    database; ``http`` talks to the app through ASGI."""

    app: FastAPI
    http: httpx.AsyncClient
    dispatcher: Dispatcher


@pytest.fixture
async def metered(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Metered]:
    """``create_app`` (with ``install_metrics``, as every deployment) and
    ``instrument_worker`` on a dispatcher (no metrics port: read the registry directly)."""
    auth = AuthSettings(environment="test", secret_key=SecretStr(
        base64.b64encode(AUTH_ROOT_SECRET).decode()), dev_sms_file=tmp_path / "sms.jsonl")
    await AuthService.open(engine, auth, directory=PeopleDirectory(Reads(engine)))
    app = create_app(AppSettings(environment="test"), auth, engine=engine)
    notify = NotifySettings(fcm_local_url="http://127.0.0.1:9")  # nothing is sent
    firebase = open_app(notify)
    dispatcher = Dispatcher(engine, Gateway(firebase), notify)
    worker = instrument_worker(dispatcher, MetricsSettings(port=None))
    transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 1234))
    try:
        async with (app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://testserver") as http):
            yield Metered(app, http, dispatcher)
    finally:
        worker.close()
        await close_app(firebase)


async def scrape() -> list[Metric]:
    """What the process's registry exports now, collected off the event loop (as the
    metrics server's thread does, so that the scrape-time probes can run on the loop)."""
    return await asyncio.to_thread(lambda: list(REGISTRY.collect()))


def sample(families: list[Metric], name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with exactly ``labels`` (None: absent)."""
    for family in families:
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def exported_names(families: list[Metric]) -> set[str]:
    """Every sample name the families can export (a labelled family not yet observed has no
    samples, so the names are derived from its type, as prometheus-client writes them)."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created"), "info": ("_info",),
                "summary": ("", "_count", "_sum", "_created"), "untyped": ("",)}
    names = {family.name + suffix for family in families
             for suffix in suffixes.get(family.type, ("",))}
    return names | {found.name for family in families for found in family.samples}
