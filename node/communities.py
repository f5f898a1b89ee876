"""Communities of practice: creating them, who belongs, and the "commons" that shows them alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, true

from node import actors, discovery, follows, profile_updates
from node import policy as federation_policy
from node.errors import Conflict, Forbidden, InvalidInput, NotFound
from node.licences import Licence, optional_licence
from node.rendering import markdown_to_html
from node.runtime import Tx
from storage.models import Actor, Community, Member, Membership, Post

KINDS = ("teacher", "youth")
COMMUNITY_ROLES = ("member", "mentor", "steward")
NEWCOMER_PERIOD = timedelta(days=30)
# How open a community requires its posts to be; None accepts any licence, or none.
OPENNESS = {
    "shared": "a licence that lets others share them (not all rights reserved)",
    # https://freedomdefined.org/Definition: the open educational resources licences.
    "free": "CC0, the Public Domain Mark, CC BY or CC BY-SA (free cultural works)",
}
ACTIVE_PERIOD = timedelta(days=7)
# The commons is a public page: only what anyone may read (node.posts.LISTED; node.posts imports
# this module, so the pair is spelt out here). Followers-only and direct posts never show on it.
LISTED = ("public", "unlisted")


async def add(
    tx: Tx,
    name: str,
    *,
    title: str,
    description: str = "",
    kind: str = "teacher",
    default_license: str | None = None,
    closed: bool = False,
    minimum_openness: str | None = None,
) -> Community:
    """A new community with its Group actor."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown community kind {kind!r}: choose {' or '.join(KINDS)}")
    title = _check_title(title)
    _check_description(description)
    licence = optional_licence(default_license)
    _check_level(minimum_openness)
    actor = await actors.create_local(tx, "group", name, title)
    actor.summary_html = markdown_to_html(description) if description.strip() else ""
    actor.manually_approves_followers = closed
    community = Community(
        actor=actor,
        title=title,
        description_source=description,
        kind=kind,
        default_license=licence.spdx_id if licence else None,
        closed=closed,
        minimum_openness=minimum_openness,
        created_at=tx.now(),
    )
    if licence is not None:
        check_openness(community, licence)  # its own default must meet its own rule
    tx.session.add(community)
    await tx.session.flush()
    return community


def _check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > 120:
        raise InvalidInput("a community needs a title of at most 120 characters")
    return title


def _check_description(description: str) -> None:
    if len(description) > 5000:
        raise InvalidInput("a description is at most 5000 characters")


def _check_level(level: str | None) -> None:
    if level is not None and level not in OPENNESS:
        raise InvalidInput(f"unknown openness {level!r}: choose {' or '.join(OPENNESS)}")


def meets(level: str | None, licence: Licence | None) -> bool:
    """Whether a licence is open enough for a community's minimum openness."""
    if level is None:
        return True
    if licence is None:
        return False
    if level == "free":
        return licence.is_creative_commons and not licence.conditions & {"NC", "ND"}
    return True


def check_openness(community: Community, licence: Licence | None) -> None:
    """Forbidden, saying what the community accepts, when a licence is not open enough."""
    if meets(community.minimum_openness, licence):
        return
    given = licence.name if licence else "no licence (all rights reserved)"
    raise Forbidden(
        f"{community.title} accepts only {OPENNESS[community.minimum_openness or '']}; "
        f"this work has {given}. Choose another licence to share it here."
    )


async def set_minimum_openness(
    tx: Tx, acting: Member, community: Community, level: str | None
) -> Community:
    """Require posts to be at least this open (stewards and administrators)."""
    if not await can_steward(tx, community, acting):
        raise Forbidden("only the community's stewards and administrators may set this")
    _check_level(level)
    community.minimum_openness = level
    return community


@dataclass(frozen=True)
class CommunitySettings:
    """What stewards may change about a community (its name and kind stay)."""

    title: str
    description: str
    default_license: str | None  # an SPDX id; None: posts take their author's licence
    minimum_openness: str | None  # None, or a key of OPENNESS
    closed: bool


