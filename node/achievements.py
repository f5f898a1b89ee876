"""Achievements: the badges a community defines, who may award them, and their OB 3.0 form."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

from sqlalchemy import select

from federation import badges as ob3
from node import communities
from node.errors import Forbidden, InvalidInput, NotFound
from node.licences import optional_licence
from node.media import sniff
from node.rendering import markdown_to_html
from node.runtime import Tx
from storage.models import Achievement, Community, Member

ACHIEVEMENT_TYPES = sorted(ob3.ACHIEVEMENT_TYPES)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
AWARDING_ROLES = ("mentor", "steward")
MAX_IMAGE_BYTES = 1024 * 1024
SVG_ROOT = "http://www.w3.org/2000/svg svg"


def achievement_url(tx: Tx, achievement: Achievement) -> str:
    """The id of an achievement: `/achievements/{key}`."""
    return tx.settings.url(f"/achievements/{achievement.key}")


def image_url(tx: Tx, achievement: Achievement) -> str | None:
    """Where an achievement's own image is served, if it has one."""
    if achievement.image_path is None:
        return None
    return tx.settings.url(
        f"/achievements/{achievement.key}/image{Path(achievement.image_path).suffix}"
    )


async def may_award(tx: Tx, community: Community, member: Member) -> bool:
    """Whether a member may define and award this community's badges (mentors, stewards)."""
    if member.role == "admin":
        return True
    record = await communities.membership(tx, community, member.actor)
    return record is not None and record.state == "approved" and record.role in AWARDING_ROLES


async def require_awarder(tx: Tx, community: Community, acting: Member | None) -> None:
    """Refuse (Forbidden) unless `acting` may define and award this community's badges."""
    # `acting` is None for the operator's shell (the CLI), which may do anything.
    if acting is not None and not await may_award(tx, community, acting):
        raise Forbidden(f"only mentors and stewards of {community.title} may do this")


