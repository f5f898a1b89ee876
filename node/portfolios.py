"""Portfolios: the artifacts and badges a member curates, their order, narrative and export."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from federation.media_types import AS2_CONTEXT
from node import awards, credentials, documents, media, posts
from node.errors import Forbidden, InvalidInput, NotFound
from node.licences import attribution_line, optional_licence
from node.rendering import markdown_to_html
from node.runtime import Tx
from storage.models import Actor, Attachment, Award, Member, PortfolioEntry, Post

KINDS = ("post", "file", "reflection", "badge")
VISIBILITIES = ("public", "members")
MAX_ENTRIES = 200
MAX_NARRATIVE = 5000
MAX_TITLE = 200
# Mastodon pins at most 5 of its own statuses, but reads any number from a remote featured
# collection's first page (ActivityPub::FetchFeaturedCollectionService); keep the page modest.
FEATURED_LIMIT = 20


@dataclass(frozen=True)
class Reference:
    """What an entry points at, looked up from what a member typed or picked."""

    post: Post | None = None
    attachment: Attachment | None = None
    award: Award | None = None


async def _reference(tx: Tx, member: Member, kind: str, ref: str) -> Reference:
    ref = ref.strip()
    if kind == "post":
        post = (
            await posts.find_by_url(tx, ref)
            if ref.startswith(("http://", "https://"))
            else await posts.get(tx, ref)
        )
        if post.author_id != member.actor_id:
            raise Forbidden("a portfolio holds its owner's own posts")
        return Reference(post=post)
    if kind == "file":
        attachment = await media.get(tx, ref)
        if attachment.author_id != member.actor_id:
            raise Forbidden("a portfolio holds its owner's own files")
        return Reference(attachment=attachment)
    if kind == "badge":
        award = await awards.get_award(tx, ref)
        if award.recipient_id != member.actor_id:
            raise Forbidden("a portfolio holds badges its owner received")
        if award.revoked_at is not None:
            raise InvalidInput("a revoked badge cannot be shown in a portfolio")
        return Reference(award=award)
    return Reference()


def _check_text(title: str, narrative: str, visibility: str) -> tuple[str, str]:
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"titles are at most {MAX_TITLE} characters")
    if len(narrative) > MAX_NARRATIVE:
        raise InvalidInput(f"a narrative is at most {MAX_NARRATIVE} characters")
    if visibility not in VISIBILITIES:
        raise InvalidInput("visibility is 'public' or 'members'")
    return title, narrative.strip()


async def add(
    tx: Tx,
    member: Member,
    kind: str,
    *,
    ref: str = "",
    title: str = "",
    narrative: str = "",
    visibility: str = "public",
    licence: str | None = None,
) -> PortfolioEntry:
    """Add an entry at the end of a member's portfolio.

    A public reflection is also published as the member's post, so it federates like any
    artifact (and can be featured); a members-only one stays in the portfolio.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown portfolio entry kind {kind!r}: choose {', '.join(KINDS)}")
    title, narrative = _check_text(title, narrative, visibility)
    count = await tx.session.scalar(
        select(func.count(PortfolioEntry.id)).where(PortfolioEntry.member_id == member.id)
    )
    if (count or 0) >= MAX_ENTRIES:
        raise InvalidInput(f"a portfolio holds at most {MAX_ENTRIES} entries")
    reference = await _reference(tx, member, kind, ref)
    chosen = None
    if kind == "reflection":
        if not narrative:
            raise InvalidInput("a reflection needs some text")
        chosen = (
            optional_licence(member.default_license)
            if licence is None
            else optional_licence(licence)
        )
        if visibility == "public":
            published = await posts.create(
                tx,
                member,
                posts.Draft(
                    text=narrative, title=title, licence=chosen.spdx_id if chosen else "none"
                ),
            )
            reference = Reference(post=published)
    last = await tx.session.scalar(
        select(func.max(PortfolioEntry.position)).where(PortfolioEntry.member_id == member.id)
    )
    now = tx.now()
    entry = PortfolioEntry(
        key=secrets.token_hex(8),
        member_id=member.id,
        kind=kind,
        post_id=reference.post.id if reference.post else None,
        attachment_id=reference.attachment.id if reference.attachment else None,
        award_id=reference.award.id if reference.award else None,
        title=title,
        narrative=narrative,
        license=chosen.spdx_id if chosen else None,
        position=(last or 0) + 1,
        visibility=visibility,
        created_at=now,
        updated_at=now,
    )
    tx.session.add(entry)
    await tx.session.flush()
    await tx.session.refresh(entry, ["member", "post", "attachment", "award"])
    return entry


