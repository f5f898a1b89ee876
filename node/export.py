"""A member's archive: everything they authored, signed, with its files and a licence list.

The ZIP holds `actor.json` (their signed actor document), `posts/<key>.json` (each post as the
signed AS2 Note other servers fetch), `outbox.json` (every activity they published, as sent,
proofs included), `files/<key>/<name>` (the original bytes of their attachments) and
`LICENSES.md`, which lists each artifact with its licence and the credit it asks for.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import or_, select

from node import discovery, documents, media, proofs
from node.licences import attribution_line, optional_licence
from node.runtime import Tx
from storage.models import Attachment, Member, OutboxActivity, Post


@dataclass(frozen=True)
class Artifact:
    """One thing in the archive: where it is, what it is and under which terms."""

    path: str
    kind: str  # post | reply | file
    title: str
    url: str
    author: str
    licence: str | None  # SPDX id; None = all rights reserved
    sha256: str | None = None
    based_on: tuple[str, ...] = ()


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _posts(tx: Tx, member: Member) -> list[Post]:
    return list(
        await tx.session.scalars(
            select(Post)
            .where(
                Post.author_id == member.actor_id, Post.local.is_(True), Post.deleted_at.is_(None)
            )
            .order_by(Post.published_at, Post.id)
        )
    )


async def _files(tx: Tx, member: Member, post_ids: list[int]) -> list[Attachment]:
    # Their own uploads, and what others contributed to their posts (credited to those others).
    return list(
        await tx.session.scalars(
            select(Attachment)
            .where(
                or_(Attachment.author_id == member.actor_id, Attachment.post_id.in_(post_ids)),
                Attachment.storage_path.is_not(None),
            )
            .order_by(Attachment.id)
        )
    )


def licences_markdown(tx: Tx, member: Member, artifacts: list[Artifact]) -> str:
    """The human-readable list of every artifact in the archive with its licence and credit."""
    actor = member.actor
    lines = [
        f"# Works by {actor.label} (@{actor.handle})",
        "",
        f"Exported from {tx.settings.base_url} on {_when(tx.now())}. Each entry names a file in "
        "this archive, where it was published, its licence and the credit it asks for. "
        "`posts/*.json` and `outbox.json` carry FEP-8b32 proofs by "
        f"{proofs.verification_method(actor)} (see `actor.json`).",
    ]
    for kind, heading in (("post", "Posts"), ("reply", "Replies"), ("file", "Files")):
        chosen = [a for a in artifacts if a.kind == kind]
        if not chosen:
            continue
        lines += ["", f"## {heading}"]
        for item in chosen:
            licence = optional_licence(item.licence)
            lines += [
                "",
                f"### {item.title} — `{item.path}`",
                f"- Published at: <{item.url}>",
                f"- Author: {item.author}",
                "- Licence: "
                + (f"{licence.name} <{licence.url}>" if licence else "all rights reserved"),
                f"- Attribution: {attribution_line(item.title, item.author, licence)}",
            ]
            if item.sha256:
                lines.append(f"- SHA-256: `{item.sha256}`")
            lines += [f"- Based on: <{source}>" for source in item.based_on]
    return "\n".join(lines) + "\n"


async def write_archive(tx: Tx, member: Member, target: IO[bytes]) -> list[Artifact]:
    """Write the member's ZIP archive to `target` and return what it lists."""
    actor = member.actor
    artifacts: list[Artifact] = []
    authored = await _posts(tx, member)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        actor_document = await discovery.actor_document(tx, actor)
        archive.writestr(
            "actor.json", _json(await proofs.sign(tx, actor, actor_document, actor.updated_at))
        )
        for post in authored:
            note = await proofs.sign(
                tx, actor, documents.note_document(tx, post), post.updated_at or post.published_at
            )
            path = f"posts/{post.key}.json"
            archive.writestr(path, _json(note))
            artifacts.append(
                Artifact(
                    path=path,
                    kind="reply" if post.in_reply_to_uri else "post",
                    title=post.title or f"Post of {_when(post.published_at)}",
                    url=post.url or post.uri,
                    author=actor.label,
                    licence=post.license,
                    based_on=tuple(post.based_on or ()),
                )
            )
        activities = list(
            await tx.session.scalars(
                select(OutboxActivity.raw)
                .where(OutboxActivity.actor_id == actor.id)
                .order_by(OutboxActivity.id)
            )
        )
        archive.writestr(
            "outbox.json",
            _json(
                {
                    "@context": documents.OBJECT_CONTEXT,
                    "type": "OrderedCollection",
                    "attributedTo": actor.uri,
                    "totalItems": len(activities),
                    "orderedItems": activities,
                }
            ),
        )
        for attachment in await _files(tx, member, [post.id for post in authored]):
            location = media.file_path(tx.settings.media_dir, attachment)
            if location is None or not location.is_file():
                continue
            data = location.read_bytes()
            path = f"files/{attachment.key}/{attachment.file_name}"
            archive.writestr(path, data)
            artifacts.append(
                Artifact(
                    path=path,
                    kind="file",
                    title=attachment.file_name,
                    url=tx.settings.url(f"/media/{attachment.key}/{attachment.file_name}"),
                    author=attachment.author.label,
                    licence=attachment.license,
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        archive.writestr("LICENSES.md", licences_markdown(tx, member, artifacts))
    return artifacts


def file_name(member: Member, now: datetime) -> str:
    """The name an archive is offered under: `<name>-<host>-<date>.zip`."""
    host = member.actor.domain.replace(":", "_")
    return f"{member.actor.name}-{host}-{now.strftime('%Y-%m-%d')}.zip"
