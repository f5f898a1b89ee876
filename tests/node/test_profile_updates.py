"""Update{actor}: only an actor may change its own cached profile; ours go to followers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from node import follows, members, profile_updates
from node.incoming import Ignored, Incoming
from node.runtime import Node
from storage.models import Actor, Delivery, OutboxActivity


def _remote(uri: str, name: str, now) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(
        uri=uri,
        kind="person",
        local=False,
        name=name,
        domain="social.example",
        display_name="Old name",
        inbox_uri=uri + "/inbox",
        created_at=now,
        updated_at=now,
        public_key_pem=None,
    )


async def test_an_actor_cannot_update_someone_else(node: Node) -> None:
    async with node.transaction() as tx:
        alice = _remote("https://social.example/users/alice", "alice", tx.now())
        bob = _remote("https://social.example/users/bob", "bob", tx.now())
        tx.session.add_all([alice, bob])
        await tx.session.flush()
        forged = {
            "id": bob.uri,
            "type": "Person",
            "preferredUsername": "bob",
            "name": "Hacked",
            "inbox": bob.uri + "/inbox",
        }
        with pytest.raises(Ignored):
            await profile_updates.on_update_actor(
                tx,
                Incoming(
                    "https://social.example/u/1",
                    "Update",
                    {"type": "Update", "actor": alice.uri, "object": forged},
                    alice,
                ),
            )
        assert bob.display_name == "Old name"


async def test_saving_a_profile_sends_an_update_to_remote_followers(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        follower = _remote("https://social.example/users/alice", "alice", tx.now())
        tx.session.add(follower)
        await tx.session.flush()
        record = await follows.follow(tx, follower, ana.actor)
        assert record.state == "accepted"
        await members.update_profile(
            tx, ana, display_name="Ana Díaz", bio="Maths teacher", default_license=None, links=[]
        )
        update = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Update")
        )
        assert update is not None and update.raw["object"]["name"] == "Ana Díaz"
        inboxes = list(
            await tx.session.scalars(
                select(Delivery.inbox_uri).where(Delivery.activity_id == update.id)
            )
        )
        assert inboxes == [follower.inbox_uri]
