"""GraphQL types of help articles (public: no sign-in needed)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.gql.context import Context
from backend.gql.enums import LanguageCode, mirrors
from backend.gql.nodes import Node, global_id
from backend.help.library import Article, Audience


@strawberry.enum(name="HelpAudience", description="Who an article is written for.")
@mirrors(Audience)
class HelpAudienceType(Enum):
    CITIZEN = strawberry.enum_value("citizen", description="People using the app.")
    STAFF = strawberry.enum_value("staff", description="Registry-desk staff helping patients.")


@strawberry.type(name="HelpArticle", description="A digital-literacy article in one language.")
class HelpArticleType(Node):
    slug: str = strawberry.field(description="Stable name, the same in every language.")
    language: LanguageCode = strawberry.field(description="Language of this version.")
    audience: HelpAudienceType = strawberry.field(description="Who it is for.")
    title: str = strawberry.field(description="Title.")
    summary: str = strawberry.field(description="One or two sentences for lists.")
    tags: list[str] = strawberry.field(description="Topic tags (language-neutral ids).")
    order: int = strawberry.field(description="Position in lists (smaller first).")
    updated_on: date = strawberry.field(description="When the text last changed.")
    body: str = strawberry.field(description="The article in Markdown.")
    etag: str = strawberry.field(
        description="Changes whenever the article changes: keep a cached copy until it does.")

    @classmethod
    def build(cls, article: Article) -> HelpArticleType:
        """The GraphQL view of a loaded article."""
        return cls(
            id=global_id("HelpArticle", f"{article.language}/{article.slug}"),
            slug=article.slug,
            language=LanguageCode(article.language),
            audience=HelpAudienceType(article.audience.value), title=article.title,
            summary=article.summary, tags=list(article.tags), order=article.order,
            updated_on=article.updated, body=article.body, etag=article.etag,
        )

    @classmethod
    async def resolve_nodes(cls, info: Info[Context, None], node_ids: Iterable[str]
                            ) -> list[HelpArticleType | None]:
        """Articles by ``language/slug``."""
        results: list[HelpArticleType | None] = []
        for node_id in node_ids:
            language, _, slug = node_id.partition("/")
            article = info.context.help.get(slug, language)
            results.append(None if article is None else cls.build(article))
        return results


def audience_of(value: HelpAudienceType | None) -> Audience | None:
    """The library's audience for a GraphQL one."""
    return None if value is None else Audience[value.name]
