"""Likes and boosts: our members' (sent as Like / Announce and undone), and others' (received).

A reaction is one row per (kind, actor, post) whose `uri` is the id of the Like or Announce
activity, so an Undo can name it either by that id or by embedding the activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from federation.vocabulary import PUBLIC, VocabularyError, id_of, types_of, visibility_of
from node import delivery, documents, follows, notes, notifications, posts, remote_actors
from node.errors import Conflict, Forbidden, InvalidInput, NotFound
from node.incoming import Ignored, Incoming
from node.runtime import Tx
from storage.models import Actor, Follow, Member, Notification, OutboxActivity, Post, Reaction

KINDS = {"like": "Like", "announce": "Announce"}
NOTIFY_AS = {"like": "like", "announce": "boost"}
BOOSTABLE = ("public", "unlisted")  # Mastodon refuses to reblog private and direct statuses


@dataclass(frozen=True)
class Summary:
    """How a post was received, and what the viewing member did to it."""

    likes: int = 0
    boosts: int = 0
    liked: bool = False
    boosted: bool = False


async def summaries(tx: Tx, shown: list[Post], viewer: Member | None) -> dict[int, Summary]:
    """Like and boost counts (and the viewer's own reactions) for the posts on a page."""
    ids = [post.id for post in shown]
    if not ids:
        return {}
    counts: dict[tuple[int, str], int] = {
        (post_id, kind): int(total)
        for post_id, kind, total in await tx.session.execute(
            select(Reaction.post_id, Reaction.kind, func.count(Reaction.id))
            .where(Reaction.post_id.in_(ids))
            .group_by(Reaction.post_id, Reaction.kind)
        )
    }
    mine: set[tuple[int, str]] = set()
    if viewer is not None:
        mine = {
            (post_id, kind)
            for post_id, kind in await tx.session.execute(
                select(Reaction.post_id, Reaction.kind).where(
                    Reaction.post_id.in_(ids), Reaction.actor_id == viewer.actor_id
                )
            )
        }
    return {
        post_id: Summary(
            likes=counts.get((post_id, "like"), 0),
            boosts=counts.get((post_id, "announce"), 0),
            liked=(post_id, "like") in mine,
            boosted=(post_id, "announce") in mine,
        )
        for post_id in ids
    }


async def of_post(tx: Tx, post: Post) -> list[Reaction]:
    """Who liked and boosted a post, oldest first."""
    return list(
        await tx.session.scalars(
            select(Reaction).where(Reaction.post_id == post.id).order_by(Reaction.id)
        )
    )


async def find(tx: Tx, kind: str, actor: Actor, post: Post) -> Reaction | None:
    """An actor's like (or boost) of a post, if there is one."""
    return await tx.session.scalar(
        select(Reaction).where(
            Reaction.kind == kind, Reaction.actor_id == actor.id, Reaction.post_id == post.id
        )
    )


async def resolve_post(tx: Tx, url: str) -> Post:
    """A post known here by its id or URL, or else fetched from its server and kept."""
    url = url.strip()
    try:
        return await posts.find_by_url(tx, url)
    except NotFound:
        if urlsplit(url).scheme not in ("http", "https") or len(url) > 2048:
            raise InvalidInput(f"{url!r} is not the address of a post") from None
    document = await remote_actors.fetch_document(tx, url)
    uri = id_of(document)
    if uri is None or not types_of(document) & notes.NOTE_TYPES:
        raise InvalidInput("that address is not a post (Note, Article, Page or Question)")
    if uri != url:
        try:
            return await posts.find_by_url(tx, uri)  # a page URL whose id we already know
        except NotFound:
            # Mastodon's JsonLdHelper#fetch_resource: a page URL leads to the copy at the id.
            document = await notes.fetch_note(tx, uri)
    # From here the path every remote note takes (node.notes): origin, sanitising, licence,
    # linked attachments, mentions and thread.
    try:
        author = await remote_actors.fetch(tx, notes.author_of(document))
    except Ignored as exc:
        raise InvalidInput(f"{uri} is not on the server of its author") from exc
    try:
        visibility = visibility_of(document, author.followers_uri)
    except VocabularyError as exc:
        raise InvalidInput(f"{uri}: {exc.reason}") from exc
    if visibility not in BOOSTABLE:
        # As node.notes keeps only public and unlisted notes fetched for anyone here.
        raise InvalidInput(f"{uri} is not public: open it on its own server")
    try:
        return await notes.store(tx, document, author)
    except Ignored as exc:
        raise InvalidInput(f"{uri}: {exc.reason}") from exc


def _activity(actor: Actor, kind: str, post: Post, uri: str) -> dict[str, Any]:
    if kind == "like":
        # Mastodon's ActivityPub::LikeSerializer: id, type, actor, object (no addressing).
        return documents.activity(actor, "Like", post.uri, uri, to=[post.author.uri])
    # Mastodon's ActivityPub::ActivitySerializer for a reblog: public, cc the author and
    # the booster's followers.
    return documents.activity(
        actor,
        "Announce",
        post.uri,
        uri,
        to=[PUBLIC],
        cc=[post.author.uri, actor.followers_uri or ""],
    )


async def _audience(tx: Tx, actor: Actor, kind: str, post: Post) -> list[Actor]:
    # A Like goes to the post's author only; a boost also to the booster's followers.
    targets = [post.author]
    if kind == "announce":
        targets += await follows.remote_followers(tx, actor)
    return targets


async def react(tx: Tx, member: Member, kind: str, post: Post) -> Reaction:
    """Like or boost a post as a member, telling the author's server (and followers, for boosts)."""
    actor = member.actor
    if post.deleted_at is not None:
        raise NotFound("this post was deleted")
    if kind == "announce" and post.visibility not in BOOSTABLE:
        raise Forbidden("only public and unlisted posts can be boosted")
    if await find(tx, kind, actor, post) is not None:
        raise Conflict(
            "you already boosted this post" if kind == "announce" else "you already like this post"
        )
    uri = delivery.new_activity_uri(tx, actor)
    reaction = Reaction(uri=uri, kind=kind, actor_id=actor.id, post_id=post.id, created_at=tx.now())
    tx.session.add(reaction)
    await tx.session.flush()
    if not post.author.local or kind == "announce":
        await delivery.publish(
            tx,
            actor,
            _activity(actor, kind, post, uri),
            recipients=await _audience(tx, actor, kind, post),
            public=kind == "announce",  # boosts are listed in the outbox, likes are not
        )
    if post.author.local:
        await notifications.add(tx, post.author, NOTIFY_AS[kind], actor=actor, post=post)
    return reaction


async def withdraw(tx: Tx, member: Member, kind: str, post: Post) -> None:
    """Take back a like or boost, sending Undo with the original activity embedded."""
    actor = member.actor
    reaction = await find(tx, kind, actor, post)
    if reaction is None:
        raise NotFound(
            "you have not boosted this post" if kind == "announce" else "you do not like this post"
        )
    if not post.author.local or kind == "announce":
        original = _activity(actor, kind, post, reaction.uri)
        original.pop("@context")
        # Mastodon's UndoAnnounceSerializer addresses the Undo like the Announce (public).
        to = original["to"]
        undo = documents.activity(
            actor,
            "Undo",
            original,
            delivery.new_activity_uri(tx, actor),
            to=to,
            cc=original.get("cc"),
        )
        await delivery.publish(
            tx, actor, undo, recipients=await _audience(tx, actor, kind, post), public=False
        )
        announced = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.uri == reaction.uri)
        )
        if announced is not None:
            announced.public = False  # an undone boost leaves the outbox collection
    await _forget(tx, reaction)


