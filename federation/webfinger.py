"""WebFinger (RFC 7033) and host-meta (RFC 6415): our JRD and XRD documents, and reading peers'."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from federation.domains import DomainError, authority_of, normalize_authority
from federation.media_types import ACTIVITY_JSON, AS2_CONTEXT, HTML, LD_JSON, parse_media_range

WELL_KNOWN_PATH = "/.well-known/webfinger"
HOST_META_PATH = "/.well-known/host-meta"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
XRD_NAMESPACE = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
# A host-meta document is a few hundred bytes; anything far larger is not one.
MAX_XRD_SIZE = 64 * 1024

# RFC 7565 §7: userpart = unreserved / sub-delims, then unreserved / pct-encoded / sub-delims.
_USERPART = re.compile(
    r"[A-Za-z0-9\-._~!$&'()*+,;=](?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
_FORBIDDEN_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class WebFingerError(Exception):
    """A resource, JRD or XRD that cannot be used for discovery."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Acct:
    """An `acct:` address (RFC 7565): a user name and the normalised authority serving it."""

    name: str
    host: str

    @property
    def uri(self) -> str:
        """The `acct:name@host` URI, as a JRD subject and as the `resource` query parameter."""
        return f"acct:{self.name}@{self.host}"

    def __str__(self) -> str:
        return f"{self.name}@{self.host}"


@dataclass(frozen=True)
class Jrd:
    """What we use from a peer's JRD: its subject, aliases, AS2 actor id and profile page."""

    subject: str | None
    self_href: str
    profile_page: str | None = None
    aliases: tuple[str, ...] = ()


def parse_acct(value: str) -> Acct:
    """An address written as `acct:name@host`, `name@host` or `@name@host`."""
    if not isinstance(value, str):
        raise WebFingerError(f"an address must be a string, got {type(value).__name__}")
    text = value.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    elif text.startswith("@"):
        text = text[1:]  # the "@name@host" form people type and Mastodon displays
    name, at, host = text.partition("@")
    if not at:
        raise WebFingerError(f"{value!r} is not an address of the form name@host")
    if not name:
        raise WebFingerError(f"{value!r} has no user name")
    if "@" in host:
        raise WebFingerError(f"{value!r} has more than one @")
    if not _USERPART.fullmatch(name):
        raise WebFingerError(f"{value!r} has characters RFC 7565 does not allow in a user name")
    try:
        authority = normalize_authority(host)
    except DomainError as exc:
        raise WebFingerError(f"{value!r}: {exc.reason}") from exc
    return Acct(name, authority)


def parse_resource(resource: str, allow_http: bool = False) -> Acct | str:
    """A WebFinger `resource` parameter: an Acct, or the actor or profile URL it names."""
    if not isinstance(resource, str) or not resource.strip():
        raise WebFingerError("the resource parameter is empty")
    text = resource.strip()
    scheme = text.split(":", 1)[0].lower()
    if scheme in ("https", "http"):
        # Mastodon's WellKnown::WebfingerController also answers for an account's URL.
        if scheme == "http" and not allow_http:
            raise WebFingerError(f"{resource!r}: plain http resources are not accepted")
        try:
            authority_of(text)
        except DomainError as exc:
            raise WebFingerError(f"{resource!r} is not a usable URL: {exc.reason}") from exc
        if "@" in urlsplit(text).netloc:
            raise WebFingerError(f"{resource!r} carries credentials")
        return text
    if ":" in text and scheme != "acct" and not text.startswith("@") and "@" not in scheme:
        raise WebFingerError(f"{resource!r}: unsupported resource scheme {scheme!r}")
    return parse_acct(text)


def lookup_url(acct: Acct, template: str | None = None, scheme: str = "https") -> str:
    """The URL that asks the address's host about it (via an lrdd template when one is known)."""
    if template is None:
        template = f"{scheme}://{acct.host}{WELL_KNOWN_PATH}?resource={{uri}}"
    # RFC 6415 §4.2: the {uri} variable is replaced by the percent-encoded resource URI.
    return template.replace("{uri}", quote(acct.uri, safe=""))


