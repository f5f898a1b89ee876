"""Notifications: what a local member should know about, newest first, and which are unread."""

from __future__ import annotations

from sqlalchemy import func, select, update

from node import policy as federation_policy
from node.runtime import Tx
from storage.models import Actor, Follow, Member, Notification, Post, Report

KINDS = ("mention", "reply", "follow", "follow_request", "like", "boost", "report")
MODERATING_ROLES = ("moderator", "admin")
PAGE_SIZE = 50


async def add(
    tx: Tx,
    recipient: Actor,
    kind: str,
    *,
    actor: Actor | None = None,
    post: Post | None = None,
    report: Report | None = None,
) -> Notification | None:
    """Tell the member behind a local actor that something happened (nobody else is told)."""
    member = await tx.session.scalar(select(Member).where(Member.actor_id == recipient.id))
    if member is None or (actor is not None and actor.id == recipient.id):
        return None  # a community, the instance actor, or someone reacting to their own post
    # Moderators hear of every report; `reject reports` is the rule that refuses them.
    if actor is not None and kind != "report" and await silenced(tx, recipient, actor):
        return None
    notification = Notification(
        member_id=member.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        post_id=post.id if post else None,
        report_id=report.id if report else None,
        created_at=tx.now(),
    )
    tx.session.add(notification)
    await tx.session.flush()
    return notification


async def silenced(tx: Tx, recipient: Actor, sender: Actor) -> bool:
    """Whether a member is not told what an actor did: its domain is limited, and not followed."""
    # Mastodon's NotifyService#blocked?: `from_account.silenced? && !recipient.following?(...)`.
    if sender.local or not (await federation_policy.is_permitted(tx, sender.domain)).limited:
        return False
    followed = await tx.session.scalar(
        select(Follow.id).where(
            Follow.follower_id == recipient.id,
            Follow.followed_id == sender.id,
            Follow.state == "accepted",
        )
    )
    return followed is None


async def moderators(tx: Tx) -> list[Member]:
    """Every member who moderates the node (moderators and administrators)."""
    return list(
        await tx.session.scalars(
            select(Member).where(Member.role.in_(MODERATING_ROLES)).order_by(Member.id)
        )
    )


async def listing(tx: Tx, member: Member, limit: int = PAGE_SIZE) -> list[Notification]:
    """A member's latest notifications, newest first."""
    return list(
        await tx.session.scalars(
            select(Notification)
            .where(Notification.member_id == member.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


async def unread_count(tx: Tx, member: Member) -> int:
    """How many of a member's notifications they have not seen yet."""
    return int(
        await tx.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.member_id == member.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


async def mark_read(tx: Tx, member: Member) -> None:
    """Mark every notification of a member as seen."""
    await tx.session.execute(
        update(Notification)
        .where(Notification.member_id == member.id, Notification.read_at.is_(None))
        .values(read_at=tx.now())
    )


async def mark_report_read(tx: Tx, report: Report) -> None:
    """Mark every moderator's notification about a report as seen (it has been dealt with)."""
    await tx.session.execute(
        update(Notification)
        .where(Notification.report_id == report.id, Notification.read_at.is_(None))
        .values(read_at=tx.now())
    )


async def about_post(tx: Tx, recipient: Actor, kind: str, actor: Actor, post: Post) -> None:
    """Tell a local member about a post by someone else, unless that sender is silenced."""
    if not recipient.local or recipient.id == actor.id:
        return
    member = await tx.session.scalar(select(Member).where(Member.actor_id == recipient.id))
    if member is None or await silenced(tx, recipient, actor):
        return
    tx.session.add(
        Notification(
            member_id=member.id,
            kind=kind,
            actor_id=actor.id,
            post_id=post.id,
            created_at=tx.now(),
        )
    )
