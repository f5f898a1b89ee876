"""Notes on the fediverse: publishing our posts, mentions, and storing remote posts and boosts.

Outbound, a local post's Create, Update or Delete goes from its author to their followers, the
actors it mentions and the group whose thread it joins; a local community re-shares it
(node.groups). Inbound, the handlers below serve the dispatch table in node.inbox:
Create/Update/Delete of notes, and Announce (a group re-sharing, or a person boosting).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from federation.client import FetchError
from federation.domains import DomainError, authority_of, same_origin
from federation.sanitize import SanitizeError, plain_text, sanitize_html
from federation.vocabulary import (
    PUBLIC,
    VocabularyError,
    as_list,
    first_of,
    id_of,
    ids_of,
    recipients_of,
    types_of,
    visibility_of,
)
from node import (
    awards,
    delivery,
    documents,
    follows,
    groups,
    media,
    mentions,
    notifications,
    remote_actors,
    remote_media,
)
from node.errors import GuildhallError
from node.incoming import Ignored, Incoming
from node.licences import from_url
from node.runtime import Tx
from storage.models import (
    Actor,
    Attachment,
    Community,
    Follow,
    Post,
    Reaction,
)

log = logging.getLogger("guildhall.notes")
Kind = Literal["Create", "Update", "Delete"]
MAX_TITLE = 200

# Mastodon's ActivityPub::Activity::Create takes Note and converts Image/Video/Article/Page;
# Question is a poll, whose text we keep. Lemmy threads are Pages, its comments Notes.
NOTE_TYPES = frozenset({"Note", "Page", "Article", "Question"})
MAX_REPLY_DEPTH = 5  # parents fetched for one reply; Mastodon's ThreadResolveWorker goes further
MAX_REMOTE_ATTACHMENTS = 4  # Mastodon keeps `process_attachments.take(4)`
# --- publishing our own posts -----------------------------------------------------------------


async def _remote_audience(tx: Tx, post: Post) -> list[Actor]:
    audience = (post.raw or {}).get("audience")
    if not isinstance(audience, str):
        return []
    try:
        return [await remote_actors.fetch(tx, audience)]
    except GuildhallError as exc:
        log.warning("cannot reach the group %s of %s: %s", audience, post.uri, exc.reason)
        return []


async def publish(tx: Tx, post: Post, kind: Kind) -> None:
    """Send a local post's Create, Update or Delete, and have its community re-share it."""
    author = post.author
    note = documents.note_document(tx, post)
    note.pop("@context")
    to, cc = list(note["to"]), list(note["cc"])
    uri = delivery.new_activity_uri(tx, author)
    if kind == "Delete":
        # Mastodon's DeleteSerializer: a Tombstone, addressed to Public.
        obj: dict[str, Any] = {"id": post.uri, "type": "Tombstone"}
        document = documents.activity(author, "Delete", obj, uri, to=[PUBLIC], cc=cc)
    else:
        document = documents.activity(author, kind, note, uri, to=to, cc=cc)
        stamp = "published" if kind == "Create" else "updated"
        if stamp in note:
            document[stamp] = note[stamp]
    if "audience" in note:
        document["audience"] = note["audience"]
    recipients: list[Actor] = [m.actor for m in post.mentions]
    if post.visibility != "direct":
        recipients += await follows.remote_followers(tx, author)
    recipients += await _remote_audience(tx, post)
    if kind != "Create" and post.community is not None:
        # Mastodon applies an author's Update or Delete to a status it holds however it came
        # (ActivityPub::Activity::Update/Delete look it up by uri and account): the community's
        # followers got the post by boost, so they get its edits and deletion from the author.
        recipients += await follows.remote_followers(tx, post.community.actor)
    listed = post.visibility in groups.SHARED_VISIBILITIES
    await delivery.publish(tx, author, document, recipients=recipients, public=listed)
    if post.community is not None:
        await groups.announce(tx, post.community, post, document)


# --- reading remote notes ---------------------------------------------------------------------


def _time(value: object, fallback: datetime) -> datetime:
    if not isinstance(value, str):
        return fallback
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return fallback
    if parsed.tzinfo is None or parsed > fallback:
        return fallback  # no zone, or from the future: our clock is the better guess
    return parsed


