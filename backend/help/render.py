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
    """``source`` (Markdown) as sanitised HTML; headings start at ``h2`` (the page has the
    ``h1``)."""
    html = _markdown.render(source)
    for level in (3, 2, 1):  # "#" becomes h2: one h1 per page, the article's title
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>")
    clean = nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                      url_schemes={"https", "mailto", "tel"}, link_rel="noopener noreferrer")
    return Markup(clean)  # noqa: S704 (sanitised by nh3 just above)
