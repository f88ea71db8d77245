"""Several ``mhi`` processes on one database, started as an operator starts them: two API
processes (``mhi serve`` on two ports), two workers (``mhi worker``) and ``mhi fcm-local``,
each an OS process of its own with its own log file, stopped with SIGTERM (or killed with
SIGKILL by the test) and always reaped.

The settings that make minutes into seconds are the operator's own environment variables
(``AUTH_KEYRING_REFRESH_SECONDS``, ``NOTIFY_LEASE_SECONDS``, ...), never a test hook.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from auth.sms import DevSmsSink
from tests.conftest import AUTH_ROOT_SECRET

ROOT = Path(__file__).resolve().parents[2]
MHI = Path(sys.executable).with_name("mhi")
START_SECONDS = 120.0  # five processes importing at once on two busy cores
STOP_SECONDS = 20.0
KEY_OVERLAP_SECONDS = 6
KEYRING_REFRESH_SECONDS = 2
LEASE_SECONDS = 3
_CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


def free_port() -> int:
    """A port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, folder: Path, **values: str) -> dict[str, str]:
    """An ``mhi`` process's environment on the test's database: the suite's root secret, SMS
    into ``folder``, keys that rotate lazily at once (a key is due for its successor as soon
    as it is made, so processes that start together race to make it; the successor is
    published a day ahead, so nothing is due after that), a retired key verifying
    ``KEY_OVERLAP_SECONDS`` after its successor starts, key sets reloaded every
    ``KEYRING_REFRESH_SECONDS``, and ``values``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("APP_", "AUTH_", "NOTIFY_", "METRICS_", "TLOG_", "FCM_"))}
    env.update({
        "DATABASE_URL": database_url,
        "APP_ENVIRONMENT": "test",
        "APP_HOST": "127.0.0.1",
        "AUTH_SECRET_KEY": base64.b64encode(AUTH_ROOT_SECRET).decode(),
        "AUTH_DEV_SMS_FILE": str(folder / "sms.jsonl"),
        "AUTH_KEY_ROTATION_DAYS": "1",
        "AUTH_KEY_PREPUBLISH_SECONDS": str(86_400 + 10),
        "AUTH_KEY_OVERLAP_SECONDS": str(KEY_OVERLAP_SECONDS),
        "AUTH_KEYRING_REFRESH_SECONDS": str(KEYRING_REFRESH_SECONDS),
        "AUTH_CLOCK_LEEWAY_SECONDS": "1",
    })
    env.update(values)
    return env


@dataclass
class Process:
    """One running ``mhi`` process."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    def tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-chars:]

    async def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a lost node stops it: no drain."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (a deployment's stop), SIGKILL if it does not exit in time."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
            except TimeoutError:
                await self.kill()


async def start(name: str, argv: Sequence[str], env: Mapping[str, str],
                folder: Path) -> Process:
    """Start ``argv`` with its output in ``folder/<name>.log``."""
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=dict(env), stdout=out, stderr=out, start_new_session=True)
    return Process(name, process, log)


async def until_ready(process: Process, url: str) -> None:
    """Wait until ``url`` answers 200; fail with the log's end if the process exits or the
    time runs out."""
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline and process.process.returncode is None:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{process.name} did not become ready at {url} "
                         f"(exit {process.process.returncode}):\n{process.tail()}")


@dataclass
class Cluster:
    """The running processes and where they answer."""

    database_url: str
    folder: Path
    apis: list[str]
    fcm_local: str
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def sms_file(self) -> Path:
        """The development SMS sink both API processes append to."""
        return self.folder / "sms.jsonl"

    def codes_to(self, phone: str) -> list[str]:
        """Every sign-in code texted to ``phone``, oldest first."""
        found = []
        for sms in reversed(DevSmsSink(self.sms_file).recent(1_000_000)):
            if sms.phone == phone:
                found.extend(_CODE.findall(sms.text)[:1])
        return found

    async def next_code(self, phone: str, before: int, seconds: float = 20.0) -> str:
        """The code texted to ``phone`` after the first ``before`` (sent after the answer,
        by the API's background task)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.codes_to(phone)
            if len(found) > before:
                return found[before]
            await asyncio.sleep(0.1)
        raise AssertionError("no SMS reached the phone")

    async def mhi(self, *args: str) -> str:
        """Run an ``mhi`` command on the cluster's database; its output (exit 0 asserted)."""
        command = await asyncio.create_subprocess_exec(
            str(MHI), *args, cwd=ROOT, env=environment(self.database_url, self.folder),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await command.communicate()
        text = out.decode(errors="replace")
        assert command.returncode == 0, text
        return text

    async def received(self) -> list[dict[str, Any]]:
        """Every message fcm-local accepted (its inspection endpoint)."""
        async with httpx.AsyncClient(timeout=30.0) as http:
            answer = await http.get(f"{self.fcm_local}/admin/messages",
                                    params={"limit": 1_000_000})
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages

    async def accepted(self) -> int:
        """How many messages fcm-local accepted so far."""
        async with httpx.AsyncClient(timeout=10.0) as http:
            stats: dict[str, Any] = (await http.get(f"{self.fcm_local}/admin/stats")).json()
        return int(stats["accepted"])


@contextlib.asynccontextmanager
async def running_cluster(database_url: str, folder: Path) -> AsyncIterator[Cluster]:
    """fcm-local, two API processes and two workers on ``database_url``, all started at
    once; every process is stopped and reaped when the block ends, whatever happened."""
    api_ports = [free_port(), free_port()]
    fcm_port = free_port()
    probes = [free_port(), free_port()]
    cluster = Cluster(database_url, folder, [f"http://127.0.0.1:{p}" for p in api_ports],
                      f"http://127.0.0.1:{fcm_port}")
    ready: list[tuple[Process, str]] = []
    try:
        fcm = await start("fcm-local", [str(MHI), "fcm-local"], environment(
            database_url, folder, FCM_LOCAL_PORT=str(fcm_port),
            FCM_LOCAL_FAULTS=json.dumps({"latency_ms": 5})), folder)
        ready.append((fcm, f"{cluster.fcm_local}/healthz"))
        for number, port in enumerate(api_ports, 1):
            api = await start(f"api{number}", [str(MHI), "serve"], environment(
                database_url, folder, APP_PORT=str(port)), folder)
            ready.append((api, f"http://127.0.0.1:{port}/readyz"))
        for number, port in enumerate(probes, 1):
            worker = await start(f"worker{number}", [
                str(MHI), "worker", "--every", "1", "--health-port", str(port)], environment(
                database_url, folder, NOTIFY_FCM_LOCAL_URL=cluster.fcm_local,
                NOTIFY_IDLE_POLL_SECONDS="0.1", NOTIFY_DIGEST_WINDOW_SECONDS="0",
                NOTIFY_LEASE_SECONDS=str(LEASE_SECONDS), TLOG_CHECKPOINT_EVERY_SECONDS="1",
                TLOG_APPEND_EVERY_SECONDS="0.5"), folder)
            ready.append((worker, f"http://127.0.0.1:{port}/readyz"))
        cluster.processes = {process.name: process for process, _ in ready}
        await asyncio.gather(*(until_ready(process, url) for process, url in ready))
        yield cluster
    finally:
        # fcm-local is the test's phone, not a service under test: it is killed (after a
        # client died mid-request it may not exit on SIGTERM before its connections drain).
        await asyncio.gather(*(process.kill() if process.name == "fcm-local" else process.stop()
                               for process, _ in ready))
