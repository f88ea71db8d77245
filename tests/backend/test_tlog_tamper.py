"""Tampering is caught (issue 16, part 6). Each attack is done directly in the database with
SQL, as someone with write access to it would; then the citizen's tools (the standalone
verifier, her monitor), the witness, and the API itself must notice:

- a stored contribution's amount changed: the file the citizen kept shows another amount
  than the app, a file made from the changed row fails the verifier's commitment check, a
  leaf rewritten to match fails its inclusion check, and the API serves no proof for it;
- an access-log row deleted: its leaf stays in the log, and the citizen's monitor finds a
  leaf under her pseudonym that the app no longer shows;
- history rewritten (a stored hash changed, or the whole log rebuilt) and a checkpoint of the
  same size signed again with the log's key: the witness refuses the fork, the verifier
  refuses a checkpoint without a valid cosignature, and the API refuses to serve from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from backend.gql.nodes import parse_global_id
from backend.tlog.checkpoint import Checkpoint, open_checkpoint
from backend.tlog.leaves import commitment, load_records
from backend.tlog.monitor import download_entries, person_of, unaccounted
from backend.tlog.note import new_verifier, sign_note
from backend.tlog.prooffile import make_proof_file, parse_extra, parse_proof
from backend.tlog.store import driver_of, root_hash
from backend.tlog.witness_client import add_checkpoint_body
from tests.api.conftest import auth_service, auth_settings  # noqa: F401 (fixtures)
from tests.api.gql import graphql
from tests.api.tlog_world import MY_RECORDS, ProofWorld, make_world, verify

PROOF_PATH = ["me", "contributions", "edges"]


async def _sql(engine: AsyncEngine, statement: str, **values: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), values)


async def _download(http: httpx.AsyncClient, world: ProofWorld, url: str) -> httpx.Response:
    return await http.get(url, headers={"Authorization": f"Bearer {world.token}"})


def _mismatches(body: dict[str, Any]) -> list[list[str | int]]:
    """The paths of the ``LOG_MISMATCH`` errors in an answer (each a ``proof`` field)."""
    return [error["path"] for error in body.get("errors", [])
            if error["extensions"]["code"] == "LOG_MISMATCH"]


async def test_a_changed_amount_is_caught(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
    auth_settings: AuthSettings, auth_service: AuthService,  # noqa: F811
) -> None:
    world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
    await world.publish()
    async with world.app.router.lifespan_context(world.app), world.client() as http:
        receipt = (await world.records(http))["contributions"][0]
        record_id = int(parse_global_id(receipt["id"])[1])
        kept = tmp_path / "kept.tlog-proof"
        kept.write_bytes((await _download(http, world, receipt["proof"]["fileUrl"])).content)

        await _sql(engine, "UPDATE core.contribution SET amount_tiyn = amount_tiyn * 10"
                           " WHERE id = :id", id=record_id)

        # The app shows the new amount, and refuses to prove it: that receipt's proof alone
        # is LOG_MISMATCH, in her language; the other receipts keep theirs.
        body = await graphql(http, MY_RECORDS, token=world.token)
        nodes = [e["node"] for e in body["data"]["me"]["contributions"]["edges"]]
        assert nodes[0]["amount"]["amount"] != receipt["amount"]["amount"]
        assert nodes[0]["proof"] is None
        assert _mismatches(body) == [[*PROOF_PATH, 0, "node", "proof"]]
        assert "открытый журнал" in body["errors"][0]["message"]  # she reads Russian
        assert all(node["proof"] is not None for node in nodes[1:])
        refused = await _download(http, world, receipt["proof"]["fileUrl"])
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "LOG_MISMATCH"

        # The file she kept still verifies, and says the amount the Fund logged, which is
        # not what the app now shows her.
        checked = verify(kept, world.log_key, world.witness_key, show=True)
        assert checked.stdout.startswith("yes")
        logged = json.loads(checked.stdout.split("record: ", 1)[1].splitlines()[0])
        assert f"{logged['amount_tiyn'] / 100:.2f}" == receipt["amount"]["amount"]
        assert f"{logged['amount_tiyn'] / 100:.2f}" != nodes[0]["amount"]["amount"]

        # A server that served the changed row in a file anyway: the commitment fails.
        original = parse_proof(kept.read_text())
        assert original.extra is not None
        extra = parse_extra(original.extra)
        async with engine.connect() as conn:
            changed = (await load_records(await driver_of(conn),
                                          [("contribution", record_id)]))
        record = changed[("contribution", record_id)].record
        assert extra.salt is not None and record != extra.record
        forged = tmp_path / "forged.tlog-proof"
        forged.write_text(make_proof_file(original.index, original.hashes,
                                          original.checkpoint, extra.entry, record, extra.salt))
        answer = verify(forged, world.log_key, world.witness_key)
        assert answer.returncode == 1 and "commits to" in answer.stdout, answer.stdout
        # … and one that rewrote the leaf to commit to the changed row: inclusion fails.
        leaf = json.loads(extra.entry)
        leaf["commitment"] = commitment(extra.salt, record)
        entry = json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode()
        forged.write_text(make_proof_file(original.index, original.hashes,
                                          original.checkpoint, entry, record, extra.salt))
        answer = verify(forged, world.log_key, world.witness_key)
        assert answer.returncode == 1 and "inclusion" in answer.stdout, answer.stdout
        # The same rewrite in the database: the API still refuses that receipt's proof.
        await _sql(engine, "UPDATE tlog.leaf SET entry = :entry WHERE leaf_index = :index",
                   entry=entry, index=original.index)
        body = await graphql(http, MY_RECORDS, token=world.token)
        assert _mismatches(body) == [[*PROOF_PATH, 0, "node", "proof"]]
        assert (await _download(http, world, receipt["proof"]["fileUrl"])).status_code == 409


async def _monitor(http: httpx.AsyncClient, world: ProofWorld) -> list[tuple[str, int]]:
    """What the citizen's monitor does: her pseudonym and the records the app shows from
    their proofs, the public log's entries up to the cosigned checkpoint (authenticated
    against its root), and the leaves under her pseudonym the app does not show."""
    records = await world.records(http)
    proofs = [node["proof"] for nodes in records.values() for node in nodes]
    entries_shown = [json.loads(proof["entry"]) for proof in proofs]
    shown = [(leaf["kind"], int(leaf["id"])) for leaf in entries_shown]
    opened = open_checkpoint(proofs[0]["checkpoint"], new_verifier(world.log_key),
                             [new_verifier(world.witness_key)], quorum=1)
    entries = await download_entries(http, opened.checkpoint)
    pseudonym = person_of(proofs[0]["entry"])
    return [(leaf.kind, leaf.record_id) for leaf in unaccounted(entries, pseudonym, shown)]


async def test_a_deleted_look_is_noticed_by_the_citizens_monitor(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
    auth_settings: AuthSettings, auth_service: AuthService,  # noqa: F811
) -> None:
    world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
    await world.publish()
    async with world.app.router.lifespan_context(world.app), world.client() as http:
        assert await _monitor(http, world) == []
        looks = (await world.records(http))["accessLog"]
        hidden = looks[0]
        hidden_id = int(json.loads(hidden["proof"]["entry"])["id"])

        await _sql(engine, "DELETE FROM core.access_log WHERE id = :id", id=hidden_id)

        assert len((await world.records(http))["accessLog"]) == len(looks) - 1
        assert await _monitor(http, world) == [("access", hidden_id)]
        # Its file is gone with the row (nobody's), but the leaf is still in the log.
        gone = await _download(http, world, hidden["proof"]["fileUrl"])
        assert gone.status_code == 404


async def test_a_changed_stored_hash_is_a_fork_the_witness_refuses(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
    auth_settings: AuthSettings, auth_service: AuthService,  # noqa: F811
) -> None:
    world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
    size = (await world.publish()).published
    assert size is not None
    async with world.app.router.lifespan_context(world.app), world.client() as http:
        receipts = (await world.records(http))["contributions"]
        kept = tmp_path / "kept.tlog-proof"
        kept.write_bytes((await _download(http, world, receipts[0]["proof"]["fileUrl"])).content)
        honest = receipts[0]["proof"]["checkpoint"]

        # Leaf 0's hash in the bottom tile is changed, and a checkpoint of the same size
        # signed over the tree that gives.
        await _sql(engine, "UPDATE tlog.tile SET hashes = overlay(hashes PLACING :zero"
                           " FROM 1 FOR 32) WHERE level = 0 AND tile_index = 0",
                   zero=bytes(32))
        async with engine.connect() as conn:
            forged_root = await root_hash(await driver_of(conn), size)
        origin = world.settings.origin
        forged = sign_note(Checkpoint(origin, size, forged_root).text(), [world.signer])
        assert forged_root != open_checkpoint(honest, world.signer.verifier()).checkpoint.hash

        # The witness: from the size it cosigned, a fork (422); from 0, not its size (409).
        witness = world.witness.client
        fork = await witness.post(f"{world.witness.url}/add-checkpoint",
                                  content=add_checkpoint_body(size, [], forged.encode()))
        assert fork.status_code == 422
        stale = await witness.post(f"{world.witness.url}/add-checkpoint",
                                   content=add_checkpoint_body(0, [], forged.encode()))
        assert stale.status_code == 409 and stale.text.strip() == str(size)

        # The verifier: the forged checkpoint, alone or with the honest cosignature.
        _refused_by_the_verifier(world, kept, forged, honest, tmp_path)

        # The API: every proof that passes through leaf 0's hash fails against the cosigned
        # root; leaf 0's own proof does not use it, and still verifies.
        body = await graphql(http, MY_RECORDS, token=world.token)
        nodes = [e["node"] for e in body["data"]["me"]["contributions"]["edges"]]
        first = [n for n in nodes if n["proof"] is not None]
        assert len(first) == 1 and first[0]["proof"]["leafIndex"] == 0
        assert len(_mismatches(body)) == len(nodes) + 4 - 1  # 2 services and 2 looks too


async def test_a_rebuilt_log_is_a_fork_nobody_accepts(
    engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
    auth_settings: AuthSettings, auth_service: AuthService,  # noqa: F811
) -> None:
    """The whole log made again over a changed amount, in the same order and size, and
    signed: the log's own publisher gets no cosignature, so nothing is published; written
    as published anyway, with the old cosignature, the API refuses every proof."""
    world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
    size = (await world.publish()).published
    assert size is not None
    async with world.app.router.lifespan_context(world.app), world.client() as http:
        receipts = (await world.records(http))["contributions"]
        kept = tmp_path / "kept.tlog-proof"
        kept.write_bytes((await _download(http, world, receipts[0]["proof"]["fileUrl"])).content)
        honest = receipts[0]["proof"]["checkpoint"]
        record_id = int(parse_global_id(receipts[0]["id"])[1])
        await _sql(engine, "UPDATE core.contribution SET amount_tiyn = 1 WHERE id = :id",
                   id=record_id)
        await _sql(engine, "INSERT INTO tlog.pending (kind, record_id) SELECT kind, record_id"
                           " FROM tlog.leaf ORDER BY leaf_index")
        for table in ("leaf", "tile", "checkpoint"):
            await _sql(engine, f"DELETE FROM tlog.{table}")

        report = await world.publish()
        assert report.signed and report.size == size
        assert report.published is None and "422" in " ".join(report.refused), report
        async with engine.connect() as conn:
            forged: str = (await conn.execute(text(
                "SELECT signed FROM tlog.checkpoint WHERE size = :size"),
                {"size": size})).scalar_one()
        assert (await http.get("/log/checkpoint")).status_code == 404
        assert all(n["proof"] is None for n in (await world.records(http))["contributions"])

        _refused_by_the_verifier(world, kept, forged, honest, tmp_path)

        # Published by hand with the honest checkpoint's cosignature line: it does not
        # verify over the forged root, and the API serves no proof at all.
        line = honest.split("\n\n", 1)[1].splitlines()[-1]
        await _sql(engine, "UPDATE tlog.checkpoint SET cosigned = :note, published_at = now()",
                   note=forged + line + "\n")
        body = await graphql(http, MY_RECORDS, token=world.token)
        assert len(_mismatches(body)) == 6 + 2 + 2
        edges = body["data"]["me"]["contributions"]["edges"]
        assert all(edge["node"]["proof"] is None for edge in edges)


def _refused_by_the_verifier(world: ProofWorld, kept: Path, forged: str, honest: str,
                             tmp_path: Path) -> None:
    """A proof file whose checkpoint is ``forged`` is refused by the standalone verifier:
    with the log's signature alone, and with the witness's cosignature of ``honest``."""
    original = parse_proof(kept.read_text())
    path = tmp_path / "fork.tlog-proof"
    cosignature = honest.split("\n\n", 1)[1].splitlines()[-1]
    assert cosignature.startswith("— " + new_verifier(world.witness_key).name)
    for note, why in ((forged, "witness"), (forged + cosignature + "\n", "does not verify")):
        path.write_text(kept.read_text().replace(original.checkpoint, note))
        answer = verify(path, world.log_key, world.witness_key)
        assert answer.returncode == 1 and answer.stdout.startswith("no:"), answer.stdout
        assert why in answer.stdout
    # The same file with its honest checkpoint is still a yes.
    assert verify(kept, world.log_key, world.witness_key).stdout.startswith("yes")
