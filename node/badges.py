"""Badges: achievements, signed Open Badges 3.0 awards, revocation, requests and verification.

An award is an `OpenBadgeCredential` issued by the community's Group actor and signed with its
Ed25519 key (`eddsa-rdfc-2022`); it travels on the fediverse inside a `Note` the community
publishes (DESIGN.md §6). Verifying one checks, in this order and each with its own reason: its
shape, that the signing key is one the issuer lists in `assertionMethod`, the signature, the
validity window and the issuer's Bitstring Status List.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image, ImageDraw
from sqlalchemy import select

from federation import badges as ob3
from federation import baking, integrity, jsonld, status_list
from federation.client import FetchError, SafeClient
from federation.domains import same_origin
from federation.media_types import AS2_CONTEXT
from federation.multikey import MultikeyError, decode_public_key
from federation.vocabulary import as_list, id_of, types_of
from node import (
    communities,
    delivery,
    discovery,
    follows,
    keys,
    members,
    proofs,
    remote_actors,
)
from node.documents import EXTENSIONS
from node.errors import Forbidden, GuildhallError, InvalidInput, NotFound
from node.incoming import Ignored, Incoming
from node.licences import optional_licence
from node.media import sniff
from node.rendering import markdown_to_html
from node.runtime import Tx
from storage.models import (
    Achievement,
    Actor,
    Award,
    BadgeRequest,
    BadgeStatusList,
    Community,
    Member,
)

log = logging.getLogger("guildhall.badges")

VC_JSON = "application/vc+ld+json"
CREDENTIAL_ACCEPT = f"{VC_JSON}, application/ld+json;q=0.9, application/json;q=0.8"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
# The award note embeds the credential as an opaque JSON literal (JSON-LD 1.1 `@json`), so AS2
# processors neither expand nor re-serialise it and its proof survives the trip byte for byte.
CREDENTIAL_TERM = "verifiableCredential"
NOTE_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    DATA_INTEGRITY_CONTEXT,
    {
        **EXTENSIONS,
        CREDENTIAL_TERM: {
            "@id": "https://www.w3.org/2018/credentials#verifiableCredential",
            "@type": "@json",
        },
    },
]
ACHIEVEMENT_TYPES = sorted(ob3.ACHIEVEMENT_TYPES)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
AWARDING_ROLES = ("mentor", "steward")
MAX_IMAGE_BYTES = 1024 * 1024
MAX_EVIDENCE = 10
MAX_CREDENTIAL_BYTES = jsonld.DEFAULT_MAX_BYTES
SVG_ROOT = "http://www.w3.org/2000/svg svg"


class CredentialInvalid(InvalidInput):
    """A credential that does not verify; `reason` starts with what failed."""


@dataclass(frozen=True)
class Verification:
    """A credential that verified: what it says and how its status was checked."""

    summary: ob3.CredentialSummary
    verification_method: str
    status_checked: bool


# Addresses --------------------------------------------------------------------------------------


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


def award_url(tx: Tx, award: Award) -> str:
    """The local page (and award note) of an award."""
    return tx.settings.url(f"/awards/{award.key}")


def credential_url(tx: Tx, key: str) -> str:
    """The id of a credential issued here: `/credentials/{key}`."""
    return tx.settings.url(f"/credentials/{key}")


def status_list_url(tx: Tx, community: Community) -> str:
    """Where a community publishes its revocation status list credential."""
    return tx.settings.url(f"/communities/{community.actor.name}/badges/status")


def verification_method(actor: Actor) -> str:
    """The community key that signs its credentials (FEP-521a's `#ed25519-key`)."""
    return actor.uri + "#ed25519-key"


# Who may do what --------------------------------------------------------------------------------


async def may_award(tx: Tx, community: Community, member: Member) -> bool:
    """Whether a member may define and award this community's badges (mentors, stewards)."""
    if member.role == "admin":
        return True
    record = await communities.membership(tx, community, member.actor)
    return record is not None and record.state == "approved" and record.role in AWARDING_ROLES


async def _require_awarder(tx: Tx, community: Community, acting: Member | None) -> None:
    # `acting` is None for the operator's shell (the CLI), which may do anything.
    if acting is not None and not await may_award(tx, community, acting):
        raise Forbidden(f"only mentors and stewards of {community.title} may do this")


# Achievements -----------------------------------------------------------------------------------


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
    await _require_awarder(tx, community, acting)
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


# Status lists -----------------------------------------------------------------------------------


def _sign(tx: Tx, community: Community, document: dict[str, Any]) -> dict[str, Any]:
    """Sign a credential with the community key, refusing terms the contexts leave undefined."""
    actor = community.actor
    if actor.ed25519_private_sealed is None:
        raise InvalidInput(f"{community.title} has no signing key")
    private_key = keys.ed25519_private_key(
        keys.Sealer(tx.settings.secret), actor.ed25519_private_sealed
    )
    # jsonld.check_fully_defined runs inside sign(): pyld would silently drop an undefined term
    # or resolve a relative IRI, and what it drops is not signed.
    try:
        return integrity.sign(
            document, private_key, verification_method(actor), integrity.RDFC, tx.now()
        )
    except integrity.ProofError as exc:
        raise InvalidInput(f"cannot sign the credential: {exc.reason}") from exc


async def _revoked_indices(tx: Tx, community: Community) -> set[int]:
    rows = await tx.session.scalars(
        select(Award.status_index).where(
            Award.community_id == community.id,
            Award.revoked_at.is_not(None),
            Award.status_index.is_not(None),
        )
    )
    return {index for index in rows if index is not None}


async def _publish_status_list(tx: Tx, community: Community) -> BadgeStatusList:
    """(Re)sign the community's status list credential from the awards it has revoked."""
    url = status_list_url(tx, community)
    encoded = status_list.encode_bitstring(await _revoked_indices(tx, community))
    document = _sign(
        tx,
        community,
        status_list.status_list_credential(url, community.actor.uri, tx.now(), encoded),
    )
    record = await tx.session.scalar(
        select(BadgeStatusList).where(BadgeStatusList.community_id == community.id)
    )
    if record is None:
        record = BadgeStatusList(
            community_id=community.id, credential=document, updated_at=tx.now()
        )
        tx.session.add(record)
    else:
        record.credential, record.updated_at = document, tx.now()
    await tx.session.flush()
    return record


async def status_list_document(tx: Tx, community: Community) -> dict[str, Any]:
    """The community's signed `BitstringStatusListCredential`."""
    record = await tx.session.scalar(
        select(BadgeStatusList).where(BadgeStatusList.community_id == community.id)
    )
    if record is None:
        record = await _publish_status_list(tx, community)
    return dict(record.credential)


async def _free_index(tx: Tx, community: Community) -> int:
    # Bitstring Status List §6.3 (privacy): indexes "SHOULD be assigned randomly" so that an
    # index does not reveal when, or in what order, credentials were issued.
    used = set(
        await tx.session.scalars(
            select(Award.status_index).where(Award.community_id == community.id)
        )
    )
    if len(used) >= status_list.MIN_ENTRIES:
        raise InvalidInput(f"{community.title} has used every status list index")
    while True:
        index = secrets.randbelow(status_list.MIN_ENTRIES)
        if index not in used:
            return index


# Awarding ---------------------------------------------------------------------------------------


def _evidence(urls: Sequence[str], allow_http: bool) -> list[str]:
    cleaned = []
    for url in urls:
        url = url.strip()
        if not url:
            continue
        parts = urlsplit(url)
        schemes = ("https", "http") if allow_http else ("https",)
        if parts.scheme not in schemes or not parts.hostname or len(url) > 2048:
            raise InvalidInput(f"evidence must be a web address ({' or '.join(schemes)}): {url!r}")
        cleaned.append(url)
    if len(cleaned) > MAX_EVIDENCE:
        raise InvalidInput(f"at most {MAX_EVIDENCE} pieces of evidence")
    return cleaned


async def recipient_by_handle(tx: Tx, handle: str) -> Actor:
    """A recipient from a handle: a bare name is a member here, `@name@host` anyone anywhere."""
    handle = handle.strip()
    if handle and "@" not in handle.lstrip("@") and "/" not in handle:
        return (await members.get(tx, handle)).actor
    return await remote_actors.lookup(tx, handle)


async def award(
    tx: Tx,
    acting: Member | None,
    achievement: Achievement,
    recipient: Actor,
    *,
    evidence: Sequence[str] = (),
    valid_until: datetime | None = None,
) -> Award:
    """Issue, sign and publish a credential awarding `achievement` to `recipient`."""
    community = achievement.community
    await _require_awarder(tx, community, acting)
    if recipient.kind != "person":
        raise InvalidInput("badges are awarded to people, not to groups or servers")
    evidence_urls = _evidence(evidence, tx.settings.dev)
    now = tx.now()
    if valid_until is not None and valid_until <= now:
        raise InvalidInput("a badge cannot expire before it is awarded")
    key = secrets.token_hex(8)
    index = await _free_index(tx, community)
    status_url = status_list_url(tx, community)
    await status_list_document(tx, community)  # published before any credential points at it
    unsigned = ob3.open_badge_credential(
        credential_url(tx, key),
        issuer_profile(tx, community),
        recipient.uri,
        achievement_body(tx, achievement),
        now,
        name=achievement.name,
        description=f"{achievement.name}, awarded by {community.title} to {recipient.label}",
        valid_until=valid_until,
        evidence=[ob3.evidence_item(url) for url in evidence_urls],
        credential_status=status_list.status_entry(status_url, index),
    )
    credential = _sign(tx, community, unsigned)
    try:
        summary = ob3.read_credential(credential, allow_http=tx.settings.dev)
    except ob3.BadgeError as exc:  # our own builder went wrong: refuse rather than publish
        raise InvalidInput(f"the credential is malformed: {exc.reason}") from exc
    record = Award(
        key=key,
        local=True,
        note_uri=tx.settings.url(f"/awards/{key}"),
        credential_uri=summary.id,
        achievement_id=achievement.id,
        community_id=community.id,
        issuer_id=community.actor_id,
        recipient_id=recipient.id,
        awarded_by_id=acting.actor_id if acting is not None else None,
        evidence_urls=evidence_urls,
        credential=credential,
        status_index=index,
        revocation_reason="",
        valid_from=summary.valid_from,
        valid_until=summary.valid_until,
        created_at=now,
    )
    tx.session.add(record)
    await tx.session.flush()
    await tx.session.refresh(record, ["achievement", "community", "issuer", "recipient"])
    await _publish(tx, record, "Create", award_note(tx, record))
    return record


async def signed_award_note(tx: Tx, record: Award) -> dict[str, Any]:
    """The award note as served at its address, with the community's FEP-8b32 proof."""
    community = record.community
    assert community is not None
    return await proofs.sign(tx, community.actor, award_note(tx, record), record.created_at)


def award_note(tx: Tx, record: Award) -> dict[str, Any]:
    """The `Note` announcing an award: Mastodon shows its text, mention and badge image."""
    achievement, community, recipient = record.achievement, record.community, record.recipient
    assert achievement is not None and community is not None
    page = award_url(tx, record)
    credential = credential_url(tx, record.key)
    chosen = optional_licence(achievement.image_license)
    image_credit = (
        f"Badge image: {achievement.name} by {achievement.image_author}, "
        + (f'<a href="{html.escape(chosen.url)}" rel="license">{html.escape(chosen.name)}</a>'
           if chosen else "all rights reserved")
    )  # fmt: skip
    mention = (
        f'<span class="h-card"><a href="{html.escape(recipient.url or recipient.uri)}" '
        f'class="u-url mention">@<span>{html.escape(recipient.name)}</span></a></span>'
    )
    content = (
        f"<p>{mention} earned the badge "
        f'<a href="{html.escape(achievement_url(tx, achievement))}">'
        f"{html.escape(achievement.name)}</a> from {html.escape(community.title)}.</p>"
        f"<p>{html.escape(achievement.description)}</p>"
        f'<p><a href="{html.escape(page)}">Verify this Open Badge</a> · signed credential: '
        f'<a href="{html.escape(credential)}">{html.escape(credential)}</a></p>'
        f"<p>{image_credit}</p>"
    )
    attachments: list[dict[str, Any]] = []
    picture = image_url(tx, achievement)
    if picture is not None:
        image: dict[str, Any] = {
            "type": "Image",
            "mediaType": achievement.image_media_type,
            "url": picture,
            "name": f"Badge: {achievement.name}",
            "attributedTo": community.actor.uri,
        }
        if chosen is not None:
            image["license"] = chosen.url
        attachments.append(image)
    attachments.append(
        {"type": "Link", "mediaType": VC_JSON, "href": credential, "name": "Open Badge credential"}
    )
    return {
        "@context": NOTE_CONTEXT,
        "id": record.note_uri,
        "type": "Note",
        "attributedTo": community.actor.uri,
        "content": content,
        "published": record.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": page,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [community.actor.followers_uri, recipient.uri],
        "tag": [{"type": "Mention", "href": recipient.uri, "name": f"@{recipient.handle}"}],
        "attachment": attachments,
        CREDENTIAL_TERM: record.credential,
    }


async def _publish(tx: Tx, record: Award, kind: str, obj: dict[str, Any]) -> None:
    """Send an activity about an award from the community, with an FEP-8b32 proof."""
    community = record.community
    assert community is not None
    actor = community.actor
    body = {key: value for key, value in obj.items() if key != "@context"}
    activity: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": delivery.new_activity_uri(tx, actor),
        "type": kind,
        "actor": actor.uri,
        "object": body,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [actor.followers_uri, record.recipient.uri],
    }
    # FEP-8b32: eddsa-jcs-2022 proofs on the note and on the activity (node.proofs), so a relay
    # cannot alter the award; the credential inside keeps its own eddsa-rdfc-2022 proof.
    signed = await proofs.sign(tx, actor, activity)
    recipients = [record.recipient, *await follows.remote_followers(tx, actor)]
    await delivery.publish(tx, actor, signed, recipients=recipients)


