"""Consistency proofs over HTTP (issue 16, part 3): anyone holding an older tree head asks
``/log/consistency/OLD/NEW`` and checks, with the library, that the newer published tree
extends it; sizes beyond the published checkpoint, malformed or reversed sizes are refused;
a proof the stored tree no longer gives is never served."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.tlog.tlog import ProofError, check_tree
from tests.api.test_tlog_http import RECORDS, _log_of
from tests.backend.tlog_helpers import LibraryLog, stored_entries


def hashes_of(body: str) -> list[bytes]:
    return [base64.b64decode(line) for line in body.splitlines()]


async def test_a_newer_tree_is_proven_to_extend_an_older_one(
    engine: AsyncEngine, committed: AsyncSession, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    await _log_of(engine, committed, tmp_path)
    library = LibraryLog(await stored_entries(engine))
    for old in (1, 255, 256, 300, RECORDS - 1, RECORDS):
        answer = await client.get(f"/log/consistency/{old}/{RECORDS}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        proof = hashes_of(answer.text)
        check_tree(proof, RECORDS, library.root(RECORDS), old, library.root(old))
        if old < RECORDS:  # the same proof does not tie the new tree to another old root
            with pytest.raises(ProofError):
                check_tree(proof, RECORDS, library.root(RECORDS), old, library.root(old - 1))
    assert (await client.get(f"/log/consistency/0/{RECORDS}")).text == ""  # nothing to prove


async def test_sizes_beyond_the_published_tree_or_malformed_are_refused(
    engine: AsyncEngine, committed: AsyncSession, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    assert (await client.get("/log/consistency/1/2")).status_code == 404  # nothing published
    await _log_of(engine, committed, tmp_path)
    assert (await client.get(f"/log/consistency/1/{RECORDS + 1}")).status_code == 404
    for path in ("/log/consistency/5/4", "/log/consistency/a/4", "/log/consistency/-1/4",
                 "/log/consistency/1/" + "9" * 30):
        answer = await client.get(path)
        assert answer.status_code == 400, path
        assert answer.headers["cache-control"] == "no-store"


async def test_a_proof_the_stored_tree_no_longer_gives_is_not_served(
    engine: AsyncEngine, committed: AsyncSession, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    await _log_of(engine, committed, tmp_path)
    async with engine.begin() as conn:  # history rewritten: leaf 299's hash (in size 300)
        await conn.execute(text(
            "UPDATE tlog.tile SET hashes = set_byte(hashes, 43 * 32, get_byte(hashes, 43 * 32) # 1)"
            " WHERE level = 0 AND tile_index = 1"))
    answer = await client.get(f"/log/consistency/300/{RECORDS}")
    assert answer.status_code == 409, answer.text
    assert answer.headers["cache-control"] == "no-store"