def _check_svg(data: bytes) -> None:
    """Refuse anything but a plain SVG document (no DTD, so no entity expansion)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    roots: list[str] = []

    def no_doctype(*_args: object) -> None:
        raise InvalidInput("SVG images may not declare a DOCTYPE")

    def start(name: str, _attributes: object) -> None:
        roots.append(name)

    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise InvalidInput(f"the SVG image is not well-formed XML: {exc}") from exc
    if not roots or roots[0] != SVG_ROOT:
        raise InvalidInput("the image is not an SVG document")


def _store_image(tx: Tx, key: str, file_name: str, data: bytes) -> tuple[str, str]:
    """Check a badge image (PNG or SVG, as OB 3.0 baking allows) and keep it under media/."""
    if not data:
        raise InvalidInput("the badge image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(f"badge images are at most {MAX_IMAGE_BYTES // 1024} KB")
    suffix = Path(file_name).suffix.lower()
    if suffix == ".svg":
        _check_svg(data)
        media_type = "image/svg+xml"
    else:
        media_type, _width, _height = sniff(file_name, data)
        if media_type != "image/png":
            raise InvalidInput("badge images must be PNG or SVG (the formats OB 3.0 can bake)")
        suffix = ".png"
    relative = Path("badges") / f"{key}{suffix}"
    path = tx.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return str(relative), media_type


async def define(
    tx: Tx,
    acting: Member | None,
    community: Community,
    slug: str,
    *,
    name: str,
    criteria: str,
    description: str = "",
    image: tuple[str, bytes] | None = None,
    image_license: str | None = None,
    image_author: str = "",
    tags: Sequence[str] = (),
    alignment: Sequence[Mapping[str, str]] = (),
    achievement_type: str = "Badge",
) -> Achievement:
    """A new achievement of a community; `image` is (file name, bytes) of a PNG or SVG."""
    await require_awarder(tx, community, acting)
    slug = slug.strip().lower()
    if not SLUG.fullmatch(slug):
        raise InvalidInput("a badge's short name uses a-z, 0-9 and '-' (at most 63 characters)")
    name, criteria = " ".join(name.split()), criteria.strip()
    if not name or len(name) > 120:
        raise InvalidInput("a badge needs a name of at most 120 characters")
    if not criteria or len(criteria) > 5000:
        raise InvalidInput("a badge needs criteria (what earns it) of at most 5000 characters")
    if len(description) > 2000:
        raise InvalidInput("a badge description is at most 2000 characters")
    if not (achievement_type in ob3.ACHIEVEMENT_TYPES or achievement_type.startswith("ext:")):
        raise InvalidInput(f"unknown achievement type {achievement_type!r}")
    cleaned_tags = sorted({t.strip() for t in tags if t.strip()})
    if len(cleaned_tags) > 20 or any(len(t) > 60 for t in cleaned_tags):
        raise InvalidInput("at most 20 tags of at most 60 characters each")
    alignments = [_alignment(item) for item in alignment]
    chosen = optional_licence(image_license)
    if await tx.session.scalar(
        select(Achievement.id).where(
            Achievement.community_id == community.id, Achievement.slug == slug
        )
    ):
        raise InvalidInput(f"{community.title} already has a badge called {slug!r}")
    key = secrets.token_hex(8)
    path = media_type = None
    if image is not None:
        path, media_type = _store_image(tx, key, image[0], image[1])
    creator = acting.actor if acting is not None else None
    achievement = Achievement(
        key=key,
        community_id=community.id,
        slug=slug,
        name=name,
        description=description.strip() or name,
        criteria_md=criteria,
        image_path=path,
        image_media_type=media_type,
        image_license=chosen.spdx_id if chosen else None,
        image_author=" ".join(image_author.split())[:255]
        or (creator.label if creator else community.title),
        tags=cleaned_tags,
        alignment=alignments,
        achievement_type=achievement_type,
        created_by_id=creator.id if creator else None,
        created_at=tx.now(),
    )
    tx.session.add(achievement)
    await tx.session.flush()
    await tx.session.refresh(achievement, ["community", "created_by"])
    return achievement


def _alignment(item: Mapping[str, str]) -> dict[str, Any]:
    target_name = (item.get("target_name") or "").strip()
    target_url = (item.get("target_url") or "").strip()
    if not target_name or urlsplit(target_url).scheme not in ("http", "https"):
        raise InvalidInput("an alignment needs a name and a web address (http or https)")
    framework = (item.get("target_framework") or "").strip() or None
    return ob3.alignment(target_name, target_url, target_framework=framework)


async def get_achievement(tx: Tx, key: str) -> Achievement:
    """The achievement with this public key, or NotFound."""
    achievement = await tx.session.scalar(select(Achievement).where(Achievement.key == key))
    if achievement is None:
        raise NotFound("no such badge here")
    return achievement


async def find_achievement(tx: Tx, community: Community, slug: str) -> Achievement:
    """A community's achievement by its short name, or NotFound."""
    achievement = await tx.session.scalar(
        select(Achievement).where(
            Achievement.community_id == community.id, Achievement.slug == slug.strip().lower()
        )
    )
    if achievement is None:
        raise NotFound(f"{community.title} has no badge called {slug!r}")
    return achievement


async def achievements_of(tx: Tx, community: Community) -> list[Achievement]:
    """A community's achievements, by name."""
    return list(
        await tx.session.scalars(
            select(Achievement)
            .where(Achievement.community_id == community.id)
            .order_by(Achievement.name)
        )
    )


def issuer_profile(tx: Tx, community: Community) -> dict[str, Any]:
    """The OB 3.0 `Profile` of a community as issuer (its id is the Group actor's id)."""
    return ob3.profile(community.actor.uri, community.title, community.actor.url)


def achievement_body(tx: Tx, achievement: Achievement) -> dict[str, Any]:
    """The OB 3.0 `Achievement`, as embedded in credentials (no @context)."""
    url = image_url(tx, achievement)
    return ob3.achievement(
        achievement_url(tx, achievement),
        achievement.name,
        achievement.description,
        achievement.criteria_md,
        url,
        image_caption=achievement.name if url else None,
        creator_profile=issuer_profile(tx, achievement.community),
        tags=achievement.tags,
        alignments=achievement.alignment,
        achievement_type=achievement.achievement_type,
    )


def achievement_document(tx: Tx, achievement: Achievement) -> dict[str, Any]:
    """The achievement as served at its address, with the OB 3.0 contexts."""
    return {"@context": list(ob3.CONTEXTS), **achievement_body(tx, achievement)}


def criteria_html(achievement: Achievement) -> str:
    """The criteria narrative rendered for a page."""
    return markdown_to_html(achievement.criteria_md)


def image_bytes(tx: Tx, achievement: Achievement) -> bytes | None:
    """The achievement's stored image, if it has one."""
    if achievement.image_path is None:
        return None
    path = tx.settings.media_dir / achievement.image_path
    return path.read_bytes() if path.exists() else None