async def get_award(tx: Tx, key: str) -> Award:
    """The award with this public key, or NotFound."""
    record = await tx.session.scalar(select(Award).where(Award.key == key))
    if record is None:
        raise NotFound("no such award here")
    return record


async def awards_of(tx: Tx, recipient: Actor, *, include_revoked: bool = False) -> list[Award]:
    """The badges an actor holds (issued here or received and verified), newest first."""
    query = select(Award).where(Award.recipient_id == recipient.id)
    if not include_revoked:
        query = query.where(Award.revoked_at.is_(None))
    return list(await tx.session.scalars(query.order_by(Award.created_at.desc(), Award.id.desc())))


async def awards_of_achievement(tx: Tx, achievement: Achievement) -> list[Award]:
    """Everyone who holds an achievement, newest first."""
    return list(
        await tx.session.scalars(
            select(Award)
            .where(Award.achievement_id == achievement.id)
            .order_by(Award.created_at.desc(), Award.id.desc())
        )
    )


async def revoke(tx: Tx, acting: Member | None, record: Award, reason: str) -> Award:
    """Revoke an award: set its status bit, re-sign the status list, withdraw the note."""
    if not record.local or record.community is None:
        raise Forbidden("only the community that issued a badge can revoke it")
    await _require_awarder(tx, record.community, acting)
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidInput("say why the badge is revoked (at most 1000 characters)")
    if record.revoked_at is not None:
        raise InvalidInput("this badge is already revoked")
    record.revoked_at = tx.now()
    record.revocation_reason = reason
    await tx.session.flush()
    await _publish_status_list(tx, record.community)
    # Mastodon removes a status on Delete (ActivityPub::Activity::Delete); the credential itself
    # stays published, and its status bit is what verifiers check.
    await _publish(tx, record, "Delete", {"id": record.note_uri, "type": "Tombstone"})
    return record


