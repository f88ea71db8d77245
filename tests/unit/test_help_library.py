"""The help library: the bundled articles, lists, lookup, search, validation and ETags."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from backend.help.library import CONTENT_ROOT, Audience, HelpContentError, HelpLibrary

LANGUAGES = HelpLibrary.LANGUAGES
CITIZEN_TOPICS = (
    "install-the-app",
    "log-in",
    "turn-on-notifications",
    "insured-status",
    "read-a-contribution-receipt",
    "service-not-received",
    "where-my-money-went",
    "privacy-and-access-log",
    "how-to-pay",
    "payment-came-back",
)
STAFF_TOPICS = ("desk-install-and-login", "desk-push-troubleshooting", "desk-explain-status")
# Figures each article must state in every language (digit groups joined: "4 250" -> "4250").
FIGURES = {
    "log-in": {"6", "5", "1406"},
    "turn-on-notifications": {"13"},
    "insured-status": {"25", "3", "60", "6", "12", "4250", "5950", "85000"},
    "read-a-contribution-receipt": {"121", "122", "3", "2", "25", "1406"},
    "service-not-received": {"1406"},
    "privacy-and-access-log": {"15", "1406"},
    "how-to-pay": {"122", "121", "25", "12", "4250", "400", "5"},
    "payment-came-back": {"2", "3", "25", "122", "1406"},
    "desk-install-and-login": {"6", "5", "1406"},
    "desk-explain-status": {"25", "3", "6", "60", "12", "15", "4250", "5950", "85000", "1406"},
}
KNOWN_LONG_NUMBERS = {"1406", "2026", "4250", "5950", "85000"}
KAZAKH_LETTERS = re.compile(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
DOMAIN = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:kz|com|ru|org|net|gov)\b", re.I)
ETAG = re.compile(r'"[0-9a-f]{32}"')


@pytest.fixture(scope="module")
def library() -> HelpLibrary:
    """The bundled content, loaded once."""
    return HelpLibrary.load()


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    """Each language in turn."""
    return str(request.param)


def numbers(text: str) -> set[str]:
    """The numbers in ``text``, with thousands separators removed."""
    joined = re.sub(r"(?<=\d)[ ,\u00a0\u202f](?=\d{3}\b)", "", text)
    return set(re.findall(r"\d+", joined))


FIELDS = {
    "slug": "first-steps",
    "audience": "citizen",
    "title": "First steps",
    "summary": "How to start.",
    "tags": "[getting-started, app]",
    "order": "10",
    "updated": "2026-11-20",
}


def write_article(
    root: Path,
    language: str,
    fields: Mapping[str, str | None] | None = None,
    body: str = "Open the app.",
) -> Path:
    """Write one article over ``FIELDS``; a field given as None is left out."""
    merged = {**FIELDS, **(fields or {})}
    lines = [f"{key}: {value}" for key, value in merged.items() if value is not None]
    path = root / language / f"{merged['slug'] or 'x'}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + "\n".join(lines) + "\n---\n" + body + "\n", encoding="utf-8")
    return path


def write_library(root: Path, fields: Mapping[str, str] | None = None) -> Path:
    """A valid library of one article in every language; returns ``root``."""
    for language in LANGUAGES:
        write_article(root, language, fields)
    return root


class TestBundledContent:
    def test_every_language_has_the_same_slugs(self, library: HelpLibrary) -> None:
        slugs = {lang: {a.slug for a in library.articles(lang)} for lang in LANGUAGES}
        assert all(len(found) >= 10 for found in slugs.values())
        assert slugs["kk"] == slugs["ru"] == slugs["en"]

    def test_required_topics_for_both_audiences(self, library: HelpLibrary, language: str) -> None:
        for audience, slugs in ((Audience.CITIZEN, CITIZEN_TOPICS), (Audience.STAFF, STAFF_TOPICS)):
            for slug in slugs:
                article = library.get(slug, language)
                assert article is not None, slug
                assert article.audience == audience

    def test_dated_and_of_readable_length(self, library: HelpLibrary, language: str) -> None:
        for article in library.articles(language):
            assert article.updated <= date(2026, 12, 6), article.slug
            assert 150 <= len(article.plain_text().split()) <= 450, article.slug
            assert article.title and article.summary

    def test_figures_stated_in_every_language(self, library: HelpLibrary, language: str) -> None:
        for slug, figures in FIGURES.items():
            article = library.get(slug, language)
            assert article is not None
            assert figures <= numbers(article.plain_text()), (slug, figures)

    def test_no_invented_numbers_or_addresses(self, library: HelpLibrary, language: str) -> None:
        for article in library.articles(language):
            text = f"{article.title} {article.summary} {article.body}"
            long_numbers = {n for n in numbers(text) if len(n) >= 4}
            assert long_numbers <= KNOWN_LONG_NUMBERS, article.slug
            assert {m.lower() for m in DOMAIN.findall(text)} <= {"msqory.kz"}, article.slug

    def test_each_language_is_written_in_its_own_script(self, library: HelpLibrary) -> None:
        for article in library.articles("kk"):
            assert KAZAKH_LETTERS.search(article.body), article.slug
        for article in library.articles("ru"):
            assert not KAZAKH_LETTERS.search(article.body), article.slug
            assert CYRILLIC.search(article.title), article.slug
        for article in library.articles("en"):
            assert not CYRILLIC.search(article.title + article.summary), article.slug


class TestArticles:
    def test_sorted_by_order_then_slug(self, library: HelpLibrary) -> None:
        listed = library.articles("ru")
        assert [(a.order, a.slug) for a in listed] == sorted((a.order, a.slug) for a in listed)

    def test_filter_by_audience(self, library: HelpLibrary) -> None:
        staff = library.articles("en", audience=Audience.STAFF)
        citizen = library.articles("en", audience=Audience.CITIZEN)
        assert [a.slug for a in staff] == list(STAFF_TOPICS)
        assert all(a.audience is Audience.CITIZEN for a in citizen)
        assert len(staff) + len(citizen) == len(library.articles("en"))
        assert citizen[0].slug == "install-the-app"

    def test_filter_by_tag_and_audience(self, library: HelpLibrary) -> None:
        found = library.articles("kk", audience=Audience.CITIZEN, tag="notifications")
        assert [a.slug for a in found] == ["turn-on-notifications"]
        assert all("desk" in a.tags for a in library.articles("kk", tag="desk"))
        assert library.articles("kk", tag="no-such-tag") == []

    def test_unknown_language_lists_nothing(self, library: HelpLibrary) -> None:
        assert library.articles("de") == []


class TestGet:
    def test_by_slug_in_each_language(self, library: HelpLibrary, language: str) -> None:
        article = library.get("log-in", language)
        assert article is not None
        assert (article.slug, article.language) == ("log-in", language)
        assert article.tags == ("getting-started", "login", "security")
        assert "---" not in article.body.splitlines()[0]

    def test_titles_are_translated(self, library: HelpLibrary) -> None:
        titles = {lang: library.get("insured-status", lang) for lang in LANGUAGES}
        assert len({a.title for a in titles.values() if a is not None}) == 3

    def test_unknown_slug_or_language_is_none(self, library: HelpLibrary) -> None:
        assert library.get("no-such-article", "ru") is None
        assert library.get("log-in", "de") is None


class TestSearch:
    @pytest.mark.parametrize(
        ("language", "query"),
        [("kk", "хабарландыруларды"), ("ru", "уведомления"), ("en", "notifications")],
    )
    def test_finds_an_article_by_a_title_word(
        self, library: HelpLibrary, language: str, query: str
    ) -> None:
        found = library.search(query, language, audience=Audience.CITIZEN)
        assert found[0].slug == "turn-on-notifications"

    def test_a_title_finds_its_own_article(self, library: HelpLibrary, language: str) -> None:
        for article in library.articles(language):
            found = library.search(article.title, language, audience=article.audience)
            assert found[0] == article

    def test_a_prefix_matches(self, library: HelpLibrary) -> None:
        assert "turn-on-notifications" in [a.slug for a in library.search("уведомл", "ru")]
        assert "log-in" in [a.slug for a in library.search("SMS-к", "kk")]

    def test_ignores_case_and_yo(self, library: HelpLibrary) -> None:
        lower = library.search("ребенка", "ru")
        assert lower == library.search("РЕБЁНКА", "ru") == library.search("Ребёнка", "ru")
        assert "insured-status" in [a.slug for a in lower]

    def test_every_word_must_match(self, library: HelpLibrary) -> None:
        assert library.search("notifications", "en")
        assert library.search("notifications zzyzx", "en") == []

    @pytest.mark.parametrize("query", ["", "   ", "?!…", "qwrtzxv", "ыъыъыъ"])
    def test_nonsense_or_empty_finds_nothing(self, library: HelpLibrary, query: str) -> None:
        assert library.search(query, "ru") == []

    def test_filters_by_audience_and_limits(self, library: HelpLibrary) -> None:
        staff = library.search("код", "ru", audience=Audience.STAFF)
        assert staff and all(a.audience is Audience.STAFF for a in staff)
        assert len(library.search("код", "ru", limit=2)) == 2
        assert library.search("код", "ru", limit=0) == []
        assert library.search("код", "de") == []

    def test_query_is_cut_at_200_characters(self, library: HelpLibrary) -> None:
        query = "notifications" + " " * 200 + "zzyzx"
        assert library.search(query, "en")[0].slug == "turn-on-notifications"

    def test_title_outranks_tags_summary_and_body(self, tmp_path: Path) -> None:
        specs = [
            ("a-body", "1", "[app]", "Plain", "Nothing here.", "We talk of spruces here."),
            ("b-summary", "2", "[app]", "Plain", "All about spruces.", "Body."),
            ("c-tag", "3", "[spruce]", "Plain", "Nothing here.", "Body."),
            ("d-title", "4", "[app]", "Spruce", "Nothing here.", "Body."),
        ]
        for language in LANGUAGES:
            for slug, order, tags, title, summary, body in specs:
                fields = {"slug": slug, "order": order, "tags": tags, "title": title}
                write_article(tmp_path, language, fields | {"summary": summary}, body)
        library = HelpLibrary.load(tmp_path)
        expected = ["d-title", "c-tag", "b-summary", "a-body"]
        assert [a.slug for a in library.search("SPRUCE", "en")] == expected
        assert [a.slug for a in library.search("spr", "en", limit=2)] == expected[:2]

    def test_yo_and_ye_match_both_ways(self, tmp_path: Path) -> None:
        write_library(tmp_path, {"title": "Ёлка и елка"})
        library = HelpLibrary.load(tmp_path)
        for query in ("елка", "ЁЛКА", "Ёлк"):
            assert [a.slug for a in library.search(query, "ru")] == ["first-steps"]


class TestTags:
    def test_sorted_distinct_tags(self, library: HelpLibrary) -> None:
        tags = library.tags("ru")
        assert tags == sorted(set(tags))
        assert {"desk", "notifications", "status", "privacy"} <= set(tags)
        assert library.tags("kk") == library.tags("en") == tags
        assert library.tags("de") == []


def _change(language: str, **fields: str | None) -> Callable[[Path], Path]:
    """A mutation that rewrites one language's article with ``fields`` changed."""
    return lambda root: write_article(root, language, fields)


