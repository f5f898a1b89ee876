"""Rendering: members' Markdown becomes HTML with nothing that runs and no unsafe links."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from node.rendering import ALLOWED_TAGS, markdown_to_html, plain_text, sanitize_local

REL = 'rel="nofollow noopener noreferrer ugc"'


def test_markdown_becomes_html() -> None:
    html = markdown_to_html(
        "**bold** *em* `code` ~~gone~~\n\n> quoted\n\n1. one\n2. two\n\n---\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    for fragment in (
        "<strong>bold</strong>",
        "<em>em</em>",
        "<code>code</code>",
        "<del>gone</del>",
        "<blockquote>",
        "<ol>",
        "<li>one</li>",
        "<hr>",
        "<table>",
        "<td>1</td>",
    ):
        assert fragment in html


def test_headings_start_below_the_page_title() -> None:
    html = markdown_to_html("# Title\n\n## Part")
    assert "<h1>" not in html
    assert "<h2>Title</h2>" in html
    assert "<h2>Part</h2>" in html


def test_links_are_marked_as_user_content() -> None:
    html = markdown_to_html('[notes](https://example.org/notes "Notes") <https://example.org/x>')
    assert f'<a href="https://example.org/notes" title="Notes" {REL}>notes</a>' in html
    assert f'<a href="https://example.org/x" {REL}>' in html
    assert f'<a href="mailto:a@example.org" {REL}>' in markdown_to_html("[m](mailto:a@example.org)")


class _Tags(HTMLParser):
    """Every tag and attribute in a fragment, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
        "```\n<script>alert(1)</script>\n```",
        '<div onclick="alert(1)" style="color:red">hi</div>',
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_nothing_runs(source: str) -> None:
    tags = _tags(markdown_to_html(source))
    assert {tag for tag, _ in tags} <= ALLOWED_TAGS
    for _, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on")
            assert name != "style"
            if name == "href":
                assert urlsplit(value or "").scheme in ("", "http", "https", "mailto")


def test_sanitize_local_removes_scripts_handlers_and_bad_schemes() -> None:
    html = sanitize_local(
        '<p onmouseover="x()" style="color:red">text</p><script>alert(1)</script>'
        '<a href="JaVaScRiPt:alert(1)">bad</a><a href="https://example.org" target="_blank">ok</a>'
        "<style>p{}</style><iframe src=x></iframe><img src=x onerror=y>"
    )
    assert html == (f'<p>text</p><a {REL}>bad</a><a href="https://example.org" {REL}>ok</a>')


def test_sanitize_local_keeps_allowed_structure() -> None:
    html = '<ol start="3"><li><strong>x</strong></li></ol><pre><code>y</code></pre>'
    assert sanitize_local(html) == html


def test_plain_text_is_one_line_without_markup() -> None:
    assert plain_text("# Hello *world*\n\nSecond  paragraph &amp; more") == (
        "Hello world Second paragraph & more"
    )
    assert plain_text("") == ""


def test_plain_text_is_cut_with_an_ellipsis() -> None:
    excerpt = plain_text("word " * 100, limit=20)
    assert len(excerpt) <= 20
    assert excerpt.endswith("…")
    assert plain_text("short", limit=20) == "short"


def test_raw_html_and_script_links_stay_text() -> None:
    assert markdown_to_html("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"
    assert "<a" not in markdown_to_html("[x](javascript:alert(1))")
