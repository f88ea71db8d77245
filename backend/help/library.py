"""Help articles: ``content/<language>/<slug>.md`` files (YAML front matter, then Markdown).

Every slug exists in kk, ru and en with the same audience, tags and order. ``HelpLibrary.load``
checks it all once per process and names the file at fault; search uses a prefix index built then.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

CONTENT_ROOT = Path(__file__).resolve().parent / "content"
FRONT_MATTER_KEYS = frozenset({"slug", "audience", "title", "summary", "tags", "order", "updated"})
KEBAB_CASE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_QUERY_LENGTH = 200
_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)^---[ \t]*$(.*)", re.S | re.M)
_WORD = re.compile(r"[^\W_]+")
# Runs of whitespace except no-break spaces, which keep "4 250 ₸" on one line.
_SPACES = re.compile(r"[^\S\u00a0\u202f]+")
# Field bits of the search index and what a hit in each field weighs.
_TITLE, _TAG, _SUMMARY, _BODY = 1, 2, 4, 8
_WEIGHTS = {_TITLE: 5, _TAG: 3, _SUMMARY: 2, _BODY: 1}
_SCORE = tuple(sum(w for bit, w in _WEIGHTS.items() if mask & bit) for mask in range(16))
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_MARKDOWN: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^[ \t]*(?:```|~~~).*$", re.M), " "),
    (re.compile(r"^[ \t]{0,3}(?:[-*_][ \t]*){3,}$", re.M), " "),
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>]+)>"), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$", re.M), r"\1"),
    (re.compile(r"^[ \t]*(?:>[ \t]?)+", re.M), ""),
    (re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+", re.M), ""),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"`+([^`]*)`+"), r"\1"),
    (re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*\|[-:| \t]*$", re.M), " "),  # table rules
    (re.compile(r"\|"), " "),
)


class Audience(StrEnum):
    """Who an article is written for."""

    CITIZEN = "citizen"
    STAFF = "staff"


class HelpContentError(Exception):
    """The help content is broken; the message names the file and the problem."""


@dataclass(frozen=True)
class Article:
    """One help article in one language."""

    slug: str
    language: str
    audience: Audience
    title: str
    summary: str
    tags: tuple[str, ...]
    order: int
    updated: date
    body: str
    etag: str

    def plain_text(self) -> str:
        """The body without Markdown syntax, whitespace collapsed to single spaces."""
        return markdown_to_text(self.body)


def markdown_to_text(markdown: str) -> str:
    """Strip headings, emphasis, links, list markers and the like; collapse whitespace."""
    text = _ESCAPE.sub(lambda m: chr(0xE000 + ord(m.group(1))), markdown)
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    text = re.sub("[\ue000-\ue07f]", lambda m: chr(ord(m.group(0)) - 0xE000), text)
    return _SPACES.sub(" ", text).strip()


def normalise(text: str) -> str:
    """Text as search compares it: NFC, case-folded, ``ё`` read as ``е``."""
    return unicodedata.normalize("NFC", text).casefold().replace("ё", "е")


def tokens(text: str) -> list[str]:
    """The normalised words (runs of letters and digits) of ``text``, in order."""
    return _WORD.findall(normalise(text))


def quoted_hash(parts: Iterable[bytes]) -> str:
    """A strong ETag value: the first 32 hex digits of SHA-256 over ``parts``, quoted."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return f'"{digest.hexdigest()[:32]}"'


class _Index:
    """A prefix index over the articles of one language."""

    def __init__(self, articles: tuple[Article, ...]) -> None:
        postings: dict[str, dict[int, int]] = {}
        for position, article in enumerate(articles):
            texts = (article.title, " ".join(article.tags), article.summary, article.plain_text())
            for bit, text in zip((_TITLE, _TAG, _SUMMARY, _BODY), texts, strict=True):
                for word in tokens(text):
                    masks = postings.setdefault(word, {})
                    masks[position] = masks.get(position, 0) | bit
        self._vocabulary = sorted(postings)
        self._postings = postings

    def matches(self, prefix: str) -> dict[int, int]:
        """Article position -> field bits, for articles with a word starting with ``prefix``."""
        found: dict[int, int] = {}
        start = bisect_left(self._vocabulary, prefix)
        for word in self._vocabulary[start:]:
            if not word.startswith(prefix):
                break
            for position, bits in self._postings[word].items():
                found[position] = found.get(position, 0) | bits
        return found