MUTATIONS: dict[str, Callable[[Path], Path]] = {
    "missing key": _change("ru", summary=None),
    "unknown key": _change("kk", author="someone"),
    "order not an integer": _change("en", order="ten"),
    "order a boolean": _change("en", order="true"),
    "tags not a list": _change("ru", tags="app"),
    "tag not kebab-case": _change("ru", tags="[Getting Started]"),
    "title not a string": _change("kk", title="[1, 2]"),
    "date not a date": _change("en", updated="yesterday"),
    "date with a time": _change("en", updated="2026-11-20 10:00:00"),
    "unknown audience": _change("ru", audience="doctor"),
    "empty body": lambda root: write_article(root, "kk", body="  \n\n"),
    "audience differs": _change("en", audience="staff"),
    "tags differ": _change("kk", tags="[app]"),
    "order differs": _change("ru", order="20"),
}


def _edit(language: str, old: str, new: str) -> Callable[[Path], Path]:
    """A mutation that replaces ``old`` by ``new`` in one language's article."""

    def edit(root: Path) -> Path:
        path = root / language / "first-steps.md"
        path.write_text(path.read_text().replace(old, new))
        return path

    return edit


def _missing_language(root: Path) -> Path:
    (root / "en" / "first-steps.md").unlink()
    return root / "en" / "first-steps.md"


