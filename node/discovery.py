"""How other servers find things here: WebFinger, host-meta, NodeInfo and local actor documents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from federation import nodeinfo
from federation.domains import DomainError, normalize_authority
from federation.webfinger import Acct, WebFingerError, jrd_document, parse_resource
from node import actors, documents
from node.errors import InvalidInput, NotFound
from node.runtime import Tx
from storage.models import Actor, Community, Member, Post

SOFTWARE = nodeinfo.Software(
    name="guildhall",
    version="0.1.0",
    repository="https://github.com/guildhall/guildhall",
    homepage="https://github.com/guildhall/guildhall",
)


async def local_actor_by_uri(tx: Tx, uri: str) -> Actor | None:
    """The local actor with this id or profile URL."""
    return await tx.session.scalar(
        select(Actor).where(Actor.local.is_(True), (Actor.uri == uri) | (Actor.url == uri))
    )


async def webfinger(tx: Tx, resource: str) -> dict[str, Any]:
    """The JRD for `acct:name@ourdomain` or one of our actor URLs."""
    try:
        parsed = parse_resource(resource, allow_http=tx.settings.dev)
    except WebFingerError as exc:
        raise InvalidInput(exc.reason) from exc
    if isinstance(parsed, Acct):
        try:
            host = normalize_authority(parsed.host)
        except DomainError as exc:
            raise InvalidInput(exc.reason) from exc
        if host != tx.settings.domain:
            raise NotFound(f"{parsed.host} is not this server")
        instance = await actors.instance_actor(tx)
        actor = (
            instance if parsed.name == instance.name else await actors.find_local(tx, parsed.name)
        )
    else:
        actor = await local_actor_by_uri(tx, parsed)
    if actor is None:
        raise NotFound(f"no actor for {resource} here")
    return jrd_document(
        Acct(actor.name, tx.settings.domain),
        actor.uri,
        profile_url=actor.url if actor.kind != "application" else None,
        subscribe_template=tx.settings.url("/authorize_interaction?uri={uri}"),
        aliases=[actor.uri],
    )


async def actor_document(tx: Tx, actor: Actor) -> dict[str, Any]:
    """The AS2 document of a local actor, with what its member or community adds."""
    member = await tx.session.scalar(select(Member).where(Member.actor_id == actor.id))
    community = await tx.session.scalar(select(Community).where(Community.actor_id == actor.id))
    return documents.actor_document(tx, actor, member, community)


async def nodeinfo_document(tx: Tx, version: str) -> dict[str, Any]:
    """NodeInfo with real usage counts (members active by their posts)."""
    now = tx.now()

    async def active_since(days: int) -> int:
        return int(
            await tx.session.scalar(
                select(func.count(func.distinct(Post.author_id))).where(
                    Post.local.is_(True), Post.published_at >= now - timedelta(days=days)
                )
            )
            or 0
        )

    total = int(await tx.session.scalar(select(func.count(Member.id))) or 0)
    local_posts = int(
        await tx.session.scalar(
            select(func.count(Post.id)).where(Post.local.is_(True), Post.in_reply_to_id.is_(None))
        )
        or 0
    )
    comments = int(
        await tx.session.scalar(
            select(func.count(Post.id)).where(Post.local.is_(True), Post.in_reply_to_id.isnot(None))
        )
        or 0
    )
    return nodeinfo.nodeinfo_document(
        version,
        SOFTWARE,
        nodeinfo.Usage(
            total, await active_since(30), await active_since(180), local_posts, comments
        ),
        open_registrations=False,
        metadata={"nodeName": tx.settings.name},
    )
