"""Followers-only and direct notes from other servers: kept for their audience and nobody else.

Remote servers are faked as in tests/node/test_notes.py: every activity is signed with a real
RSA key, posted to our inbox and handled by the worker. The addressing follows Mastodon's
ActivityPub::TagManager#to/#cc: a followers-only status is `to` the author's followers and `cc`
its mentions; a direct one is `to` its mentions only.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from node import communities, members, posts, remote_actors, timeline
from node.runtime import Node, open_node
from node.settings import Settings
from storage.models import (
    Actor,
    Delivery,
    Follow,
    Member,
    Mention,
    Notification,
    OutboxActivity,
    Post,
    Reaction,
)
from tests.node.test_notes import ALICE, Fediverse, deliver, fixture

ANA = "https://school.example/members/ana"
ROBOTICS = "https://school.example/communities/robotics"
BOB = "https://elsewhere.example/users/bob"
NOTE = "https://mastodon.example/users/alice/statuses/1"


def private_note(
    to: list[str], cc: list[str] | None = None, mentions: tuple[str, ...] = (), **note: Any
) -> dict[str, Any]:
    """Alice's Create of a note addressed as Mastodon addresses a private or direct status."""
    create = copy.deepcopy(fixture("mastodon_create_note.json"))
    obj = create["object"]
    obj.update(
        id=note.pop("id", NOTE),
        to=to,
        cc=cc or [],
        content=note.pop("content", "<p>Just between us</p>"),
        tag=[{"type": "Mention", "href": uri, "name": uri.rsplit("/", 1)[-1]} for uri in mentions],
        attachment=[],
        **note,
    )
    obj.pop("contentMap")
    create.update(id=obj["id"] + "/activity", to=to, cc=cc or [])
    return dict(create)


@pytest.fixture
def fediverse() -> Fediverse:
    world = Fediverse()
    world.actor(ALICE)
    world.actor(BOB)
    return world


@pytest.fixture
async def node(settings: Settings, fediverse: Fediverse) -> AsyncIterator[Node]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fediverse.handle))
    running = await open_node(replace(settings, dev=True), http=http)
    yield running
    await running.close()


@pytest.fixture
async def people(node: Node) -> tuple[Member, Member]:
    async with node.transaction() as tx:
        return await members.add(tx, "ana"), await members.add(tx, "ben")


async def note_of(node: Node, uri: str = NOTE) -> Post | None:
    async with node.transaction() as tx:
        return await tx.session.scalar(select(Post).where(Post.uri == uri))


async def outgoing(node: Node) -> int:
    async with node.transaction() as tx:
        activities = await tx.session.scalar(select(func.count()).select_from(OutboxActivity))
        deliveries = await tx.session.scalar(select(func.count()).select_from(Delivery))
        return int(activities or 0) + int(deliveries or 0)


async def readers(node: Node, post: Post, *names: str) -> set[str]:
    async with node.transaction() as tx:
        found = {"anyone"} if await posts.visible_to(tx, post, None) else set()
        for name in names:
            member = await members.get(tx, name)
            if await posts.visible_to(tx, post, member.actor):
                found.add(name)
        return found


async def test_a_direct_message_reaches_the_member_it_mentions_and_no_one_else(
    node: Node, people: tuple[Member, Member]
) -> None:
    ana, ben = people
    record = await deliver(node, private_note([ANA], mentions=(ANA,)))
    assert record.state == "done", record.last_error
    post = await note_of(node)
    assert post is not None and post.visibility == "direct" and post.community_id is None
    assert await readers(node, post, "ana", "ben") == {"ana"}
    async with node.transaction() as tx:
        mentioned = select(Mention.actor_id).where(Mention.post_id == post.id)
        assert list(await tx.session.scalars(mentioned)) == [ana.actor_id]
        notified = await tx.session.execute(select(Notification.member_id, Notification.kind))
        assert [tuple(row) for row in notified.all()] == [(ana.id, "mention")]
        assert [p.id for p in (await timeline.home(tx, ana)).posts] == [post.id]
        assert (await timeline.home(tx, ben)).posts == []
        assert await posts.latest(tx) == []
    assert await outgoing(node) == 0  # nothing is passed on to anyone


