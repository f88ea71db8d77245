"""What the API calls to ingest: one object per process with the kinds, the clock and rates."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import IngestResult, Kind, docs_of, ingest
from backend.ingest.service_payments import ServicePayments
from backend.rates.cache import RateCache

MAX_GRAPHQL_BATCH = 1_000


@dataclass(frozen=True)
class Ingestion:
    """Ingest batches of one kind or another for a source (an integrator's client id)."""

    engine: AsyncEngine
    rates: RateCache
    today: Callable[[], date]
    contributions: Kind = field(default_factory=Contributions)
    service_payments: Kind = field(default_factory=ServicePayments)

    def kind(self, name: str) -> Kind:
        """``contributions`` or ``service_payments``."""
        return {"contributions": self.contributions,
                "service_payments": self.service_payments}[name]

    async def records(self, kind: Kind, source: str,
                      records: Sequence[Mapping[str, Any]]) -> IngestResult:
        """A batch given as records (GraphQL)."""
        return await ingest(self.engine, kind, source=source, today=self.today(),
                            rates=await self.rates.get(), rows=docs_of(records))

    async def stream(self, kind: Kind, source: str, body: AsyncIterable[bytes]) -> IngestResult:
        """A file of any size streamed as NDJSON (the bulk endpoint)."""
        return await ingest(self.engine, kind, source=source, today=self.today(),
                            rates=await self.rates.get(), stream=body)
