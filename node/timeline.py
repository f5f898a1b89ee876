"""Timelines: a member's home timeline and the public posts of any actor known here.

Each page is one query over indexed columns (plus the selectin loads of authors, communities,
attachments and mentions), newest first, paged with a keyset cursor: `before` is the id of the
last post shown, so pages stay stable while new posts arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_, select

from node import policy as federation_policy
from node import posts
from node.errors import NotFound
from node.posts import LISTED
from node.runtime import Tx
from storage.models import (
    Actor,
    Community,
    Follow,
    Member,
    Membership,
    Mention,
    Post,
    Reaction,
)

PAGE_SIZE = 30


@dataclass
class Page:
    """One page of posts, and the cursor of the next (older) page when there is one."""

    posts: list[Post]
    older: int | None


async def home(
    tx: Tx, member: Member, *, before: int | None = None, limit: int = PAGE_SIZE
) -> Page:
    """A member's home timeline: own posts, followed actors' posts, their communities' posts."""
    me = member.actor_id
    followed = select(Follow.followed_id).where(
        Follow.follower_id == me, Follow.state == "accepted"
    )
    joined = select(Membership.community_id).where(
        Membership.actor_id == me, Membership.state == "approved"
    )
    followed_communities = select(Community.id).where(Community.actor_id.in_(followed))
    # FEP-1b12: a post into a remote group names the group in `audience` (Lemmy, Guildhall).
    followed_groups = select(Actor.uri).where(
        Actor.id.in_(followed), Actor.kind == "group", Actor.local.is_(False)
    )
    # Mastodon's home feed shows what followed accounts boost; remote groups re-share this way.
    boosted = select(Reaction.post_id).where(
        Reaction.kind == "announce", Reaction.actor_id.in_(followed)
    )
    # A followers-only or direct post that names the member reaches them from anyone, as a
    # message does (public posts mentioning them are notifications, not home timeline posts).
    addressed = select(Mention.post_id).where(Mention.actor_id == me)
    source = or_(
        Post.author_id == me,
        Post.author_id.in_(followed),
        Post.community_id.in_(joined),
        Post.community_id.in_(followed_communities),
        and_(
            Post.local.is_(False),
            Post.community_id.is_(None),
            Post.raw["audience"].as_string().in_(followed_groups),
        ),
        Post.id.in_(boosted),
        and_(Post.visibility.not_in(LISTED), Post.id.in_(addressed)),
    )
    # Followers-only posts reach their author's followers only, direct posts their recipients.
    visible = posts.readable_by(member.actor)
    query = select(Post).where(Post.deleted_at.is_(None), source, visible)
    # A limited domain's actors reach the home timelines of their followers only, not those of
    # members who meet them in a community or through a boost (Mastodon's silence).
    silenced = await federation_policy.silenced_authors(tx, member.actor)
    if silenced is not None:
        query = query.where(Post.author_id.not_in(silenced))
    return await _page(tx, query, before, limit)


async def of_actor(
    tx: Tx, actor: Actor, *, before: int | None = None, limit: int = PAGE_SIZE
) -> Page:
    """An actor's public and unlisted posts and replies known here, newest first."""
    query = select(Post).where(
        Post.author_id == actor.id, Post.deleted_at.is_(None), Post.visibility.in_(LISTED)
    )
    return await _page(tx, query, before, limit)


async def known_actor(tx: Tx, *, uri: str | None = None, handle: str | None = None) -> Actor:
    """An actor already known here, by id or by `name@domain`; never fetched, else NotFound."""
    if uri is not None:
        actor = await tx.session.scalar(select(Actor).where(Actor.uri == uri.strip()))
    else:
        name, _, domain = (handle or "").strip().lstrip("@").rpartition("@")
        if not name:  # a bare name is one of ours
            name, domain = domain.lower(), tx.settings.domain
        actor = await tx.session.scalar(
            select(Actor).where(Actor.name == name, Actor.domain == domain.lower())
        )
    if actor is None:
        raise NotFound("this account is not known here yet: search for it to look it up")
    return actor


async def _page(tx: Tx, query: Select[Any], before: int | None, limit: int) -> Page:
    if before is not None:
        # Keyset paging on (published_at, id): the cursor's time comes from a subquery.
        cursor = select(Post.published_at).where(Post.id == before).scalar_subquery()
        query = query.where(
            or_(
                Post.published_at < cursor,
                and_(Post.published_at == cursor, Post.id < before),
            )
        )
    rows = list(
        await tx.session.scalars(
            query.order_by(Post.published_at.desc(), Post.id.desc()).limit(limit + 1)
        )
    )
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(posts=rows[:limit], older=older)
