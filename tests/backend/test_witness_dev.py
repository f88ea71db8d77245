"""What ``make run`` does with the witness before starting it: a demo loaded again is a new
log, and the development witness must not refuse it forever as a fork."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.cli.witness import DevWitness, prepare_dev_witness
from backend.settings import TlogSettings
from backend.tlog.publish import log_signer
from backend.tlog.witness import open_witness
from tests.backend.witness_helpers import Log

ORIGIN = "dev-test.mhi.local/log"
SIZE = 987_654_321
"""A size no other test's log reaches, for the row a test puts in tlog.checkpoint."""


@pytest.fixture
def dev_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Log:
    """The development log's key (as the worker makes it) in a Log the test can grow, and
    the witness's settings pointing into ``tmp_path``."""
    monkeypatch.setenv("WITNESS_DIR", str(tmp_path / "witness"))
    monkeypatch.setenv("TLOG_KEY_DIR", str(tmp_path / "tlog"))
    monkeypatch.setenv("TLOG_ORIGIN", ORIGIN)
    log = Log(ORIGIN)
    log.signer = log_signer(TlogSettings())
    log.vkey = log.signer.verifier().vkey
    return log


async def cosign(directory: Path, log: Log) -> None:
    """The witness in ``directory`` cosigns ``log`` from nothing."""
    witness = open_witness(directory, "localhost/mhi-witness", [log.vkey])
    await witness.add_checkpoint(log.body(0))


async def prepare(engine: AsyncEngine) -> DevWitness:
    """``prepare_dev_witness`` on the suite's database (in a thread: it runs its own loop)."""
    url = engine.url.render_as_string(hide_password=False)
    return await asyncio.to_thread(prepare_dev_witness, url)


async def test_a_state_the_log_never_signed_is_retired(tmp_path: Path, dev_log: Log,
                                                       engine: AsyncEngine) -> None:
    await cosign(tmp_path / "witness", dev_log.grow(5))
    dev = await prepare(engine)
    assert "made again" in dev.note
    assert dev.log_key == dev_log.vkey
    assert not list((tmp_path / "witness" / "logs").glob("*.checkpoint"))
    assert len(list((tmp_path / "witness" / "retired").glob("*.checkpoint"))) == 1
    # The new demo's log starts from 0, cosigned by the same witness key.
    new_demo = Log(ORIGIN, seed="new demo")
    new_demo.signer, new_demo.vkey = dev_log.signer, dev_log.vkey
    await cosign(tmp_path / "witness", new_demo.grow(3))
    assert (await prepare(engine)).key == dev.key


async def test_a_state_the_log_holds_is_kept(tmp_path: Path, dev_log: Log,
                                             engine: AsyncEngine) -> None:
    await cosign(tmp_path / "witness", dev_log.grow(4))
    # The witness's state and the log's database agree on a checkpoint (at a size no other
    # test's log reaches, so no other row can match it).
    root = Log(seed="any").grow(1).root()
    state = next((tmp_path / "witness" / "logs").glob("*.checkpoint"))
    state.write_bytes(dev_log.checkpoint(SIZE, root=root))
    kept = state.read_bytes()
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO tlog.checkpoint (size, root_hash, signed)"
                                " VALUES (:size, :root, 'test')"), {"size": SIZE, "root": root})
    try:
        dev = await prepare(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM tlog.checkpoint WHERE size = :size"),
                               {"size": SIZE})
    assert dev.note == ""
    assert state.read_bytes() == kept