def settings_of(community: Community) -> CommunitySettings:
    """A community's current settings, to edit."""
    return CommunitySettings(
        title=community.title,
        description=community.description_source,
        default_license=community.default_license,
        minimum_openness=community.minimum_openness,
        closed=community.closed,
    )


async def update(
    tx: Tx, acting: Member | None, community: Community, wanted: CommunitySettings
) -> Community:
    """Change a community's settings (stewards, administrators, or the operator's shell when
    acting is None) and tell its followers' servers when its Group actor changed."""
    if acting is not None and not await can_steward(tx, community, acting):
        raise Forbidden("only the community's stewards and administrators may change its settings")
    title = _check_title(wanted.title)
    _check_description(wanted.description)
    licence = optional_licence(wanted.default_license)
    _check_level(wanted.minimum_openness)
    if licence is not None and not meets(wanted.minimum_openness, licence):
        raise InvalidInput(
            f"the default licence ({licence.name}) must itself be open enough: this community "
            f"would accept only {OPENNESS[wanted.minimum_openness or '']}"
        )
    actor = community.actor
    before = await discovery.actor_document(tx, actor)
    opened = community.closed and not wanted.closed
    community.title = title
    community.description_source = wanted.description
    community.default_license = licence.spdx_id if licence else None
    community.minimum_openness = wanted.minimum_openness
    community.closed = wanted.closed
    actor.display_name = title
    actor.summary_html = markdown_to_html(wanted.description) if wanted.description.strip() else ""
    actor.manually_approves_followers = wanted.closed
    if opened:
        # Mastodon's UpdateAccountService authorizes every pending follow request when an
        # account is unlocked; an open community takes its waiting members the same way.
        for record in await follows.requests(tx, actor):
            await follows.decide(tx, record, accept=True)
        for waiting in await tx.session.scalars(
            select(Membership).where(
                Membership.community_id == community.id, Membership.state == "pending"
            )
        ):
            waiting.state = "approved"
    after = await discovery.actor_document(tx, actor)
    if after != before:
        actor.updated_at = tx.now()
        await profile_updates.publish(tx, actor, after)
    return community


async def get(tx: Tx, name: str) -> Community:
    """The local community with this name, or NotFound."""
    community = await tx.session.scalar(
        select(Community).join(Community.actor).where(Actor.name == name.strip().lower())
    )
    if community is None:
        raise NotFound(f"no community called {name!r} on this node")
    return community


async def listing(tx: Tx) -> list[Community]:
    """Every community, by title."""
    return list(await tx.session.scalars(select(Community).order_by(Community.title)))


async def membership(tx: Tx, community: Community, actor: Actor) -> Membership | None:
    """The actor's membership of the community, if any."""
    return await tx.session.scalar(
        select(Membership).where(
            Membership.community_id == community.id, Membership.actor_id == actor.id
        )
    )


async def join(
    tx: Tx, community: Community, member: Member, *, approved: bool = False
) -> Membership:
    """Add a member; closed communities hold the request until a steward approves it."""
    if await membership(tx, community, member.actor) is not None:
        raise Conflict(f"{member.actor.name} already belongs to {community.actor.name}")
    record = Membership(
        community_id=community.id,
        actor_id=member.actor_id,
        role="member",
        state="pending" if community.closed and not approved else "approved",
        joined_at=tx.now(),
    )
    tx.session.add(record)
    await tx.session.flush()
    return record


async def leave(tx: Tx, community: Community, member: Member) -> None:
    """Remove a member's membership."""
    record = await membership(tx, community, member.actor)
    if record is None:
        raise NotFound(f"{member.actor.name} is not a member of {community.actor.name}")
    await tx.session.delete(record)


async def can_steward(tx: Tx, community: Community, member: Member) -> bool:
    """Whether the member may approve members and set roles here (stewards and admins)."""
    if member.role == "admin":
        return True
    record = await membership(tx, community, member.actor)
    return record is not None and record.state == "approved" and record.role == "steward"