async def get(tx: Tx, member: Member, key: str) -> PortfolioEntry:
    """One of the member's own entries, or NotFound."""
    entry = await tx.session.scalar(
        select(PortfolioEntry).where(
            PortfolioEntry.key == key, PortfolioEntry.member_id == member.id
        )
    )
    if entry is None:
        raise NotFound("no such entry in your portfolio")
    return entry


async def update(
    tx: Tx, entry: PortfolioEntry, *, title: str, narrative: str, visibility: str
) -> PortfolioEntry:
    """Change an entry's title, narrative and who may see it."""
    entry.title, entry.narrative = _check_text(title, narrative, visibility)
    if entry.kind == "reflection" and not entry.narrative:
        raise InvalidInput("a reflection needs some text")
    entry.visibility = visibility
    entry.updated_at = tx.now()
    return entry


async def remove(tx: Tx, entry: PortfolioEntry) -> None:
    """Take an entry out of the portfolio (the artifact itself stays)."""
    await tx.session.delete(entry)
    await tx.session.flush()


async def _ordered(tx: Tx, member: Member) -> list[PortfolioEntry]:
    return list(
        await tx.session.scalars(
            select(PortfolioEntry)
            .where(PortfolioEntry.member_id == member.id)
            .order_by(PortfolioEntry.position, PortfolioEntry.id)
        )
    )


async def move(tx: Tx, member: Member, key: str, offset: int) -> None:
    """Move an entry up (negative offset) or down the member's portfolio."""
    entries = await _ordered(tx, member)
    index = next((i for i, e in enumerate(entries) if e.key == key), None)
    if index is None:
        raise NotFound("no such entry in your portfolio")
    target = max(0, min(len(entries) - 1, index + offset))
    entries.insert(target, entries.pop(index))
    for position, entry in enumerate(entries, start=1):
        entry.position = position
    await tx.session.flush()


async def reorder(tx: Tx, member: Member, keys: list[str]) -> None:
    """Put the member's entries in the given order (every entry, each once)."""
    entries = await _ordered(tx, member)
    by_key = {entry.key: entry for entry in entries}
    if sorted(keys) != sorted(by_key):
        raise InvalidInput("the new order must list every entry of the portfolio once")
    for position, key in enumerate(keys, start=1):
        by_key[key].position = position
    await tx.session.flush()


def _visible(entry: PortfolioEntry) -> bool:
    """Whether what the entry points at still exists and may be shown."""
    if entry.post is not None and entry.post.deleted_at is not None:
        return False
    return not (entry.award is not None and entry.award.revoked_at is not None)


async def entries(tx: Tx, member: Member, viewer: Member | None) -> list[PortfolioEntry]:
    """The entries a viewer may see, in the owner's order: members-only ones need a signed-in
    member; the owner sees everything, including entries whose artifact has gone."""
    ordered = await _ordered(tx, member)
    if viewer is not None and viewer.id == member.id:
        return ordered
    return [
        entry
        for entry in ordered
        if _visible(entry) and (entry.visibility == "public" or viewer is not None)
    ]


def narrative_html(entry: PortfolioEntry) -> str:
    """An entry's narrative rendered for a page."""
    return markdown_to_html(entry.narrative) if entry.narrative else ""


# Federation -------------------------------------------------------------------------------------


async def featured_collection(tx: Tx, actor: Actor) -> dict[str, Any]:
    """The actor's `featured` collection: the public posts of their portfolio, in order.

    Mastodon serves its own featured collection with the Notes inline and no pages
    (ActivityPub::CollectionsController#show), and reads a remote one the same way, keeping the
    statuses whose `attributedTo` is the actor: it shows them as pinned posts.
    """
    uri = f"{actor.uri}/featured"
    items: list[dict[str, Any]] = []
    member = await tx.session.scalar(select(Member).where(Member.actor_id == actor.id))
    if member is not None:
        for entry in await entries(tx, member, None):
            post = entry.post
            if post is None and entry.attachment is not None and entry.attachment.post_id:
                post = await tx.session.get(Post, entry.attachment.post_id)
            if post is None or not post.local or post.author_id != actor.id:
                continue
            if post.visibility != "public":
                continue
            note = documents.note_document(tx, post)
            items.append({key: value for key, value in note.items() if key != "@context"})
            if len(items) >= FEATURED_LIMIT:
                break
    return {
        "@context": [AS2_CONTEXT, {"license": documents.EXTENSIONS["license"]}],
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }


# Export -----------------------------------------------------------------------------------------


def _attachment_entry(tx: Tx, attachment: Attachment, folder: str) -> tuple[str, bytes] | None:
    path = media.file_path(tx.settings.media_dir, attachment)
    if path is None or not path.exists():
        return None
    return f"{folder}/{attachment.key}-{attachment.file_name}", path.read_bytes()