def _href(value: object) -> str | None:
    """A URL from a `url` property: a string, a Link (prefer text/html), or a list of them."""
    # Mastodon's JsonLdHelper#url_to_href(url, 'text/html').
    items = as_list(value)
    links = [i for i in items if isinstance(i, dict)]
    preferred = next((i for i in links if i.get("mediaType") == "text/html"), None)
    candidate = first_of([i for i in items if isinstance(i, str)] or [preferred or first_of(links)])
    href = candidate if isinstance(candidate, str) else None
    if isinstance(candidate, dict):
        href = candidate.get("href") if isinstance(candidate.get("href"), str) else None
    if href and urlsplit(href).scheme in ("http", "https") and len(href) <= 2048:
        return href
    return None


def _content(document: dict[str, Any]) -> str:
    content = document.get("content")
    if not isinstance(content, str) or not content:
        content_map = document.get("contentMap")
        if isinstance(content_map, dict):
            content = next((v for v in content_map.values() if isinstance(v, str)), "")
    try:
        return sanitize_html(content) if isinstance(content, str) else ""
    except SanitizeError as exc:
        raise Ignored(f"{id_of(document)}: {exc.reason}") from exc


def _title(document: dict[str, Any]) -> str:
    name = document.get("name")
    if not isinstance(name, str) or "Note" in types_of(document):
        return ""  # Mastodon puts nothing in a Note's name; others put an excerpt of its text
    return " ".join(plain_text(name[:2000]).split())[:MAX_TITLE]


def _licence(value: object) -> str | None:
    # No `license` means not stated: all rights reserved, never a guess (DESIGN.md §5).
    found = from_url(value) if isinstance(value, str) else None
    return found.spdx_id if found else None


def author_of(document: dict[str, Any]) -> str:
    """The actor a note is attributed to, on the note's own origin (ids must share it)."""
    uri = id_of(document) or ""
    for candidate in ids_of(document.get("attributedTo")):
        # PeerTube lists the channel (a Group) beside the account; both live on its origin.
        if same_origin(candidate, uri):
            return candidate
    raise Ignored(f"{uri} is not attributed to an actor on its own server")


async def post_by_uri(tx: Tx, uri: str) -> Post | None:
    """The post, local or remote, with this ActivityPub id."""
    return await tx.session.scalar(select(Post).where(Post.uri == uri))


async def fetch_note(tx: Tx, uri: str) -> dict[str, Any]:
    """A note fetched from its own server, whose id and author are checked against its origin."""
    document = await remote_actors.fetch_document(tx, uri)
    if id_of(document) != uri:
        # Mastodon's FetchResourceService with id: true — an object is what lives at its id.
        raise remote_actors.RemoteError(f"{uri} served the document of {id_of(document)}")
    if not types_of(document) & NOTE_TYPES:
        raise remote_actors.RemoteError(f"{uri} is not a note")
    return document


def _attachments(tx: Tx, document: dict[str, Any], post: Post) -> list[Attachment]:
    rows: list[Attachment] = []
    for item in as_list(document.get("attachment")):
        if not isinstance(item, dict) or "PropertyValue" in types_of(item):
            continue
        url = _href(item.get("url")) or _href(item.get("href"))
        if url is None:
            continue
        media_type = item.get("mediaType")
        if not isinstance(media_type, str) or "/" not in media_type or len(media_type) > 127:
            media_type = "image/jpeg" if "Image" in types_of(item) else "application/octet-stream"
        name = item.get("name")
        width, height = item.get("width"), item.get("height")
        file_name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])[:255] or "attachment"
        rows.append(
            Attachment(
                key=secrets.token_hex(8),
                post_id=post.id,
                author_id=post.author_id,
                file_name=file_name,
                media_type=media_type,
                size_bytes=0,
                sha256="",
                storage_path=None,  # linked, never hot-copied (issue 3 §9)
                remote_url=url,
                alt_text=plain_text(name[:5000]) if isinstance(name, str) else "",
                license=_licence(item.get("license")),
                width=width if isinstance(width, int) and 0 < width < 100_000 else None,
                height=height if isinstance(height, int) and 0 < height < 100_000 else None,
                created_at=tx.now(),
            )
        )
        if len(rows) == MAX_REMOTE_ATTACHMENTS:
            break
    return rows


