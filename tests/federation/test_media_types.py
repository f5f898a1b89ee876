"""Content negotiation between AS2 JSON and HTML."""

import pytest

from federation.media_types import (
    AS2_ACCEPT,
    is_activity_json,
    media_type_of,
    parse_accept,
    wants_activity_json,
)

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MASTODON = (
    "application/activity+json, "
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams", text/html;q=0.1'
)


@pytest.mark.parametrize(
    "accept",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json;profile="https://www.w3.org/ns/activitystreams https://w3id.org/security/v1"',
        "application/ld+json",
        MASTODON,
        AS2_ACCEPT,
        "text/html;q=0.5, application/activity+json",
        "APPLICATION/ACTIVITY+JSON",
    ],
)
def test_activitypub_clients_get_json(accept: str) -> None:
    assert wants_activity_json(accept)


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        FIREFOX,
        "*/*",
        "application/json",
        "text/html, application/activity+json;q=0.9",
        "application/activity+json;q=0",
        'application/ld+json; profile="https://example.org/other"',
        "garbage",
    ],
)
def test_browsers_and_others_get_html(accept: str | None) -> None:
    assert not wants_activity_json(accept)


def test_quoted_commas_do_not_split_elements() -> None:
    ranges = parse_accept('application/ld+json; profile="a,b", text/html;q=0.3')
    assert [r.type for r in ranges] == ["application/ld+json", "text/html"]
    assert ranges[0].params["profile"] == "a,b"
    assert ranges[1].q == 0.3


def test_bad_q_value_counts_as_zero() -> None:
    assert parse_accept("text/html;q=abc")[0].q == 0.0
    assert not wants_activity_json("application/activity+json;q=nope")


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/activity+json", True),
        ("application/activity+json; charset=utf-8", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json", True),
        ("application/json", False),
        ("text/html", False),
        (None, False),
        ("", False),
    ],
)
def test_is_activity_json(content_type: str | None, expected: bool) -> None:
    assert is_activity_json(content_type) is expected


def test_media_type_of() -> None:
    assert media_type_of("Application/JRD+JSON; charset=utf-8") == "application/jrd+json"
    assert media_type_of(None) is None
