"""The witness as a process (``mhi witness serve``) over its own directory: its state survives
a restart, a crash between writing and renaming, and a rename that fails."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.tlog.witness_client import add_checkpoint_body
from tests.backend.witness_helpers import Log, cosigned, monitoring_path, witness_client

MHI = Path(sys.executable).with_name("mhi")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(directory: Path, log: Log) -> Iterator[str]:
    """``mhi witness serve`` on a free port until the block ends (SIGTERM); yields its URL."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [str(MHI), "witness", "serve", "--dir", str(directory), "--port", str(port),
         "--log-key", log.vkey], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"the witness did not start: {output}")
            time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        if process.stdout:
            process.stdout.close()


def post(url: str, body: bytes) -> httpx.Response:
    """Post an add-checkpoint body to a running witness."""
    return httpx.post(url + "/add-checkpoint", content=body, timeout=10)


def witness_key(directory: Path) -> str:
    """What ``mhi witness key`` prints for ``directory``."""
    done = subprocess.run([str(MHI), "witness", "key", "--dir", str(directory)],  # noqa: S603
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout.strip()


def test_a_restart_keeps_the_key_and_the_state(tmp_path: Path) -> None:
    log = Log().grow(10)
    with serving(tmp_path, log) as url:
        first = post(url, log.body(0))
        assert first.status_code == 200
    key = witness_key(tmp_path)
    with serving(tmp_path, log) as url:
        again = post(url, log.body(0))
        assert (again.status_code, again.text) == (409, "10\n")
        log.grow(5)
        extended = post(url, log.body(10))
        assert extended.status_code == 200
        assert key in httpx.get(url + "/").text
    assert cosigned(log, 10, first.content, key).witnesses == ("localhost/mhi-witness",)
    assert cosigned(log, 15, extended.content, key).checkpoint.size == 15


CRASH_AT_RENAME = textwrap.dedent("""
    import asyncio, os, sys
    from pathlib import Path
    from backend.tlog.witness import open_witness

    def power_cut(source, target):  # the new file is written and fsynced; then nothing
        os._exit(9)

    os.replace = power_cut
    witness = open_witness(Path(sys.argv[1]), "localhost/mhi-witness", [sys.argv[2]])
    asyncio.run(witness.add_checkpoint(sys.stdin.buffer.read()))
""")


def test_a_crash_between_write_and_rename_leaves_the_old_state(tmp_path: Path) -> None:
    log = Log().grow(7)
    with serving(tmp_path, log) as url:
        assert post(url, log.body(0)).status_code == 200
        before = httpx.get(url + monitoring_path()).text
    log.grow(9)
    crashed = subprocess.run([sys.executable, "-c", CRASH_AT_RENAME, str(tmp_path), log.vkey],  # noqa: S603
                             input=log.body(7), cwd=ROOT, capture_output=True, check=False)
    assert crashed.returncode == 9, crashed.stderr
    assert list((tmp_path / "logs").glob(".*.tmp")), "the new state was written, not renamed"
    with serving(tmp_path, log) as url:
        assert httpx.get(url + monitoring_path()).text == before
        assert post(url, log.body(0)).text == "7\n"
        assert post(url, log.body(7)).status_code == 200


async def test_a_failed_rename_answers_500_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = Log().grow(4)
    async with witness_client(tmp_path, log) as (client, _):
        assert (await client.post("/add-checkpoint", content=log.body(0))).status_code == 200
        before = (await client.get(monitoring_path())).text
        log.grow(4)

        def full_disk(source: str, target: str) -> None:
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patched:
            patched.setattr(os, "replace", full_disk)
            answer = await client.post("/add-checkpoint", content=log.body(4))
        assert answer.status_code == 500
        assert "—" not in answer.text  # no cosignature for what was not saved
        assert (await client.get(monitoring_path())).text == before
        assert not list((tmp_path / "logs").glob(".*.tmp"))
        # The disk is back: the log retries from the size the witness still holds.
        assert (await client.post("/add-checkpoint", content=log.body(4))).status_code == 200


async def test_a_damaged_state_file_is_never_taken_for_a_new_log(tmp_path: Path) -> None:
    log = Log().grow(3)
    async with witness_client(tmp_path, log) as (client, _):
        assert (await client.post("/add-checkpoint", content=log.body(0))).status_code == 200
        state = next((tmp_path / "logs").glob("*.checkpoint"))
        state.write_bytes(b"garbage")
        forked = Log(seed="fork").grow(3)
        forked.signer, forked.vkey = log.signer, log.vkey
        answer = await client.post("/add-checkpoint",
                                   content=add_checkpoint_body(0, [], forked.checkpoint()))
        assert answer.status_code == 500
        assert state.read_bytes() == b"garbage"