# Requests ---------------------------------------------------------------------------------------


async def request_badge(
    tx: Tx, member: Member, achievement: Achievement, evidence: Sequence[str], message: str = ""
) -> BadgeRequest:
    """A member asks for a badge, pointing at evidence (their portfolio artifacts)."""
    urls = _evidence(evidence, tx.settings.dev)
    if not urls:
        raise InvalidInput("a badge request needs at least one link to evidence")
    if len(message) > 2000:
        raise InvalidInput("a message is at most 2000 characters")
    pending = await tx.session.scalar(
        select(BadgeRequest.id).where(
            BadgeRequest.achievement_id == achievement.id,
            BadgeRequest.member_id == member.id,
            BadgeRequest.state == "pending",
        )
    )
    if pending:
        raise InvalidInput("you already asked for this badge; a mentor will answer")
    record = BadgeRequest(
        achievement_id=achievement.id,
        member_id=member.id,
        evidence_urls=urls,
        message=message.strip(),
        state="pending",
        created_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    await tx.session.refresh(record, ["achievement", "member"])
    return record


async def get_request(tx: Tx, request_id: int) -> BadgeRequest:
    """A badge request by id, or NotFound."""
    record = await tx.session.get(BadgeRequest, request_id)
    if record is None:
        raise NotFound("no such badge request")
    return record


async def pending_requests(tx: Tx, community: Community) -> list[BadgeRequest]:
    """Requests for a community's badges that wait for a mentor, oldest first."""
    return list(
        await tx.session.scalars(
            select(BadgeRequest)
            .join(BadgeRequest.achievement)
            .where(Achievement.community_id == community.id, BadgeRequest.state == "pending")
            .order_by(BadgeRequest.created_at, BadgeRequest.id)
        )
    )


async def decide(
    tx: Tx, acting: Member | None, record: BadgeRequest, approve: bool
) -> Award | None:
    """Approve a request (awarding the badge with its evidence) or decline it."""
    await _require_awarder(tx, record.achievement.community, acting)
    if record.state != "pending":
        raise InvalidInput(f"this request was already {record.state}")
    record.state = "approved" if approve else "declined"
    record.decided_by_id = acting.actor_id if acting is not None else None
    record.decided_at = tx.now()
    if not approve:
        return None
    given = await award(
        tx, acting, record.achievement, record.member.actor, evidence=record.evidence_urls
    )
    record.award_id = given.id
    return given


# Verifying --------------------------------------------------------------------------------------


def _fail(what: str, reason: str) -> CredentialInvalid:
    return CredentialInvalid(f"{what}: {reason}")


def _issuer_key(
    issuer_document: Mapping[str, Any], issuer_id: str, method: str
) -> Ed25519PublicKey:
    """The key behind `method`, if the issuer lists it in its `assertionMethod` (FEP-521a)."""
    if id_of(dict(issuer_document)) != issuer_id:
        raise _fail("wrong key", f"the issuer document is not {issuer_id}")
    for entry in as_list(issuer_document.get("assertionMethod")):
        if not isinstance(entry, dict) or entry.get("id") != method:
            continue
        if entry.get("type") != "Multikey" or entry.get("controller") != issuer_id:
            raise _fail("wrong key", f"{method} is not a Multikey controlled by {issuer_id}")
        try:
            return decode_public_key(str(entry.get("publicKeyMultibase")))
        except MultikeyError as exc:
            raise _fail("wrong key", f"{method}: {exc.reason}") from exc
    raise _fail(
        "wrong key", f"the credential is signed with {method}, which {issuer_id} does not list"
    )


def _proof_method(document: Mapping[str, Any]) -> str:
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, dict):
        raise _fail("unsigned", "the credential has no Data Integrity proof")
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise _fail("unsigned", "the proof names no verificationMethod")
    return method


