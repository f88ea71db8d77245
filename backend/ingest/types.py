"""GraphQL of ingestion: record inputs, the per-record answer, and the two mutations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.types import Info

from auth.principals import Scope
from backend.errors import BadUserInput
from backend.gql.context import Context
from backend.gql.permissions import IntegratorScope, guarded
from backend.gql.strings import text_field
from backend.ingest.pipeline import IngestResult
from backend.ingest.service import MAX_GRAPHQL_BATCH
from backend.messages import message

RECORD_ID_LENGTH = 128
"""As the pipeline checks for every door (NDJSON files too)."""


@strawberry.input(description="One contribution as the sender knows it (a refund names the "
                                "original by refundOf and gives iin, amount and paidOn).")
class ContributionRecordInput:
    record_id: str = text_field(RECORD_ID_LENGTH, "The sender's id of this record (unique per "
                                                  "sender; a resend with it changes nothing).")
    iin: str = text_field(32, "The person's IIN.")
    kind: str | None = text_field(40, "employer_deduction, employee_contribution, "
                                      "self_payment, entrepreneur_contribution or "
                                      "state_contribution.", default=None)
    period: str | None = text_field(16, "The month paid for, YYYY-MM.", default=None)
    amount: str = text_field(32, "Tenge with up to two decimals, e.g. \"15300.00\" (for a "
                                 "refund: the amount returned).")
    paid_on: str = text_field(16, "The payment date, YYYY-MM-DD.")
    payment_code: int | None = strawberry.field(default=None, description=(
        "КНП: 121 for an employer's deduction, 122 for contributions, none for budgets."))
    payer_bin: str | None = text_field(32, "The employer's BIN.", default=None)
    payer_region: str | None = text_field(16, "For a local budget's state contribution: the "
                                              "region code, e.g. KZ-75.", default=None)
    refund_of: str | None = text_field(RECORD_ID_LENGTH, "For a refund: the recordId of the "
                                                         "contribution it returns money from.",
                                       default=None)


@strawberry.input(description="One payment the Fund made for a person's care (a withdrawal "
                                "names the original by withdrawalOf and gives iin, amount "
                                "and paidOn).")
class ServicePaymentRecordInput:
    record_id: str = text_field(RECORD_ID_LENGTH, "The sender's id of this record.")
    iin: str = text_field(32, "The person's IIN.")
    provider_bin: str | None = text_field(32, "The provider's BIN.", default=None)
    service_code: str | None = text_field(32, "The catalogue code.", default=None)
    care_date: str | None = text_field(16, "YYYY-MM-DD.", default=None)
    amount: str = text_field(32, "Tenge with up to two decimals (for a withdrawal: the amount "
                                 "withheld).")
    paid_on: str = text_field(16, "The payment date, YYYY-MM-DD.")
    practitioner: str | None = text_field(128, "The provider's id of the practitioner (for "
                                               "the overload check).", default=None)
    withdrawal_of: str | None = text_field(RECORD_ID_LENGTH, "For a withdrawal: the recordId "
                                                             "of the payment it takes money "
                                                             "back from.", default=None)


@strawberry.type(description="A record that was refused (code and message) or stored with "
                             "anomaly flags.")
class RecordIssue:
    line: int = strawberry.field(description="Its position in the batch, from 1.")
    record_id: str | None = strawberry.field(description="Its recordId, when it had one.")
    code: str | None = strawberry.field(description="Why it was refused (absent: stored).")
    message: str | None = strawberry.field(description="The refusal in words.")
    flags: list[str] = strawberry.field(description="Anomaly flags of a stored service "
                                                    "payment (AFTER_DEATH, SEX_MISMATCH, "
                                                    "AGE_MISMATCH, DUPLICATE_BILLING, "
                                                    "PRACTITIONER_OVERLOAD).")


@strawberry.type(description="How many records of a batch one code refused or one flag "
                             "marked.")
class IssueCount:
    code: str = strawberry.field(description="The refusal code or the anomaly flag.")
    count: int = strawberry.field(description="Records with it, all of them (listed or not).")


def _counts(counts: Mapping[str, int]) -> list[IssueCount]:
    return [IssueCount(code=code, count=count) for code, count in sorted(counts.items())]


@strawberry.type(description="What became of a batch: nothing is half-written; a record "
                             "sent before with the same content is counted as a duplicate.")
class IngestPayload:
    batch_id: strawberry.ID = strawberry.field(description="This batch's id.")
    records: int = strawberry.field(description="Records in the batch.")
    accepted: int = strawberry.field(description="Records stored now.")
    duplicates: int = strawberry.field(description="Records stored before (nothing changed).")
    rejected: int = strawberry.field(description="Records refused (see issues).")
    statuses_changed: int = strawberry.field(description="Insurance statuses that changed.")
    issues: list[RecordIssue] = strawberry.field(description=(
        "Refused and flagged records, in batch order: the first of each code and of each flag "
        "(100 by default; issuesTruncated says whether some were left out)."))
    rejected_by_code: list[IssueCount] = strawberry.field(description=(
        "How many records each code refused, by code."))
    flagged_by_flag: list[IssueCount] = strawberry.field(description=(
        "How many stored records each anomaly flag marked, by flag."))
    issues_truncated: bool = strawberry.field(description=(
        "Whether issues leaves out some refused or flagged records (more than the limit "
        "of one code or flag)."))

    @classmethod
    def of(cls, result: IngestResult, language: str) -> IngestPayload:
        """The GraphQL view of a pipeline result."""
        return cls(batch_id=strawberry.ID(str(result.batch_id)), records=result.records,
                   accepted=result.accepted, duplicates=result.duplicates,
                   rejected=result.rejected, statuses_changed=result.statuses_changed,
                   issues=[RecordIssue(line=r.line, record_id=r.record_id, code=r.code,
                                       message=r.message(language), flags=list(r.flags))
                           for r in result.rejections],
                   rejected_by_code=_counts(result.rejected_by_code),
                   flagged_by_flag=_counts(result.flagged_by_flag),
                   issues_truncated=result.issues_truncated)


def _records(inputs: list[Any]) -> list[dict[str, Any]]:
    if len(inputs) > MAX_GRAPHQL_BATCH:
        raise BadUserInput(message("too_many_records", max=MAX_GRAPHQL_BATCH))
    return [{_camel(key): value for key, value in vars(item).items() if value is not None}
            for item in inputs]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@strawberry.type
class IngestMutations:
    @strawberry.mutation(description=f"Integrators (scope contributions:write): up to "
                                     f"{MAX_GRAPHQL_BATCH} contribution records. Statuses "
                                     f"follow in the same transaction; for files of any size "
                                     f"POST NDJSON to /ingest/contributions.",
                         extensions=guarded(IntegratorScope(Scope.CONTRIBUTIONS_WRITE)))
    async def submit_contributions(self, info: Info[Context, None],
                                   records: list[ContributionRecordInput]) -> IngestPayload:
        context = info.context
        ingestion = context.ingestion
        result = await ingestion.records(ingestion.contributions, context.source(),
                                         _records(records))
        return IngestPayload.of(result, context.known_language)

    @strawberry.mutation(description=f"Integrators (scope services:write): up to "
                                     f"{MAX_GRAPHQL_BATCH} service-payment records; for files "
                                     f"POST NDJSON to /ingest/service-payments.",
                         extensions=guarded(IntegratorScope(Scope.SERVICES_WRITE)))
    async def submit_service_payments(self, info: Info[Context, None],
                                      records: list[ServicePaymentRecordInput]
                                      ) -> IngestPayload:
        context = info.context
        ingestion = context.ingestion
        result = await ingestion.records(ingestion.service_payments, context.source(),
                                         _records(records))
        return IngestPayload.of(result, context.known_language)
