"""NodeInfo 2.0 and 2.1: our server metadata documents, their discovery links, peers' documents."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# https://github.com/jhass/nodeinfo/blob/main/PROTOCOL.md: the link relations are the schema ids
# (without their trailing "#"), and a client follows the highest version it understands.
SCHEMAS = {
    "2.0": "http://nodeinfo.diaspora.software/ns/schema/2.0",
    "2.1": "http://nodeinfo.diaspora.software/ns/schema/2.1",
}
WELL_KNOWN_PATH = "/.well-known/nodeinfo"

# schemas/2.x/schema.json: software.name "pattern": "^[a-z0-9-]+$".
_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+")
# schemas/2.1/schema.json, the enums of services.inbound and services.outbound.
INBOUND_SERVICES = frozenset(
    {"atom1.0", "gnusocial", "imap", "pnut", "pop3", "pumpio", "rss2.0", "twitter"}
)
OUTBOUND_SERVICES = frozenset(
    {
        "acropolis", "atom1.0", "blogger", "buddycloud", "diaspora", "dreamwidth", "drupal",
        "facebook", "friendica", "gnusocial", "google", "insanejournal", "libertree", "linkedin",
        "livejournal", "mediagoblin", "myspace", "pinterest", "pnut", "posterous", "pumpio",
        "redmatrix", "rss2.0", "smtp", "tent", "tumblr", "twitter", "wordpress", "xmpp",
    }
)  # fmt: skip


class NodeInfoError(Exception):
    """A NodeInfo document that cannot be built or read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Software:
    """The `software` block: name matches ^[a-z0-9-]+$; repository and homepage are 2.1 only."""

    name: str
    version: str
    repository: str | None = None
    homepage: str | None = None


@dataclass(frozen=True)
class Usage:
    """The `usage` block: user counts (all, signed in within 30 and 180 days) and local posts."""

    users_total: int
    users_active_month: int
    users_active_halfyear: int
    local_posts: int
    local_comments: int | None = None


def content_type(version: str) -> str:
    """The Content-Type a NodeInfo document of this version is served with."""
    # PROTOCOL.md: "application/json; profile=<schema id>#"; the value holds ":" and "/", which
    # RFC 9110 §5.6.6 only allows in a quoted-string.
    return f'application/json; profile="{_schema(version)}#"'


def nodeinfo_path(version: str) -> str:
    """The path on our host that serves the NodeInfo document of this version."""
    _schema(version)
    return f"/nodeinfo/{version}"


def well_known_document(base_url: str) -> dict[str, Any]:
    """The `/.well-known/nodeinfo` JRD linking every version we serve, newest first."""
    base = base_url.rstrip("/")
    return {
        "links": [
            {"rel": SCHEMAS[version], "href": base + nodeinfo_path(version)}
            for version in sorted(SCHEMAS, reverse=True)
        ]
    }


def nodeinfo_document(
    version: str,
    software: Software,
    usage: Usage,
    open_registrations: bool,
    metadata: Mapping[str, object] | None = None,
    inbound_services: Iterable[str] = (),
    outbound_services: Iterable[str] = (),
) -> dict[str, Any]:
    """A NodeInfo document of version 2.0 or 2.1 that validates against its published schema."""
    _schema(version)
    if not _SOFTWARE_NAME.fullmatch(software.name):
        raise NodeInfoError(f"software name {software.name!r} must match ^[a-z0-9-]+$")
    soft: dict[str, str] = {"name": software.name, "version": software.version}
    # The 2.0 schema has additionalProperties: false on software, so the 2.1 fields stay out.
    if version == "2.1":
        if software.repository is not None:
            soft["repository"] = software.repository
        if software.homepage is not None:
            soft["homepage"] = software.homepage
    inbound, outbound = list(inbound_services), list(outbound_services)
    for name, given, allowed in (
        ("inbound", inbound, INBOUND_SERVICES),
        ("outbound", outbound, OUTBOUND_SERVICES),
    ):
        unknown = sorted(set(given) - allowed)
        if unknown:
            raise NodeInfoError(f"unknown {name} services {unknown}")
    counts = {
        "users.total": usage.users_total,
        "users.activeMonth": usage.users_active_month,
        "users.activeHalfyear": usage.users_active_halfyear,
        "localPosts": usage.local_posts,
        "localComments": usage.local_comments,
    }
    for name, count in counts.items():
        valid = isinstance(count, int) and not isinstance(count, bool) and count >= 0
        if count is not None and not valid:
            raise NodeInfoError(f"usage.{name} must be a non-negative integer, got {count!r}")
    usage_block: dict[str, Any] = {
        "users": {
            "total": usage.users_total,
            "activeMonth": usage.users_active_month,
            "activeHalfyear": usage.users_active_halfyear,
        },
        "localPosts": usage.local_posts,
    }
    if usage.local_comments is not None:
        usage_block["localComments"] = usage.local_comments
    return {
        "version": version,
        "software": soft,
        # Mastodon lists only "activitypub", the one protocol we speak.
        "protocols": ["activitypub"],
        "services": {"inbound": inbound, "outbound": outbound},
        "openRegistrations": open_registrations,
        "usage": usage_block,
        "metadata": dict(metadata or {}),
    }


def select_link(document: object) -> str:
    """The href of the newest NodeInfo version a peer's well-known document links to."""
    links = document.get("links") if isinstance(document, Mapping) else None
    if not isinstance(links, list):
        raise NodeInfoError("well-known nodeinfo document has no links array")
    found: dict[str, str] = {}
    for link in links:
        if not isinstance(link, Mapping):
            continue
        rel, href = link.get("rel"), link.get("href")
        if not isinstance(rel, str) or not isinstance(href, str):
            continue
        for version, schema in SCHEMAS.items():
            # Some servers add the schema id's trailing "#" to the rel.
            if rel.rstrip("#") == schema and href.startswith(("https://", "http://")):
                found.setdefault(version, href)
    if not found:
        raise NodeInfoError("no NodeInfo 2.0 or 2.1 link in the well-known document")
    return found[max(found)]


def read_software(document: object) -> Software:
    """The software block of a peer's NodeInfo document, with the name lowercased."""
    software = document.get("software") if isinstance(document, Mapping) else None
    if not isinstance(software, Mapping):
        raise NodeInfoError("NodeInfo document has no software object")
    name, version = software.get("name"), software.get("version")
    if not isinstance(name, str) or not name:
        raise NodeInfoError("NodeInfo software has no name")
    repository, homepage = software.get("repository"), software.get("homepage")
    # Peers are lax: some send capitalised names ("Pleroma") or a numeric version.
    return Software(
        name=name.strip().lower(),
        version=str(version) if isinstance(version, (str, int, float)) else "",
        repository=repository if isinstance(repository, str) else None,
        homepage=homepage if isinstance(homepage, str) else None,
    )


def _schema(version: str) -> str:
    try:
        return SCHEMAS[version]
    except KeyError:
        raise NodeInfoError(f"unsupported NodeInfo version {version!r}") from None