def _check_signature(document: Mapping[str, Any], key: Ed25519PublicKey, what: str) -> None:
    try:
        integrity.verify(document, key, max_bytes=MAX_CREDENTIAL_BYTES)
    except integrity.ProofError as exc:
        raise _fail(
            "signature invalid",
            f"the {what} was changed after it was signed, or signed by another key ({exc.reason})",
        ) from exc


def _verify_proof(
    credential: Any, issuer_document: Mapping[str, Any], now: datetime, allow_http: bool
) -> Verification:
    try:
        jsonld.check_bounds(credential, MAX_CREDENTIAL_BYTES)
        summary = ob3.read_credential(credential, allow_http=allow_http)
    except (jsonld.JsonLdError, ob3.BadgeError) as exc:
        raise _fail("not an Open Badges 3.0 credential", exc.reason) from exc
    method = _proof_method(credential)
    key = _issuer_key(issuer_document, summary.issuer_id, method)
    _check_signature(credential, key, "credential")
    try:
        ob3.check_validity_window(summary, now)
    except ob3.BadgeError as exc:
        label = "expired" if summary.valid_until and now > summary.valid_until else "not yet valid"
        raise _fail(label, exc.reason) from exc
    return Verification(summary, method, status_checked=False)


def _verify_status(
    verified: Verification,
    issuer_document: Mapping[str, Any],
    status_documents: Mapping[str, Mapping[str, Any]],
) -> Verification:
    summary = verified.summary
    for entry in summary.status:
        listing = status_documents.get(entry.list_credential)
        if listing is None:
            raise _fail("status unknown", f"the status list {entry.list_credential} is missing")
        if id_of(listing.get("issuer")) != summary.issuer_id:
            raise _fail("status unknown", "the status list was not issued by the issuer")
        list_key = _issuer_key(issuer_document, summary.issuer_id, _proof_method(listing))
        _check_signature(listing, list_key, "status list")
        try:
            revoked = status_list.check_status(listing, entry)
        except status_list.StatusListError as exc:
            raise _fail("status unknown", exc.reason) from exc
        if revoked and entry.purpose == "revocation":
            raise _fail("revoked", f"{summary.issuer_name or summary.issuer_id} revoked it")
        if revoked:
            raise _fail("suspended", f"its {entry.purpose} status bit is set")
    return Verification(summary, verified.verification_method, status_checked=True)