def jrd_document(
    acct: Acct,
    actor_id: str,
    profile_url: str | None = None,
    subscribe_template: str | None = None,
    aliases: Iterable[str] = (),
) -> dict[str, Any]:
    """Our JRD for an actor, shaped like Mastodon's WebfingerSerializer."""
    # Mastodon lists the profile page and the actor id as aliases, and its links in this order:
    # profile-page, self, then the remote-follow ("subscribe") template.
    alias_list = list(dict.fromkeys([*(a for a in (profile_url, actor_id) if a), *aliases]))
    links: list[dict[str, str]] = []
    if profile_url:
        links.append({"rel": PROFILE_PAGE_REL, "type": HTML, "href": profile_url})
    # The self link's href is the actor's id: Mastodon refuses an actor whose id differs.
    links.append({"rel": "self", "type": ACTIVITY_JSON, "href": actor_id})
    if subscribe_template:
        if "{uri}" not in subscribe_template:
            raise WebFingerError("the subscribe template must contain {uri}")
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    return {"subject": acct.uri, "aliases": alias_list, "links": links}


def _is_as2_link_type(value: object) -> bool:
    if not isinstance(value, str):
        return False
    media = parse_media_range(value)
    if media is None:
        return False
    if media.type == ACTIVITY_JSON:
        return True
    # Mastodon's Webfinger::Response accepts ld+json only with the AS2 profile.
    profile = media.params.get("profile", "")
    return media.type == LD_JSON and AS2_CONTEXT in profile.split()


def read_jrd(document: object) -> Jrd:
    """The parts of a peer's JRD we use; the AS2 `self` link is required."""
    if not isinstance(document, Mapping):
        raise WebFingerError("the WebFinger response is not a JSON object")
    links = document.get("links")
    if not isinstance(links, list):
        raise WebFingerError("the WebFinger response has no links array")
    self_href: str | None = None
    profile_page: str | None = None
    for link in links:
        if not isinstance(link, Mapping):
            continue
        rel, href = link.get("rel"), link.get("href")
        if not isinstance(href, str) or not href.startswith(("https://", "http://")):
            continue
        if rel == "self" and self_href is None and _is_as2_link_type(link.get("type")):
            self_href = href
        elif rel == PROFILE_PAGE_REL and profile_page is None:
            profile_page = href
    if self_href is None:
        raise WebFingerError("the WebFinger response has no ActivityPub self link")
    subject = document.get("subject")
    aliases = document.get("aliases")
    if not isinstance(aliases, list):
        aliases = []
    return Jrd(
        subject=subject if isinstance(subject, str) else None,
        self_href=self_href,
        profile_page=profile_page,
        aliases=tuple(alias for alias in aliases if isinstance(alias, str)),
    )


def host_meta_xrd(base_url: str) -> str:
    """Our host-meta XRD document, pointing WebFinger clients at our endpoint."""
    template = f"{base_url.rstrip('/')}{WELL_KNOWN_PATH}?resource={{uri}}"
    root = ET.Element("XRD", {"xmlns": XRD_NAMESPACE})
    ET.SubElement(root, "Link", {"rel": "lrdd", "template": template})
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def lrdd_template(xrd: str | bytes) -> str:
    """The WebFinger URL template from a peer's host-meta XRD (its `lrdd` link)."""
    if len(xrd) > MAX_XRD_SIZE:
        raise WebFingerError(f"host-meta document longer than {MAX_XRD_SIZE} bytes")
    if isinstance(xrd, bytes):
        # Decode first: a DTD check on raw bytes would miss one written in UTF-16.
        try:
            xrd = xrd.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise WebFingerError("host-meta document is not UTF-8") from exc
    # The standard library parser expands internal entities; a document type declaration has
    # no business in host-meta, so refuse it outright (what defusedxml does by default).
    if _FORBIDDEN_XML.search(xrd):
        raise WebFingerError("host-meta document declares a DTD or entities")
    try:
        root = ET.fromstring(xrd)
    except ET.ParseError as exc:
        raise WebFingerError(f"host-meta document is not well-formed XML: {exc}") from exc
    for link in root.iter():
        # Some servers omit the XRD namespace; accept Link elements with or without it.
        if link.tag not in ("Link", f"{{{XRD_NAMESPACE}}}Link") or link.get("rel") != "lrdd":
            continue
        template = link.get("template")
        if template and "{uri}" in template and template.startswith(("https://", "http://")):
            return template
    raise WebFingerError("host-meta document has no lrdd link with a {uri} template")
