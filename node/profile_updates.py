"""Profile changes both ways: sending `Update{actor}` for ours, applying it for remote actors."""

from __future__ import annotations

from typing import Any

from federation.vocabulary import PUBLIC, id_of
from node import delivery, discovery, documents, follows, remote_actors
from node.incoming import Ignored, Incoming
from node.runtime import Tx
from storage.models import Actor

ACTOR_TYPES = ("Person", "Group", "Service", "Organization", "Application")


async def publish(tx: Tx, actor: Actor, document: dict[str, Any] | None = None) -> None:
    """Tell a local actor's remote followers that its profile changed."""
    # Mastodon's ActivityPub::Activity::Update takes an actor's Update (Group included) from the
    # actor itself and re-reads it: name, summary, fields and manuallyApprovesFollowers ("locked").
    document = document or await discovery.actor_document(tx, actor)
    body = {key: value for key, value in document.items() if key != "@context"}
    update = documents.activity(
        actor,
        "Update",
        body,
        delivery.new_activity_uri(tx, actor),
        to=[PUBLIC],
        cc=[actor.followers_uri or ""],
    )
    update["@context"] = document["@context"]
    followers = await follows.remote_followers(tx, actor)
    # Kept out of the outbox listing, as Mastodon's outbox lists no profile updates.
    await delivery.publish(tx, actor, update, recipients=followers, public=False)


async def on_update_actor(tx: Tx, incoming: Incoming) -> None:
    """A remote actor changed its profile: store the new document it sent about itself."""
    obj = incoming.object
    if not isinstance(obj, dict) or id_of(obj) != incoming.actor.uri:
        # Only an actor may update itself (the signer is the activity's actor).
        raise Ignored("an actor Update must describe the signer itself")
    try:
        await remote_actors.store(tx, obj)
    except remote_actors.RemoteError as exc:
        raise Ignored(f"unusable actor update: {exc.reason}") from exc