def verify_document(
    credential: Any,
    issuer_document: Mapping[str, Any],
    status_documents: Mapping[str, Mapping[str, Any]] | None,
    now: datetime,
    *,
    allow_http: bool = False,
) -> Verification:
    """Verify a credential against its issuer's actor document and status lists (no I/O).

    With `status_documents` None the status is not checked (and the result says so).
    """
    verified = _verify_proof(credential, issuer_document, now, allow_http)
    if status_documents is None:
        return verified
    return _verify_status(verified, issuer_document, status_documents)


def _status_urls(credential: Any, allow_http: bool) -> list[str]:
    try:
        summary = ob3.read_credential(credential, allow_http=allow_http)
    except ob3.BadgeError as exc:
        raise _fail("not an Open Badges 3.0 credential", exc.reason) from exc
    return sorted({entry.list_credential for entry in summary.status})


async def verify_with_client(
    client: SafeClient,
    credential: Any,
    now: datetime,
    *,
    allow_http: bool = False,
    issuer_document: Mapping[str, Any] | None = None,
    status_documents: Mapping[str, Mapping[str, Any]] | None = None,
) -> Verification:
    """Verify a credential, fetching (bounded, unsigned) whatever documents were not given."""
    issuer_id = _status_issuer(credential, allow_http)
    if issuer_document is None:
        issuer_document = await _fetch(client, issuer_id, "issuer")
    verified = _verify_proof(credential, issuer_document, now, allow_http)
    if status_documents is None:
        status_documents = {
            url: await _fetch(client, url, "status list")
            for url in _status_urls(credential, allow_http)
        }
    return _verify_status(verified, issuer_document, status_documents)


