"""Domains as the fediverse counts them: normalised authorities, origins and block/allow rules."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class DomainError(Exception):
    """A URL or domain that has no usable host."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def normalize_host(host: str) -> str:
    """A host lowercased, without a trailing dot, IDNA (punycode) encoded; IPv6 kept in brackets."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise DomainError("empty host")
    if host.startswith("[") or ":" in host:
        try:
            address = ipaddress.IPv6Address(host.strip("[]"))
        except ValueError as exc:
            raise DomainError(f"invalid IPv6 literal {host!r}") from exc
        return f"[{address.compressed}]"
    if _is_ip_literal(host):
        return host
    # Mastodon's TagManager#normalize_domain goes through Addressable's normalized_host, which is
    # IDNA 2003 ToASCII; Python's "idna" codec implements the same.
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DomainError(f"invalid host {host!r}") from exc
    if any(c in encoded for c in "/?#@\\ ") or encoded.startswith(".") or ".." in encoded:
        raise DomainError(f"invalid host {host!r}")
    return encoded


def normalize_authority(authority: str, scheme: str = "https") -> str:
    """A `host[:port]` normalised like authority_of, dropping the scheme's default port."""
    authority = authority.strip()
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise DomainError(f"invalid authority {authority!r}")
        host, rest = authority[: end + 1], authority[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise DomainError(f"invalid authority {authority!r}")
    elif authority.count(":") > 1:
        host, port_text = authority, ""
    else:
        host, _, port_text = authority.partition(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise DomainError(f"invalid port in {authority!r}")
        port = int(port_text)
    normalized = normalize_host(host)
    if port is None or port == DEFAULT_PORTS.get(scheme.lower()):
        return normalized
    return f"{normalized}:{port}"


def authority_of(url: str) -> str:
    """The normalised `host[:port]` of a URL, with the port only when it is not the default."""
    # Mastodon keeps a non-default port in an account's domain (LOCAL_DOMAIN may be
    # "localhost:3000"), so two nodes on 127.0.0.1 with different ports are different domains.
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DomainError(f"invalid URL {url!r}: {exc}") from exc
    if not parts.hostname:
        raise DomainError(f"URL without a host: {url!r}")
    host = normalize_host(parts.hostname)
    if port is None or port == DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def host_of(authority: str) -> str:
    """The host part of a normalised authority (the port, if any, removed)."""
    if authority.startswith("["):
        return authority[: authority.index("]") + 1]
    return authority.rsplit(":", 1)[0] if ":" in authority else authority


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (RFC 6454 origin)."""
    # Mastodon's JsonLdHelper#non_matching_uri_hosts? compares hosts only; we also compare the
    # scheme and port because several loopback test nodes share 127.0.0.1.
    try:
        return (
            urlsplit(a).scheme.lower() == urlsplit(b).scheme.lower()
            and authority_of(a) == authority_of(b)
        )
    except DomainError:
        return False


def normalize_rule(rule: str) -> str:
    """A block/allow rule normalised: `example.org`, `*.example.org` or `host:port`."""
    rule = rule.strip()
    if rule.startswith("*."):
        return "*." + normalize_authority(rule[2:])
    return normalize_authority(rule)


def matches_rule(authority: str, rule: str) -> bool:
    """Whether a normalised authority falls under a domain rule.

    `example.org` covers the domain and every subdomain (Mastodon's DomainBlock.rule_for tries each
    suffix of the domain), `*.example.org` only subdomains, and a rule with a port only that port.
    """
    try:
        rule = normalize_rule(rule)
        authority = normalize_authority(authority)
    except DomainError:
        return False
    wildcard = rule.startswith("*.")
    if wildcard:
        rule = rule[2:]
    rule_host, host = host_of(rule), host_of(authority)
    rule_port, port = rule[len(rule_host) :], authority[len(host) :]
    if rule_port and rule_port != port:
        return False  # the rule names a port and it is not this one
    if _is_ip_literal(host) or _is_ip_literal(rule_host):
        # Label suffixes mean nothing for addresses: "0.0.1" must not cover "127.0.0.1".
        return not wildcard and host == rule_host
    if host == rule_host:
        return not wildcard
    return host.endswith("." + rule_host)
