"""Communities as FEP-1b12 groups: who may post into one from the fediverse, and re-sharing.

https://codeberg.org/fediverse/fep/src/branch/main/fep/1b12/fep-1b12.md: a group announces
every activity about its content to its followers. We send a Create twice, as
`Announce{Create{Note}}` for group-aware servers (Lemmy, Guildhall) and as `Announce{Note}` by id
for Mastodon, whose ActivityPub::Activity::Announce only boosts statuses and drops the first form.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from federation.vocabulary import PUBLIC, as_list, id_of, recipients_of, types_of
from node import communities, delivery, documents, follows
from node.errors import Forbidden
from node.licences import from_url
from node.runtime import Tx
from storage.models import Actor, Community, Post

SHARED_VISIBILITIES = ("public", "unlisted")


async def may_post(tx: Tx, community: Community, actor: Actor) -> bool:
    """Whether a remote actor may post into a community: a follower of an open one, or a member."""
    record = await communities.membership(tx, community, actor)
    if record is not None and record.state == "approved":
        return True
    if community.closed:
        return False
    # An accepted Follow is how the fediverse joins an open group (FEP-1b12, Lemmy, Guildhall).
    follow = await follows.find(tx, actor, community.actor)
    return follow is not None and follow.state == "accepted"


def licence_refusal(community: Community, note: dict[str, Any]) -> str | None:
    """Why a remote note's licence is not open enough for a community, or None when it is."""
    value = note.get("license")
    # Unstated or unrecognised means all rights reserved (DESIGN.md §5): never assumed open.
    found = from_url(value) if isinstance(value, str) else None
    try:
        communities.check_openness(community, found)
    except Forbidden as exc:
        return exc.reason
    return None


async def addressed_community(
    tx: Tx, note: dict[str, Any], activity: dict[str, Any], parent: Post | None
) -> Community | None:
    """The local community a remote note is meant for: its thread's, or one it mentions or
    addresses (`to`, `cc`, `audience`)."""
    if parent is not None and parent.community is not None:
        return parent.community
    mentioned = [
        href
        for tag in as_list(note.get("tag"))
        if "Mention" in types_of(tag) and isinstance(tag, dict)
        if (href := id_of(tag.get("href")))
    ]
    candidates = list(dict.fromkeys([*mentioned, *recipients_of(note), *recipients_of(activity)]))
    if not candidates:
        return None
    found = {
        community.actor.uri: community
        for community in await tx.session.scalars(
            select(Community)
            .join(Community.actor)
            .where(Actor.local.is_(True), Actor.uri.in_(candidates[:100]))
        )
    }
    return next((found[uri] for uri in candidates if uri in found), None)


async def announce(tx: Tx, community: Community, post: Post, activity: dict[str, Any]) -> None:
    """Re-share an activity (Create, Update or Delete) about a community's post to its followers."""
    if post.visibility not in SHARED_VISIBILITIES:
        return
    group = community.actor
    followers = await follows.remote_followers(tx, group)
    # A remote activity signed by its author (FEP-8b32) keeps the @context its proof covers, and
    # the Announce adopts it: JSON-LD forbids an embedded context to redefine protected terms,
    # and Fedify's data-integrity/v1 and our v2 both define DataIntegrityProof.
    signed_context = activity.get("@context") if "proof" in activity else None
    inner = {key: value for key, value in activity.items() if key != "@context"}
    wrapped = documents.activity(
        group,
        "Announce",
        activity if signed_context is not None else inner,
        delivery.new_activity_uri(tx, group),
        to=[PUBLIC],
        cc=[group.followers_uri or ""],
    )
    if signed_context is not None:
        wrapped["@context"] = signed_context
    wrapped["audience"] = group.uri
    # Kept out of the outbox listing: the boost below is what the outbox shows, once.
    await delivery.publish(tx, group, wrapped, recipients=followers, public=False)
    if "Create" in types_of(activity):
        boost = documents.activity(
            group,
            "Announce",
            post.uri,
            delivery.new_activity_uri(tx, group),
            to=[PUBLIC],
            cc=[group.followers_uri or "", post.author.uri],
        )
        boost["audience"] = group.uri
        await delivery.publish(tx, group, boost, recipients=followers, public=True)
