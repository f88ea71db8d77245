"""The per-request set of DataLoaders: one per relation the graph follows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from backend.care.repository import ProviderRow, providers_by_ids
from backend.contributions.repository import PayerRow, payers_by_ids
from backend.db.reads import Reads
from backend.gql.dataloaders.keyed import keyed_loader, reference_loader
from backend.people.repository import PersonRow, people_by_ids
from backend.reference.cache import CategoryRow, ReferenceCache, RegionRow, ServiceRow
from backend.status.models import ContributionFact, Membership
from backend.status.repository import contributions_of, memberships_of


@dataclass(frozen=True)
class StatusFacts:
    """What the status engine needs about one person (payer names in one language)."""

    memberships: list[Membership]
    contributions: list[ContributionFact]


class Loaders:
    """Every DataLoader of one request.  Build a new one per request; never share it."""

    def __init__(self, reads: Reads, reference: ReferenceCache) -> None:
        self._reads = reads
        self.person: DataLoader[uuid.UUID, PersonRow | None] = keyed_loader(
            reads, people_by_ids)
        self.payer: DataLoader[uuid.UUID, PayerRow | None] = keyed_loader(reads, payers_by_ids)
        self.provider: DataLoader[uuid.UUID, ProviderRow | None] = keyed_loader(
            reads, providers_by_ids)
        self.region: DataLoader[str, RegionRow | None] = reference_loader(
            reference, lambda data: data.regions)
        self.category: DataLoader[str, CategoryRow | None] = reference_loader(
            reference, lambda data: data.categories)
        self.medical_service: DataLoader[str, ServiceRow | None] = reference_loader(
            reference, lambda data: data.services)
        self.status_facts: DataLoader[tuple[uuid.UUID, str], StatusFacts] = DataLoader(
            load_fn=self._load_status_facts)

    async def _load_status_facts(
        self, keys: Sequence[tuple[uuid.UUID, str]]
    ) -> list[StatusFacts]:
        # The graph asks for one person at a time (the signed-in citizen), so two small
        # indexed reads per key on one connection are the whole cost.
        facts: list[StatusFacts] = []
        async with self._reads.connection() as db:
            for person_id, language in keys:
                facts.append(StatusFacts(
                    memberships=await memberships_of(db, person_id),
                    contributions=await contributions_of(db, person_id, language),
                ))
        return facts
