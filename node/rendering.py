"""Member-written Markdown turned into safe HTML by a maintained parser and sanitiser."""

import html as html_entities
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# What local Markdown may produce. Raw HTML in the source is not interpreted at all.
ALLOWED_TAGS = {
    "p",
    "br",
    "a",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "hr",
    "del",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def markdown_to_html(source: str) -> str:
    """Sanitised HTML for a member's Markdown (headings start at h2 below the page's h1)."""
    html = _parser().render(source)
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    # markdown-it writes ~~text~~ as <s>; Mastodon's sanitiser (and ours) keep <del>.
    html = html.replace("<s>", "<del>").replace("</s>", "</del>")
    return sanitize_local(html)


def sanitize_local(html: str) -> str:
    """HTML reduced to what our own pages allow, links marked as user-provided."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
    )


def plain_text(source: str, limit: int = 200) -> str:
    """A one-line plain-text excerpt of Markdown, for titles and summaries."""
    text = nh3.clean(_parser().render(source), tags=set())
    text = " ".join(html_entities.unescape(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
