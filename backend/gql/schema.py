"""The GraphQL schema: the root types and the extensions every request goes through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info
from strawberry.types.graphql import OperationType

from auth.principals import Scope
from backend.access.desk import PatientWindow
from backend.access.eligibility import MAX_IINS, eligibility
from backend.access.mutations import AccessMutations
from backend.access.types import Eligibility
from backend.care.types import CoveredServiceType, ProviderType
from backend.contributions.types import ContributionType
from backend.disputes import stats
from backend.disputes.mutations import DisputeMutations
from backend.disputes.review import DisputeFilter, DisputeReview, DisputeReviewMutations, queue
from backend.disputes.stats import ProviderDisputeCount, RegionDisputeCount
from backend.disputes.types import DisputeCaseType
from backend.errors import NotFound
from backend.family.mutations import GuardianshipMutations
from backend.gql.context import Context
from backend.gql.enums import LanguageCode
from backend.gql.errors import ErrorCodes
from backend.gql.fastpath import FastPath
from backend.gql.limits import Limits, Policy, limit_extensions
from backend.gql.nodes import Node, NodeLoader, global_id, parse_global_id
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from backend.gql.permissions import (
    CitizenOnly,
    IntegratorScope,
    OwnNodesOnly,
    Public,
    StaffOnly,
    StaffWithConsent,
    guarded,
)
from backend.gql.scalars import SCALAR_MAP
from backend.gql.strings import StringChecks, limit_strings
from backend.help.types import HelpArticleType, HelpAudienceType, audience_of
from backend.inbox.mutations import AnnouncementMutations, NotificationMutations
from backend.inbox.types import NotificationType
from backend.ingest.anomalies import (
    ContributionAnomaly,
    ServiceAnomaly,
    contribution_anomalies,
    service_anomalies,
)
from backend.ingest.types import IngestMutations
from backend.messages import message
from backend.observability.http import OperationLabels
from backend.people.own import own_row
from backend.people.types import CitizenType
from backend.tlog.gql import SCALARS as LOG_SCALARS
from backend.transparency.types import SCALARS as PUBLIC_SCALARS
from backend.transparency.types import PublicStats

NODE_TYPES: dict[str, NodeLoader] = {
    "Citizen": CitizenType.resolve_nodes,
    "Contribution": ContributionType.resolve_nodes,
    "CoveredService": CoveredServiceType.resolve_nodes,
    "Provider": ProviderType.resolve_nodes,
    "HelpArticle": HelpArticleType.resolve_nodes,
    "Notification": NotificationType.resolve_nodes,
    "DisputeCase": DisputeCaseType.resolve_nodes,
}
MAX_SEARCH_RESULTS = 50
LANGUAGE_CODES = {LanguageCode.KK: "kk", LanguageCode.RU: "ru", LanguageCode.EN: "en"}


async def _language(info: Info[Context, None], language: LanguageCode | None) -> str:
    return LANGUAGE_CODES[language] if language is not None else await info.context.language()


@strawberry.type(description="Everything a client can read.")
class Query:
    @strawberry.field(description="The signed-in citizen.", extensions=guarded(CitizenOnly()))
    async def me(self, info: Info[Context, None]) -> CitizenType:
        citizen = info.context.require_citizen()
        own = await own_row(info.context.reads, citizen.person_id)  # with status and inbox
        if own is None:
            raise NotFound(message("profile_not_found"))
        info.context.loaders.know_own(own)
        await info.context.language()  # now known, for any error below (no extra query)
        return CitizenType.build(own.person, unread=own.unread)

    @strawberry.field(description="Any object by its global id (your own data only).",
                      extensions=guarded(OwnNodesOnly()))
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node:
        type_name, key = parse_global_id(id)
        resolve_nodes = NODE_TYPES.get(type_name)
        if resolve_nodes is None:
            raise NotFound(message("not_found"))
        [node] = await resolve_nodes(info, [key])
        if node is None:
            raise NotFound(message("not_found"))
        found: Node = node
        return found

    @strawberry.field(description="Help articles in a language, in reading order.",
                      extensions=guarded(Public()))
    async def help_articles(
        self, info: Info[Context, None], language: LanguageCode | None = None,
        audience: HelpAudienceType | None = None, tag: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[HelpArticleType]:
        size = page_size(first)
        articles = info.context.help.articles(
            await _language(info, language), audience=audience_of(audience), tag=tag)
        key = decode_cursor("help", after, 2, (int, str))
        if key is not None:
            articles = [a for a in articles if (a.order, a.slug) > (key[0], key[1])]
        return build_connection(
            articles[: size + 1], size, kind="help", has_previous=key is not None,
            key=lambda a: (a.order, a.slug),
            nodes=[HelpArticleType.build(article) for article in articles[:size]])

    @strawberry.field(description="One help article by its slug.",
                      extensions=guarded(Public()))
    async def help_article(
        self, info: Info[Context, None], slug: str, language: LanguageCode | None = None
    ) -> HelpArticleType:
        article = info.context.help.get(slug, await _language(info, language))
        if article is None:
            raise NotFound(message("article_not_found"))
        return HelpArticleType.build(article)

    @strawberry.field(description="Help articles matching words (every word must match), "
                                  "best first.", extensions=guarded(Public()))
    async def search_help(
        self, info: Info[Context, None], query: str, language: LanguageCode | None = None,
        audience: HelpAudienceType | None = None, first: int | None = None,
    ) -> Connection[HelpArticleType]:
        size = page_size(first)
        found = info.context.help.search(
            query, await _language(info, language), audience=audience_of(audience),
            limit=min(size + 1, MAX_SEARCH_RESULTS))
        return build_connection(
            found, size, kind="help_search", has_previous=False,
            key=lambda a: (a.order, a.slug),
            nodes=[HelpArticleType.build(article) for article in found[:size]])

    @strawberry.field(description="Changes whenever any help article changes (for offline "
                                  "caches).", extensions=guarded(Public()))
    def help_version(self, info: Info[Context, None]) -> str:
        return info.context.help.etag

    @strawberry.field(description="Registry desk: the consent windows of the signed-in worker "
                                  "that are still open, newest first.",
                      extensions=guarded(StaffOnly()))
    async def patient_windows(self, info: Info[Context, None]) -> list[PatientWindow]:
        staff = info.context.require_staff()
        windows = await info.context.auth.desk.open_windows(staff.staff_id)
        for window in windows:
            info.context.remember_window(global_id("PatientWindow", window.id), window)
        return [PatientWindow.of(window) for window in windows]

    @strawberry.field(description="Registry desk: one open consent window and its patient.",
                      extensions=guarded(StaffWithConsent()))
    async def patient_window(self, info: Info[Context, None], id: strawberry.ID
                             ) -> PatientWindow:
        return PatientWindow.of(await info.context.consent_window(str(id)))

    @strawberry.field(description=f"Integrators (scope eligibility:read): today's status for up "
                                  f"to {MAX_IINS} IINs, in the order asked. Each look is "
                                  f"recorded in the person's access log.",
                      extensions=guarded(IntegratorScope(Scope.ELIGIBILITY_READ)))
    async def eligibility(self, info: Info[Context, None], iins: list[str]
                          ) -> list[Eligibility]:
        return await eligibility(info, iins)

    @strawberry.field(description="Integrators (scope stats:read): service payments that the "
                                  "ingestion checks flagged, newest first, optionally of one "
                                  "flag. No person is named.",
                      extensions=guarded(IntegratorScope(Scope.STATS_READ)))
    async def service_anomalies(self, info: Info[Context, None], flag: str | None = None,
                                first: int | None = None, after: str | None = None
                                ) -> Connection[ServiceAnomaly]:
        return await service_anomalies(info, flag, first, after)

    @strawberry.field(description="Integrators (scope stats:read): contributions that the "
                                  "ingestion checks flagged (AFTER_DEATH: a month after the "
                                  "person's death), newest first. No person is named.",
                      extensions=guarded(IntegratorScope(Scope.STATS_READ)))
    async def contribution_anomalies(self, info: Info[Context, None], flag: str | None = None,
                                     first: int | None = None, after: str | None = None
                                     ) -> Connection[ContributionAnomaly]:
        return await contribution_anomalies(info, flag, first, after)

    @strawberry.field(description="Integrators (scope disputes:read): citizens' reports that "
                                  "a covered service was not received as billed, the nearest "
                                  "deadline first, optionally filtered. No person is named; "
                                  "each case read is in the patient's access log.",
                      extensions=guarded(IntegratorScope(Scope.DISPUTES_READ)))
    async def disputes(self, info: Info[Context, None], filter: DisputeFilter | None = None,
                       first: int | None = None, after: str | None = None
                       ) -> Connection[DisputeReview]:
        return await queue(info, filter, first, after)

    @strawberry.field(description="Integrators (scope stats:read): citizens' reports about "
                                  "services (\"I did not receive this\") counted per provider "
                                  "by state, the most first, optionally of one region and "
                                  "reported within a period. Counts only; no person is named.",
                      extensions=guarded(IntegratorScope(Scope.STATS_READ)))
    async def dispute_counts_by_provider(
        self, info: Info[Context, None], region_code: str | None = None,
        reported_from: date | None = None, reported_until: date | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[ProviderDisputeCount]:
        return await stats.by_provider(info, region_code, reported_from, reported_until, first,
                                       after)

    @strawberry.field(description="Integrators (scope stats:read): the same counts per region "
                                  "of the provider, by region code. Counts only; no person "
                                  "is named.",
                      extensions=guarded(IntegratorScope(Scope.STATS_READ)))
    async def dispute_counts_by_region(
        self, info: Info[Context, None], reported_from: date | None = None,
        reported_until: date | None = None,
    ) -> list[RegionDisputeCount]:
        return await stats.by_region(info, reported_from, reported_until)

    @strawberry.field(description="The Fund's public figures (anyone, no sign-in): the "
                                  "balance, money in and out by month, region, kind, package "
                                  "and category, insured people, providers. Cacheable.",
                      extensions=guarded(Public()))
    def public_stats(self) -> PublicStats:
        return PublicStats()


@strawberry.type(description="Everything a client can change.")
class Mutation(AccessMutations, IngestMutations, NotificationMutations, AnnouncementMutations,
               GuardianshipMutations, DisputeMutations, DisputeReviewMutations):
    """Sign-in and sessions, the desk's consent, integrators' records, notifications,
    guardianship links, reports about services and their review."""


class NoStoreMutations(SchemaExtension):
    """A mutation's answer is never cached anywhere (it may carry tokens): ``no-store``."""

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if (self.execution_context.operation_type is OperationType.MUTATION
                and isinstance(context, Context) and context.response is not None):
            context.response.headers["cache-control"] = "no-store"


