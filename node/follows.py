"""Following: sending Follow and Undo, and handling Follow, Accept, Reject and Undo(Follow).

A follow's life is pending -> accepted (or rejected, or deleted by Undo). Open communities and
members accept at once; closed communities hold the request for a steward.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from federation.vocabulary import id_of
from node import delivery, documents
from node.errors import Conflict, InvalidInput, NotFound
from node.incoming import Incoming
from node.runtime import Tx
from storage.models import Actor, Follow


async def remote_followers(tx: Tx, actor: Actor) -> list[Actor]:
    """Accepted followers of an actor that live on other servers."""
    return list(
        await tx.session.scalars(
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(
                Follow.followed_id == actor.id, Follow.state == "accepted", Actor.local.is_(False)
            )
        )
    )


async def count(tx: Tx, actor: Actor, *, followers: bool) -> int:
    """How many accepted followers (or followees) an actor has."""
    column = Follow.followed_id if followers else Follow.follower_id
    return int(
        await tx.session.scalar(
            select(func.count(Follow.id)).where(column == actor.id, Follow.state == "accepted")
        )
        or 0
    )


async def page(tx: Tx, actor: Actor, *, followers: bool, offset: int, limit: int) -> list[str]:
    """Actor ids of one page of an actor's followers (or of whom it follows), newest first."""
    mine, theirs = (
        (Follow.followed_id, Follow.follower_id)
        if followers
        else (Follow.follower_id, Follow.followed_id)
    )
    return list(
        await tx.session.scalars(
            select(Actor.uri)
            .join(Follow, theirs == Actor.id)
            .where(mine == actor.id, Follow.state == "accepted")
            .order_by(Follow.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


async def find(tx: Tx, follower: Actor, followed: Actor) -> Follow | None:
    """The follow between two actors, whatever its state."""
    return await tx.session.scalar(
        select(Follow).where(Follow.follower_id == follower.id, Follow.followed_id == followed.id)
    )


async def outgoing(tx: Tx, actor: Actor) -> list[Follow]:
    """Everyone an actor follows or has asked to follow, whatever the state, newest first."""
    return list(
        await tx.session.scalars(
            select(Follow).where(Follow.follower_id == actor.id).order_by(Follow.id.desc())
        )
    )


async def requests(tx: Tx, actor: Actor) -> list[Follow]:
    """Follow requests waiting for a local actor's decision, oldest first."""
    return list(
        await tx.session.scalars(
            select(Follow)
            .where(Follow.followed_id == actor.id, Follow.state == "pending")
            .order_by(Follow.id)
        )
    )


async def request(tx: Tx, actor: Actor, follow_id: int) -> Follow:
    """One pending request to follow a local actor, or NotFound."""
    record = await tx.session.get(Follow, follow_id)
    if record is None or record.followed_id != actor.id or record.state != "pending":
        raise NotFound("this follow request does not exist or was already answered")
    return record


async def request_from(tx: Tx, actor: Actor, follower: Actor) -> Follow:
    """The pending request of `follower` to follow a local actor, or NotFound."""
    record = await find(tx, follower, actor)
    if record is None or record.state != "pending":
        raise NotFound(f"{follower.handle} has no pending request to follow {actor.handle}")
    return record


async def follow(tx: Tx, follower: Actor, target: Actor) -> Follow:
    """Follow an actor: at once when it is ours and open, otherwise by sending a Follow."""
    if follower.id == target.id:
        raise InvalidInput("you cannot follow yourself")
    if target.kind == "application":
        raise InvalidInput(f"{target.handle} is a server, not a person or community to follow")
    existing = await find(tx, follower, target)
    if existing is not None and existing.state != "rejected":
        raise Conflict(
            f"already following {target.handle}"
            if existing.state == "accepted"
            else f"a follow request to {target.handle} is waiting"
        )
    if existing is not None:
        await tx.session.delete(existing)
        await tx.session.flush()
    uri = delivery.new_activity_uri(tx, follower)
    record = Follow(
        uri=uri,
        follower_id=follower.id,
        followed_id=target.id,
        state="pending",
        created_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    if target.local:
        if not target.manually_approves_followers:
            record.state, record.accepted_at = "accepted", tx.now()
        return record
    document = documents.activity(follower, "Follow", target.uri, uri, to=[target.uri])
    await delivery.publish(tx, follower, document, recipients=[target], public=False)
    return record


async def unfollow(tx: Tx, follower: Actor, target: Actor) -> None:
    """Stop following (or withdraw a request), telling the other server with Undo(Follow)."""
    record = await find(tx, follower, target)
    if record is None:
        raise NotFound(f"you do not follow {target.handle}")
    if not target.local:
        follow_document = documents.activity(
            follower, "Follow", target.uri, record.uri, to=[target.uri]
        )
        follow_document.pop("@context")
        undo = documents.activity(
            follower,
            "Undo",
            follow_document,
            delivery.new_activity_uri(tx, follower),
            to=[target.uri],
        )
        await delivery.publish(tx, follower, undo, recipients=[target], public=False)
    await tx.session.delete(record)


async def decide(tx: Tx, record: Follow, accept: bool) -> None:
    """Accept or reject a pending follow of a local actor, telling the follower's server."""
    followed, follower = record.followed, record.follower
    record.state = "accepted" if accept else "rejected"
    record.accepted_at = tx.now() if accept else None
    if follower.local:
        return
    follow_document = documents.activity(
        follower, "Follow", followed.uri, record.uri, to=[followed.uri]
    )
    follow_document.pop("@context")
    answer = documents.activity(
        followed,
        "Accept" if accept else "Reject",
        follow_document,
        delivery.new_activity_uri(tx, followed),
        to=[follower.uri],
    )
    await delivery.publish(tx, followed, answer, recipients=[follower], public=False)
    if not accept:
        await tx.session.delete(record)


async def on_follow(tx: Tx, incoming: Incoming) -> None:
    """Someone elsewhere asks to follow one of our actors."""
    target = await incoming.local_object_actor(tx)
    if target.kind == "application":
        return  # the instance actor is not followable
    existing = await find(tx, incoming.actor, target)
    if existing is not None:
        # Mastodon re-sends Follow after a key change or a lost Accept: answer again.
        existing.uri = incoming.uri
        if existing.state == "accepted":
            await decide(tx, existing, True)
        return
    record = Follow(
        uri=incoming.uri,
        follower_id=incoming.actor.id,
        followed_id=target.id,
        state="pending",
        created_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    if not target.manually_approves_followers:
        await decide(tx, record, True)
    else:
        await incoming.notify(tx, target, "follow_request")


async def _follow_answered(tx: Tx, incoming: Incoming, accepted: bool) -> None:
    obj = incoming.document.get("object")
    follow_uri = id_of(obj)
    record = None
    if follow_uri:
        record = await tx.session.scalar(select(Follow).where(Follow.uri == follow_uri))
    if record is None and isinstance(obj, dict):
        # Some servers answer with a Follow object of their own making: match by the pair.
        follower = await tx.session.scalar(
            select(Actor).where(Actor.uri == id_of(obj.get("actor")))
        )
        if follower is not None:
            record = await find(tx, follower, incoming.actor)
    if record is None or record.followed_id != incoming.actor.id:
        return  # not a follow of ours towards this signer: ignore
    if accepted:
        record.state, record.accepted_at = "accepted", tx.now()
    else:
        await tx.session.delete(record)


async def on_accept(tx: Tx, incoming: Incoming) -> None:
    """A server accepted one of our follow requests."""
    await _follow_answered(tx, incoming, True)


async def on_reject(tx: Tx, incoming: Incoming) -> None:
    """A server rejected one of our follow requests (or removed a follower)."""
    await _follow_answered(tx, incoming, False)


async def on_undo_follow(tx: Tx, incoming: Incoming) -> None:
    """A remote follower unfollowed one of our actors."""
    obj: Any = incoming.document.get("object")
    record = await tx.session.scalar(select(Follow).where(Follow.uri == id_of(obj)))
    if record is None and isinstance(obj, dict):
        target_uri = id_of(obj.get("object"))
        target = await tx.session.scalar(select(Actor).where(Actor.uri == target_uri))
        if target is not None:
            record = await find(tx, incoming.actor, target)
    if record is not None and record.follower_id == incoming.actor.id:
        await tx.session.delete(record)