async def _mentioned_here(tx: Tx, document: dict[str, Any]) -> list[Actor]:
    hrefs = [
        href
        for tag in as_list(document.get("tag"))
        if isinstance(tag, dict) and "Mention" in types_of(tag)
        if (href := id_of(tag.get("href")))
    ][: mentions.MAX_MENTIONS]
    if not hrefs:
        return []
    # Only actors we already know: resolving every tag would let one note make us fetch many.
    return list(await tx.session.scalars(select(Actor).where(Actor.uri.in_(hrefs))))


async def _addressed_here(
    tx: Tx, document: dict[str, Any], activity: dict[str, Any] | None = None
) -> list[Actor]:
    """Our actors a note names in `to`, `cc` or `audience` (its own, or else its activity's)."""
    # Mastodon's Create#process_audience: known accounts in a limited or direct status's
    # audience become silent mentions, which is what lets them read it; none are fetched.
    uris = recipients_of(document) or recipients_of(activity)
    if not uris:
        return []
    return list(
        await tx.session.scalars(
            select(Actor).where(Actor.uri.in_(uris[:100]), Actor.local.is_(True))
        )
    )


async def _readers_here(
    tx: Tx, document: dict[str, Any], author: Actor, activity: dict[str, Any] | None
) -> list[Actor]:
    """Who here a note is for beyond the public: the actors it mentions or addresses."""
    mentioned = await _mentioned_here(tx, document)
    if visibility_of(document, author.followers_uri, activity) in groups.SHARED_VISIBILITIES:
        return mentioned
    return list(dict.fromkeys([*mentioned, *await _addressed_here(tx, document, activity)]))


def _apply(tx: Tx, post: Post, document: dict[str, Any], author: Actor) -> None:
    post.content_html = _content(document)
    post.title = _title(document)
    post.license = _licence(document.get("license"))
    url = _href(document.get("url"))
    # Mastodon's Create#object_url: a url on another server than the author's is not used.
    post.url = url if url and same_origin(url, author.uri) else post.uri
    post.raw = document


async def _parent(tx: Tx, document: dict[str, Any], depth: int) -> Post | None:
    parent_uri = id_of(document.get("inReplyTo"))
    if parent_uri is None:
        return None
    parent = await post_by_uri(tx, parent_uri)
    if parent is not None or depth >= MAX_REPLY_DEPTH:
        return parent
    try:
        if authority_of(parent_uri) == tx.settings.domain:
            return None  # one of ours that does not exist (any more): nothing to fetch
        fetched = await fetch_note(tx, parent_uri)
        author = await remote_actors.fetch(tx, author_of(fetched))
        if not await _public(fetched, author):
            return None
        return await store(tx, fetched, author, depth=depth + 1)
    except (GuildhallError, Ignored, DomainError) as exc:
        # The reply is kept; its thread just starts where our knowledge does.
        log.info("parent %s not fetched: %s", parent_uri, getattr(exc, "reason", exc))
        return None


async def _public(document: dict[str, Any], author: Actor, activity: object = None) -> bool:
    try:
        visibility = visibility_of(document, author.followers_uri, activity)
    except VocabularyError:
        return False
    return visibility in ("public", "unlisted")


async def store(
    tx: Tx,
    document: dict[str, Any],
    author: Actor,
    *,
    activity: dict[str, Any] | None = None,
    community: Community | None = None,
    parent: Post | None = None,
    depth: int = 0,
) -> Post:
    """Keep a remote note (checked by the caller) as a post: content sanitised, licence read,
    attachments linked, its thread linked (parents fetched up to a bounded depth)."""
    uri = str(id_of(document))
    existing = await post_by_uri(tx, uri)
    if existing is not None:
        return existing
    if parent is None:
        parent = await _parent(tx, document, depth)
    now = tx.now()
    visibility = visibility_of(document, author.followers_uri, activity)
    post = Post(
        key=secrets.token_hex(8),
        uri=uri,
        local=False,
        author_id=author.id,
        community_id=community.id if community else None,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_uri=id_of(document.get("inReplyTo")),
        thread_id=(parent.thread_id or parent.id) if parent else None,
        source="",
        visibility=visibility,
        published_at=_time(document.get("published"), now),
    )
    _apply(tx, post, document, author)
    tx.session.add(post)
    await tx.session.flush()
    for attachment in _attachments(tx, document, post):
        tx.session.add(attachment)
    await tx.session.flush()
    await tx.session.refresh(post, ["attachments", "author", "community", "mentions"])
    await remote_media.queue(tx, list(post.attachments))
    mentioned = await _readers_here(tx, document, author, activity)
    await mentions.record_mentions(tx, post, mentioned, parent if parent and parent.local else None)
    return post


