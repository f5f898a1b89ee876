"""ActivityStreams documents for what this node owns: actors, notes and collections."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from federation.media_types import AS2_CONTEXT
from federation.multikey import encode_multibase
from federation.vocabulary import addressing_for
from node.licences import Licence, licence, optional_licence
from node.runtime import Tx
from storage.models import Actor, Attachment, Community, Member, Post

SECURITY_CONTEXT = "https://w3id.org/security/v1"
CID_CONTEXT = "https://www.w3.org/ns/cid/v1"
# Mastodon's own extension terms (app/lib/activitypub/adapter.rb) plus schema.org's licence.
EXTENSIONS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "license": {"@id": "http://schema.org/license", "@type": "@id"},
    "isBasedOn": {"@id": "http://schema.org/isBasedOn", "@type": "@id"},
    "sensitive": "as:sensitive",
    # Mastodon's context: account migration (alsoKnownAs, movedTo).
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "digestMultibase": {
        "@id": "https://w3id.org/security#digestMultibase",
        "@type": "https://w3id.org/security#multibase",
    },
}
ACTOR_CONTEXT: list[Any] = [AS2_CONTEXT, SECURITY_CONTEXT, CID_CONTEXT, EXTENSIONS]
OBJECT_CONTEXT: list[Any] = [AS2_CONTEXT, EXTENSIONS]
ACTOR_TYPES = {"person": "Person", "group": "Group", "application": "Application"}


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def actor_document(
    tx: Tx, actor: Actor, member: Member | None = None, community: Community | None = None
) -> dict[str, Any]:
    """The actor as other servers read it (DESIGN.md §4 lists every field and why)."""
    document: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor.uri,
        "type": ACTOR_TYPES[actor.kind],
        "preferredUsername": actor.name,
        "name": actor.display_name or actor.name,
        "summary": actor.summary_html,
        "url": actor.url or actor.uri,
        "inbox": actor.inbox_uri,
        "outbox": actor.outbox_uri,
        "followers": actor.followers_uri,
        "following": actor.following_uri,
        "featured": actor.featured_uri,
        "endpoints": {"sharedInbox": actor.shared_inbox_uri},
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "discoverable": actor.kind != "application",
        "indexable": actor.kind == "group",
        "published": _iso(actor.created_at),
        "publicKey": {"id": actor.key_id, "owner": actor.uri, "publicKeyPem": actor.public_key_pem},
        "assertionMethod": [
            {
                "id": actor.uri + "#ed25519-key",
                "type": "Multikey",
                "controller": actor.uri,
                "publicKeyMultibase": actor.ed25519_public_multibase,
            }
        ],
    }
    if actor.icon_url:
        document["icon"] = {"type": "Image", "url": actor.icon_url}
    if member is not None:
        document["attachment"] = [
            {
                "type": "PropertyValue",
                "name": link["label"],
                "value": f'<a href="{link["url"]}" rel="me nofollow noopener" '
                f'target="_blank">{link["url"]}</a>',
            }
            for link in member.profile_links
        ]
    if community is not None and community.default_license:
        document["license"] = licence(community.default_license).url
    if actor.also_known_as:
        document["alsoKnownAs"] = list(actor.also_known_as)
    if actor.moved_to_uri:
        document["movedTo"] = actor.moved_to_uri
    if actor.kind == "group":
        # FEP-1b12: a group lists who may moderate it (Lemmy reads this as the mod list).
        document["attributedTo"] = actor.uri + "/moderators"
        document["postingRestrictedToMods"] = False
    return document


def _attachment_document(
    attachment: Attachment, post_licence: Licence | None, author_uri: str, tx: Tx
) -> dict[str, Any]:
    url = tx.settings.url(f"/media/{attachment.key}/{attachment.file_name}")
    document: dict[str, Any] = {
        "type": "Image" if attachment.is_image else "Document",
        "mediaType": attachment.media_type,
        "url": url,
        "name": attachment.alt_text or None,
    }
    if attachment.width and attachment.height:
        document["width"], document["height"] = attachment.width, attachment.height
    own = optional_licence(attachment.license)
    if own is not None and own != post_licence:
        document["license"] = own.url
    elif own is None and post_licence is not None:
        document["license"] = None
    if attachment.author.uri != author_uri:
        document["attributedTo"] = attachment.author.uri
    if len(attachment.sha256) == 64:
        # The licence binds to these exact bytes (VC Data Integrity `digestMultibase`).
        document["digestMultibase"] = digest_multibase(attachment.sha256)
    return {key: value for key, value in document.items() if value is not None}


def digest_multibase(sha256_hex: str) -> str:
    """A SHA-256 digest as a base58btc multibase multihash (0x12, 32 bytes, digest)."""
    return encode_multibase(b"\x12\x20" + bytes.fromhex(sha256_hex))


def _attachment_credits(post: Post, post_licence: Licence | None) -> str:
    # Mastodon drops `attributedTo` and `license` on attachments: credit them in the text too.
    lines = []
    for attachment in post.attachments:
        own = optional_licence(attachment.license)
        if attachment.author_id == post.author_id and own == post_licence:
            continue
        terms = (
            f'<a href="{own.url}" rel="license">{own.name}</a>' if own else "all rights reserved"
        )
        lines.append(
            f"<p>{escape(attachment.file_name)} by {escape(attachment.author.label)}, {terms}</p>"
        )
    return "".join(lines)


def note_document(tx: Tx, post: Post) -> dict[str, Any]:
    """A post as a `Note`, addressed the way Mastodon reads visibility."""
    author = post.author
    chosen = optional_licence(post.license)
    mentions = [m.actor.uri for m in post.mentions]
    to, cc = addressing_for(post.visibility, author.followers_uri or "", mentions)
    # FEP-1b12 `audience`: our community, or the remote group whose thread a reply joins.
    remote_audience = (post.raw or {}).get("audience")
    audience = post.community.actor.uri if post.community else remote_audience
    if isinstance(audience, str) and audience not in cc:
        cc = [*cc, audience]
    title = escape(post.title)
    attribution = (
        f"<p>{title + ' by ' if title else 'By '}{escape(author.label)}, "
        + (
            f'<a href="{chosen.url}" rel="license">{chosen.name}</a>'
            if chosen
            else "all rights reserved"
        )
        + "</p>"
    )
    document: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": post.uri,
        "type": "Note",
        "attributedTo": author.uri,
        "content": post.content_html + attribution + _attachment_credits(post, chosen),
        "contentMap": None,
        "source": {"content": post.source, "mediaType": "text/markdown"},
        "published": _iso(post.published_at),
        "updated": _iso(post.updated_at) if post.updated_at else None,
        "url": post.url or post.uri,
        "to": to,
        "cc": cc,
        "inReplyTo": post.in_reply_to_uri,
        "name": post.title or None,
        "license": chosen.url if chosen else None,
        "audience": audience if isinstance(audience, str) else None,
        "sensitive": False,
        "isBasedOn": post.based_on or None,
        "attachment": [_attachment_document(a, chosen, author.uri, tx) for a in post.attachments],
        # Mastodon's NoteSerializer::MentionSerializer: href is the actor id, name `@acct`.
        "tag": [
            {"type": "Mention", "href": m.actor.uri, "name": f"@{m.actor.handle}"}
            for m in post.mentions
        ],
    }
    return {key: value for key, value in document.items() if value is not None}


def ordered_collection(uri: str, total: int, first: str | None = None) -> dict[str, Any]:
    """A paged collection's front page: its size and where its first page is."""
    document: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first:
        document["first"] = first
    return document


def collection_page(
    uri: str, part_of: str, items: list[Any], next_page: str | None
) -> dict[str, Any]:
    """One page of an ordered collection."""
    document: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": uri,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    }
    if next_page:
        document["next"] = next_page
    return document


def activity(
    actor: Actor, kind: str, obj: Any, uri: str, to: list[str], cc: list[str] | None = None
) -> dict[str, Any]:
    """An activity envelope around an object (or an object's id)."""
    document: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": uri,
        "type": kind,
        "actor": actor.uri,
        "object": obj,
        "to": to,
    }
    if cc:
        document["cc"] = cc
    return document
