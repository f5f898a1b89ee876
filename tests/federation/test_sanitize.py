"""Remote HTML sanitised to Mastodon's MASTODON_STRICT allow-list, and reduced to plain text."""

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from federation.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    LINK_SCHEMES,
    MAX_HTML_LENGTH,
    SanitizeError,
    plain_text,
    sanitize_html,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "activitypub"
LINK = 'target="_blank" rel="nofollow noopener"'

# How Mastodon 4.x renders a status: an h-card mention, a hashtag, and a shortened link.
MASTODON_CONTENT = (
    '<p><span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" '
    'class="u-url mention">@<span>Gargron</span></a></span> see '
    '<a href="https://example.com/a/very/long/path" target="_blank" '
    'rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span>'
    '<span class="ellipsis">example.com/a/very/lo</span><span class="invisible">ng/path</span>'
    '</a> <a href="https://mastodon.social/tags/fediverse" class="mention hashtag" rel="tag">'
    "#<span>fediverse</span></a></p>"
)

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="javascript&#58;alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<form action="https://evil.example"><input name="password"></form>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "<object data='x'></object><embed src='x'>",
    "<!--<script>alert(1)</script>-->",
    '<a href="https://ok.example" onmouseover="alert(1)">x</a>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<span class="mention" style="position:fixed;top:0">x</span>',
    "<scr<script>ipt>alert(1)</script>",
    '<a href="https://ok.example" target="_self" rel="opener">x</a>',
]


class Collector(HTMLParser):
    """Every element and attribute in a fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = Collector()
    collector.feed(fragment)
    return collector.elements


def assert_within_allow_list(fragment: str) -> None:
    for tag, attrs in elements(fragment):
        assert tag in ALLOWED_TAGS, tag
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel", "target"} if tag == "a" else set())
        assert set(attrs) <= allowed, (tag, attrs)
        if tag == "a":
            assert attrs["rel"] == "nofollow noopener"
            assert attrs["target"] == "_blank"
            href = attrs["href"]
            assert href is not None and href.split(":", 1)[0] in LINK_SCHEMES


def test_mastodon_status_html_keeps_mentions_hashtags_and_link_shortening() -> None:
    assert sanitize_html(MASTODON_CONTENT) == (
        '<p><span class="h-card"><a href="https://mastodon.social/@Gargron" class="u-url mention"'
        f" {LINK}>@<span>Gargron</span></a></span> see "
        f'<a href="https://example.com/a/very/long/path" {LINK}><span class="invisible">https://'
        '</span><span class="ellipsis">example.com/a/very/lo</span><span class="invisible">'
        'ng/path</span></a> <a href="https://mastodon.social/tags/fediverse" '
        f'class="mention hashtag" {LINK}>#<span>fediverse</span></a></p>'
    )
    assert plain_text(MASTODON_CONTENT) == (
        "@Gargron see https://example.com/a/very/long/path #fediverse"
    )


@pytest.mark.parametrize("attack", XSS)
def test_attacks_are_neutralised(attack: str) -> None:
    clean = sanitize_html(attack)
    lowered = clean.lower()
    for marker in ("<script", "<img", "<iframe", "<svg", "<style", "<form", "<input", "<base",
                   "<meta", "<object", "<embed", "javascript:", "vbscript:", "data:", " on",
                   "style=", "srcdoc"):  # fmt: skip
        assert marker not in lowered, (attack, clean)
    assert_within_allow_list(clean)
    assert sanitize_html(clean) == clean  # a fixed point: sanitising twice changes nothing


def test_all_allowed_elements_survive() -> None:
    fragment = (
        "<p>a<br>b <del>c</del> <code>d</code> <em>e</em> <strong>f</strong> <b>g</b> <i>h</i>"
        " <u>i</u> <span>j</span></p><pre>k</pre><blockquote><p>l</p></blockquote>"
        "<ul><li>m</li></ul><ol><li>n</li></ol>"
    )
    assert sanitize_html(fragment) == fragment


def test_other_elements_are_unwrapped_to_their_text() -> None:
    assert sanitize_html("<div><table><tr><td>cell</td></tr></table><hr><s>x</s></div>") == (
        "cellx"
    )


@pytest.mark.parametrize("scheme", sorted(LINK_SCHEMES))
def test_mastodon_link_schemes_are_kept(scheme: str) -> None:
    href = f"{scheme}://example.org/x" if scheme != "magnet" else "magnet:?xt=urn:btih:abc"
    assert sanitize_html(f'<a href="{href}">x</a>') == f'<a href="{href}" {LINK}>x</a>'


@pytest.mark.parametrize(
    "href", ["/relative", "../up", "#frag", "ftp://example.org", "mailto:a@example.org", "tel:1"]
)
def test_links_with_other_hrefs_become_text(href: str) -> None:
    # Mastodon's UNSUPPORTED_HREF_TRANSFORMER replaces such a link with its text.
    assert sanitize_html(f'<p>see <a href="{href}" class="mention">this</a>.</p>') == (
        "<p>see this.</p>"
    )


def test_links_get_mastodons_rel_and_target() -> None:
    clean = sanitize_html('<a href="https://a.example" rel="me opener" target="_top">a</a>')
    assert clean == f'<a href="https://a.example" {LINK}>a</a>'


@pytest.mark.parametrize(
    ("classes", "kept"),
    [
        ("h-card", "h-card"),
        ("p-name u-url dt-published e-content", "p-name u-url dt-published e-content"),
        ("mention hashtag", "mention hashtag"),
        ("ellipsis\tinvisible", "ellipsis invisible"),
        ("status-link mention", "mention"),
        ("hashtags mentioned x-h-card", None),
        ("", None),
    ],
)
def test_only_mastodons_classes_are_kept(classes: str, kept: str | None) -> None:
    clean = sanitize_html(f'<span class="{classes}">x</span>')
    assert clean == (f'<span class="{kept}">x</span>' if kept else "<span>x</span>")


def test_list_numbering_attributes() -> None:
    clean = sanitize_html(
        '<ol start="3" reversed type="a"><li value="7">a</li><li value="x" id="y">b</li></ol>'
    )
    assert clean == '<ol start="3" reversed=""><li value="7">a</li><li>b</li></ol>'


def test_headings_become_strong_paragraphs() -> None:
    # Mastodon's UNSUPPORTED_ELEMENTS_TRANSFORMER.
    assert sanitize_html('<h1 class="p-name">Title</h1><h3>Sub</h3><p>body</p>') == (
        "<p><strong>Title</strong></p><p><strong>Sub</strong></p><p>body</p>"
    )


def test_text_is_escaped_not_interpreted() -> None:
    assert sanitize_html("<p>1 &lt; 2 &amp;&amp; &lt;script&gt;</p>") == (
        "<p>1 &lt; 2 &amp;&amp; &lt;script&gt;</p>"
    )
    assert sanitize_html("a < b > c") == "a &lt; b &gt; c"


def test_lemmy_html_is_kept_or_reduced() -> None:
    person = json.loads((FIXTURES / "lemmy_actor_person.json").read_text())
    group: dict[str, Any] = json.loads((FIXTURES / "lemmy_group_actor.json").read_text())
    assert sanitize_html(person["summary"]) == person["summary"]
    # Lemmy renders Markdown's thematic break as <hr />, which Mastodon does not keep.
    assert sanitize_html(group["content"]) == (
        "<p>Lounge and recreation facility</p>\n\n<p>Welcome to the Enterprise!.</p>\n"
    )
    assert plain_text(person["summary"]) == "Captain of the starship Enterprise."
    assert plain_text(group["content"]) == (
        "Lounge and recreation facility\n\nWelcome to the Enterprise!."
    )


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>one<br>two</p><p>three</p>", "one\ntwo\n\nthree"),
        ("<p>a</p>\n\n\n<p>b</p>", "a\n\nb"),
        ("<p>a<br><br><br><br>b</p>", "a\n\nb"),
        ("<p>  lots   of\n  space  </p>", "lots of space"),
        ("<ul><li>x</li><li>y</li></ul><p>z</p>", "x\ny\n\nz"),
        ("<pre>  def f():\n      return 1</pre>", "  def f():\n      return 1"),
        ("<p>&amp; &lt;tag&gt; &quot;q&quot; &#128512;</p>", '& <tag> "q" \U0001f600'),
        ("<script>alert(1)</script>hi", "hi"),
        ("", ""),
    ],
)
def test_plain_text(fragment: str, text: str) -> None:
    assert plain_text(fragment) == text


def test_input_length_is_bounded() -> None:
    just_fits = "a" * MAX_HTML_LENGTH
    assert sanitize_html(just_fits) == just_fits
    with pytest.raises(SanitizeError) as caught:
        sanitize_html(just_fits + "a")
    assert str(MAX_HTML_LENGTH) in caught.value.reason
    with pytest.raises(SanitizeError):
        plain_text("<p>" + "a" * MAX_HTML_LENGTH + "</p>")
