"""Checkpoints: signed by the log under its origin, cosigned by a real witness over its HTTP
API (which checks the consistency proof the log sends), published only once cosigned; a
witness that is away delays publication and is asked again; one that cosigned another size
answers 409 and is asked again from there; a witness that follows another log never
cosigns, so nothing is published."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.cli.log import run_log
from backend.tlog.append import append_all
from backend.tlog.checkpoint import open_checkpoint
from backend.tlog.note import generate_key, new_verifier
from backend.tlog.publish import checkpoint, due, log_signer
from tests.backend.tlog_helpers import (
    PSEUDONYM_KEY,
    LibraryLog,
    LocalWitness,
    log_settings,
    stored_entries,
)
from tests.factories import create_contribution, create_person


async def _grow(session: AsyncSession, records: int) -> None:
    person = await create_person(session)
    for _ in range(records):
        await create_contribution(session, person)
    await session.commit()


async def _published(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT size, cosigned FROM tlog.checkpoint WHERE published_at IS NOT NULL"
            " ORDER BY size"))
        return [(row[0], row[1]) for row in rows]


async def test_a_checkpoint_is_published_once_a_witness_cosigned_it(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
) -> None:
    settings = log_settings(tmp_path / "log")
    signer = log_signer(settings)
    assert (tmp_path / "log" / "log.vkey").read_text().strip() == signer.verifier().vkey
    assert log_signer(settings).verifier().vkey == signer.verifier().vkey  # made once
    witness = LocalWitness(tmp_path / "witness", [signer.verifier().vkey])
    settings = log_settings(tmp_path / "log", witness.address)
    await _grow(committed, 5)
    await append_all(engine, PSEUDONYM_KEY)

    report = await checkpoint(engine, signer, settings.witnesses, witness.client, settings)
    assert report.signed and report.published == 5, report
    [(size, note)] = await _published(engine)
    assert size == 5
    opened = open_checkpoint(note, signer.verifier(), [witness.verifier], quorum=1)
    assert opened.witnesses == ("witness.test",)
    assert opened.checkpoint.origin == "mhi.test/log"
    assert (opened.checkpoint.size, opened.checkpoint.hash) == (
        5, LibraryLog(await stored_entries(engine)).root())

    # The tree grows: the witness gets a consistency proof from 5 and checks it.
    await _grow(committed, 300)
    await append_all(engine, PSEUDONYM_KEY)
    report = await checkpoint(engine, signer, settings.witnesses, witness.client, settings,
                              force=True)
    assert report.published == 305, report
    assert witness.witness.latest("mhi.test/log").size == 305  # type: ignore[union-attr]
    # Nothing new: nothing signed, nothing sent.
    report = await checkpoint(engine, signer, settings.witnesses, witness.client, settings,
                              force=True)
    assert (report.signed, report.published) == (False, None)
    assert [size for size, _ in await _published(engine)] == [5, 305]


async def test_a_witness_away_delays_publication_until_it_answers(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
) -> None:
    settings = log_settings(tmp_path / "log")
    signer = log_signer(settings)
    witness = LocalWitness(tmp_path / "witness", [signer.verifier().vkey])
    settings = log_settings(tmp_path / "log", witness.address)
    await _grow(committed, 3)
    await append_all(engine, PSEUDONYM_KEY)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as away:
        report = await checkpoint(engine, signer, settings.witnesses, away, settings)
    assert report.signed and report.published is None and report.refused, report
    assert await _published(engine) == []
    report = await checkpoint(engine, signer, settings.witnesses, witness.client, settings)
    assert (report.signed, report.published) == (False, 3), report


async def test_a_witness_that_cosigned_another_size_is_asked_again_from_it(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
) -> None:
    settings = log_settings(tmp_path / "log")
    signer = log_signer(settings)
    witness = LocalWitness(tmp_path / "witness", [signer.verifier().vkey])
    settings = log_settings(tmp_path / "log", witness.address)
    await _grow(committed, 4)
    await append_all(engine, PSEUDONYM_KEY)
    assert (await checkpoint(engine, signer, settings.witnesses, witness.client,
                             settings)).published == 4
    # The log forgets what the witness cosigned (a restored database, a second log server).
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM tlog.witness"))
    await _grow(committed, 10)
    await append_all(engine, PSEUDONYM_KEY)
    report = await checkpoint(engine, signer, settings.witnesses, witness.client, settings,
                              force=True)
    assert report.published == 14, report  # 409 "4", then old 4 with a proof from 4


async def test_nothing_is_published_without_a_witness_of_this_log(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
) -> None:
    settings = log_settings(tmp_path / "log")
    signer = log_signer(settings)
    _, other_log = generate_key("other.example/log")
    stranger = LocalWitness(tmp_path / "witness", [other_log])
    settings = log_settings(tmp_path / "log", stranger.address)
    await _grow(committed, 2)
    await append_all(engine, PSEUDONYM_KEY)
    report = await checkpoint(engine, signer, settings.witnesses, stranger.client, settings)
    assert report.signed and report.published is None
    assert "404" in report.refused[0]
    assert await _published(engine) == []


def test_a_checkpoint_is_due_on_schedule_or_after_enough_leaves(tmp_path: Path) -> None:
    from backend.tlog.publish import _Signed

    settings = log_settings(tmp_path, checkpoint_every_seconds=30, checkpoint_leaves=100)
    assert not due(0, None, settings)
    assert due(1, None, settings)
    fresh = _Signed(size=50, note="", published=True, age=5.0)
    assert not due(50, fresh, settings)  # nothing new
    assert not due(149, fresh, settings)  # 99 new leaves, 5 s old
    assert due(150, fresh, settings)  # 100 new leaves
    assert due(51, _Signed(size=50, note="", published=True, age=31.0), settings)
    assert new_verifier(log_signer(settings).verifier().vkey).name == "mhi.test/log"


async def test_the_worker_appends_and_publishes_by_itself(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
) -> None:
    settings = log_settings(tmp_path / "log")
    witness = LocalWitness(tmp_path / "witness", [log_signer(settings).verifier().vkey])
    settings = log_settings(tmp_path / "log", witness.address, append_every_seconds=0.02,
                            checkpoint_every_seconds=0.05, pseudonym_key=base64.b64encode(
                                PSEUDONYM_KEY).decode())
    stop = asyncio.Event()
    job = asyncio.create_task(run_log(engine, stop, settings, witness.client))
    try:
        await _grow(committed, 7)
        for _ in range(500):  # until the worker published a checkpoint of all 7
            if [size for size, _ in await _published(engine)][-1:] == [7]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the worker published no checkpoint of the 7 records")
        await _grow(committed, 3)
        for _ in range(500):
            if [size for size, _ in await _published(engine)][-1:] == [10]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the worker published no checkpoint of the 10 records")
    finally:
        stop.set()
        await job
    assert LibraryLog(await stored_entries(engine)).root() == open_checkpoint(
        (await _published(engine))[-1][1], log_signer(settings).verifier(),
        [witness.verifier], quorum=1).checkpoint.hash
