"""``request_cosignature``, the log's call to a witness, against our witness (and against a
witness that is down or never answers)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from backend.tlog.witness_client import WitnessConflict, WitnessError, request_cosignature
from tests.backend.witness_helpers import Log, cosigned, witness_client

URL = "http://witness"


async def test_a_cosignature_that_verifies(tmp_path: Path) -> None:
    log = Log().grow(6)
    async with witness_client(tmp_path, log) as (client, witness):
        answer = await request_cosignature(client, URL, 0, [], log.checkpoint())
        assert isinstance(answer, bytes)
        log.grow(10)
        extended = await request_cosignature(client, URL + "/", 6, log.proof(6),
                                             log.checkpoint())
    assert isinstance(extended, bytes)
    assert cosigned(log, 6, answer, witness.verifier_key).checkpoint.size == 6
    assert cosigned(log, 16, extended, witness.verifier_key).checkpoint.size == 16


async def test_a_conflict_gives_the_witness_size(tmp_path: Path) -> None:
    log = Log().grow(6)
    async with witness_client(tmp_path, log) as (client, _):
        assert isinstance(await request_cosignature(client, URL, 0, [], log.checkpoint()), bytes)
        log.grow(2)
        answer = await request_cosignature(client, URL, 0, [], log.checkpoint())
        assert answer == WitnessConflict(6)
        # The log recovers as the spec intends: a proof from the witness's size.
        assert isinstance(answer, WitnessConflict)
        again = await request_cosignature(client, URL, answer.size, log.proof(answer.size),
                                          log.checkpoint())
        assert isinstance(again, bytes)


async def test_a_refusal_is_an_error_with_its_status(tmp_path: Path) -> None:
    log, stranger = Log().grow(3), Log("stranger.example/log").grow(3)
    async with witness_client(tmp_path, log) as (client, _):
        with pytest.raises(WitnessError) as refused:
            await request_cosignature(client, URL, 0, [], stranger.checkpoint())
    assert refused.value.status == 404


async def test_a_witness_that_is_down(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        async with httpx.AsyncClient() as client:
            with pytest.raises(WitnessError) as down:
                await request_cosignature(client, f"http://127.0.0.1:{port}", 0, [],
                                          Log().grow(1).checkpoint())
    assert down.value.status is None


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never answers; yields its port."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_witness_that_never_answers_times_out() -> None:
    async with silent_server() as port, httpx.AsyncClient() as client:
        with pytest.raises(WitnessError) as slow:
            await request_cosignature(client, f"http://127.0.0.1:{port}", 0, [],
                                      Log().grow(1).checkpoint(), timeouts=0.2)
    assert slow.value.status is None
    assert "Timeout" in slow.value.reason