def _erase(tx: Tx, post: Post) -> None:
    post.deleted_at = tx.now()
    post.content_html = ""
    post.source = ""
    post.title = ""
    post.raw = None


async def _for_someone_here(tx: Tx, note: dict[str, Any], incoming: Incoming) -> bool:
    """Whether a followers-only or direct note has a reader here: someone it names, or a
    follower of its author when it is for followers."""
    readers = await _readers_here(tx, note, incoming.actor, incoming.document)
    if any(actor.local and actor.kind == "person" for actor in readers):
        return True  # a member (a community cannot read: nothing private is shown in it)
    visibility = visibility_of(note, incoming.actor.followers_uri, incoming.document)
    return visibility == "followers" and await _followed_here(tx, incoming.actor)


async def _followed_here(tx: Tx, actor: Actor) -> bool:
    return bool(
        await tx.session.scalar(
            select(Follow.id)
            .join(Actor, Actor.id == Follow.follower_id)
            .where(Follow.followed_id == actor.id, Follow.state == "accepted")
            .where(Actor.local.is_(True))
            .limit(1)
        )
    )


# --- inbound activities -----------------------------------------------------------------------


def _embedded_note(incoming: Incoming) -> dict[str, Any]:
    obj = incoming.object
    if not isinstance(obj, dict) or not types_of(obj) & NOTE_TYPES:
        raise Ignored(f"{incoming.type} of something that is not a note")
    uri = id_of(obj)
    if uri is None or not same_origin(uri, incoming.actor.uri):
        raise Ignored("a note's id must be on its author's server")
    return obj


async def on_create(tx: Tx, incoming: Incoming) -> None:
    """A remote actor published a note: store it, and route it into a community it addresses."""
    note = _embedded_note(incoming)
    if incoming.actor.uri not in ids_of(note.get("attributedTo")):
        raise Ignored("the note is attributed to someone other than the activity's actor")
    if awards.CREDENTIAL_TERM in note:
        # An award note: the badge is shown only once its credential verifies (node.awards).
        await awards.receive_award(tx, incoming, note)
        return
    existing = await post_by_uri(tx, str(id_of(note)))
    if existing is not None:
        return  # a redelivery, or the community's re-share arrived first
    private = not await _public(note, incoming.actor, incoming.document)
    if private and not await _for_someone_here(tx, note, incoming):
        # Mastodon's Create#related_to_local_activity?: a status nobody here may read is dropped.
        raise Ignored("a followers-only or direct note for nobody here is not kept")
    parent = await _parent(tx, note, 0)
    # A followers-only or direct note is kept for its audience (node.posts.readable_by) and
    # never joins a community: a community lists and re-shares only what anyone may read.
    community = (
        None if private else await groups.addressed_community(tx, note, incoming.document, parent)
    )
    if community is not None and not await groups.may_post(tx, community, incoming.actor):
        log.info(
            "%s may not post in %s: %s kept outside it",
            incoming.actor.uri,
            community.actor.name,
            id_of(note),
        )
        if community.closed and parent is not None and parent.community_id == community.id:
            raise Ignored(f"{community.actor.name} is closed to {incoming.actor.handle}")
        community = None
    refusal = groups.licence_refusal(community, note) if community is not None else None
    if community is not None and refusal is not None:
        # The community's minimum openness binds the fediverse as it binds members (node.posts).
        log.info("%s kept outside %s: %s", id_of(note), community.actor.name, refusal)
        if parent is not None and parent.community_id == community.id:
            # A reply shows in its thread whatever its community: refused whole instead.
            raise Ignored(f"not open enough for {community.actor.name}: {refusal}")
        community = None
    post = await store(
        tx, note, incoming.actor, activity=incoming.document, community=community, parent=parent
    )
    if community is not None:
        await groups.announce(tx, community, post, incoming.document)