class QuietSchema(strawberry.Schema):
    """A schema that leaves error logging to ``ErrorCodes``, with the fast path for the
    app's persisted operations (``fast_path``: see ``backend.gql.fastpath``).

    Strawberry logs every error with the request's source text, which can quote what a
    person typed (an IIN in a sign-in mutation); expected errors (codes a client sees) are
    not faults, and unexpected ones are logged by ``ErrorCodes`` without the source.
    """

    fast_path: FastPath | None = None

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Nothing: see the class."""


def build_schema(limits: Limits | None = None, policy: Policy | None = None,
                 fast_path: bool = True) -> strawberry.Schema:
    """The schema with guard rails (``policy``: production's rules), caches, error codes and
    masking on; ``fast_path``: the app's persisted queries answered by compiled plans."""
    limit_strings(Mutation)
    schema = QuietSchema(
        query=Query,
        mutation=Mutation,
        types=[CitizenType, ContributionType, CoveredServiceType, ProviderType, HelpArticleType,
               NotificationType, DisputeCaseType],
        extensions=[*limit_extensions(limits or Limits(), policy), StringChecks, ErrorCodes,
                    NoStoreMutations, OperationLabels],
        config=StrawberryConfig(scalar_map={
            **SCALAR_MAP, **PUBLIC_SCALARS, **LOG_SCALARS}),
    )
    schema.fast_path = FastPath(schema._schema, policy or Policy(), limits or Limits(),
                                enabled=fast_path)
    return schema
