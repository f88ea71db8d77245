"""The integrators' door to guardianship links: ``submitGuardianships`` (scope
``guardianship:write``)."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from auth.principals import Scope
from backend.errors import BadUserInput
from backend.family.codes import REFUSALS
from backend.family.service import MAX_RECORDS, FeedResult, LinkRecord, feed
from backend.family.types import GuardianshipKindType
from backend.gql.context import Context
from backend.gql.permissions import IntegratorScope, guarded
from backend.gql.strings import text_field
from backend.i18n import pick
from backend.ingest.types import RECORD_ID_LENGTH, RecordIssue
from backend.messages import message
from backend.models.family import GuardianshipKind


@strawberry.input(description="One link from a parent or legal guardian to a minor child, as "
                                "the sender knows it.")
class GuardianshipRecordInput:
    record_id: str = text_field(RECORD_ID_LENGTH, "The sender's id of this link (unique per "
                                                  "sender): resent as it was, nothing "
                                                  "changes; resent with other dates, kind or "
                                                  "an endReason, the link is corrected.")
    parent_iin: str = text_field(32, "The parent's or guardian's IIN.")
    child_iin: str = text_field(32, "The child's IIN (the child must be under 18).")
    kind: GuardianshipKindType = strawberry.field(description="Parent or legal guardian.")
    valid_from: date = strawberry.field(description="The first day of the link.")
    valid_until: date | None = strawberry.field(
        default=None, description="The last day (absent: until the child turns 18).")
    end_reason: str | None = text_field(200, "Present: the sender withdraws the link (why, "
                                             "e.g. 'court decision'); the parent no longer "
                                             "sees the child.", default=None)

    def record(self) -> LinkRecord:
        """The service's view."""
        return LinkRecord(self.record_id, self.parent_iin, self.child_iin,
                          GuardianshipKind[self.kind.name], self.valid_from,
                          self.valid_until, self.end_reason)


@strawberry.type(description="What became of a batch of guardianship links: refused records "
                             "changed nothing; the others are stored.")
class GuardianshipPayload:
    records: int = strawberry.field(description="Records in the batch.")
    accepted: int = strawberry.field(description="Links stored now.")
    updated: int = strawberry.field(description="Links corrected or withdrawn by a resend.")
    unchanged: int = strawberry.field(description="Records sent before as they are now "
                                                  "(nothing changed).")
    rejected: int = strawberry.field(description="Records refused (see issues).")
    issues: list[RecordIssue] = strawberry.field(description=(
        "Refused records in batch order, with codes: RECORD_ID_MISSING, RECORD_ID_CONFLICT, "
        "IIN_INVALID, PERSON_UNKNOWN, SELF_LINK, CHILD_NOT_MINOR, VALIDITY_INVALID."))

    @classmethod
    def of(cls, result: FeedResult, language: str) -> GuardianshipPayload:
        """The GraphQL view of a feed result."""
        return cls(records=result.records, accepted=result.accepted, updated=result.updated,
                   unchanged=result.unchanged, rejected=len(result.refusals),
                   issues=[RecordIssue(line=r.line, record_id=r.record_id, code=r.code,
                                       message=pick(REFUSALS[r.code], language), flags=[])
                           for r in result.refusals])


@strawberry.type
class GuardianshipMutations:
    """Guardianship links (integrators with guardianship:write)."""

    @strawberry.mutation(description=f"Integrators (scope guardianship:write): up to "
                                     f"{MAX_RECORDS} links from parents or legal guardians "
                                     f"to minor children. Idempotent on recordId; a link "
                                     f"ends by itself on the child's 18th birthday.",
                         extensions=guarded(IntegratorScope(Scope.GUARDIANSHIP_WRITE)))
    async def submit_guardianships(self, info: Info[Context, None],
                                   records: list[GuardianshipRecordInput]
                                   ) -> GuardianshipPayload:
        context = info.context
        if len(records) > MAX_RECORDS:
            raise BadUserInput(message("too_many_records", max=MAX_RECORDS))
        result = await feed(context.ingestion.engine, source=context.source(),
                            today=context.today, records=[r.record() for r in records])
        return GuardianshipPayload.of(result, context.known_language)
