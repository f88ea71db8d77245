"""The witness's ``POST /add-checkpoint`` as a log sees it (C2SP tlog-witness), through httpx:
what it cosigns, what it refuses with which status, and that a refusal changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from backend.tlog.checkpoint import parse_checkpoint
from backend.tlog.note import ALG_COSIGNATURE_V1, cosignature_time, generate_key
from backend.tlog.tlog import EMPTY_HASH
from backend.tlog.witness import parse_log_keys
from backend.tlog.witness_client import add_checkpoint_body
from tests.backend.witness_helpers import (
    ORIGIN,
    Log,
    cosigned,
    monitoring_path,
    witness_client,
)

NOW = 1_796_600_000


def clock() -> int:
    """The witness's time in these tests."""
    return NOW


async def add(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    """Post an add-checkpoint body."""
    return await client.post("/add-checkpoint", content=body)


async def stored_size(client: httpx.AsyncClient) -> int:
    """The size of the checkpoint the witness serves as its latest for the log."""
    answer = await client.get(monitoring_path())
    assert answer.status_code == 200
    return parse_checkpoint(answer.text[: answer.text.index("\n\n") + 1]).size


class TestFirstCheckpoint:
    """A log the witness has not seen yet starts from ``old 0``."""

    async def test_cosigns_from_zero_and_the_cosignature_verifies(self, tmp_path: Path) -> None:
        log = Log().grow(5)
        async with witness_client(tmp_path, log, clock=clock) as (client, witness):
            answer = await add(client, log.body(0))
            assert answer.status_code == 200
            opened = cosigned(log, 5, answer.content, witness.verifier_key)
        assert opened.witnesses == ("test.mhi.local/witness",)
        assert opened.checkpoint.size == 5
        assert opened.checkpoint.hash == log.root()
        assert cosignature_time(opened.note.sigs[-1]) == NOW

    async def test_serves_what_it_cosigned_to_monitors(self, tmp_path: Path) -> None:
        log = Log().grow(3)
        async with witness_client(tmp_path, log, clock=clock) as (client, witness):
            assert (await client.get(monitoring_path())).status_code == 404
            line = (await add(client, log.body(0))).text
            served = (await client.get(monitoring_path())).text
        assert served == log.checkpoint().decode() + line
        assert cosigned(log, 3, line.encode(), witness.verifier_key).checkpoint.size == 3

    async def test_a_proof_from_zero_is_refused(self, tmp_path: Path) -> None:
        log = Log().grow(4)
        body = add_checkpoint_body(0, log.proof(2), log.checkpoint())
        async with witness_client(tmp_path, log) as (client, _):
            answer = await add(client, body)
            assert answer.status_code == 422
            assert (await client.get(monitoring_path())).status_code == 404

    async def test_an_empty_tree_needs_the_empty_root(self, tmp_path: Path) -> None:
        log = Log()
        async with witness_client(tmp_path, log) as (client, _):
            wrong = add_checkpoint_body(0, [], log.checkpoint(0, root=bytes(32)))
            assert (await add(client, wrong)).status_code == 422
            right = add_checkpoint_body(0, [], log.checkpoint(0, root=EMPTY_HASH))
            assert (await add(client, right)).status_code == 200


class TestExtending:
    """From the size it cosigned last, with a consistency proof."""

    async def test_a_valid_proof_is_cosigned(self, tmp_path: Path) -> None:
        log = Log().grow(5)
        async with witness_client(tmp_path, log, clock=clock) as (client, witness):
            assert (await add(client, log.body(0))).status_code == 200
            for leaves in (1, 2, 250, 7):
                old = log.size
                log.grow(leaves)
                answer = await add(client, log.body(old))
                assert answer.status_code == 200, answer.text
                assert cosigned(log, log.size, answer.content,
                                witness.verifier_key).checkpoint.size == log.size
            assert await stored_size(client) == 265

    async def test_the_same_checkpoint_again_is_cosigned_again(self, tmp_path: Path) -> None:
        log = Log().grow(9)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            assert (await add(client, log.body(9))).status_code == 200
            assert await stored_size(client) == 9


class TestConflict:
    """``old`` must be the size the witness cosigned last: 409 with its size."""

    async def test_a_wrong_old_size_gets_the_witness_size(self, tmp_path: Path) -> None:
        log = Log().grow(8)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            log.grow(4)
            for old in (0, 5):
                answer = await add(client, log.body(old))
                assert answer.status_code == 409
                assert answer.headers["content-type"] == "text/x.tlog.size"
                assert answer.text == "8\n"
            assert await stored_size(client) == 8
            assert (await add(client, log.body(8))).status_code == 200

    async def test_old_larger_than_the_checkpoint_is_a_bad_request(self, tmp_path: Path) -> None:
        log = Log().grow(10)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            # The log shows the witness a smaller tree than the one it cosigned.
            smaller = add_checkpoint_body(10, [], log.checkpoint(6))
            assert (await add(client, smaller)).status_code == 400
            assert await stored_size(client) == 10

    async def test_two_requests_from_one_old_size_cannot_both_win(self, tmp_path: Path) -> None:
        log = Log().grow(4)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            log.grow(3)
            first = log.body(4)
            log.grow(5)
            second = log.body(4)
            answers = await asyncio.gather(add(client, first), add(client, second),
                                           add(client, first), add(client, second))
            codes = sorted(answer.status_code for answer in answers)
            won = await stored_size(client)
        # One of them extended the tree; every other one, the winner's twin included, heard
        # the winner's size: nothing rolled it back to the other branch.
        assert codes == [200, 409, 409, 409]
        assert won in (7, 12)
        assert [a.text for a in answers if a.status_code == 409] == [f"{won}\n"] * 3


class TestFork:
    """A history that does not extend the cosigned one is refused (422), changes nothing, and
    is kept as evidence."""

    async def test_same_size_with_another_root(self, tmp_path: Path) -> None:
        log = Log().grow(6)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            before = (await client.get(monitoring_path())).text
            forked = add_checkpoint_body(6, [], log.checkpoint(6, root=Log(seed="x").grow(6)
                                                               .root()))
            answer = await add(client, forked)
            assert answer.status_code == 422
            assert "fork" in answer.text
            assert (await client.get(monitoring_path())).text == before
        evidence = list((tmp_path / "evidence").rglob("*.txt"))
        assert len(evidence) == 1
        assert evidence[0].read_bytes().endswith(forked)

    async def test_a_rewritten_history_does_not_prove_consistent(self, tmp_path: Path) -> None:
        log = Log().grow(6)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            # The same log key signs a tree whose first six leaves differ, with a proof that
            # is consistent, but from the rewritten tree of size 6.
            rewritten = Log(seed="rewritten").grow(20)
            rewritten.signer, rewritten.vkey = log.signer, log.vkey
            answer = await add(client, rewritten.body(6))
            assert answer.status_code == 422
            assert await stored_size(client) == 6
            log.grow(14)
            assert (await add(client, log.body(6))).status_code == 200

    async def test_a_tampered_proof_is_refused(self, tmp_path: Path) -> None:
        log = Log().grow(13)
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, log.body(0))).status_code == 200
            log.grow(30)
            proof = log.proof(13)
            for i in range(len(proof)):
                bad = [*proof]
                bad[i] = bytes(b ^ 1 for b in bad[i])
                body = add_checkpoint_body(13, bad, log.checkpoint())
                assert (await add(client, body)).status_code == 422
            short = add_checkpoint_body(13, proof[:-1], log.checkpoint())
            assert (await add(client, short)).status_code == 422
            assert await stored_size(client) == 13


