"""Remote HTML made safe to show, to Mastodon's allow-list, and reduced to plain text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

# Mastodon's Sanitize::Config::MASTODON_STRICT (app/lib/sanitize_config.rb, 4.x): the inline
# and block elements a post may carry. Mastodon main also keeps `s`, ruby annotations and
# `p class="quote-inline"`; the design keeps this set.
ALLOWED_TAGS = frozenset(
    {"p", "br", "span", "a", "del", "pre", "blockquote", "code", "b", "strong", "u", "i", "em",
     "ul", "ol", "li"}
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "class"},
    "span": {"class"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
# MASTODON_STRICT's LINK_PROTOCOLS; relative links are not among them, and its
# UNSUPPORTED_HREF_TRANSFORMER turns a link with any other href into its text.
LINK_SCHEMES = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
)
# MASTODON_STRICT's add_attributes for `a` (main; 4.0-4.3 also added "noreferrer"): every link
# opens a new tab and passes no ranking or window authority, whatever rel/target it came with.
LINK_REL = "nofollow noopener"
LINK_TARGET = "_blank"
# Mastodon's UNSUPPORTED_ELEMENTS_TRANSFORMER renders a heading as <p><strong>…</strong></p>.
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Elements removed together with their content (the Sanitize gem's default :remove_contents).
_REMOVED_WITH_CONTENT = frozenset(
    {"iframe", "math", "noembed", "noframes", "noscript", "plaintext", "script", "style", "svg",
     "xmp"}
)  # fmt: skip
# Mastodon's CLASS_WHITELIST_TRANSFORMER: microformats, mention/hashtag, and link formatting.
_ALLOWED_CLASS = re.compile(r"(?:h|p|u|dt|e)-.*|mention|hashtag|ellipsis|invisible", re.DOTALL)
_INTEGER = re.compile(r"\s*[+-]?\d{1,9}\s*")
# Remote content is bounded well before this by the fetch layer; this keeps any one call cheap.
MAX_HTML_LENGTH = 512 * 1024

_BLOCKS = frozenset({"p", "pre", "blockquote", "ul", "ol", "li"})


class SanitizeError(Exception):
    """HTML that will not be sanitised (today: only because it is too long)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "class":
        kept = [c for c in re.split(r"[\t\n\f\r ]", value) if c and _ALLOWED_CLASS.fullmatch(c)]
        return " ".join(kept) or None
    if name in ("start", "value"):
        return value.strip() if _INTEGER.fullmatch(value) else None
    return value


def _clean(fragment: str, tags: frozenset[str], final: bool) -> str:
    return nh3.clean(
        fragment,
        tags=set(tags),
        clean_content_tags=set(_REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=LINK_REL if final else None,
        set_tag_attribute_values={"a": {"target": LINK_TARGET}} if final else None,
        url_schemes=set(LINK_SCHEMES),
        url_relative="deny",
    )


class _Rewriter(HTMLParser):
    """Renames headings and unwraps links that lost their href, over ammonia's own output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.anchors: list[bool] = []  # for each open <a>, whether it was kept

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self.out.append("<p><strong>")
            return
        if tag == "a":
            keep = any(name == "href" for name, _ in attrs)
            self.anchors.append(keep)
            if not keep:
                # Mastodon's UNSUPPORTED_HREF_TRANSFORMER: a link we will not follow is text.
                return
        rendered = "".join(
            f" {name}" if value is None else f' {name}="{html.escape(value)}"'
            for name, value in attrs
        )
        self.out.append(f"<{tag}{rendered}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("<br>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HEADINGS:
            self.out.append("</strong></p>")
        elif tag == "a":
            if self.anchors.pop() if self.anchors else False:
                self.out.append("</a>")
        elif tag != "br":
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))


def _check_length(fragment: str) -> None:
    if len(fragment) > MAX_HTML_LENGTH:
        raise SanitizeError(f"HTML of {len(fragment)} characters exceeds {MAX_HTML_LENGTH}")


def sanitize_html(fragment: str) -> str:
    """Remote HTML reduced to Mastodon's allowed elements, attributes, classes and link schemes."""
    _check_length(fragment)
    # Ammonia (html5ever) parses the hostile input; the rewriter only ever sees its canonical
    # output, and a second ammonia pass re-checks whatever the rewriter produced.
    first = _clean(fragment, ALLOWED_TAGS | _HEADINGS, final=False)
    rewriter = _Rewriter()
    rewriter.feed(first)
    rewriter.close()
    return _clean("".join(rewriter.out), ALLOWED_TAGS, final=True)


class _TextExtractor(HTMLParser):
    """Text of sanitised HTML, with line breaks where the markup had them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pending = 0  # line breaks owed before the next text
        self.pre_depth = 0

    def _break(self, lines: int) -> None:
        # A block boundary is a blank line, a list item a new line; never more than a blank line.
        self.pending = max(self.pending, lines)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.pending = min(self.pending + 1, 2)  # each <br> is a line break of its own
        elif tag in _BLOCKS:
            self._break(1 if tag == "li" else 2)
        if tag == "pre":
            self.pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._break(1 if tag == "li" else 2)
        if tag == "pre" and self.pre_depth:
            self.pre_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.pre_depth:
            # Outside <pre>, a run of white space in HTML renders as one space, and none at
            # the start of a line.
            data = re.sub(r"\s+", " ", data)
            if self.pending or not self.out:
                data = data.lstrip(" ")
            if not data:
                return
        if self.pending and self.out:
            self.out[-1] = self.out[-1].rstrip(" ")
            self.out.append("\n" * self.pending)
        self.pending = 0
        self.out.append(data)


def plain_text(fragment: str) -> str:
    """The text of remote HTML (sanitised first), for summaries, previews and notifications."""
    extractor = _TextExtractor()
    extractor.feed(sanitize_html(fragment))
    extractor.close()
    return "".join(extractor.out).rstrip()
