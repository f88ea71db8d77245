"""The GraphQL schema: the root types and the extensions every request goes through."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from backend.care.types import CoveredServiceType, ProviderType
from backend.contributions.types import ContributionType
from backend.errors import NotFound
from backend.gql.context import Context
from backend.gql.enums import LanguageCode
from backend.gql.errors import ErrorCodes
from backend.gql.limits import Limits, limit_extensions
from backend.gql.nodes import Node, NodeLoader, parse_global_id
from backend.gql.pagination import Connection, build_connection, decode_cursor, page_size
from backend.gql.scalars import SCALAR_MAP
from backend.help.types import HelpArticleType, HelpAudienceType, audience_of
from backend.messages import message
from backend.people.types import CitizenType

NODE_TYPES: dict[str, NodeLoader] = {
    "Citizen": CitizenType.resolve_nodes,
    "Contribution": ContributionType.resolve_nodes,
    "CoveredService": CoveredServiceType.resolve_nodes,
    "Provider": ProviderType.resolve_nodes,
    "HelpArticle": HelpArticleType.resolve_nodes,
}
MAX_SEARCH_RESULTS = 50
LANGUAGE_CODES = {LanguageCode.KK: "kk", LanguageCode.RU: "ru", LanguageCode.EN: "en"}


async def _language(info: Info[Context, None], language: LanguageCode | None) -> str:
    return LANGUAGE_CODES[language] if language is not None else await info.context.language()


@strawberry.type(description="Everything a client can read.")
class Query:
    @strawberry.field(description="The signed-in citizen.")
    async def me(self, info: Info[Context, None]) -> CitizenType:
        citizen = info.context.require_citizen()
        person = await info.context.loaders.person.load(citizen.person_id)
        if person is None:
            raise NotFound(message("profile_not_found"))
        await info.context.language()  # now known, for any error below (no extra query)
        return CitizenType.build(person)

    @strawberry.field(description="Any object by its global id (your own data only).")
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

    @strawberry.field(description="Help articles in a language, in reading order.")
    async def help_articles(
        self, info: Info[Context, None], language: LanguageCode | None = None,
        audience: HelpAudienceType | None = None, tag: str | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[HelpArticleType]:
        size = page_size(first)
        articles = info.context.help.articles(
            await _language(info, language), audience=audience_of(audience), tag=tag)
        key = decode_cursor("help", after, 2)
        if key is not None:
            articles = [a for a in articles if (a.order, a.slug) > (key[0], key[1])]
        return build_connection(
            articles[: size + 1], size, kind="help", has_previous=key is not None,
            key=lambda a: (a.order, a.slug),
            nodes=[HelpArticleType.build(article) for article in articles[:size]])

    @strawberry.field(description="One help article by its slug.")
    async def help_article(
        self, info: Info[Context, None], slug: str, language: LanguageCode | None = None
    ) -> HelpArticleType:
        article = info.context.help.get(slug, await _language(info, language))
        if article is None:
            raise NotFound(message("article_not_found"))
        return HelpArticleType.build(article)

    @strawberry.field(description="Help articles matching words (every word must match), "
                                  "best first.")
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
                                  "caches).")
    def help_version(self, info: Info[Context, None]) -> str:
        return info.context.help.etag


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The schema with guard rails, caches, error codes and masking on."""
    return strawberry.Schema(
        query=Query,
        types=[CitizenType, ContributionType, CoveredServiceType, ProviderType, HelpArticleType],
        extensions=[*limit_extensions(limits or Limits()), ErrorCodes],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )
