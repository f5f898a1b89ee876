"""WebFinger addresses, our JRD and host-meta, and reading Mastodon's documents."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from federation.webfinger import (
    MAX_XRD_SIZE,
    PROFILE_PAGE_REL,
    SUBSCRIBE_REL,
    Acct,
    WebFingerError,
    host_meta_xrd,
    jrd_document,
    lookup_url,
    lrdd_template,
    parse_acct,
    parse_resource,
    read_jrd,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "activitypub"
ADA = Acct("ada", "school.example")
ACTOR = "https://school.example/members/ada"


def mastodon_jrd() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "mastodon_webfinger.json").read_text())
    return data


@pytest.mark.parametrize(
    "text",
    [
        "acct:ada@school.example",
        "ACCT:ada@school.example",
        "ada@school.example",
        "@ada@school.example",
        "  @ada@School.Example.  ",
    ],
)
def test_address_forms(text: str) -> None:
    assert parse_acct(text) == ADA
    assert parse_resource(text) == ADA


def test_address_keeps_a_non_default_port_and_encodes_idn() -> None:
    assert parse_acct("ada@127.0.0.1:8001") == Acct("ada", "127.0.0.1:8001")
    assert parse_acct("ada@school.example:443") == ADA
    assert parse_acct("ada@bücher.example").host == "xn--bcher-kva.example"
    assert parse_acct("first.last_1@school.example").name == "first.last_1"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("ada", "name@host"),
        ("acct:", "name@host"),
        ("@school.example", "name@host"),
        ("acct:@school.example", "no user name"),
        ("ada@", "empty host"),
        ("ada@bob@school.example", "more than one @"),
        ("a da@school.example", "RFC 7565"),
        ("ada/x@school.example", "RFC 7565"),
        ("ada@school.example/path", "invalid host"),
        ("ada@school.example:99999", "invalid port"),
    ],
)
def test_bad_addresses_say_why(text: str, why: str) -> None:
    with pytest.raises(WebFingerError) as caught:
        parse_acct(text)
    assert why in caught.value.reason


def test_url_resources() -> None:
    assert parse_resource(ACTOR) == ACTOR
    assert parse_resource("https://mastodon.social/@victorneo") == (
        "https://mastodon.social/@victorneo"
    )
    with pytest.raises(WebFingerError, match="plain http"):
        parse_resource("http://127.0.0.1:8001/members/ada")
    assert parse_resource("http://127.0.0.1:8001/members/ada", allow_http=True) == (
        "http://127.0.0.1:8001/members/ada"
    )
    for bad in ["https://", "https://user:pw@school.example/members/ada", "https:///x"]:
        with pytest.raises(WebFingerError):
            parse_resource(bad)


@pytest.mark.parametrize("bad", ["", "   ", "mailto:ada@school.example", "javascript:alert(1)"])
def test_unsupported_resources(bad: str) -> None:
    with pytest.raises(WebFingerError):
        parse_resource(bad)


def test_lookup_url_encodes_the_resource() -> None:
    url = lookup_url(ADA)
    assert url == (
        "https://school.example/.well-known/webfinger?resource=acct%3Aada%40school.example"
    )
    assert parse_qs(urlsplit(url).query) == {"resource": ["acct:ada@school.example"]}
    template = "https://social.example/.well-known/webfinger?resource={uri}"
    assert lookup_url(ADA, template).startswith("https://social.example/")
    assert lookup_url(Acct("ada", "127.0.0.1:8001"), scheme="http").startswith(
        "http://127.0.0.1:8001/.well-known/webfinger?"
    )


def test_our_jrd_has_mastodons_shape() -> None:
    fixture = mastodon_jrd()
    ours = jrd_document(
        Acct("victorneo", "mastodon.social"),
        actor_id="https://mastodon.social/users/victorneo",
        profile_url="https://mastodon.social/@victorneo",
        subscribe_template="https://mastodon.social/authorize_interaction?uri={uri}",
    )
    assert ours == fixture


def test_jrd_self_link_is_the_actor_id() -> None:
    doc = jrd_document(ADA, ACTOR)
    assert doc == {
        "subject": "acct:ada@school.example",
        "aliases": [ACTOR],
        "links": [{"rel": "self", "type": "application/activity+json", "href": ACTOR}],
    }
    assert read_jrd(doc).self_href == ACTOR
    with pytest.raises(WebFingerError):
        jrd_document(ADA, ACTOR, subscribe_template="https://school.example/interact")


def test_jrd_round_trips_and_aliases_are_unique() -> None:
    doc = jrd_document(ADA, ACTOR, profile_url=ACTOR, aliases=[ACTOR, "https://old.example/ada"])
    assert doc["aliases"] == [ACTOR, "https://old.example/ada"]
    jrd = read_jrd(doc)
    assert (jrd.subject, jrd.self_href, jrd.profile_page) == (ADA.uri, ACTOR, ACTOR)


def test_reading_mastodons_jrd() -> None:
    jrd = read_jrd(mastodon_jrd())
    assert jrd.subject == "acct:victorneo@mastodon.social"
    assert jrd.self_href == "https://mastodon.social/users/victorneo"
    assert jrd.profile_page == "https://mastodon.social/@victorneo"
    assert jrd.aliases == (
        "https://mastodon.social/@victorneo",
        "https://mastodon.social/users/victorneo",
    )


@pytest.mark.parametrize(
    "link_type",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json;profile="https://www.w3.org/ns/activitystreams"',
    ],
)
def test_self_link_types_accepted(link_type: str) -> None:
    doc = {"links": [{"rel": "self", "type": link_type, "href": ACTOR}]}
    assert read_jrd(doc).self_href == ACTOR


def test_self_link_chosen_among_others() -> None:
    doc = {
        "subject": 5,
        "aliases": "not a list",
        "links": [
            "junk",
            {"rel": "self", "type": "text/html", "href": "https://school.example/@ada"},
            {"rel": "self", "type": "application/ld+json", "href": "https://x.example/ld"},
            {"rel": "self", "type": "application/activity+json", "href": "javascript:alert(1)"},
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": "https://school.example/@ada"},
            {"rel": SUBSCRIBE_REL, "template": "https://school.example/i?uri={uri}"},
            {"rel": "self", "type": "application/activity+json", "href": ACTOR},
        ],
    }
    jrd = read_jrd(doc)
    assert jrd.self_href == ACTOR
    assert jrd.subject is None
    assert jrd.aliases == ()


@pytest.mark.parametrize(
    "doc",
    [None, [], "{}", {}, {"links": {}}, {"links": []}, {"links": [{"rel": "self", "href": ACTOR}]}],
)
def test_jrd_without_an_as2_self_link_is_refused(doc: object) -> None:
    with pytest.raises(WebFingerError):
        read_jrd(doc)


def test_host_meta_round_trip() -> None:
    xrd = host_meta_xrd("https://school.example/")
    assert xrd.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<XRD ')
    assert 'xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"' in xrd
    template = lrdd_template(xrd)
    assert template == "https://school.example/.well-known/webfinger?resource={uri}"
    assert lrdd_template(xrd.encode()) == template
    assert lookup_url(ADA, template) == lookup_url(ADA)


def test_reading_mastodons_host_meta() -> None:
    xrd = (FIXTURES / "mastodon_host_meta.xml").read_bytes()
    assert lrdd_template(xrd) == (
        "https://mastodon.juggler.jp/.well-known/webfinger?resource={uri}"
    )


def test_host_meta_without_namespace_is_read() -> None:
    xrd = '<XRD><Link rel="lrdd" template="https://a.example/wf?resource={uri}"/></XRD>'
    assert lrdd_template(xrd) == "https://a.example/wf?resource={uri}"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<XRD><Link rel="lrdd" template="https://a.example/?r={uri}&lol2;"/></XRD>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE XRD [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<XRD><Link rel="lrdd" template="https://a.example/?r={uri}&xxe;"/></XRD>"""


@pytest.mark.parametrize(
    "xrd",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        BILLION_LAUGHS.encode(),
        BILLION_LAUGHS.encode("utf-16"),  # must not slip past the check by its encoding
        "<!doctype XRD><XRD/>",
        "<XRD><!ENTITY x 'y'></XRD>",
    ],
)
def test_host_meta_with_dtd_or_entities_is_refused(xrd: str | bytes) -> None:
    with pytest.raises(WebFingerError):
        lrdd_template(xrd)


@pytest.mark.parametrize(
    "xrd",
    [
        "",
        "not xml",
        "<XRD>",
        "<XRD><Link rel='lrdd'/></XRD>",
        "<XRD><Link rel='lrdd' template='https://a.example/wf'/></XRD>",
        "<XRD><Link rel='lrdd' template='javascript:{uri}'/></XRD>",
        "<XRD><Link rel='other' template='https://a.example/{uri}'/></XRD>",
        "<XRD>" + " " * MAX_XRD_SIZE + "</XRD>",
    ],
)
def test_unusable_host_meta_is_refused(xrd: str) -> None:
    with pytest.raises(WebFingerError):
        lrdd_template(xrd)