MUTATIONS |= {
    "slug differs from the file name": _edit("ru", "slug: first-steps", "slug: other-slug"),
    "front matter not YAML": _edit("kk", "title: First steps", "title: [unclosed"),
    "no front matter": _edit("kk", "---\n", ""),
    "a language version is missing": _missing_language,
    "a folder that is not a language": lambda root: write_article(root, "de").parent,
}


class TestLoadValidation:
    def test_a_valid_folder_loads(self, tmp_path: Path) -> None:
        library = HelpLibrary.load(write_library(tmp_path))
        article = library.get("first-steps", "kk")
        assert article is not None
        assert article.updated == date(2026, 11, 20)
        assert article.tags == ("getting-started", "app")
        assert article.body == "Open the app."

    def test_two_articles_may_share_audience_and_order(self, tmp_path: Path) -> None:
        write_library(tmp_path)
        write_library(tmp_path, {"slug": "second-steps", "title": "Second"})
        assert len(HelpLibrary.load(tmp_path).articles("ru")) == 2

    @pytest.mark.parametrize("case", sorted(MUTATIONS))
    def test_broken_content_names_the_file(self, tmp_path: Path, case: str) -> None:
        offender = MUTATIONS[case](write_library(tmp_path))
        with pytest.raises(HelpContentError) as raised:
            HelpLibrary.load(tmp_path)
        assert str(raised.value).startswith(offender.relative_to(tmp_path).as_posix() + ": ")

    def test_a_missing_folder_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(HelpContentError, match="does not exist"):
            HelpLibrary.load(tmp_path / "nowhere")


