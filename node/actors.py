"""Local actors: the ActivityPub identity behind every member, community and the node itself."""

from __future__ import annotations

from sqlalchemy import select

from node import keys
from node.errors import Conflict
from node.names import check_name
from node.runtime import Tx
from storage.models import Actor

PATHS = {"person": "/members/", "group": "/communities/"}
INSTANCE_ACTOR_PATH = "/actor"


def actor_uri(tx: Tx, kind: str, name: str) -> str:
    """The id of a local actor: `/members/{name}`, `/communities/{name}` or `/actor`."""
    if kind == "application":
        return tx.settings.url(INSTANCE_ACTOR_PATH)
    return tx.settings.url(PATHS[kind] + name)


async def find_local(tx: Tx, name: str) -> Actor | None:
    """The local actor with this name (members and communities share one name space)."""
    return await tx.session.scalar(
        select(Actor).where(
            Actor.local.is_(True), Actor.domain == tx.settings.domain, Actor.name == name.lower()
        )
    )


async def create_local(tx: Tx, kind: str, name: str, display_name: str = "") -> Actor:
    """A new local actor with fresh keys; Conflict when the name is taken."""
    name = name if kind == "application" else check_name(name)
    if await find_local(tx, name) is not None:
        raise Conflict(f"the name {name!r} is already taken on this node")
    uri = actor_uri(tx, kind, name)
    material = keys.generate(keys.Sealer(tx.settings.secret))
    now = tx.now()
    actor = Actor(
        uri=uri,
        kind=kind,
        local=True,
        name=name,
        domain=tx.settings.domain,
        display_name=display_name.strip(),
        summary_html="",
        url=uri,
        inbox_uri=uri + "/inbox",
        shared_inbox_uri=tx.settings.url("/inbox"),
        outbox_uri=uri + "/outbox",
        followers_uri=uri + "/followers",
        following_uri=uri + "/following",
        featured_uri=uri + "/featured",
        key_id=uri + "#main-key",
        public_key_pem=material.rsa_public_pem,
        private_key_sealed=material.rsa_private_sealed,
        ed25519_public_multibase=material.ed25519_public_multibase,
        ed25519_private_sealed=material.ed25519_private_sealed,
        created_at=now,
        updated_at=now,
    )
    tx.session.add(actor)
    await tx.session.flush()
    return actor


async def instance_actor(tx: Tx) -> Actor:
    """The node's own `Application` actor, created on first use."""
    actor = await tx.session.scalar(
        select(Actor).where(Actor.local.is_(True), Actor.kind == "application")
    )
    if actor is None:
        actor = await create_local(tx, "application", tx.settings.domain, tx.settings.name)
    return actor