def _post_markdown(tx: Tx, post: Post) -> str:
    chosen = optional_licence(post.license)
    return (
        f"# {post.title or 'Post'}\n\n{post.source}\n\n---\n"
        f"{attribution_line(post.title, post.author.label, chosen)}\n"
        f"Source: {post.url or post.uri}\n"
        + (f"Licence: {chosen.url}\n" if chosen else "")
        + f"Published: {post.published_at.isoformat()}\n"
    )


async def export_zip(tx: Tx, member: Member) -> bytes:
    """A ZIP of the whole portfolio: `portfolio.json`, credentials as JSON, baked badges, and
    every artifact with its author and licence (README.txt says what is where)."""
    buffer = io.BytesIO()
    manifest: list[dict[str, Any]] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in await _ordered(tx, member):
            item: dict[str, Any] = {
                "kind": entry.kind,
                "title": entry.title,
                "narrative": entry.narrative,
                "visibility": entry.visibility,
                "files": [],
            }
            files: list[tuple[str, bytes]] = []
            if entry.post is not None and entry.post.deleted_at is None:
                post = entry.post
                chosen = optional_licence(post.license)
                item.update(
                    url=post.url or post.uri,
                    author=post.author.label,
                    licence=chosen.url if chosen else None,
                    licence_name=chosen.name if chosen else "all rights reserved",
                )
                files.append((f"posts/{post.key}.md", _post_markdown(tx, post).encode()))
                attachments = list(post.attachments)
            else:
                attachments = []
            if entry.attachment is not None:
                attachments.append(entry.attachment)
                if entry.kind == "file":
                    chosen = optional_licence(entry.attachment.license)
                    item.update(
                        author=entry.attachment.author.label,
                        licence=chosen.url if chosen else None,
                        licence_name=chosen.name if chosen else "all rights reserved",
                    )
            for attachment in attachments:
                stored = _attachment_entry(tx, attachment, "artifacts")
                if stored is not None:
                    files.append(stored)
                    own = optional_licence(attachment.license)
                    item.setdefault("artifacts", []).append(
                        {
                            "file": stored[0],
                            "author": attachment.author.label,
                            "licence": own.url if own else None,
                            "credit": attribution_line(
                                attachment.file_name, attachment.author.label, own
                            ),
                        }
                    )
            if entry.kind == "reflection" and entry.post is None:
                chosen = optional_licence(entry.license)
                text = f"# {entry.title or 'Reflection'}\n\n{entry.narrative}\n\n---\n" + (
                    attribution_line(entry.title, member.actor.label, chosen) + "\n"
                )
                files.append((f"reflections/{entry.key}.md", text.encode()))
                item.update(licence=chosen.url if chosen else None, author=member.actor.label)
            if entry.award is not None:
                award = entry.award
                summary = credentials.summary_of(tx, award)
                stem = f"{award.key}"
                files.append(
                    (
                        f"credentials/{stem}.json",
                        json.dumps(award.credential, indent=2, ensure_ascii=False).encode(),
                    )
                )
                for fmt in credentials.baked_formats(award):
                    files.append((f"badges/{stem}.{fmt}", credentials.baked(tx, award, fmt)))
                item.update(
                    badge=summary.achievement_name,
                    issuer=summary.issuer_name or summary.issuer_id,
                    credential=summary.id,
                    revoked=award.revoked_at is not None,
                )
            for name, data in files:
                archive.writestr(name, data)
                item["files"].append(name)
            manifest.append(item)
        archive.writestr(
            "portfolio.json",
            json.dumps(
                {
                    "member": member.actor.uri,
                    "name": member.actor.label,
                    "exported": tx.now().isoformat(),
                    "entries": manifest,
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        archive.writestr("README.txt", _readme(member))
    return buffer.getvalue()


def _readme(member: Member) -> str:
    return (
        f"Portfolio of {member.actor.label} ({member.actor.uri})\n\n"
        "portfolio.json   every entry in order, with its narrative, author and licence\n"
        "posts/           posts as Markdown, each ending with its credit and licence\n"
        "reflections/     reflections kept in the portfolio only\n"
        "artifacts/       files, named <key>-<file name>; portfolio.json gives their licences\n"
        "credentials/     Open Badges 3.0 credentials (JSON, signed with eddsa-rdfc-2022)\n"
        "badges/          the same credentials baked into badge images (PNG iTXt / SVG)\n\n"
        "Anyone can check a credential: guildhall badge verify credentials/<key>.json\n"
        "No licence means all rights reserved by the author.\n"
    )
