"""The per-request set of DataLoaders: one per relation the graph follows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from backend.gql.dataloaders.keyed import keyed_loader
from backend.models import (
    MedicalService,
    Payer,
    Person,
    PreferentialCategory,
    Provider,
    Region,
)
from backend.status.models import ContributionFact, Membership
from backend.status.repository import contributions_of, memberships_of


@dataclass(frozen=True)
class StatusFacts:
    """What the status engine needs about one person (payer names in one language)."""

    memberships: list[Membership]
    contributions: list[ContributionFact]


class Loaders:
    """Every DataLoader of one request.  Build a new one per request; never share it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.person: DataLoader[uuid.UUID, Person | None] = keyed_loader(
            sessions, Person, Person.id
        )
        self.region: DataLoader[str, Region | None] = keyed_loader(sessions, Region, Region.code)
        self.payer: DataLoader[uuid.UUID, Payer | None] = keyed_loader(sessions, Payer, Payer.id)
        self.provider: DataLoader[uuid.UUID, Provider | None] = keyed_loader(
            sessions, Provider, Provider.id
        )
        self.medical_service: DataLoader[str, MedicalService | None] = keyed_loader(
            sessions, MedicalService, MedicalService.code
        )
        self.category: DataLoader[str, PreferentialCategory | None] = keyed_loader(
            sessions, PreferentialCategory, PreferentialCategory.code
        )
        self.status_facts: DataLoader[tuple[uuid.UUID, str], StatusFacts] = DataLoader(
            load_fn=self._load_status_facts
        )

    async def _load_status_facts(
        self, keys: Sequence[tuple[uuid.UUID, str]]
    ) -> list[StatusFacts]:
        # The graph asks for one person at a time (the signed-in citizen), so a loop of two
        # small indexed reads per key is the whole cost; the loader dedupes within a request.
        facts: list[StatusFacts] = []
        async with self._sessions() as session:
            for person_id, language in keys:
                facts.append(StatusFacts(
                    memberships=await memberships_of(session, person_id),
                    contributions=await contributions_of(session, person_id, language),
                ))
        return facts