async def set_member_role(
    tx: Tx, acting: Member, community: Community, member: Member, role: str
) -> Membership:
    """Make a member a mentor, steward or plain member of the community."""
    if role not in COMMUNITY_ROLES:
        raise InvalidInput(f"unknown community role {role!r}: choose {', '.join(COMMUNITY_ROLES)}")
    if not await can_steward(tx, community, acting):
        raise Forbidden("only the community's stewards and administrators may set roles")
    record = await membership(tx, community, member.actor)
    if record is None:
        raise NotFound(f"{member.actor.name} is not a member of {community.actor.name}")
    record.role = role
    return record


async def approve(tx: Tx, acting: Member, community: Community, member: Member) -> Membership:
    """Approve a pending membership of a closed community."""
    if not await can_steward(tx, community, acting):
        raise Forbidden("only the community's stewards and administrators may approve members")
    record = await membership(tx, community, member.actor)
    if record is None:
        raise NotFound(f"{member.actor.name} has not asked to join {community.actor.name}")
    record.state = "approved"
    return record


async def may_post(tx: Tx, community: Community, member: Member) -> bool:
    """Open communities take posts from any member; closed ones from approved members only."""
    if not community.closed:
        return True
    record = await membership(tx, community, member.actor)
    return record is not None and record.state == "approved"


@dataclass
class Commons:
    """What the community page shows: who is here, what is being discussed, who is new."""

    community: Community
    members: list[Membership]
    pending: list[Membership]
    threads: list[Post]
    reply_counts: dict[int, int]
    active_this_week: list[Actor]
    newcomers: list[Membership]


async def commons(
    tx: Tx, community: Community, viewer: Actor | None = None, thread_limit: int = 30
) -> Commons:
    """The community page's data, as the viewer (None: a visitor) may see it, in a few queries."""
    # A public listing: a limited domain's actors show only to those who follow them.
    silenced = await federation_policy.silenced_authors(tx, viewer)
    heard = Post.author_id.not_in(silenced) if silenced is not None else true()
    memberships = list(
        await tx.session.scalars(
            select(Membership)
            .where(Membership.community_id == community.id)
            .order_by(Membership.joined_at.desc())
        )
    )
    approved = [m for m in memberships if m.state == "approved"]
    threads = list(
        await tx.session.scalars(
            select(Post)
            .where(
                Post.community_id == community.id,
                Post.in_reply_to_id.is_(None),
                Post.deleted_at.is_(None),
                Post.visibility.in_(LISTED),
                heard,
            )
            .order_by(Post.published_at.desc())
            .limit(thread_limit)
        )
    )
    counts: dict[int, int] = {}
    if threads:
        rows = await tx.session.execute(
            select(Post.thread_id, func.count(Post.id))
            .where(
                Post.thread_id.in_([t.id for t in threads]),
                Post.in_reply_to_id.is_not(None),
                Post.deleted_at.is_(None),
                Post.visibility.in_(LISTED),
            )
            .group_by(Post.thread_id)
        )
        counts = {thread_id: n for thread_id, n in rows.all() if thread_id is not None}
    since = tx.now() - ACTIVE_PERIOD
    active = list(
        await tx.session.scalars(
            select(Actor)
            .where(
                Actor.id.in_(
                    select(Post.author_id).where(
                        Post.community_id == community.id,
                        Post.published_at >= since,
                        Post.deleted_at.is_(None),
                        Post.visibility.in_(LISTED),
                        heard,
                    )
                )
            )
            .order_by(Actor.name)
        )
    )
    newcomer_since = tx.now() - NEWCOMER_PERIOD
    return Commons(
        community=community,
        members=approved,
        pending=[m for m in memberships if m.state == "pending"],
        threads=threads,
        reply_counts=counts,
        active_this_week=active,
        newcomers=[m for m in approved if m.joined_at >= newcomer_since],
    )