def _status_issuer(credential: Any, allow_http: bool) -> str:
    try:
        return ob3.read_credential(credential, allow_http=allow_http).issuer_id
    except ob3.BadgeError as exc:
        raise _fail("not an Open Badges 3.0 credential", exc.reason) from exc


async def _fetch(client: SafeClient, url: str, what: str) -> dict[str, Any]:
    # A status list is a credential: OB 3.0 issuers (we too, asked for it) serve it as
    # application/vc+ld+json, which the client reads as JSON for these fetches only.
    try:
        final_url, document = await client.get_json(
            url,
            auth=lambda: None,
            accept=CREDENTIAL_ACCEPT,
            json_types=(VC_JSON,),
        )
    except FetchError as exc:
        raise _fail(f"{what} unavailable", exc.reason) from exc
    if not same_origin(final_url, url):
        raise _fail(f"{what} unavailable", f"{url} redirected to another server")
    return document


async def verify(tx: Tx, credential: Any) -> Verification:
    """Verify a credential from anywhere: the issuer's keys and status lists are read here when
    the issuer is local and fetched (signed, bounded) otherwise; a remote issuer's profile is
    refetched once when the key is not listed (it may have been rotated). Status lists are
    fetched only for credentials whose signature holds."""
    allow_http = tx.settings.dev
    issuer_id = _status_issuer(credential, allow_http)
    issuer = await tx.session.scalar(select(Actor).where(Actor.uri == issuer_id))
    if issuer is not None and issuer.local:
        document = await discovery.actor_document(tx, issuer)
        verified = _verify_proof(credential, document, tx.now(), allow_http)
    else:
        document = await _remote_issuer(tx, issuer_id, refresh=False)
        try:
            verified = _verify_proof(credential, document, tx.now(), allow_http)
        except CredentialInvalid as exc:
            if not exc.reason.startswith("wrong key"):
                raise
            document = await _remote_issuer(tx, issuer_id, refresh=True)
            verified = _verify_proof(credential, document, tx.now(), allow_http)
    statuses = {
        url: await _status_document(tx, url) for url in _status_urls(credential, allow_http)
    }
    return _verify_status(verified, document, statuses)