class HelpLibrary:
    """Every help article in every language, with lists, lookup and search."""

    LANGUAGES = ("kk", "ru", "en")

    def __init__(self, articles: Iterable[Article]) -> None:
        """Index ``articles`` (already validated; ``load`` is the usual way in)."""
        every = sorted(articles, key=lambda a: (a.language, a.order, a.slug))
        self._by_language: dict[str, tuple[Article, ...]] = {
            language: tuple(a for a in every if a.language == language)
            for language in self.LANGUAGES
        }
        self._by_slug: dict[tuple[str, str], Article] = {(a.slug, a.language): a for a in every}
        self._indexes = {lang: _Index(items) for lang, items in self._by_language.items()}
        self._tags = {
            lang: sorted({tag for a in items for tag in a.tags})
            for lang, items in self._by_language.items()
        }
        keyed = sorted(f"{a.language}/{a.slug} {a.etag}\n".encode() for a in every)
        self._etag = quoted_hash(keyed)

    @classmethod
    def load(cls, root: Path | None = None) -> HelpLibrary:
        """Read and validate every article under ``root`` (default: the bundled content)."""
        folder = CONTENT_ROOT if root is None else root
        articles = [_read_article(path, folder) for path in _article_paths(folder)]
        _check_languages_agree(articles, folder)
        return cls(articles)

    @property
    def etag(self) -> str:
        """One strong ETag for the whole library; it changes when any article changes."""
        return self._etag

    def articles(
        self, language: str, *, audience: Audience | None = None, tag: str | None = None
    ) -> list[Article]:
        """Articles in ``language`` (none for an unknown one), sorted by (order, slug)."""
        return [
            a
            for a in self._by_language.get(language, ())
            if (audience is None or a.audience == audience) and (tag is None or tag in a.tags)
        ]

    def get(self, slug: str, language: str) -> Article | None:
        """The article ``slug`` in ``language``, or None."""
        return self._by_slug.get((slug, language))

    def search(
        self, query: str, language: str, *, audience: Audience | None = None, limit: int = 20
    ) -> list[Article]:
        """Articles in which every query word starts some word, best first.

        A word found in the title weighs 5, in the tags 3, in the summary 2, in the body 1;
        ties go by (order, slug). An empty query, or one with no letters or digits, finds nothing.
        """
        index = self._indexes.get(language)
        words = list(dict.fromkeys(tokens(query[:MAX_QUERY_LENGTH])))
        if index is None or not words or limit <= 0:
            return []
        items = self._by_language[language]
        scores = {
            position: 0
            for position, article in enumerate(items)
            if audience is None or article.audience == audience
        }
        for word in words:
            found = index.matches(word)
            scores = {p: s + _SCORE[found[p]] for p, s in scores.items() if p in found}
            if not scores:
                return []
        # Positions follow (order, slug), so they break ties between equal scores.
        ranked = sorted(scores, key=lambda position: (-scores[position], position))
        return [items[position] for position in ranked[:limit]]

    def tags(self, language: str) -> list[str]:
        """The distinct tags of the articles in ``language``, sorted."""
        return list(self._tags.get(language, []))


def _fail(path: Path, root: Path, problem: str) -> HelpContentError:
    """An error that names ``path`` (relative to ``root`` when it lies inside it)."""
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    return HelpContentError(f"{shown.as_posix()}: {problem}")


def _article_paths(root: Path) -> list[Path]:
    """Every ``<language>/<slug>.md`` under ``root``; anything else in ``root`` is an error."""
    if not root.is_dir():
        raise HelpContentError(f"{root}: the help content folder does not exist")
    paths: list[Path] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or entry.name not in HelpLibrary.LANGUAGES:
            known = ", ".join(HelpLibrary.LANGUAGES)
            raise _fail(entry, root, f"not a language folder (expected one of {known})")
        paths.extend(p for p in sorted(entry.glob("*.md")) if not p.name.startswith("."))
    if not paths:
        raise HelpContentError(f"{root}: no help articles found")
    return paths