async def _edit(tx: Tx, post: Post, document: dict[str, Any], author: Actor) -> None:
    audience = (post.raw or {}).get("audience")
    _apply(tx, post, document, author)
    if audience and "audience" not in document:
        post.raw = {**document, "audience": audience}
    post.updated_at = tx.now()
    for old in list(post.attachments):
        media.discard_file(tx.settings.media_dir, old)  # a cached copy (node.remote_media)
        await tx.session.delete(old)
    await tx.session.flush()
    for attachment in _attachments(tx, document, post):
        tx.session.add(attachment)
    await tx.session.flush()
    await tx.session.refresh(post, ["attachments", "mentions"])
    await remote_media.queue(tx, list(post.attachments))
    # The visibility chosen at creation stays (Mastodon does not let an edit change it).
    mentioned = await _mentioned_here(tx, document)
    if post.visibility not in groups.SHARED_VISIBILITIES:
        mentioned = [*mentioned, *await _addressed_here(tx, document)]
    await mentions.record_mentions(tx, post, mentioned)


async def on_update(tx: Tx, incoming: Incoming) -> None:
    """A remote author edited a note: only its author may, and only its content changes."""
    note = _embedded_note(incoming)
    post = await post_by_uri(tx, str(id_of(note)))
    if post is None or post.deleted_at is not None:
        raise Ignored("an edit of a note we do not have")
    # Mastodon's ActivityPub::Activity::Update#update_status: Status.find_by(uri:, account:).
    if post.local or post.author_id != incoming.actor.id:
        raise Ignored("only a note's author may edit it")
    community = post.community
    refusal = groups.licence_refusal(community, note) if community is not None else None
    if community is not None and refusal is not None:
        # The community accepted this version under its licence (CC licences are irrevocable):
        # it stays as accepted rather than becoming less open than the community allows.
        log.info("edit of %s not applied: %s", post.uri, refusal)
        raise Ignored(f"the edit is not open enough for {community.actor.name}: {refusal}")
    await _edit(tx, post, note, incoming.actor)
    if post.community is not None:
        await groups.announce(tx, post.community, post, incoming.document)


async def _delete(tx: Tx, post: Post, activity: dict[str, Any]) -> None:
    if post.deleted_at is not None:
        return
    _erase(tx, post)
    for old in list(post.attachments):
        media.discard_file(tx.settings.media_dir, old)  # a cached copy (node.remote_media)
        await tx.session.delete(old)
    if post.community is not None:
        await groups.announce(tx, post.community, post, activity)


async def on_delete(tx: Tx, incoming: Incoming) -> None:
    """A remote note (or a whole account) was deleted: its content goes too."""
    uri = incoming.object_id
    if uri is None:
        raise Ignored("Delete without an object")
    if uri == incoming.actor.uri:
        # Mastodon sends Delete{actor} when an account is removed: everything it wrote goes.
        for written in await tx.session.scalars(
            select(Post).where(Post.author_id == incoming.actor.id, Post.deleted_at.is_(None))
        ):
            await _delete(tx, written, incoming.document)
        await awards.withdraw_all_received(tx, incoming.actor)
        return
    post = await post_by_uri(tx, uri)
    if post is None:
        if await awards.withdraw_received(tx, incoming, uri) is not None:
            return  # an award note: the badge it announced is withdrawn (node.awards)
        raise Ignored("a deletion of something we do not have")
    # The author, or their server (an admin or the instance actor removing it).
    if post.local or (
        post.author_id != incoming.actor.id and not same_origin(post.uri, incoming.actor.uri)
    ):
        raise Ignored("only a note's author or their server may delete it")
    await _delete(tx, post, incoming.document)


