"""Domains: normalised hosts and authorities, origins, and Mastodon-style block/allow rules."""

import pytest

from federation.domains import (
    DomainError,
    authority_of,
    host_of,
    matches_rule,
    normalize_authority,
    normalize_host,
    normalize_rule,
    same_origin,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("Example.ORG", "example.org"),
        ("example.org.", "example.org"),  # the root label's dot names the same host
        (" example.org ", "example.org"),
        ("bücher.example", "xn--bcher-kva.example"),  # IDNA, as Mastodon stores domains
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "[::1]"),
        ("::1", "[::1]"),
        ("[2001:DB8:0:0::1]", "[2001:db8::1]"),
    ],
)
def test_hosts_are_normalised(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


@pytest.mark.parametrize(
    "host", ["", "  ", ".", "a..b", ".example.org", "a b.org", "[zz::1]", "x" * 64 + ".org"]
)
def test_unusable_hosts_are_refused(host: str) -> None:
    with pytest.raises(DomainError) as raised:
        normalize_host(host)
    assert raised.value.reason


@pytest.mark.parametrize(
    ("authority", "scheme", "expected"),
    [
        ("Example.org:443", "https", "example.org"),
        ("example.org:80", "https", "example.org:80"),
        ("example.org:80", "http", "example.org"),
        ("example.org:8443", "https", "example.org:8443"),
        ("[::1]:8080", "https", "[::1]:8080"),
        ("[::1]:443", "https", "[::1]"),
        ("::1", "https", "[::1]"),
        ("127.0.0.1:8000", "http", "127.0.0.1:8000"),
        ("example.org:", "https", "example.org"),  # RFC 3986 allows an empty port
    ],
)
def test_authorities_drop_only_the_default_port(authority: str, scheme: str, expected: str) -> None:
    assert normalize_authority(authority, scheme) == expected


@pytest.mark.parametrize(
    "authority", ["a.org:0", "a.org:65536", "a.org:http", "[::1", "[::1]8080", ""]
)
def test_bad_authorities_are_refused(authority: str) -> None:
    with pytest.raises(DomainError):
        normalize_authority(authority)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.org/users/alice", "example.org"),
        ("https://example.org:443/", "example.org"),
        ("http://example.org:80/", "example.org"),
        ("https://example.org:80/", "example.org:80"),
        # Two loopback test nodes on different ports are different domains, as in Mastodon.
        ("http://127.0.0.1:8000/actor", "127.0.0.1:8000"),
        ("http://127.0.0.1:8001/actor", "127.0.0.1:8001"),
        ("https://[::1]:8443/", "[::1]:8443"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
    ],
)
def test_authority_of_a_url(url: str, expected: str) -> None:
    assert authority_of(url) == expected


@pytest.mark.parametrize(
    "url",
    ["mailto:alice@example.org", "/relative/path", "https://a.org:99999/", "https://a.org:x/"],
)
def test_urls_without_a_usable_authority_are_refused(url: str) -> None:
    with pytest.raises(DomainError):
        authority_of(url)


@pytest.mark.parametrize(
    ("authority", "host"),
    [("a.org", "a.org"), ("a.org:8000", "a.org"), ("[::1]", "[::1]"), ("[::1]:8080", "[::1]")],
)
def test_host_of_an_authority(authority: str, host: str) -> None:
    assert host_of(authority) == host


def test_same_origin_compares_scheme_host_and_port() -> None:
    assert same_origin("https://a.org/users/x", "https://A.ORG:443/notes/1")
    assert not same_origin("http://a.org/", "https://a.org/")
    assert not same_origin("http://127.0.0.1:8000/", "http://127.0.0.1:8001/")
    assert not same_origin("https://a.org/", "https://b.a.org/")
    assert not same_origin("https://a.org/", "not a url")


def test_rules_are_normalised() -> None:
    assert normalize_rule(" *.Example.ORG ") == "*.example.org"
    assert normalize_rule("Example.org:8443") == "example.org:8443"
    assert normalize_rule("bücher.example") == "xn--bcher-kva.example"
    with pytest.raises(DomainError):
        normalize_rule("*.")


@pytest.mark.parametrize(
    ("authority", "rule", "expected"),
    [
        # A plain domain covers itself and every subdomain (Mastodon's DomainBlock.rule_for).
        ("example.org", "example.org", True),
        ("social.example.org", "example.org", True),
        ("a.b.example.org", "example.org", True),
        ("badexample.org", "example.org", False),
        ("example.org.evil", "example.org", False),
        ("EXAMPLE.org", "Example.ORG.", True),
        ("xn--bcher-kva.example", "bücher.example", True),
        # A wildcard covers subdomains only.
        ("example.org", "*.example.org", False),
        ("social.example.org", "*.example.org", True),
        # A rule without a port covers every port; a rule with one only that port.
        ("example.org:8443", "example.org", True),
        ("example.org", "example.org:8443", False),
        ("example.org:8443", "example.org:8443", True),
        ("example.org:8444", "example.org:8443", False),
        ("social.example.org:8443", "*.example.org:8443", True),
        ("social.example.org:8444", "*.example.org:8443", False),
        ("social.example.org:8443", "example.org:8443", True),
        # Addresses match exactly: "0.0.1" is not a parent of "127.0.0.1".
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1:8000", "127.0.0.1", True),
        ("127.0.0.1", "0.0.1", False),
        ("127.0.0.1", "*.0.0.1", False),
        ("[::1]", "[::1]", True),
        ("[::1]:8080", "[::1]:8081", False),
        # Malformed input never matches (and never raises).
        ("example.org", "a..b", False),
        ("a..b", "example.org", False),
    ],
)
def test_rules_match_like_mastodon_domain_blocks(authority: str, rule: str, expected: bool) -> None:
    assert matches_rule(authority, rule) is expected
