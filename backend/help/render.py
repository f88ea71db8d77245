"""Help articles as HTML for the desk console: Markdown rendered by markdown-it (CommonMark,
raw HTML off) and the result sanitised again by nh3 (an allow-list of tags and attributes),
so that nothing in an article can add a script, a style or an event handler to a page."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_ALLOWED_TAGS = {"p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "pre",
                 "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "br"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@lru_cache(maxsize=256)
def render_markdown(source: str) -> Markup:
    """``source`` (Markdown) as sanitised HTML; its top headings become ``h2``, the rest in
    order below them (the page's ``h1`` is the article's title)."""
    html = _markdown.render(source)
    used = [level for level in range(1, 7) if f"<h{level}>" in html]
    shift = 2 - used[0] if used else 0  # the article's top headings become h2 under its h1
    order = range(6, 0, -1) if shift > 0 else range(1, 7)
    for level in order:
        to = min(6, max(2, level + shift))
        html = html.replace(f"<h{level}>", f"<h{to}>").replace(f"</h{level}>", f"</h{to}>")
    clean = nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                      url_schemes={"https", "mailto", "tel"}, link_rel="noopener noreferrer")
    return Markup(clean)  # noqa: S704 (sanitised by nh3 just above)