async def _gone(tx: Tx, uri: str) -> bool:
    """Whether the note's own server confirms it is deleted (410, 404 or a Tombstone)."""
    try:
        document = await remote_actors.fetch_document(tx, uri)
    except remote_actors.RemoteError as exc:
        cause = exc.__cause__
        return isinstance(cause, FetchError) and cause.status in (404, 410)
    return "Tombstone" in types_of(document)


async def _announced_change(tx: Tx, incoming: Incoming, inner: dict[str, Any]) -> None:
    """A group re-shared an edit or a deletion: believe the note's own server, not the group."""
    target = inner.get("object")
    uri = id_of(target)
    post = await post_by_uri(tx, uri) if uri else None
    if post is None or post.local or post.deleted_at is not None:
        raise Ignored("a re-shared change to a note we do not have")
    if "Delete" in types_of(inner):
        if not await _gone(tx, post.uri):
            raise Ignored(f"{post.uri} still exists on its server")
        await _delete(tx, post, inner)
        return
    document = await fetch_note(tx, post.uri)
    if author_of(document) != post.author.uri:
        raise Ignored("the note changed authors")
    await _edit(tx, post, document, post.author)


async def on_announce(tx: Tx, incoming: Incoming) -> None:
    """A group re-shared an activity, or someone boosted a note: store it and record the boost."""
    obj = incoming.object
    kinds = types_of(obj)
    note: object = obj
    if kinds & {"Update", "Delete"}:
        if incoming.actor.kind != "group" or not await _followed_here(tx, incoming.actor):
            raise Ignored("re-shared changes are taken only from groups followed here")
        await _announced_change(tx, incoming, obj)
        return
    if "Create" in kinds:
        note = obj.get("object")
    elif kinds and not kinds & NOTE_TYPES:
        # Likes, Flags and the rest re-shared by groups belong to their own modules.
        raise Ignored(f"Announce of {', '.join(sorted(kinds))} is not handled here")
    uri = id_of(note)
    if uri is None:
        raise Ignored("Announce of nothing")
    post = await post_by_uri(tx, uri)
    if post is None:
        if not await _followed_here(tx, incoming.actor):
            # Mastodon's Announce#related_to_local_activity?: boosts matter only if followed.
            raise Ignored("nobody here follows the announcer of an unknown note")
        if isinstance(note, dict) and same_origin(uri, incoming.actor.uri):
            document: dict[str, Any] = note  # the announcer's own server vouches for it
            if not types_of(document) & NOTE_TYPES:
                raise Ignored("Announce of something that is not a note")
        else:
            # Anyone can embed anything: the copy that counts is the one at its own origin.
            document = await fetch_note(tx, uri)
        author = await remote_actors.fetch(tx, author_of(document))
        if not await _public(document, author):
            raise Ignored("only public and unlisted notes are stored")
        if incoming.actor.kind == "group" and "audience" not in document:
            # FEP-1b12: the group is the note's community; keep it for replies and timelines.
            document = {**document, "audience": incoming.actor.uri}
        post = await store(tx, document, author)
    if post.deleted_at is not None:
        raise Ignored("Announce of a deleted note")
    if post.visibility not in groups.SHARED_VISIBILITIES and not (
        post.visibility == "followers" and post.author_id == incoming.actor.id
    ):
        # Mastodon's Announce#announceable?: public and unlisted statuses, or an author's
        # own followers-only one; a direct note is never boosted.
        raise Ignored("Announce of a note that is not public")
    await boost(tx, incoming, post)


async def boost(tx: Tx, incoming: Incoming, post: Post) -> None:
    """Record an Announce of a post by its actor as a boost, once per actor and post."""
    duplicate = await tx.session.scalar(
        select(Reaction.id).where(
            (Reaction.uri == incoming.uri)
            | (
                (Reaction.kind == "announce")
                & (Reaction.actor_id == incoming.actor.id)
                & (Reaction.post_id == post.id)
            )
        )
    )
    if duplicate is not None:
        return
    tx.session.add(
        Reaction(
            uri=incoming.uri,
            kind="announce",
            actor_id=incoming.actor.id,
            post_id=post.id,
            created_at=tx.now(),
        )
    )
    await notifications.about_post(tx, post.author, "announce", incoming.actor, post)
