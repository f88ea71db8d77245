"""Help articles over GraphQL: public lists, one article, search; ETags for offline caches."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from auth.service import AuthService
from auth.tokens import Audience
from tests.api.gql import codes, data, graphql, operation
from tests.factories import create_person

LIST = operation("HelpList")


class TestHelpArticles:
    async def test_lists_filter_by_audience_and_tag_in_reading_order(
        self, client: httpx.AsyncClient
    ) -> None:
        staff = data(await graphql(client, LIST, {"audience": "STAFF", "language": "RU"}))
        edges = staff["helpArticles"]["edges"]
        assert len(edges) >= 2
        citizens = data(await graphql(client, LIST, {"audience": "CITIZEN", "language": "RU"}))
        slugs = {edge["node"]["slug"] for edge in citizens["helpArticles"]["edges"]}
        assert {"install-the-app", "log-in", "service-not-received"} <= slugs
        assert not slugs & {edge["node"]["slug"] for edge in edges}
        tag = citizens["helpArticles"]["edges"][0]["node"]["tags"][0]
        tagged = data(await graphql(client, LIST, {"tag": tag, "language": "EN"}))
        assert all(tag in edge["node"]["tags"] for edge in tagged["helpArticles"]["edges"])

    async def test_pages_follow_the_cursor(self, client: httpx.AsyncClient) -> None:
        first = data(await graphql(client, LIST, {"first": 3}))["helpArticles"]
        assert first["pageInfo"]["hasNextPage"]
        query = ("query($after: String) { helpArticles(first: 3, after: $after) "
                 "{ edges { node { slug } } } }")
        rest = data(await graphql(client, query, {"after": first["pageInfo"]["endCursor"]}))
        seen = [e["node"]["slug"] for e in first["edges"]]
        assert not set(seen) & {e["node"]["slug"] for e in rest["helpArticles"]["edges"]}

    async def test_one_article_in_each_language(self, client: httpx.AsyncClient) -> None:
        titles = set()
        for language in ("KK", "RU", "EN"):
            body = await graphql(client, operation("HelpArticle"),
                                 {"slug": "turn-on-notifications", "language": language})
            article = data(body)["helpArticle"]
            assert article["language"] == language and article["body"]
            titles.add(article["title"])
        assert len(titles) == 3

    async def test_unknown_slug_is_not_found(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, operation("HelpArticle"), {"slug": "no-such-article"})
        assert codes(body) == ["NOT_FOUND"]

    async def test_search_finds_by_word_prefix(self, client: httpx.AsyncClient) -> None:
        body = await graphql(client, operation("HelpSearch"),
                             {"query": "уведомл", "language": "RU"})
        slugs = [e["node"]["slug"] for e in data(body)["searchHelp"]["edges"]]
        assert "turn-on-notifications" in slugs
        body = await graphql(client, operation("HelpSearch"), {"query": "zzqx"})
        assert data(body)["searchHelp"]["edges"] == []


class TestETags:
    async def test_unchanged_content_answers_304_without_a_body(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = {"query": LIST, "variables": {"language": "KK"}}
        first = await client.post("/graphql", json=payload)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=300"
        again = await client.post("/graphql", json=payload, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        other = await client.post("/graphql", json={**payload, "variables": {"language": "EN"}},
                                  headers={"If-None-Match": etag})
        assert other.status_code == 200 and other.headers["etag"] != etag

    async def test_errors_carry_no_etag(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/graphql", json={"query": "{ me { firstName } }"})
        assert response.status_code == 200 and response.json()["errors"]
        assert "etag" not in response.headers

    async def test_a_get_query_can_be_revalidated(self, client: httpx.AsyncClient) -> None:
        params = {"query": "{ helpVersion }"}
        first = await client.get("/graphql", params=params)
        assert first.status_code == 200 and first.json()["data"]["helpVersion"]
        again = await client.get("/graphql", params=params,
                                 headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304

    async def test_a_signed_in_answer_stays_private(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed)
        await committed.commit()
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        response = await client.post("/graphql", json={"query": "{ me { firstName } }"},
                                     headers={"Authorization": f"Bearer {token}"})
        assert response.headers["cache-control"] == "private, no-cache"
        assert "Authorization" in response.headers["vary"]


class TestLanguageOfASignedInReader:
    async def test_sibling_fields_all_read_the_persons_language(
        self, client: httpx.AsyncClient, committed: AsyncSession, auth_service: AuthService
    ) -> None:
        person = await create_person(committed, language="ru")
        await committed.commit()
        token = auth_service.mint(str(person.id), Audience.MOBILE)
        query = ('{ helpArticle(slug: "log-in") { language } '
                 "helpArticles(first: 1) { edges { node { language } } } }")
        body = data(await graphql(client, query, token=token,
                                  headers={"Accept-Language": "en"}))
        assert body["helpArticle"]["language"] == "RU"
        assert body["helpArticles"]["edges"][0]["node"]["language"] == "RU"