def _read_article(path: Path, root: Path) -> Article:
    """Parse and check one file."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        raise _fail(path, root, f"not UTF-8 ({error.reason})") from error
    if (parts := _FRONT_MATTER.fullmatch(text)) is None:
        raise _fail(path, root, "no front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(parts[1])
    except yaml.YAMLError as error:
        said = " ".join(str(error).split())
        raise _fail(path, root, f"front matter is not valid YAML: {said}") from error
    if not isinstance(meta, dict):
        raise _fail(path, root, "front matter must be a mapping of keys to values")
    body = parts[2].strip()
    if not body:
        raise _fail(path, root, "the body is empty")
    fields = _check_front_matter(meta, path, root)
    return Article(**fields, language=path.parent.name, body=body, etag=quoted_hash([raw]))


def _check_front_matter(meta: Mapping[Any, Any], path: Path, root: Path) -> dict[str, Any]:
    """The typed front-matter fields, or an error naming the first problem."""
    if missing := sorted(FRONT_MATTER_KEYS - set(meta)):
        raise _fail(path, root, f"missing keys: {', '.join(missing)}")
    if unknown := sorted(str(key) for key in set(meta) - FRONT_MATTER_KEYS):
        raise _fail(path, root, f"unknown keys: {', '.join(unknown)}")
    for key in ("slug", "title", "summary", "audience"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise _fail(path, root, f"'{key}' must be a non-empty string")
    if meta["slug"] != path.stem or not KEBAB_CASE.fullmatch(path.stem):
        problem = f"slug '{meta['slug']}' must equal the file name, in kebab-case (a-z, 0-9, -)"
        raise _fail(path, root, problem)
    if meta["audience"] not in {audience.value for audience in Audience}:
        raise _fail(path, root, f"unknown audience '{meta['audience']}' (citizen or staff)")
    tags = meta["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _fail(path, root, "'tags' must be a list of strings")
    if any(not KEBAB_CASE.fullmatch(tag) for tag in tags) or len(set(tags)) != len(tags):
        raise _fail(path, root, f"tags must be distinct kebab-case ids, not {tags}")
    if not isinstance(meta["order"], int) or isinstance(meta["order"], bool):
        raise _fail(path, root, "'order' must be an integer")
    updated = meta["updated"]
    if not isinstance(updated, date) or isinstance(updated, datetime):
        raise _fail(path, root, "'updated' must be a date written as YYYY-MM-DD")
    return {
        "slug": meta["slug"],
        "audience": Audience(meta["audience"]),
        "title": meta["title"].strip(),
        "summary": meta["summary"].strip(),
        "tags": tuple(tags),
        "order": meta["order"],
        "updated": updated,
    }


def _check_languages_agree(articles: list[Article], root: Path) -> None:
    """Every slug exists in every language with the same audience, tags and order."""
    by_slug: dict[str, dict[str, Article]] = {}
    for article in articles:
        by_slug.setdefault(article.slug, {})[article.language] = article
    for slug, versions in sorted(by_slug.items()):
        files = {lang: f"{lang}/{slug}.md" for lang in HelpLibrary.LANGUAGES}
        for language in HelpLibrary.LANGUAGES:
            if language not in versions:
                present = ", ".join(files[lang] for lang in versions)
                raise _fail(root / files[language], root, f"missing (there is {present})")
        for name in ("audience", "tags", "order"):
            values = {lang: getattr(article, name) for lang, article in versions.items()}
            counts = Counter(values.values())
            if len(counts) > 1:
                # Blame the version that disagrees with the others.
                odd = min(values, key=lambda lang: counts[values[lang]])
                others = ", ".join(
                    f"{files[lang]} {_shown(values[lang])}" for lang in values if lang != odd
                )
                problem = f"{name} {_shown(values[odd])} differs from {others}"
                raise _fail(root / files[odd], root, problem)


def _shown(value: object) -> str:
    """A front-matter value as the author wrote it."""
    return str(list(value)) if isinstance(value, tuple) else str(value)
