"""The guardianship feed: integrators send links (parent or legal guardian → minor child).

Each record is judged on its own: a refused one changes nothing and comes back with a code
(``backend.family.codes``); the others are stored in the same transaction.  A record is
idempotent on the sender's id: sent again as it was, nothing changes; sent again with other
dates, kind or a withdrawal (``end_reason``), the link is corrected; sent again for another
parent or child, it is refused (``RECORD_ID_CONFLICT``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.identifiers import InvalidIdentifier, validate_iin
from backend.models.family import GuardianshipKind

MAX_RECORDS = 1_000


@dataclass(frozen=True)
class LinkRecord:
    """One link as the sender knows it."""

    record_id: str
    parent_iin: str
    child_iin: str
    kind: GuardianshipKind
    valid_from: date
    valid_until: date | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A record that changed nothing, and why (``field``: the input at fault, if one is)."""

    line: int
    record_id: str | None
    code: str
    field: str | None = None


@dataclass
class FeedResult:
    """What became of a batch."""

    records: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    refusals: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class _Person:
    id: uuid.UUID
    birth_date: date


_PEOPLE = text("SELECT iin, id, birth_date FROM core.person WHERE iin = ANY(:iins)")
_EXISTING = text(
    "SELECT guardian_id, child_id, kind, valid_from, valid_until, ended_reason"
    " FROM core.guardianship WHERE source = :source AND source_record_id = :record_id"
    " FOR UPDATE")
_INSERT = text(
    "INSERT INTO core.guardianship (guardian_id, child_id, kind, valid_from, valid_until,"
    " source, source_record_id, ended_at, ended_reason)"
    " VALUES (:guardian, :child, :kind, :valid_from, :valid_until, :source, :record_id,"
    " CASE WHEN CAST(:reason AS text) IS NULL THEN NULL ELSE now() END, :reason)"
    " ON CONFLICT (source, source_record_id) DO NOTHING RETURNING id")
_UPDATE = text(
    "UPDATE core.guardianship SET kind = :kind, valid_from = :valid_from,"
    " valid_until = :valid_until, updated_at = now(), ended_reason = :reason,"
    " ended_at = CASE WHEN CAST(:reason AS text) IS NULL THEN NULL"
    " ELSE coalesce(ended_at, now()) END"
    " WHERE source = :source AND source_record_id = :record_id")


def eighteenth_birthday(birth_date: date) -> date:
    """The day a child born on ``birth_date`` turns 18 (29 February: 28 February)."""
    try:
        return birth_date.replace(year=birth_date.year + 18)
    except ValueError:
        return birth_date.replace(year=birth_date.year + 18, day=28)


def _iin(value: str) -> str | None:
    try:
        return validate_iin(value)
    except InvalidIdentifier:
        return None


class _Batch:
    """One batch inside one transaction."""

    def __init__(self, conn: AsyncConnection, source: str, today: date) -> None:
        self.conn, self.source, self.today = conn, source, today
        self.result = FeedResult()
        self.people: dict[str, _Person] = {}

    async def load_people(self, records: Sequence[LinkRecord]) -> None:
        iins = {iin for r in records for iin in (_iin(r.parent_iin), _iin(r.child_iin)) if iin}
        rows = await self.conn.execute(_PEOPLE, {"iins": sorted(iins)})
        self.people = {row.iin: _Person(row.id, row.birth_date) for row in rows}

    def judge(self, line: int, record: LinkRecord) -> tuple[_Person, _Person] | Refusal:
        """The parent and child of a valid record, or why it is refused."""
        record_id = record.record_id.strip()
        if not record_id:
            return Refusal(line, None, "RECORD_ID_MISSING", "recordId")
        iins = {}
        for name, value in (("parentIin", record.parent_iin), ("childIin", record.child_iin)):
            iin = _iin(value)
            if iin is None:
                return Refusal(line, record_id, "IIN_INVALID", name)
            iins[name] = iin
        if iins["parentIin"] == iins["childIin"]:
            return Refusal(line, record_id, "SELF_LINK", "childIin")
        if record.valid_until is not None and record.valid_until < record.valid_from:
            return Refusal(line, record_id, "VALIDITY_INVALID", "validUntil")
        parent, child = self.people.get(iins["parentIin"]), self.people.get(iins["childIin"])
        if parent is None or child is None:
            return Refusal(line, record_id, "PERSON_UNKNOWN",
                           "parentIin" if parent is None else "childIin")
        adult_on = eighteenth_birthday(child.birth_date)
        if self.today >= adult_on or record.valid_from >= adult_on:
            return Refusal(line, record_id, "CHILD_NOT_MINOR", "childIin")
        return parent, child

    async def store(self, line: int, record: LinkRecord) -> None:
        judged = self.judge(line, record)
        if isinstance(judged, Refusal):
            self.result.refusals.append(judged)
            return
        parent, child = judged
        values: dict[str, Any] = {
            "guardian": parent.id, "child": child.id, "kind": record.kind.value,
            "valid_from": record.valid_from, "valid_until": record.valid_until,
            "source": self.source, "record_id": record.record_id.strip(),
            "reason": (record.end_reason or "").strip() or None}
        if (await self.conn.execute(_INSERT, values)).first() is not None:
            self.result.accepted += 1
            return
        old = (await self.conn.execute(_EXISTING, values)).one()
        if (old.guardian_id, old.child_id) != (parent.id, child.id):
            self.result.refusals.append(
                Refusal(line, values["record_id"], "RECORD_ID_CONFLICT", "recordId"))
        elif (old.kind, old.valid_from, old.valid_until, old.ended_reason) == (
                values["kind"], values["valid_from"], values["valid_until"], values["reason"]):
            self.result.unchanged += 1
        else:
            await self.conn.execute(_UPDATE, values)
            self.result.updated += 1


async def feed(engine: AsyncEngine, *, source: str, today: date,
               records: Sequence[LinkRecord]) -> FeedResult:
    """Store ``records`` of ``source`` (the integrator's client id) in one transaction."""
    async with engine.begin() as conn:
        batch = _Batch(conn, source, today)
        batch.result.records = len(records)
        await batch.load_people(records)
        for line, record in enumerate(records, start=1):
            await batch.store(line, record)
    return batch.result
