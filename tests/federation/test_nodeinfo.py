"""NodeInfo documents against the published 2.0/2.1 schemas, and reading peers' documents."""

import json
from typing import Any

import pytest

from federation.nodeinfo import (
    SCHEMAS,
    NodeInfoError,
    Software,
    Usage,
    content_type,
    nodeinfo_document,
    nodeinfo_path,
    read_software,
    select_link,
    well_known_document,
)

GUILDHALL = Software(
    name="guildhall",
    version="0.1.0",
    repository="https://code.example/guildhall",
    homepage="https://guildhall.example",
)
USAGE = Usage(users_total=12, users_active_month=5, users_active_halfyear=9, local_posts=340)


def test_schema_ids_are_the_specs() -> None:
    assert SCHEMAS == {
        "2.0": "http://nodeinfo.diaspora.software/ns/schema/2.0",
        "2.1": "http://nodeinfo.diaspora.software/ns/schema/2.1",
    }
    assert content_type("2.1") == (
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
    )


def test_well_known_links_newest_first() -> None:
    assert well_known_document("https://school.example/") == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": "https://school.example/nodeinfo/2.1",
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": "https://school.example/nodeinfo/2.0",
            },
        ]
    }
    assert nodeinfo_path("2.0") == "/nodeinfo/2.0"


def test_reproduces_the_spec_example_for_2_1() -> None:
    # schemas/2.1/example.json in jhass/nodeinfo, except that we only speak ActivityPub.
    example: dict[str, Any] = {
        "version": "2.1",
        "software": {
            "name": "diaspora",
            "version": "0.5.0",
            "repository": "https://github.com/diaspora/diaspora",
            "homepage": "https://diasporafoundation.org/",
        },
        "protocols": ["activitypub"],
        "services": {"inbound": ["gnusocial"], "outbound": ["facebook", "twitter"]},
        "openRegistrations": True,
        "usage": {
            "users": {"total": 123, "activeHalfyear": 42, "activeMonth": 23},
            "localPosts": 500,
            "localComments": 1000,
        },
        "metadata": {"chat_enabled": True},
    }
    built = nodeinfo_document(
        "2.1",
        Software(
            "diaspora",
            "0.5.0",
            "https://github.com/diaspora/diaspora",
            "https://diasporafoundation.org/",
        ),
        Usage(123, 23, 42, 500, local_comments=1000),
        open_registrations=True,
        metadata={"chat_enabled": True},
        inbound_services=["gnusocial"],
        outbound_services=["facebook", "twitter"],
    )
    assert built == example
    assert json.loads(json.dumps(built)) == example  # plain JSON, nothing exotic


def test_2_0_leaves_out_what_its_schema_forbids() -> None:
    doc = nodeinfo_document("2.0", GUILDHALL, USAGE, open_registrations=False)
    # 2.0's software object has additionalProperties: false.
    assert doc["software"] == {"name": "guildhall", "version": "0.1.0"}
    assert doc["version"] == "2.0"
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["openRegistrations"] is False
    assert doc["usage"] == {
        "users": {"total": 12, "activeMonth": 5, "activeHalfyear": 9},
        "localPosts": 340,
    }
    assert doc["metadata"] == {}
    # The required members of both schemas, and nothing else at the top level.
    assert set(doc) == {
        "version", "software", "protocols", "services", "openRegistrations", "usage", "metadata",
    }  # fmt: skip


def test_2_1_carries_repository_and_homepage() -> None:
    doc = nodeinfo_document("2.1", GUILDHALL, USAGE, True, metadata={"nodeName": "School"})
    assert doc["software"]["repository"] == "https://code.example/guildhall"
    assert doc["software"]["homepage"] == "https://guildhall.example"
    assert doc["metadata"] == {"nodeName": "School"}


@pytest.mark.parametrize("name", ["Guildhall", "guild hall", "guild_hall", ""])
def test_software_name_must_match_the_schema_pattern(name: str) -> None:
    with pytest.raises(NodeInfoError) as caught:
        nodeinfo_document("2.1", Software(name, "1"), USAGE, True)
    assert "^[a-z0-9-]+$" in caught.value.reason


@pytest.mark.parametrize(
    "usage",
    [Usage(-1, 0, 0, 0), Usage(1, 1, 1, -3), Usage(1, 1, 1, 1, local_comments=-1)],
)
def test_counts_must_not_be_negative(usage: Usage) -> None:
    with pytest.raises(NodeInfoError):
        nodeinfo_document("2.0", GUILDHALL, usage, True)


def test_unknown_versions_and_services_are_refused() -> None:
    for version in ("1.0", "2.2", "2"):
        with pytest.raises(NodeInfoError):
            nodeinfo_document(version, GUILDHALL, USAGE, True)
    with pytest.raises(NodeInfoError) as caught:
        nodeinfo_document("2.1", GUILDHALL, USAGE, True, inbound_services=["mastodon"])
    assert "mastodon" in caught.value.reason


def test_select_link_prefers_the_newest_version() -> None:
    # The shape Mastodon serves at /.well-known/nodeinfo (2.0 only).
    mastodon = {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": "https://mastodon.example/nodeinfo/2.0",
            }
        ]
    }
    assert select_link(mastodon) == "https://mastodon.example/nodeinfo/2.0"
    assert select_link(well_known_document("https://school.example")) == (
        "https://school.example/nodeinfo/2.1"
    )
    mixed = {
        "links": [
            "junk",
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/1.0", "href": "https://a/1.0"},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1#", "href": "https://a/2.1"},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": 7},
        ]
    }
    assert select_link(mixed) == "https://a/2.1"


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {},
        {"links": {}},
        {"links": []},
        {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/1.1", "href": "x"}]},
        {
            "links": [
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                    "href": "javascript:alert(1)",
                }
            ]
        },
    ],
)
def test_select_link_refuses_unusable_documents(document: object) -> None:
    with pytest.raises(NodeInfoError):
        select_link(document)


def test_read_software_of_peers() -> None:
    ours = nodeinfo_document("2.1", GUILDHALL, USAGE, True)
    assert read_software(ours) == GUILDHALL
    lax = {"software": {"name": "Pleroma", "version": 2, "repository": ["x"]}}
    assert read_software(lax) == Software("pleroma", "2")
    for broken in (None, {}, {"software": "lemmy"}, {"software": {"version": "1"}}):
        with pytest.raises(NodeInfoError):
            read_software(broken)
