"""What the API calls to ingest: one object per process with the kinds, the clock and rates."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.ingest.contributions import Contributions
from backend.ingest.pipeline import (
    ISSUES_PER_CODE,
    IngestResult,
    Kind,
    docs_of,
    ingest,
    limited,
)
from backend.ingest.service_payments import ServicePayments
from backend.observability.metrics import ingest_batch
from backend.rates.cache import RateCache

MAX_GRAPHQL_BATCH = 1_000
MAX_BODY_BYTES = 1024 ** 3  # 1 GiB: about six million contribution records


@dataclass(frozen=True)
class IngestLimits:
    """What bounds a batch and its answer (``APP_INGEST_*`` settings)."""

    max_body_bytes: int = MAX_BODY_BYTES
    """A file larger than this is refused (413) as soon as this much has been read."""
    issues_per_code: int = ISSUES_PER_CODE
    """The answer lists at most this many lines of each code and each flag (all counted)."""


@dataclass(frozen=True)
class Ingestion:
    """Ingest batches of one kind or another for a source (an integrator's client id)."""

    engine: AsyncEngine
    rates: RateCache
    today: Callable[[], date]
    contributions: Kind = field(default_factory=Contributions)
    service_payments: Kind = field(default_factory=ServicePayments)
    limits: IngestLimits = field(default_factory=IngestLimits)

    def kind(self, name: str) -> Kind:
        """``contributions`` or ``service_payments``."""
        return {"contributions": self.contributions,
                "service_payments": self.service_payments}[name]

    async def records(self, kind: Kind, source: str,
                      records: Sequence[Mapping[str, Any]]) -> IngestResult:
        """A batch given as records (GraphQL)."""
        with ingest_batch(kind.name, "graphql") as note:  # counted and timed for metrics
            note.result = result = await ingest(
                self.engine, kind, source=source, today=self.today(),
                rates=await self.rates.get(), rows=docs_of(records),
                issues_per_code=self.limits.issues_per_code)
        return result

    async def stream(self, kind: Kind, source: str, body: AsyncIterable[bytes]) -> IngestResult:
        """A file streamed as NDJSON (the bulk endpoint); ``BodyTooLarge`` past the limit,
        with nothing stored."""
        with ingest_batch(kind.name, "bulk") as note:  # counted and timed for metrics
            note.result = result = await ingest(
                self.engine, kind, source=source, today=self.today(),
                rates=await self.rates.get(),
                stream=limited(body, self.limits.max_body_bytes),
                issues_per_code=self.limits.issues_per_code)
        return result
