"""Adaptations and remixes: which licences a derivative may carry, and the credit it must give.

The rules are those of the Creative Commons 4.0 licences (DESIGN.md §5): ND forbids adaptations,
SA requires the same licence, NC propagates, BY requires attribution (title, author, source,
licence). A work with no licence is all rights reserved, so it cannot be adapted here either.
Software licences follow their kind in the SPDX/ScanCode index: permissive ones act like BY,
copyleft ones like SA. Several sources are combined by intersecting what each allows.
Boosts and quotes are not adaptations: they reproduce the work with its credit, so none of this
applies to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from license_expression import get_license_index

from node import posts
from node.errors import Forbidden, InvalidInput, NotFound
from node.licences import Licence, attribution_line, featured, optional_licence
from node.runtime import Tx
from storage.models import Community, Member, Post

MAX_SOURCES = 5
# ScanCode LicenseDB categories (the index license-expression ships) by what they allow.
PERMISSIVE = frozenset({"Permissive", "Public Domain"})
COPYLEFT = frozenset({"Copyleft", "Copyleft Limited"})


class NotAdaptable(Forbidden):
    """A work (or a set of works) whose licences do not allow this adaptation."""


@dataclass(frozen=True)
class Adaptation:
    """What an adaptation of some works may be: the licences it may carry and its credit."""

    sources: tuple[Post, ...]
    allowed: tuple[Licence, ...]
    suggested: Licence
    rules: tuple[str, ...]  # why the choice is limited, one sentence per source that limits it
    credits: str  # the Markdown attribution block the draft starts with

    @property
    def forced(self) -> Licence | None:
        """The only licence allowed, when the sources leave no choice."""
        return self.allowed[0] if len(self.allowed) == 1 else None


@lru_cache(maxsize=1)
def _categories() -> dict[str, str]:
    return {
        entry["spdx_license_key"]: entry.get("category", "")
        for entry in get_license_index()
        if entry.get("spdx_license_key")
    }


def _title(post: Post) -> str:
    return post.title or f"Post by {post.author.label}"


def _credit(post: Post) -> str:
    return attribution_line(f"“{_title(post)}”", post.author.label, optional_licence(post.license))


def _allowed_by(post: Post, candidates: list[Licence]) -> tuple[list[Licence], str | None]:
    """The licences an adaptation of this one work may carry, and the rule that limits them."""
    work = f"“{_title(post)}” by {post.author.label}"
    chosen = optional_licence(post.license)
    if chosen is None:
        raise NotAdaptable(
            f"{work} has no licence, so all rights are reserved: it cannot be adapted without "
            "the author's permission. You can still share it or quote it."
        )
    if chosen.is_creative_commons:
        if not chosen.allows_adaptations:
            raise NotAdaptable(
                f"{work} is under {chosen.name}, which allows no adaptations (ND, "
                "no derivatives). You can still share it or quote it with its credit."
            )
        if "SA" in chosen.conditions:
            return [chosen], f"{work} is share-alike: your adaptation must use {chosen.name}."
        if "NC" in chosen.conditions:
            return (
                [c for c in candidates if "NC" in c.conditions],
                f"{work} is non-commercial ({chosen.name}): your adaptation must be too.",
            )
        return candidates, None
    category = _categories().get(chosen.spdx_id, "")
    if category in PERMISSIVE:
        return candidates, None
    if category in COPYLEFT:
        return [chosen], f"{work} is copyleft: your adaptation must use {chosen.name}."
    raise NotAdaptable(
        f"{work} is under {chosen.name}, whose terms for adaptations this node cannot judge; "
        "ask the author before adapting it."
    )


def rules_for(sources: list[Post]) -> tuple[list[Licence], list[str]]:
    """The licences an adaptation of all these works may carry (most open first), with why."""
    candidates = featured()
    for post in sources:
        own = optional_licence(post.license)
        if own is not None and own not in candidates:
            candidates.append(own)
    allowed = list(candidates)
    reasons: list[str] = []
    for post in sources:
        permitted, reason = _allowed_by(post, candidates)
        allowed = [c for c in allowed if c in permitted]
        if reason:
            reasons.append(reason)
    if not allowed:
        raise NotAdaptable(
            "These works cannot be combined into one adaptation: " + " ".join(reasons)
        )
    return allowed, reasons


def _markdown_text(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def credits(sources: list[Post]) -> str:
    """The attribution block of an adaptation: title, author, source and licence of each work."""
    lines = ["", "---", "Based on:"]
    for post in sources:
        chosen = optional_licence(post.license)
        terms = f"[{chosen.name}]({chosen.url})" if chosen else "all rights reserved"
        lines.append(
            f"- [{_markdown_text(_title(post))}]({post.url or post.uri}) "
            f"by {_markdown_text(post.author.label)}, {terms}"
        )
    return "\n".join(lines) + "\n"


async def plan(tx: Tx, member: Member, source_urls: list[str]) -> Adaptation:
    """Start an adaptation of these works, or NotAdaptable explaining why it is not allowed."""
    urls = list(dict.fromkeys(url.strip() for url in source_urls if url.strip()))
    if not urls:
        raise InvalidInput("choose at least one work to adapt")
    if len(urls) > MAX_SOURCES:
        raise InvalidInput(f"an adaptation combines at most {MAX_SOURCES} works")
    sources = [await posts.find_by_url(tx, url) for url in urls]
    for source in sources:
        if not await posts.visible_to(tx, source, member.actor):
            raise NotFound(posts.HIDDEN)  # as its page answers: its existence is not confirmed
        if source.visibility not in posts.LISTED:
            # An adaptation is published for everyone; a private work would leak through it.
            raise NotAdaptable("a followers-only or direct post cannot be adapted in public")
    allowed, reasons = rules_for(sources)
    preferred = [optional_licence(member.default_license)] + [
        optional_licence(post.license) for post in sources
    ]
    suggested = next((c for c in preferred if c is not None and c in allowed), allowed[0])
    return Adaptation(
        sources=tuple(sources),
        allowed=tuple(allowed),
        suggested=suggested,
        rules=tuple(reasons),
        credits=credits(sources),
    )


async def publish(
    tx: Tx,
    member: Member,
    source_urls: list[str],
    *,
    text: str,
    title: str = "",
    licence: str | None = None,
    community: Community | None = None,
) -> Post:
    """Publish an adaptation: its licence must be one the sources allow, its credit is kept."""
    adaptation = await plan(tx, member, source_urls)
    chosen = optional_licence(licence) if licence else adaptation.suggested
    if chosen is None or chosen not in adaptation.allowed:
        names = ", ".join(c.name for c in adaptation.allowed)
        why = " ".join(adaptation.rules)
        raise NotAdaptable(
            f"this adaptation cannot use {chosen.name if chosen else 'no licence'}: "
            f"choose {names}. {why}".strip()
        )
    body = text.strip()
    missing = [p for p in adaptation.sources if (p.url or p.uri) not in body]
    if missing:
        # BY requires the credit: a block the author removed comes back.
        body = body + "\n" + credits(missing)
    return await posts.create(
        tx,
        member,
        posts.Draft(
            text=body,
            title=title,
            community=community,
            licence=chosen.spdx_id,
            based_on=tuple(p.uri for p in adaptation.sources),
        ),
    )


def credit_lines(adaptation: Adaptation) -> list[str]:
    """One plain-text credit per source, as pages show them above the draft."""
    return [_credit(post) for post in adaptation.sources]
