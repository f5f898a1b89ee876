"""Licences by SPDX id: validation, Creative Commons deed URLs and the BY/SA/NC/ND conditions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from license_expression import ExpressionError, LicenseSymbol, Licensing, get_spdx_licensing

from node.errors import InvalidInput

# SPDX ids of the Creative Commons licences encode their conditions: CC-BY-NC-SA-4.0, CC-BY-3.0-DE.
CC_LICENCE = re.compile(
    r"CC-(?P<parts>BY(?:-NC)?(?:-ND|-SA)?)-(?P<version>\d\.\d)(?:-(?P<port>[A-Z]+))?"
)
CC_DEEDS = {
    "CC0-1.0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "CC-PDM-1.0": ("Public Domain Mark 1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
}
# Offered first in pickers; any other SPDX id is accepted too.
FEATURED = (
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0",
    "CC0-1.0",
    "CC-PDM-1.0",
    "MIT",
    "Apache-2.0",
    "GPL-3.0-or-later",
)


@dataclass(frozen=True)
class Licence:
    """One licence: its SPDX id, a short name, the URL that names it on the wire, conditions."""

    spdx_id: str
    name: str
    url: str
    conditions: frozenset[str]  # subset of {"BY", "SA", "NC", "ND"}; empty for public domain

    @property
    def allows_adaptations(self) -> bool:
        return "ND" not in self.conditions

    @property
    def is_creative_commons(self) -> bool:
        return self.url.startswith("https://creativecommons.org/")


@lru_cache(maxsize=1)
def _licensing() -> Licensing:
    return get_spdx_licensing()


def licence(spdx_id: str) -> Licence:
    """The licence with this SPDX id (case-insensitive), or InvalidInput naming the bad id."""
    text = spdx_id.strip()
    try:
        parsed = _licensing().parse(text, validate=True, strict=True)
    except ExpressionError as exc:
        raise InvalidInput(f"{text!r} is not an SPDX licence id (for example CC-BY-4.0)") from exc
    if not isinstance(parsed, LicenseSymbol) or parsed.is_exception:
        raise InvalidInput(f"{text!r}: choose a single licence, not an expression")
    return _describe(parsed.key)


def optional_licence(spdx_id: str | None) -> Licence | None:
    """A licence, or None for "all rights reserved" (an empty or missing id)."""
    if spdx_id is None or not spdx_id.strip() or spdx_id.strip().lower() == "none":
        return None
    return licence(spdx_id)


def _describe(spdx_id: str) -> Licence:
    if spdx_id in CC_DEEDS:
        name, url = CC_DEEDS[spdx_id]
        return Licence(spdx_id, name, url, frozenset())
    match = CC_LICENCE.fullmatch(spdx_id)
    if match:
        parts, version, port = match["parts"], match["version"], match["port"]
        path = f"{parts.lower()}/{version}/" + (f"{port.lower()}/" if port else "")
        name = f"CC {parts} {version}" + (f" {port}" if port else "")
        return Licence(
            spdx_id,
            name,
            f"https://creativecommons.org/licenses/{path}",
            frozenset(parts.split("-")),
        )
    return Licence(spdx_id, spdx_id, f"https://spdx.org/licenses/{spdx_id}.html", frozenset())


def featured() -> list[Licence]:
    """The licences offered first in pickers, most common for learning material first."""
    return [licence(spdx_id) for spdx_id in FEATURED]


def from_url(url: str) -> Licence | None:
    """The licence a remote object names by URL, or None when we do not recognise it."""
    normalized = url.strip().replace("http://", "https://", 1).split("#")[0]
    # Deeds and legal codes may carry a language: .../by/4.0/deed.de, .../by/4.0/legalcode.fr
    normalized = re.sub(r"/(?:deed|legalcode)(?:\.[A-Za-z_-]+)?$", "/", normalized)
    if not normalized.endswith("/") and "creativecommons.org" in normalized:
        normalized += "/"
    cc = re.fullmatch(
        r"https://creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)/(?:([a-z]+)/)?", normalized
    )
    if cc:
        kind, version, port = cc.groups()
        candidate = f"CC-{kind.upper()}-{version}" + (f"-{port.upper()}" if port else "")
        return _known(candidate)
    for spdx_id, (_, deed) in CC_DEEDS.items():
        if normalized == deed:
            return _describe(spdx_id)
    spdx = re.fullmatch(r"https://spdx\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.html)?", normalized)
    return _known(spdx.group(1)) if spdx else None


def _known(spdx_id: str) -> Licence | None:
    try:
        return licence(spdx_id)
    except InvalidInput:
        return None


def attribution_line(title: str, author: str, item: Licence | None) -> str:
    """The human-readable credit shown beside an artifact and kept in its visible text."""
    subject = f"{title} by {author}" if title else f"By {author}"
    return f"{subject}, {item.name if item else 'all rights reserved (licence not stated)'}"