async def _remote_issuer(tx: Tx, issuer_id: str, *, refresh: bool) -> dict[str, Any]:
    try:
        actor = await remote_actors.fetch(tx, issuer_id, refresh=refresh)
    except remote_actors.RemoteError as exc:
        raise _fail("issuer unavailable", exc.reason) from exc
    return actor.raw or {}


async def _status_document(tx: Tx, url: str) -> Mapping[str, Any]:
    base = tx.settings.url("/communities/")
    if url.startswith(base) and url.endswith("/badges/status"):
        name = url[len(base) : -len("/badges/status")]
        try:
            community = await communities.get(tx, name)
        except NotFound as exc:
            raise _fail("status unknown", f"no status list at {url}") from exc
        return await status_list_document(tx, community)
    return await _fetch(tx.node.client, url, "status list")


async def verify_award(tx: Tx, record: Award) -> Verification:
    """Verify a stored award's credential now (the verification page shows the outcome)."""
    return await verify(tx, record.credential)


async def receive_award(tx: Tx, incoming: Incoming, note: Mapping[str, Any]) -> Award:
    """Store a badge announced by an inbound award note, once its credential verifies.

    Invalid awards raise Ignored with the reason (the inbox keeps it, and it is logged).
    """
    credential = note.get(CREDENTIAL_TERM)
    if isinstance(credential, dict) and set(credential) == {"@value", "@type"}:
        credential = credential["@value"]  # an expanded @json literal
    note_id = id_of(dict(note))
    if not isinstance(credential, dict) or not note_id:
        raise Ignored("the note carries no Open Badges credential")
    try:
        verification = await verify(tx, credential)
        summary = verification.summary
        if summary.issuer_id != incoming.actor.uri or id_of(note.get("attributedTo")) != (
            summary.issuer_id
        ):
            raise _fail("wrong issuer", "the note's sender did not issue the credential")
        if not same_origin(note_id, summary.issuer_id):
            raise _fail("wrong issuer", "the note does not live on the issuer's server")
        recipient = await tx.session.scalar(
            select(Actor).where(Actor.uri == summary.subject_id, Actor.local.is_(True))
        )
        if recipient is None:
            raise _fail("wrong recipient", f"{summary.subject_id} is not a member here")
        mentioned = {
            id_of(tag.get("href"))
            for tag in as_list(note.get("tag"))
            if isinstance(tag, dict) and "Mention" in types_of(tag)
        }
        if recipient.uri not in mentioned:
            raise _fail("wrong recipient", "the credential's subject is not the person mentioned")
    except CredentialInvalid as exc:
        log.warning("rejected award %s from %s: %s", note_id, incoming.actor.uri, exc.reason)
        raise Ignored(f"award rejected: {exc.reason}") from exc
    existing = await tx.session.scalar(select(Award).where(Award.credential_uri == summary.id))
    if existing is not None:
        return existing
    record = Award(
        key=secrets.token_hex(8),
        local=False,
        note_uri=note_id,
        credential_uri=summary.id,
        issuer_id=incoming.actor.id,
        recipient_id=recipient.id,
        evidence_urls=list(summary.evidence_urls),
        credential=credential,
        revocation_reason="",
        valid_from=summary.valid_from,
        valid_until=summary.valid_until,
        created_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    return record


async def withdraw_received(tx: Tx, incoming: Incoming, note_uri: str) -> Award | None:
    """Mark a received badge revoked when its issuer deletes the award note (None: no award)."""
    # An issuer revoking a badge sends exactly this Delete (see `revoke`), and Mastodon removes
    # a status on Delete (ActivityPub::Activity::Delete): the badge leaves the profile and the
    # portfolio at once, and the issuer's status list tells revoked from merely withdrawn.
    record = await tx.session.scalar(
        select(Award).where(Award.note_uri == note_uri, Award.local.is_(False))
    )
    if record is None:
        return None
    if record.issuer_id != incoming.actor.id and not same_origin(note_uri, incoming.actor.uri):
        raise Ignored("only a badge's issuer or its server may withdraw it")
    if record.revoked_at is not None:
        return record
    issuer = summary_of(tx, record).issuer_name or record.issuer.handle
    reason = f"withdrawn by {issuer}: the award note was deleted"
    try:
        await verify(tx, record.credential)
    except GuildhallError as exc:
        if exc.reason.startswith(("revoked", "suspended")):
            reason = f"revoked by {issuer}: its status list says so"
        else:
            log.info("withdrawn award %s no longer verifies: %s", note_uri, exc.reason)
    record.revoked_at = tx.now()
    record.revocation_reason = reason
    log.info("award %s to %s %s", note_uri, record.recipient.handle, reason)
    return record


async def withdraw_all_received(tx: Tx, issuer: Actor) -> int:
    """Mark every badge received from an issuer revoked (its account was deleted); how many."""
    withdrawn = 0
    for record in await tx.session.scalars(
        select(Award).where(
            Award.issuer_id == issuer.id, Award.local.is_(False), Award.revoked_at.is_(None)
        )
    ):
        # Its keys went with the account: nobody can verify these credentials any more.
        record.revoked_at = tx.now()
        record.revocation_reason = f"withdrawn: {issuer.handle} deleted its account"
        withdrawn += 1
    return withdrawn


def summary_of(tx: Tx, record: Award) -> ob3.CredentialSummary:
    """What a stored credential says (shape-checked when it was stored)."""
    return ob3.read_credential(record.credential, allow_http=tx.settings.dev)


# Baking -----------------------------------------------------------------------------------------


def _default_svg(name: str) -> bytes:
    initial = html.escape((name[:1] or "?").upper())
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        f"<title>{html.escape(name)}</title>"
        '<circle cx="128" cy="128" r="120" fill="#2d5f8a"/>'
        '<text x="128" y="160" font-size="96" text-anchor="middle" fill="#fff" '
        f'font-family="sans-serif">{initial}</text></svg>'
    ).encode()


