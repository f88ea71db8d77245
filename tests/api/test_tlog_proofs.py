"""A citizen's receipts, care and the looks at her data carry proofs from the Fund's public
log: the hashes in GraphQL lead to the cosigned checkpoint's root, and the proof file she
downloads is accepted by the standalone verifier run as she would run it. Nobody else can
download her files; a record the witnesses have not seen yet has no proof."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from backend.gql.nodes import parse_global_id
from backend.tlog.append import append_all
from backend.tlog.checkpoint import open_checkpoint
from backend.tlog.note import new_verifier
from backend.tlog.tlog import check_record, record_hash
from tests.api.gql import data, graphql
from tests.api.test_statement_counts import counting
from tests.api.tlog_world import ProofWorld, look_at, make_world, verify
from tests.backend.tlog_helpers import PSEUDONYM_KEY
from tests.factories import create_contribution

PURPOSES = {"profile", "insurance_status"}


def _all(records: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [node for nodes in records.values() for node in nodes]


def _check_with_library(world: ProofWorld, proof: dict[str, Any]) -> None:
    """What an app does with the GraphQL proof: open the checkpoint with the log's and the
    witness's keys, then hash the entry up the proof to the checkpoint's root."""
    opened = open_checkpoint(proof["checkpoint"], new_verifier(world.log_key),
                             [new_verifier(world.witness_key)], quorum=1)
    assert opened.checkpoint.size == proof["treeSize"]
    check_record([base64.b64decode(h) for h in proof["hashes"]], proof["treeSize"],
                 opened.checkpoint.hash, proof["leafIndex"],
                 record_hash(proof["entry"].encode()))


async def _download(http: httpx.AsyncClient, url: str, token: str) -> httpx.Response:
    return await http.get(url, headers={"Authorization": f"Bearer {token}"})


class TestProofs:
    async def test_every_record_has_a_proof_the_standalone_verifier_accepts(
        self, engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
        auth_settings: AuthSettings, auth_service: AuthService,
    ) -> None:
        world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
        assert (await world.publish()).published is not None
        async with world.app.router.lifespan_context(world.app), world.client() as http:
            records = await world.records(http)
            assert [len(records[k]) for k in records] == [6, 2, 2]
            assert {node["purpose"] for node in records["accessLog"]} == PURPOSES
            pseudonyms = set()
            for node in _all(records):
                proof = node["proof"]
                assert proof is not None, node
                _check_with_library(world, proof)
                pseudonyms.add(json.loads(proof["entry"])["person"])
            assert len(pseudonyms) == 1  # all of hers, under one pseudonym

            # One of each kind downloaded and checked by the standalone verifier.
            for name in ("contributions", "coveredServices", "accessLog"):
                node = records[name][0]
                answer = await _download(http, node["proof"]["fileUrl"], world.token)
                assert answer.status_code == 200, answer.text
                assert answer.headers["cache-control"] == "private, no-store"
                disposition = answer.headers["content-disposition"]
                assert disposition.startswith("attachment; filename=")
                assert disposition.endswith('.tlog-proof"')
                path = tmp_path / f"{name}.tlog-proof"
                path.write_bytes(answer.content)
                checked = verify(path, world.log_key, world.witness_key, show=True)
                assert checked.stdout.splitlines()[0] == "yes", checked.stdout + checked.stderr
                assert checked.returncode == 0
                # The record in the file is the one the app shows.
                record = json.loads(checked.stdout.split("record: ", 1)[1].splitlines()[0])
                if name != "accessLog":
                    shown = node["amount"]["amount"]
                    assert f"{record['amount_tiyn'] / 100:.2f}" == shown
                    assert record["id"] == parse_global_id(node["id"])[1]
                else:
                    assert record["purpose"] == node["purpose"]
                    assert record["actor_name"] == node["actorName"]
                # Without the witness's key, the same file is not enough.
                alone = verify(path, world.log_key)
                assert alone.returncode == 1 and alone.stdout.startswith("no:")

    async def test_another_persons_record_is_not_found_like_a_missing_one(
        self, engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
        auth_settings: AuthSettings, auth_service: AuthService,
    ) -> None:
        world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
        await world.publish()
        async with world.app.router.lifespan_context(world.app), world.client() as http:
            theirs = (await world.records(http, world.other_token))["contributions"][0]
            url = theirs["proof"]["fileUrl"]
            assert (await _download(http, url, world.other_token)).status_code == 200
            stranger = await _download(http, url, world.token)
            missing = await _download(http, "/log/proof/contribution/987654321", world.token)
            assert stranger.status_code == missing.status_code == 404
            assert stranger.json() == missing.json()
            assert stranger.headers["cache-control"] == "private, no-store"
            assert "BEGIN" not in stranger.text and "tlog-proof" not in stranger.text
            for bad in ("/log/proof/contribution/-1", "/log/proof/people/1",
                        "/log/proof/contribution/99999999999999999999",
                        "/log/proof/contribution/１"):
                assert (await _download(http, bad, world.token)).status_code == 404, bad
            anonymous = await http.get(url)
            assert anonymous.status_code == 401
            assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"

    async def test_a_record_not_yet_in_a_cosigned_checkpoint_has_no_proof(
        self, engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
        auth_settings: AuthSettings, auth_service: AuthService,
    ) -> None:
        world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
        async with world.app.router.lifespan_context(world.app), world.client() as http:
            # Nothing published yet: no proofs, and no error.
            assert all(node["proof"] is None for node in _all(await world.records(http)))
            await world.publish()
            before = await world.records(http)
            assert all(node["proof"] is not None for node in _all(before))

            # A new receipt and a new look: stored, then appended, but not yet cosigned.
            await create_contribution(committed, world.person, source_record_id="late-1")
            await committed.commit()
            await look_at(engine, world.person, "devices")
            for appended in (False, True):
                if appended:
                    await append_all(engine, PSEUDONYM_KEY)
                now = await world.records(http)
                late = [n for n in now["contributions"] if n["id"] not in
                        {b["id"] for b in before["contributions"]}]
                assert len(late) == 1 and late[0]["proof"] is None
                assert now["accessLog"][0]["purpose"] == "devices"
                assert now["accessLog"][0]["proof"] is None
                # Its file is not there yet either: it says so, and when to ask again.
                record_id = parse_global_id(late[0]["id"])[1]
                answer = await _download(http, f"/log/proof/contribution/{record_id}",
                                         world.token)
                assert answer.status_code == 404 and answer.headers["retry-after"] == "30"
                # Older records keep proofs, now against the same checkpoint as before.
                assert now["contributions"][0]["proof"] == before["contributions"][0]["proof"]

            assert (await world.publish()).published is not None
            after = await world.records(http)
            assert all(node["proof"] is not None for node in _all(after))
            for node in _all(after):
                _check_with_library(world, node["proof"])

    async def test_a_page_of_proofs_costs_the_same_statements_as_one(
        self, engine: AsyncEngine, committed: AsyncSession, tmp_path: Path,
        auth_settings: AuthSettings, auth_service: AuthService,
    ) -> None:
        world = await make_world(engine, committed, tmp_path, auth_settings, auth_service)
        await world.publish()
        query = ("query($n: Int) { me { contributions(first: $n) { edges { node { "
                 "proof { leafIndex } } } } } }")
        async with world.app.router.lifespan_context(world.app), world.client() as http:
            statements = []
            for first in (1, 6):
                with counting(world.app, engine) as seen:
                    body = await graphql(http, query, {"n": first}, token=world.token)
                edges = data(body)["me"]["contributions"]["edges"]
                assert len(edges) == first and all(e["node"]["proof"] for e in edges)
                statements.append(len(seen))
            assert statements[0] == statements[1], statements
