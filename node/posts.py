"""Posts and replies: writing them with an author and a licence, and reading threads back."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, or_, select

from node import communities, mentions, notes
from node.errors import Forbidden, InvalidInput, NotFound
from node.licences import Licence, optional_licence
from node.rendering import markdown_to_html
from node.runtime import Tx
from storage.models import Actor, Attachment, Community, Follow, Member, Mention, Post

MAX_TITLE = 200
MAX_ATTACHMENTS = 4
POST_PATH = "/posts/"
LISTED = ("public", "unlisted")
HIDDEN = "this post does not exist or was deleted"


@dataclass(frozen=True)
class Draft:
    """What a member wrote, before it becomes a post."""

    text: str
    title: str = ""
    community: Community | None = None
    reply_to: str | None = None  # URL of the post answered
    licence: str | None = None  # SPDX id; None = the default; "none" = all rights reserved
    attachments: tuple[Attachment, ...] = ()
    based_on: tuple[str, ...] = ()  # ids of the works this adapts (node.derivatives)


def default_licence(community: Community | None, author: Member) -> Licence | None:
    """The licence a new post gets unless its author picks one: community's, then author's."""
    if community is not None and community.default_license:
        return optional_licence(community.default_license)
    return optional_licence(author.default_license)


async def find_by_url(tx: Tx, url: str) -> Post:
    """A post known here by its id or page URL, or NotFound."""
    url = url.strip()
    post = await tx.session.scalar(select(Post).where((Post.uri == url) | (Post.url == url)))
    if post is None and urlsplit(url).path.startswith(POST_PATH):
        key = urlsplit(url).path[len(POST_PATH) :].strip("/")
        if tx.settings.url(POST_PATH + key) == url.rstrip("/"):
            post = await tx.session.scalar(select(Post).where(Post.key == key))
    if post is None or post.deleted_at is not None:
        raise NotFound(f"no post at {url} is known on this node")
    return post


async def get(tx: Tx, key: str) -> Post:
    """The local or cached post with this public key, or NotFound."""
    post = await tx.session.scalar(select(Post).where(Post.key == key))
    if post is None or post.deleted_at is not None:
        raise NotFound(HIDDEN)
    return post


def readable_by(viewer: Actor | None) -> ColumnElement[bool]:
    """The SQL condition on Post for what an actor (None: anyone at all) may see."""
    # Mastodon's StatusPolicy#show?: private (followers-only) statuses for the author, accepted
    # followers and mentioned accounts; direct ones for the author and mentioned accounts.
    if viewer is None:
        return Post.visibility.in_(LISTED)
    followed = select(Follow.followed_id).where(
        Follow.follower_id == viewer.id, Follow.state == "accepted"
    )
    mentioned = select(Mention.post_id).where(Mention.actor_id == viewer.id)
    return or_(
        Post.visibility.in_(LISTED),
        Post.author_id == viewer.id,
        and_(Post.visibility == "followers", Post.author_id.in_(followed)),
        Post.id.in_(mentioned),
    )


async def visible_to(tx: Tx, post: Post, viewer: Actor | None) -> bool:
    """Whether an actor (None: anyone at all) may see a post, by its visibility."""
    if post.visibility in LISTED:
        return True
    if viewer is None:
        return False
    found = await tx.session.scalar(select(Post.id).where(Post.id == post.id, readable_by(viewer)))
    return found is not None


async def get_visible(tx: Tx, key: str, viewer: Actor | None) -> Post:
    """The post with this key if the viewer may see it; NotFound otherwise."""
    post = await get(tx, key)
    if not await visible_to(tx, post, viewer):
        # Mastodon answers 404, not 403, so a hidden post's existence is not confirmed.
        raise NotFound(HIDDEN)
    return post


async def create(tx: Tx, author: Member, draft: Draft) -> Post:
    """Publish a post or reply; the licence is explicit, the community's or the author's."""
    text = draft.text.strip()
    if not text:
        raise InvalidInput("a post needs some text")
    if len(text) > tx.settings.limits.max_post_chars:
        raise InvalidInput(f"posts are at most {tx.settings.limits.max_post_chars} characters")
    title = " ".join(draft.title.split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"titles are at most {MAX_TITLE} characters")
    if len(draft.attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"at most {MAX_ATTACHMENTS} files per post")
    # Checked before anything is written, so a refusal leaves no half-made post behind.
    for attachment in draft.attachments:
        if attachment.author_id != author.actor_id or attachment.post_id is not None:
            raise Forbidden("a post can only include its author's own, unused uploads")
    parent = await find_by_url(tx, draft.reply_to) if draft.reply_to else None
    community = draft.community or (parent.community if parent else None)
    if (
        parent is not None
        and draft.community is not None
        and parent.community_id != draft.community.id
    ):
        raise InvalidInput("a reply belongs to the community of the post it answers")
    if community is not None and not await communities.may_post(tx, community, author):
        raise Forbidden(f"{community.title} is closed: only approved members may post")
    chosen = (
        default_licence(community, author)
        if draft.licence is None
        else optional_licence(draft.licence)
    )
    if community is not None:
        communities.check_openness(community, chosen)
    content_html, mentioned = await mentions.link_mentions(tx, markdown_to_html(text))
    key = secrets.token_hex(8)
    uri = tx.settings.url(POST_PATH + key)
    now = tx.now()
    # A reply into a remote group's thread names that group too (FEP-1b12 `audience`).
    remote_audience = (parent.raw or {}).get("audience") if parent and not parent.local else None
    post = Post(
        key=key,
        uri=uri,
        url=uri,
        local=True,
        author_id=author.actor_id,
        community_id=community.id if community else None,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_uri=parent.uri if parent else None,
        thread_id=(parent.thread_id or parent.id) if parent else None,
        title=title,
        source=text,
        content_html=content_html,
        license=chosen.spdx_id if chosen else None,
        based_on=list(draft.based_on) or None,
        visibility="public",
        raw={"audience": remote_audience} if isinstance(remote_audience, str) else None,
        published_at=now,
    )
    tx.session.add(post)
    await tx.session.flush()
    for attachment in draft.attachments:
        attachment.post_id = post.id
    await tx.session.refresh(post, ["attachments", "author", "community", "mentions"])
    await mentions.record_mentions(tx, post, mentioned, parent)
    await notes.publish(tx, post, "Create")
    return post


def _may_change(member: Member, post: Post) -> None:
    if not post.local or post.deleted_at is not None:
        raise Forbidden("only posts written on this node can be changed here")
    if post.author_id != member.actor_id and member.role not in ("moderator", "admin"):
        raise Forbidden("only its author (or a moderator) may change a post")


async def edit(tx: Tx, member: Member, post: Post, text: str, title: str | None = None) -> Post:
    """Change a post's text (and title); followers and its community receive an Update."""
    _may_change(member, post)
    text = text.strip()
    if not text:
        raise InvalidInput("a post needs some text")
    if len(text) > tx.settings.limits.max_post_chars:
        raise InvalidInput(f"posts are at most {tx.settings.limits.max_post_chars} characters")
    if title is not None:
        title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            raise InvalidInput(f"titles are at most {MAX_TITLE} characters")
        post.title = title
    post.source = text
    post.content_html, mentioned = await mentions.link_mentions(tx, markdown_to_html(text))
    post.updated_at = tx.now()
    await mentions.record_mentions(tx, post, mentioned)
    await notes.publish(tx, post, "Update")
    return post