def _default_png() -> bytes:
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 248, 248), fill=(45, 95, 138, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def image_bytes(tx: Tx, achievement: Achievement) -> bytes | None:
    """The achievement's stored image, if it has one."""
    if achievement.image_path is None:
        return None
    path = tx.settings.media_dir / achievement.image_path
    return path.read_bytes() if path.exists() else None


def baked_formats(record: Award) -> tuple[str, ...]:
    """Which baked downloads an award offers: its image's format, or both for the default."""
    achievement = record.achievement
    if achievement is None or achievement.image_media_type is None:
        return ("png", "svg")
    return ("svg",) if achievement.image_media_type == "image/svg+xml" else ("png",)


def baked(tx: Tx, record: Award, fmt: str) -> bytes:
    """The badge image with the signed credential baked in (OB 3.0 §5.3), as PNG or SVG."""
    if fmt not in baked_formats(record):
        raise NotFound(f"this badge's image is not available as {fmt.upper()}")
    credential = json.dumps(record.credential, ensure_ascii=False)
    achievement = record.achievement
    stored = image_bytes(tx, achievement) if achievement is not None else None
    name = achievement.name if achievement is not None else summary_of(tx, record).achievement_name
    try:
        if fmt == "png":
            return baking.bake_png(stored or _default_png(), credential)
        return baking.bake_svg(stored or _default_svg(name), credential)
    except baking.BakingError as exc:
        raise InvalidInput(f"cannot bake the badge: {exc.reason}") from exc


def unbake(file_name: str, data: bytes) -> Any:
    """The credential in a JSON file or a baked PNG/SVG image."""
    try:
        if data.startswith(b"\x89PNG"):
            text = baking.extract_png(data)
        elif file_name.lower().endswith(".svg") or data.lstrip().startswith(b"<"):
            text = baking.extract_svg(data)
        else:
            text = data.decode("utf-8")
        return json.loads(text)
    except baking.BakingError as exc:
        raise _fail("no credential", exc.reason) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail("no credential", f"{file_name} is not JSON nor a baked PNG or SVG") from exc