class TestEtag:
    def test_article_etag_is_a_quoted_hash_of_the_file(self, library: HelpLibrary) -> None:
        article = library.get("log-in", "en")
        assert article is not None
        digest = hashlib.sha256((CONTENT_ROOT / "en" / "log-in.md").read_bytes()).hexdigest()
        assert article.etag == f'"{digest[:32]}"'
        assert ETAG.fullmatch(library.etag)

    def test_equal_content_gives_equal_etags(self, tmp_path: Path) -> None:
        first = HelpLibrary.load(write_library(tmp_path / "a"))
        shutil.copytree(tmp_path / "a", tmp_path / "b")
        second = HelpLibrary.load(tmp_path / "b")
        assert first.etag == second.etag
        assert first.get("first-steps", "ru") == second.get("first-steps", "ru")

    def test_changing_a_file_changes_both_etags(self, tmp_path: Path) -> None:
        before = HelpLibrary.load(write_library(tmp_path))
        write_article(tmp_path, "ru", body="Open the app, then log in.")
        after = HelpLibrary.load(tmp_path)
        old, new = before.get("first-steps", "ru"), after.get("first-steps", "ru")
        assert old is not None and new is not None
        assert old.etag != new.etag
        assert before.etag != after.etag
        assert before.get("first-steps", "kk") == after.get("first-steps", "kk")


class TestPlainText:
    def test_strips_markdown(self, library: HelpLibrary) -> None:
        body = (
            "## Steps\n\nOpen **Settings** and *then* _Apps_.\n\n"
            "1. Visit [the Fund](https://msqory.kz).\n2. Call `1406`.\n"
            "- one\n* two\n> quoted \\*star\\*\n"
        )
        article = library.get("log-in", "en")
        assert article is not None
        assert replace(article, body=body).plain_text() == (
            "Steps Open Settings and then Apps. Visit the Fund. Call 1406. one two quoted *star*"
        )

    def test_real_articles_have_no_markup_left(self, library: HelpLibrary, language: str) -> None:
        for article in library.articles(language):
            assert not re.search(r"\*\*|^#|\]\(|\n|  ", article.plain_text()), article.slug