async def delete(tx: Tx, member: Member, post: Post) -> None:
    """Delete a post; everyone who received it gets a Delete with a Tombstone."""
    _may_change(member, post)
    await notes.publish(tx, post, "Delete")
    post.deleted_at = tx.now()
    post.content_html = ""
    post.source = ""
    post.title = ""


@dataclass
class Thread:
    """A first post and every reply under it, oldest first."""

    root: Post
    replies: list[Post]


async def thread(tx: Tx, post: Post, viewer: Actor | None = None) -> Thread:
    """The thread a post belongs to, as much of it as the viewer (None: anyone) may see."""
    root_id = post.thread_id or post.id
    root = await tx.session.get(Post, root_id) or post
    if root.id != post.id and not await visible_to(tx, root, viewer):
        root = post  # a reply to a hidden post: the thread starts where the viewer's sight does
    replies = list(
        await tx.session.scalars(
            select(Post)
            .where(
                Post.thread_id == root_id,
                Post.id != root.id,
                Post.deleted_at.is_(None),
                readable_by(viewer),
            )
            .order_by(Post.published_at, Post.id)
        )
    )
    return Thread(root=root, replies=replies)


async def by_author(
    tx: Tx, author: Actor, limit: int = 50, viewer: Actor | None = None
) -> list[Post]:
    """An actor's latest posts and replies that the viewer (None: anyone) may see."""
    return list(
        await tx.session.scalars(
            select(Post)
            .where(Post.author_id == author.id, Post.deleted_at.is_(None), readable_by(viewer))
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(limit)
        )
    )


async def latest(tx: Tx, limit: int = 30) -> list[Post]:
    """The node's latest public threads, for the front page."""
    return list(
        await tx.session.scalars(
            select(Post)
            .where(
                Post.local.is_(True),
                Post.in_reply_to_id.is_(None),
                Post.deleted_at.is_(None),
                Post.visibility == "public",
            )
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(limit)
        )
    )
