"""Members: people with an account here, their roles, profiles and passwords."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from node import actors, identity, profile_updates
from node.errors import Forbidden, InvalidInput, NotFound
from node.licences import optional_licence
from node.passwords import hash_password
from node.rendering import markdown_to_html
from node.runtime import Tx
from storage.models import Actor, Member

ROLES = ("member", "mentor", "moderator", "admin")
MAX_PROFILE_LINKS = 4  # Mastodon shows four profile fields


def check_role(role: str) -> str:
    """The role, or InvalidInput listing the ones that exist."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


async def add(
    tx: Tx,
    name: str,
    *,
    display_name: str = "",
    role: str = "member",
    password: str | None = None,
) -> Member:
    """A new member with their actor and keys; the password is optional (sign-in links work)."""
    check_role(role)
    if len(display_name) > 100:
        raise InvalidInput("display names are at most 100 characters")
    # Hashed before the actor exists, so a refused password leaves no actor in the transaction.
    password_hash = hash_password(password) if password is not None else None
    actor = await actors.create_local(tx, "person", name, display_name)
    member = Member(
        actor=actor,
        role=role,
        password_hash=password_hash,
        bio_source="",
        profile_links=[],
        created_at=tx.now(),
    )
    tx.session.add(member)
    await tx.session.flush()
    return member


async def get(tx: Tx, name: str) -> Member:
    """The member with this name, or NotFound."""
    member = await tx.session.scalar(
        select(Member)
        .join(Member.actor)
        .where(Actor.name == name.strip().lstrip("@").lower(), Actor.local.is_(True))
    )
    if member is None:
        raise NotFound(f"no member called {name!r} on this node")
    return member


async def by_id(tx: Tx, member_id: int) -> Member | None:
    """The member with this database id, if it still exists."""
    return await tx.session.get(Member, member_id)


async def listing(tx: Tx) -> list[Member]:
    """Every member, newest first."""
    result = await tx.session.scalars(select(Member).order_by(Member.created_at.desc()))
    return list(result)


async def count(tx: Tx) -> int:
    """How many members the node has."""
    return int(await tx.session.scalar(select(func.count(Member.id))) or 0)


def require_admin(member: Member) -> None:
    """Forbidden unless the member administers the node."""
    if member.role != "admin":
        raise Forbidden("only administrators may do this")


async def set_role(tx: Tx, acting: Member | None, name: str, role: str) -> Member:
    """Change a member's node-wide role (administrators, or the operator's shell when acting is
    None); the last administrator cannot be demoted."""
    if acting is not None:
        require_admin(acting)
    check_role(role)
    member = await get(tx, name)
    if member.role == "admin" and role != "admin":
        admins = await tx.session.scalar(
            select(func.count(Member.id)).where(Member.role == "admin")
        )
        if (admins or 0) <= 1:
            raise InvalidInput("the node needs at least one administrator")
    member.role = role
    return member


async def update_profile(
    tx: Tx,
    member: Member,
    *,
    display_name: str,
    bio: str,
    default_license: str | None,
    links: list[tuple[str, str]],
) -> Member:
    """Change what a member shows about themselves; links are (label, URL) pairs."""
    if len(display_name) > 100:
        raise InvalidInput("display names are at most 100 characters")
    if len(bio) > 2000:
        raise InvalidInput("a bio is at most 2000 characters")
    licence = optional_licence(default_license)
    cleaned: list[dict[str, Any]] = []
    for label, url in links:
        label, url = label.strip(), url.strip()
        if not label and not url:
            continue
        if not label or len(label) > 60:
            raise InvalidInput("each profile link needs a label of at most 60 characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
            raise InvalidInput(f"{url!r} is not a web address (http or https)")
        cleaned.append({"label": label, "url": url})
    if len(cleaned) > MAX_PROFILE_LINKS:
        raise InvalidInput(f"at most {MAX_PROFILE_LINKS} profile links")
    member.actor.display_name = display_name.strip()
    member.bio_source = bio
    member.actor.summary_html = markdown_to_html(bio) if bio.strip() else ""
    member.default_license = licence.spdx_id if licence else None
    member.profile_links = cleaned
    member.actor.updated_at = tx.now()
    # New or changed links are due for their rel="me" check at once (the worker runs it), as
    # Mastodon's UpdateAccountService#check_links queues VerifyAccountLinksWorker on every save;
    # removed ones stop being checked.
    await identity.schedule_links(tx, member)
    await profile_updates.publish(tx, member.actor)
    return member
