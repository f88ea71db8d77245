"""The log over HTTP (C2SP tlog-tiles): a mirror that downloads the published checkpoint, the
tiles and the entry bundles rebuilds the same tree, and every tile it reads is authenticated
against the cosigned checkpoint; full tiles are cached forever, partial tiles and the
checkpoint briefly, all with ETags; what the log does not hold is a 404."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.tlog.append import append_all
from backend.tlog.checkpoint import open_checkpoint
from backend.tlog.note import new_verifier
from backend.tlog.publish import checkpoint, log_signer
from backend.tlog.tiles import TileHashReader, parse_entry_bundle
from backend.tlog.tlog import (
    TILE_HEIGHT,
    Tile,
    Tree,
    new_tiles,
    record_hash,
    stored_hash_index,
)
from tests.backend.tlog_helpers import PSEUDONYM_KEY, LibraryLog, LocalWitness, log_settings
from tests.factories import create_person

RECORDS = 600
"""Two full tiles at level 0 and a partial one; a partial tile at level 1."""


async def _log_of(engine: AsyncEngine, session: AsyncSession, tmp_path: Path,
                  records: int = RECORDS) -> LocalWitness:
    """``records`` contributions appended, and a checkpoint of them cosigned and published."""
    person = await create_person(session)
    await session.commit()
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO core.contribution (person_id, kind, period, amount_tiyn, paid_on,"
            " payment_code, source, source_record_id)"
            " SELECT :p, 'self_payment', DATE '2025-01-01', 425000 + n, DATE '2025-02-20', 122,"
            " 'test', 'mirror-' || n FROM generate_series(1, :records) AS n"),
            {"p": person.id, "records": records})
    await append_all(engine, PSEUDONYM_KEY)
    settings = log_settings(tmp_path / "log")
    signer = log_signer(settings)
    witness = LocalWitness(tmp_path / "witness", [signer.verifier().vkey])
    settings = log_settings(tmp_path / "log", witness.address)
    report = await checkpoint(engine, signer, settings.witnesses, witness.client, settings)
    assert report.published == records, report
    return witness


class _Downloaded:
    """A ``TileReader`` over tiles a mirror already downloaded (the library's reader is
    synchronous; the mirror fetched them over HTTP first)."""

    def __init__(self, tiles: dict[Tile, bytes]) -> None:
        self.tiles = tiles

    def height(self) -> int:
        return TILE_HEIGHT

    def read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        return [self.tiles[tile] for tile in tiles]

    def save_tiles(self, tiles: Sequence[Tile], data: Sequence[bytes]) -> None:
        """A mirror would keep them now that they are authenticated."""


async def test_a_mirror_rebuilds_the_published_tree_from_tiles(
    engine: AsyncEngine, committed: AsyncSession, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    witness = await _log_of(engine, committed, tmp_path)
    # What a mirror is given: the log's verifier key (published beside the dev key) and the
    # witness's.
    log_key = new_verifier((tmp_path / "log" / "log.vkey").read_text().strip())
    answer = await client.get("/log/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    opened = open_checkpoint(answer.text, log_key, [witness.verifier], quorum=1)
    tree = Tree(opened.checkpoint.size, opened.checkpoint.hash)
    assert tree.n == RECORDS

    tiles: dict[Tile, bytes] = {}
    for tile in new_tiles(TILE_HEIGHT, 0, tree.n):
        got = await client.get(f"/log/{tile.path()}")
        assert got.status_code == 200, tile.path()
        assert len(got.content) == 32 * tile.w
        tiles[tile] = got.content
    assert {(t.l, t.w) for t in tiles} == {(0, 256), (0, 88), (1, 2)}
    entries: list[bytes] = []
    for n in range(-(-tree.n // 256)):
        width = min(256, tree.n - 256 * n)
        got = await client.get(f"/log/{Tile(TILE_HEIGHT, -1, n, width).path()}")
        assert got.status_code == 200
        entries.extend(parse_entry_bundle(got.content, width))

    # Every leaf hash in the tiles is authenticated against the cosigned root, and is the
    # hash of the entry the bundles hold; the entries alone give the same root.
    reader = TileHashReader(tree, _Downloaded(tiles))
    leaf_hashes = reader.read_hashes([stored_hash_index(0, i) for i in range(tree.n)])
    assert leaf_hashes == [record_hash(entry) for entry in entries]
    assert LibraryLog(entries).root() == tree.hash


async def test_tiles_are_cacheable_and_missing_ones_are_404(
    engine: AsyncEngine, committed: AsyncSession, client: httpx.AsyncClient, tmp_path: Path,
) -> None:
    await _log_of(engine, committed, tmp_path)
    full = await client.get("/log/tile/0/000")
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert full.headers["content-type"] == "application/octet-stream"
    again = await client.get("/log/tile/0/000", headers={"if-none-match": full.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    partial = await client.get("/log/tile/0/002.p/88")
    assert partial.headers["cache-control"] == "public, max-age=60"
    # A narrower partial tile is the wider one's prefix (its bytes never change).
    narrow = await client.get("/log/tile/0/002.p/5")
    assert narrow.content == partial.content[:5 * 32]
    bundle = await client.get("/log/tile/entries/001")
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert len(parse_entry_bundle(bundle.content, 256)) == 256
    checkpoint_answer = await client.get("/log/checkpoint")
    assert checkpoint_answer.headers["cache-control"] == "public, max-age=10"
    assert "etag" in checkpoint_answer.headers
    for missing in ("/log/tile/0/002.p/89", "/log/tile/0/003", "/log/tile/1/000",
                    "/log/tile/entries/002.p/89", "/log/tile/0/2", "/log/tile/0/x000/002",
                    "/log/tile/0/002.p/256", "/log/tile/../0/000"):
        answer = await client.get(missing)
        assert answer.status_code == 404, missing


async def test_no_checkpoint_is_served_before_a_witness_cosigned_one(
    committed: AsyncSession, client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/log/checkpoint")
    assert answer.status_code == 404
    assert "witness" in answer.text
