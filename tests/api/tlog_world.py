"""What the proof tests share: a citizen with receipts, care and looks at her data, a second
person, the log appended and published under a real witness, the app that serves the proofs,
and the standalone verifier run as a citizen runs it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tokens import Audience
from backend.access.audit import Actor, record
from backend.api.app import create_app
from backend.db.reads import Reads
from backend.models import Person
from backend.models.audit import ActorKind
from backend.settings import AppSettings, TlogSettings
from backend.tlog.append import append_all
from backend.tlog.note import Ed25519Signer
from backend.tlog.proofs import LogProofs, Trust
from backend.tlog.publish import PublishReport, checkpoint, log_signer
from tests.api.gql import data, graphql
from tests.backend.tlog_helpers import PSEUDONYM_KEY, LocalWitness, log_settings
from tests.factories import (
    create_contribution,
    create_insured_employee,
    create_medical_service,
    create_provider,
    create_service_payment,
)

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "mobile_contract" / "verifier" / "mhi_verify.py"
TODAY = date(2026, 11, 23)

PROOF = "proof { leafIndex treeSize entry hashes checkpoint fileUrl }"
MY_RECORDS = f"""
{{ me {{
  contributions(first: 20) {{ edges {{ node {{ id amount {{ amount }} {PROOF} }} }} }}
  coveredServices(first: 20) {{ edges {{ node {{ id amount {{ amount }} {PROOF} }} }} }}
  accessLog(first: 20) {{ edges {{ node {{ purpose actorName {PROOF} }} }} }}
}} }}"""


@dataclass
class ProofWorld:
    """The citizen, the other person, the log's keys and its witness, and the app."""

    engine: AsyncEngine
    person: Person
    other: Person
    token: str
    other_token: str
    settings: TlogSettings
    signer: Ed25519Signer
    witness: LocalWitness
    app: FastAPI

    @property
    def log_key(self) -> str:
        """The log's verifier key, as the Fund publishes it."""
        return self.signer.verifier().vkey

    @property
    def witness_key(self) -> str:
        """The witness's verifier key, as the witness publishes it."""
        return self.witness.witness.verifier_key

    async def publish(self) -> PublishReport:
        """What the worker does: append the queue, sign, get it cosigned and publish."""
        await append_all(self.engine, PSEUDONYM_KEY)
        return await checkpoint(self.engine, self.signer, self.settings.witnesses,
                                self.witness.client, self.settings, force=True)

    def client(self) -> httpx.AsyncClient:
        """An HTTP client to the app (enter the app's lifespan around it)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://testserver")

    async def records(self, http: httpx.AsyncClient, token: str | None = None
                      ) -> dict[str, list[dict[str, Any]]]:
        """The citizen's receipts, care and looks, each with its proof."""
        me = data(await graphql(http, MY_RECORDS, token=token or self.token))["me"]
        return {name: [edge["node"] for edge in me[name]["edges"]]
                for name in ("contributions", "coveredServices", "accessLog")}


async def look_at(engine: AsyncEngine, person: Person, purpose: str = "profile") -> None:
    """A registry-desk worker looks at the person's data with consent (one access-log row)."""
    actor = Actor(ActorKind.STAFF, "staff-7", "Айгерим Сапарова", "Городская поликлиника № 5")
    await record(Reads(engine), actor, [person.id], purpose=purpose, reason="consent",
                 reference="window-1")


async def make_world(engine: AsyncEngine, session: AsyncSession, tmp_path: Path,
                     auth_settings: AuthSettings, auth_service: AuthService) -> ProofWorld:
    """Six receipts, two payments for care and two looks of the citizen's, one receipt of
    another person's, all stored (not yet logged)."""
    person = await create_insured_employee(session)
    provider, service = await create_provider(session), await create_medical_service(session)
    await create_service_payment(session, person, provider, service)
    await create_service_payment(session, person, provider, service,
                                 care_date=date(2025, 11, 10), amount_tiyn=560_000)
    other = await create_insured_employee(session)
    await create_contribution(session, other)
    await session.commit()
    await look_at(engine, person)
    await look_at(engine, person, "insurance_status")
    settings = log_settings(tmp_path / "log")
    signer = log_signer(settings)
    witness = LocalWitness(tmp_path / "witness", [signer.verifier().vkey])
    settings = log_settings(tmp_path / "log", witness.address)
    trust = Trust(signer.verifier(), (witness.verifier,))
    app = create_app(AppSettings(environment="development"), auth_settings, engine=engine,
                     today=lambda: TODAY, tlog=LogProofs(trust=trust))
    return ProofWorld(engine, person, other, auth_service.mint(str(person.id), Audience.MOBILE),
                      auth_service.mint(str(other.id), Audience.MOBILE), settings, signer,
                      witness, app)


def verify(path: Path, log_key: str, *witness_keys: str, show: bool = False
           ) -> subprocess.CompletedProcess[str]:
    """The standalone verifier, run as a citizen runs it (its own process, the keys given)."""
    args = [sys.executable, str(VERIFIER), str(path), "--log-key", log_key]
    for key in witness_keys:
        args += ["--witness-key", key]
    if show:
        args.append("--show")
    return subprocess.run(args, capture_output=True, text=True, timeout=60,  # noqa: S603
                          check=False)