async def test_an_addressed_member_without_a_mention_tag_is_still_a_recipient(
    node: Node, people: tuple[Member, Member]
) -> None:
    # Mastodon's Create#process_audience: known local accounts in to/cc become (silent)
    # mentions of a limited or direct status, which is what lets them read it.
    await deliver(node, private_note([ANA]))
    post = await note_of(node)
    assert post is not None and await readers(node, post, "ana", "ben") == {"ana"}


async def test_a_followers_only_note_reaches_the_local_followers_of_its_author(
    node: Node, people: tuple[Member, Member]
) -> None:
    ana, ben = people
    async with node.transaction() as tx:
        alice = await tx.session.scalar(select(Actor).where(Actor.uri == ALICE))
        assert alice is None  # Alice is fetched when her first activity arrives
    await deliver(node, private_note([ALICE + "/followers"], id=NOTE + "0"))
    assert await note_of(node, NOTE + "0") is None  # nobody here may read it: not kept
    async with node.transaction() as tx:
        alice = await tx.session.scalar(select(Actor).where(Actor.uri == ALICE))
        assert alice is not None
        tx.session.add(
            Follow(
                uri="https://school.example/follows/ben-alice",
                follower_id=ben.actor_id,
                followed_id=alice.id,
                state="accepted",
                created_at=tx.now(),
            )
        )
    record = await deliver(node, private_note([ALICE + "/followers"]))
    assert record.state == "done", record.last_error
    post = await note_of(node)
    assert post is not None and post.visibility == "followers"
    assert await readers(node, post, "ana", "ben") == {"ben"}
    async with node.transaction() as tx:
        assert [p.id for p in (await timeline.home(tx, ben)).posts] == [post.id]
        assert (await timeline.home(tx, ana)).posts == []
        assert list(await tx.session.scalars(select(Notification))) == []
    assert await outgoing(node) == 0


async def test_a_private_note_for_nobody_here_is_not_kept(
    node: Node, people: tuple[Member, Member]
) -> None:
    record = await deliver(node, private_note([BOB], mentions=(BOB,)))
    assert record.state == "ignored" and "nobody here" in (record.last_error or "")
    assert await note_of(node) is None


async def test_a_private_note_to_a_community_is_kept_out_of_it_and_never_reshared(
    node: Node, people: tuple[Member, Member]
) -> None:
    async with node.transaction() as tx:
        robotics = await communities.add(tx, "robotics", title="Robotics")
        bob = await remote_actors.fetch(tx, BOB)
        # Bob, elsewhere, follows the community: an Announce would reach his server.
        tx.session.add(
            Follow(
                uri=BOB + "#follows/1",
                follower_id=bob.id,
                followed_id=robotics.actor_id,
                state="accepted",
                created_at=tx.now(),
            )
        )
    record = await deliver(
        node, private_note([ROBOTICS, ANA], mentions=(ROBOTICS, ANA), content="<p>Secret</p>")
    )
    assert record.state == "done", record.last_error
    post = await note_of(node)
    assert post is not None and post.visibility == "direct"
    assert post.community_id is None  # never in the community's commons
    assert await readers(node, post, "ana", "ben") == {"ana"}
    async with node.transaction() as tx:
        robotics = await communities.get(tx, "robotics")
        assert (await communities.commons(tx, robotics)).threads == []
    assert await outgoing(node) == 0  # no Announce, in either form


async def test_a_boost_of_a_private_note_is_not_recorded(
    node: Node, people: tuple[Member, Member]
) -> None:
    await deliver(node, private_note([ANA], mentions=(ANA,)))
    boost = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": ALICE + "/statuses/1/activity-boost",
        "type": "Announce",
        "actor": ALICE,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": NOTE,
    }
    record = await deliver(node, boost)
    # Mastodon's Announce#announceable?: only public and unlisted statuses can be boosted.
    assert record.state == "ignored" and "not public" in (record.last_error or "")
    async with node.transaction() as tx:
        assert list(await tx.session.scalars(select(Reaction))) == []