async def _forget(tx: Tx, reaction: Reaction) -> None:
    # The notification of a withdrawn like goes too, as Mastodon's does with its favourite.
    await tx.session.execute(
        delete(Notification).where(
            Notification.kind == NOTIFY_AS[reaction.kind],
            Notification.actor_id == reaction.actor_id,
            Notification.post_id == reaction.post_id,
        )
    )
    await tx.session.delete(reaction)


async def on_like(tx: Tx, incoming: Incoming) -> None:
    """Someone elsewhere likes a post of ours (or one in a community of ours)."""
    # Mastodon's ActivityPub::Activity::Like: only favourites of local statuses are kept.
    post = await tx.session.scalar(select(Post).where(Post.uri == incoming.object_id))
    if post is None or post.deleted_at is not None:
        raise Ignored(f"{incoming.object_id} is not a post on this node")
    if not post.local and post.community_id is None:
        raise Ignored("likes of other servers' posts are theirs to count")
    if await find(tx, "like", incoming.actor, post) is not None:
        raise Ignored("already liked")
    if await tx.session.scalar(select(Reaction.id).where(Reaction.uri == incoming.uri)):
        raise Ignored("this Like is already recorded")
    tx.session.add(
        Reaction(
            uri=incoming.uri,
            kind="like",
            actor_id=incoming.actor.id,
            post_id=post.id,
            created_at=tx.now(),
        )
    )
    await tx.session.flush()
    await notifications.add(tx, post.author, "like", actor=incoming.actor, post=post)


async def _undo(tx: Tx, incoming: Incoming, kind: str | None) -> None:
    obj = incoming.object
    reaction = None
    if incoming.object_id:
        reaction = await tx.session.scalar(
            select(Reaction).where(Reaction.uri == incoming.object_id)
        )
    if reaction is None and kind is not None and isinstance(obj, dict):
        # Some servers embed a Like with an id of their own making: match by actor and post.
        post = await tx.session.scalar(select(Post).where(Post.uri == id_of(obj.get("object"))))
        if post is not None:
            reaction = await find(tx, kind, incoming.actor, post)
    if reaction is None or (kind is not None and reaction.kind != kind):
        raise Ignored(f"no {KINDS.get(kind or '', 'reaction')} {incoming.object_id} here")
    if reaction.actor_id != incoming.actor.id:
        # Undo applies only to the signer's own activities.
        raise Ignored(f"{incoming.actor.uri} cannot undo another actor's {reaction.kind}")
    await _forget(tx, reaction)


async def on_undo_like(tx: Tx, incoming: Incoming) -> None:
    """Someone takes back a like."""
    await _undo(tx, incoming, "like")


async def on_undo_announce(tx: Tx, incoming: Incoming) -> None:
    """Someone takes back a boost."""
    await _undo(tx, incoming, "announce")


async def on_undo(tx: Tx, incoming: Incoming) -> None:
    """An Undo whose object is only an id (or of an unexpected type): find what it names."""
    # Mastodon's Undo#handle_reference guesses the same way: a reaction, then a follow.
    if incoming.object_id is None:
        raise Ignored("Undo without an object")
    if await tx.session.scalar(select(Reaction.id).where(Reaction.uri == incoming.object_id)):
        await _undo(tx, incoming, None)
    elif await tx.session.scalar(select(Follow.id).where(Follow.uri == incoming.object_id)):
        await follows.on_undo_follow(tx, incoming)
    else:
        raise Ignored(f"nothing called {incoming.object_id} here to undo")
