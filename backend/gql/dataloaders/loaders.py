"""The per-request set of DataLoaders: one per relation the graph follows."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial

from strawberry.dataloader import DataLoader

from backend.care.repository import (
    ProviderRow,
    ServicePaymentRow,
    payments_by_ids,
    providers_by_ids,
)
from backend.contributions.repository import PayerRow, payers_by_ids
from backend.db.reads import Reads, Record
from backend.disputes.repository import DisputeRow, StepRow, latest_of_services, steps_of
from backend.gql.dataloaders.keyed import keyed_loader, reference_loader
from backend.people.own import OwnRow
from backend.people.repository import PersonRow, people_by_ids
from backend.rates.book import RateBook
from backend.reference.cache import CategoryRow, ReferenceCache, RegionRow, ServiceRow
from backend.status import compute_status
from backend.status.models import ContributionFact, Membership, StatusResult
from backend.status.repository import contributions_of, memberships_of
from backend.status.service import fresh_status, stored_status


@dataclass(frozen=True)
class StatusFacts:
    """What the status engine needs about one person (payer names in one language)."""

    memberships: list[Membership]
    contributions: list[ContributionFact]


class Loaders:
    """Every DataLoader of one request, each made on first use.  Build a new one per request;
    never share it (a loader caches what it loaded for whoever asked)."""

    def __init__(self, reads: Reads, reference: ReferenceCache) -> None:
        self._reads = reads
        self._reference = reference
        self._status: DataLoader[tuple[uuid.UUID, str], StatusResult] | None = None
        self._stored: dict[tuple[uuid.UUID, str], Record | None] = {}
        """Stored status rows already read by this request (``know_own``), by person and
        the language their payer is named in (None: none is stored)."""

    def know_own(self, own: OwnRow) -> None:
        """What the signed-in citizen's own row brought (``backend.people.own``): their
        person, and their stored status in their language, are not read again."""
        self.person.prime(own.person.id, own.person)
        self._stored[(own.person.id, own.person.language)] = own.stored

    def known_status(self, person_id: uuid.UUID, language: str, today: date
                     ) -> StatusResult | None:
        """The status on ``today`` held by a stored row this request has already read and
        that is fresh (``know_own``), without a DataLoader's round of the event loop; None:
        ask ``status``."""
        row = self._stored.get((person_id, language))
        return None if row is None else fresh_status(row, today)

    @cached_property
    def person(self) -> DataLoader[uuid.UUID, PersonRow | None]:
        """People by id."""
        return keyed_loader(self._reads, people_by_ids)

    @cached_property
    def payer(self) -> DataLoader[uuid.UUID, PayerRow | None]:
        """Payers by id."""
        return keyed_loader(self._reads, payers_by_ids)

    @cached_property
    def provider(self) -> DataLoader[uuid.UUID, ProviderRow | None]:
        """Providers by id."""
        return keyed_loader(self._reads, providers_by_ids)

    @cached_property
    def payment(self) -> DataLoader[int, ServicePaymentRow | None]:
        """Service payments by id (for rows already reached through their person)."""
        return keyed_loader(self._reads, payments_by_ids)

    @cached_property
    def case_of_service(self) -> DataLoader[int, DisputeRow | None]:
        """The newest case of a service payment, by the payment's id."""
        return keyed_loader(self._reads, latest_of_services)

    @cached_property
    def case_steps(self) -> DataLoader[int, list[StepRow] | None]:
        """The changes of a case, oldest first, by the case's id."""
        return keyed_loader(self._reads, steps_of)

    @cached_property
    def region(self) -> DataLoader[str, RegionRow | None]:
        """Regions by ISO code (reference data)."""
        return reference_loader(self._reference, lambda data: data.regions)

    @cached_property
    def category(self) -> DataLoader[str, CategoryRow | None]:
        """Preferential categories by code (reference data)."""
        return reference_loader(self._reference, lambda data: data.categories)

    @cached_property
    def medical_service(self) -> DataLoader[str, ServiceRow | None]:
        """Catalogue entries by code (reference data)."""
        return reference_loader(self._reference, lambda data: data.services)

    @cached_property
    def status_facts(self) -> DataLoader[tuple[uuid.UUID, str], StatusFacts]:
        """A person's memberships and contributions (payer names in one language)."""
        return DataLoader(load_fn=self._load_status_facts)

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

    def status(self, today: date, rates: Callable[[], Awaitable[RateBook]]
               ) -> DataLoader[tuple[uuid.UUID, str], StatusResult]:
        """A person's status on ``today`` (payer names in one language): the stored one
        while it is fresh (``backend.status.stored``), else computed by the engine from the
        person's facts (``rates`` is asked only then).  One ``today`` per request."""
        if self._status is None:
            self._status = DataLoader(load_fn=partial(self._load_status, today, rates))
        return self._status

    async def _load_status(self, today: date, rates: Callable[[], Awaitable[RateBook]],
                           keys: Sequence[tuple[uuid.UUID, str]]) -> list[StatusResult]:
        results: list[StatusResult] = []
        async with self._reads.connection() as db:
            for person_id, language in keys:
                known = (person_id, language)
                result = (fresh_status(self._stored[known], today) if known in self._stored
                          else await stored_status(db, person_id, today=today,
                                                   language=language))
                results.append(result or compute_status(
                    as_of=today, memberships=await memberships_of(db, person_id),
                    contributions=await contributions_of(db, person_id, language),
                    rates=await rates()))
        return results