class TestSignatures:
    """The checkpoint must carry a valid signature of a log the witness follows."""

    async def test_an_unknown_origin_is_not_found(self, tmp_path: Path) -> None:
        followed, other = Log().grow(2), Log("other.example/log").grow(2)
        async with witness_client(tmp_path, followed) as (client, _):
            assert (await add(client, other.body(0))).status_code == 404

    async def test_another_key_for_the_origin_is_forbidden(self, tmp_path: Path) -> None:
        log, impostor = Log().grow(3), Log().grow(3)  # same origin, its own key
        async with witness_client(tmp_path, log) as (client, _):
            assert (await add(client, impostor.body(0))).status_code == 403
            assert (await client.get(monitoring_path())).status_code == 404

    async def test_a_bad_log_signature_is_forbidden(self, tmp_path: Path) -> None:
        log = Log().grow(3)
        text = log.checkpoint().decode()
        tampered = text.replace("\n3\n", "\n4\n", 1)  # the size changed after signing
        async with witness_client(tmp_path, log) as (client, _):
            answer = await add(client, add_checkpoint_body(0, [], tampered.encode()))
            assert answer.status_code == 403
            assert (await client.get(monitoring_path())).status_code == 404

    @pytest.mark.parametrize("body", [
        b"",
        b"old 0\n",
        b"old 01\n\n",
        b"new 0\n\n",
        b"old 0\nnot-base64\n\n",
        b"old 0\n\n" + ORIGIN.encode() + b"\n3\n",
    ])
    async def test_malformed_requests_are_bad_requests(self, tmp_path: Path,
                                                       body: bytes) -> None:
        async with witness_client(tmp_path, Log()) as (client, _):
            assert (await add(client, body)).status_code == 400

    async def test_a_request_too_large_is_refused(self, tmp_path: Path) -> None:
        log = Log().grow(1)
        async with witness_client(tmp_path, log) as (client, _):
            answer = await add(client, log.body(0) + b"x" * 70_000)
            assert answer.status_code == 413

    async def test_other_signatures_in_the_request_are_ignored(self, tmp_path: Path) -> None:
        log = Log().grow(5)
        async with witness_client(tmp_path, log) as (client, witness):
            stale = (await add(client, log.body(0))).content  # its cosignature of size 5
            log.grow(1)
            resent = add_checkpoint_body(5, log.proof(5), log.checkpoint() + stale)
            answer = await add(client, resent)
            assert answer.status_code == 200
            served = (await client.get(monitoring_path())).text
        # The witness keeps the log's signature and its new cosignature, not the stale line.
        assert served == log.checkpoint().decode() + answer.text
        assert cosigned(log, 6, answer.content, witness.verifier_key).checkpoint.size == 6


class TestLogKeys:
    """The logs a witness follows come from their verifier keys."""

    async def test_a_log_with_two_keys_is_followed_under_either(self, tmp_path: Path) -> None:
        old_key, new_key = Log(), Log()  # one origin, two keys: a key rotation
        new_key.hashes = old_key.hashes  # one tree
        old_key.grow(3)
        async with witness_client(tmp_path, old_key, new_key) as (client, _):
            assert (await add(client, old_key.body(0))).status_code == 200
            old_key.grow(4)
            new_key.size = old_key.size
            assert (await add(client, new_key.body(3))).status_code == 200
            assert await stored_size(client) == 7

    def test_a_cosigner_key_is_not_a_log_key(self) -> None:
        _, cosigner = generate_key("someone.example/witness", ALG_COSIGNATURE_V1)
        with pytest.raises(ValueError, match="not a log's signing key"):
            parse_log_keys([cosigner])
