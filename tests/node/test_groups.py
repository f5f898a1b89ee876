"""Communities as FEP-1b12 groups: posting into one from the fediverse, and re-sharing twice."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from federation import integrity
from federation.multikey import encode_public_key
from federation.vocabulary import PUBLIC
from node import communities, members, posts, remote_actors
from node.runtime import Node
from storage.models import Actor, Community, Follow, Member, Membership, Post
from tests.node.test_notes import (
    ALICE,
    ALICE_NOTE,
    Fediverse,
    deliver,
    fediverse,
    fixture,
    local_post,
    node,
    queued,
    stored,
)

__all__ = ["fediverse", "node"]  # fixtures shared with the notes tests
GROUP = "https://school.example/communities/maths"


@pytest.fixture
async def ana(node: Node) -> Member:
    async with node.transaction() as tx:
        return await members.add(tx, "ana", display_name="Ana")


async def community(node: Node, *, closed: bool = False) -> Community:
    async with node.transaction() as tx:
        return await communities.add(
            tx, "maths", title="Maths", default_license="CC-BY-SA-4.0", closed=closed
        )


async def remote_follower(node: Node, uri: str = ALICE, state: str = "accepted") -> Actor:
    """A remote actor following the maths community (as if its Follow had been accepted)."""
    async with node.transaction() as tx:
        follower = await remote_actors.fetch(tx, uri)
        maths = await communities.get(tx, "maths")
        tx.session.add(
            Follow(
                uri=uri + "#follows/maths",
                follower_id=follower.id,
                followed_id=maths.actor_id,
                state=state,
                created_at=tx.now(),
            )
        )
        return follower


def into_community(create: dict[str, Any]) -> dict[str, Any]:
    """A Mastodon note that mentions @maths, as a Mastodon user posts into a group."""
    note = create["object"]
    note["tag"] = [{"type": "Mention", "href": GROUP, "name": "@maths@school.example"}]
    note["cc"] = [ALICE + "/followers", GROUP]
    create["cc"] = note["cc"]
    return create


async def test_a_follower_posts_into_an_open_community_by_mentioning_it(
    node: Node, fediverse: Fediverse
) -> None:
    await community(node)
    bob = fediverse.actor("https://other.example/users/bob")
    await remote_follower(node)
    await remote_follower(node, bob)
    record = await deliver(node, into_community(fixture("mastodon_create_note.json")))
    assert record.state == "done", record.last_error
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.community is not None
    assert post.community.actor.name == "maths"

    announces = await queued(node, "Announce")
    assert [
        a["object"] if isinstance(a["object"], str) else a["object"]["type"] for a, _ in announces
    ] == [
        "Create",
        ALICE_NOTE,
    ]
    for announce, inboxes in announces:
        assert announce["actor"] == GROUP and announce["audience"] == GROUP
        assert announce["to"] == [PUBLIC] and announce["cc"][0] == GROUP + "/followers"
        assert inboxes == ["https://mastodon.example/inbox", "https://other.example/inbox"]
    wrapped = announces[0][0]["object"]
    assert "@context" not in wrapped and wrapped["object"]["id"] == ALICE_NOTE


async def test_someone_who_does_not_follow_stays_outside(node: Node, fediverse: Fediverse) -> None:
    await community(node)
    await remote_follower(node, state="pending")
    assert (
        await deliver(node, into_community(fixture("mastodon_create_note.json")))
    ).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.community_id is None
    assert await queued(node, "Announce") == []


async def test_closed_communities_take_posts_from_approved_members_only(
    node: Node, fediverse: Fediverse
) -> None:
    maths = await community(node, closed=True)
    alice = await remote_follower(node)  # following is not enough here
    first = into_community(fixture("mastodon_create_note.json"))
    assert (await deliver(node, first)).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.community_id is None

    async with node.transaction() as tx:
        tx.session.add(
            Membership(
                community_id=maths.id,
                actor_id=alice.id,
                role="member",
                state="approved",
                joined_at=tx.now(),
            )
        )
    second = into_community(fixture("mastodon_create_note.json"))
    second["id"] += "-2"
    second["object"]["id"] = ALICE_NOTE + "2"
    assert (await deliver(node, second)).state == "done"
    post = await stored(node, ALICE_NOTE + "2")
    assert post is not None and post.community_id == maths.id


async def test_a_reply_into_a_community_thread_joins_it(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    maths = await community(node)
    await remote_follower(node)
    thread = await local_post(node, ana, "Fractions week", community=maths)
    reply = fixture("mastodon_create_note.json")
    reply["object"]["inReplyTo"] = thread.uri
    assert (await deliver(node, reply)).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.community_id == maths.id and post.thread_id == thread.id


async def test_a_stranger_cannot_reply_into_a_closed_communitys_thread(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    maths = await community(node, closed=True)
    async with node.transaction() as tx:
        member = await members.get(tx, "ana")
        await communities.join(tx, maths, member, approved=True)
    thread = await local_post(node, ana, "Staff only", community=maths)
    reply = fixture("mastodon_create_note.json")
    reply["object"]["inReplyTo"] = thread.uri
    record = await deliver(node, reply)
    assert record.state == "ignored" and "closed" in (record.last_error or "")
    assert await stored(node, ALICE_NOTE) is None


async def test_a_local_community_post_is_announced_both_ways_and_so_are_its_changes(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    maths = await community(node)
    await remote_follower(node)
    post = await local_post(node, ana, "Fractions week", community=maths, title="Week 1")
    [(create, create_inboxes)] = await queued(node, "Create")
    assert create_inboxes == []  # ana has no followers elsewhere: the group carries it
    assert create["object"]["audience"] == GROUP and GROUP in create["object"]["cc"]
    announces = await queued(node, "Announce")
    assert [inboxes for _, inboxes in announces] == [["https://mastodon.example/inbox"]] * 2
    assert announces[0][0]["object"]["id"] == create["id"]
    assert announces[1][0]["object"] == post.uri

    async with node.transaction() as tx:
        member = await members.get(tx, "ana")
        await posts.edit(tx, member, await posts.get(tx, post.key), "Fractions, week one")
        await posts.delete(tx, member, await posts.get(tx, post.key))
    # The author's own Update and Delete reach the group's followers: Mastodon applies them
    # only when they come from the author.
    [(_, update_inboxes)] = await queued(node, "Update")
    [(_, delete_inboxes)] = await queued(node, "Delete")
    assert update_inboxes == delete_inboxes == ["https://mastodon.example/inbox"]
    announced = [a["object"] for a, _ in await queued(node, "Announce")]
    assert [o if isinstance(o, str) else o["type"] for o in announced] == [
        "Create",
        post.uri,
        "Update",
        "Delete",
    ]


async def test_a_remote_edit_and_deletion_in_a_community_are_reshared(
    node: Node, fediverse: Fediverse
) -> None:
    await community(node)
    await remote_follower(node)
    await deliver(node, into_community(fixture("mastodon_create_note.json")))
    await deliver(node, fixture("mastodon_update_note.json"))
    await deliver(node, fixture("mastodon_delete_note.json"))
    announced = [a["object"] for a, _ in await queued(node, "Announce")]
    assert [o if isinstance(o, str) else o["type"] for o in announced] == [
        "Create",
        ALICE_NOTE,
        "Update",
        "Delete",
    ]
    async with node.transaction() as tx:
        post = await tx.session.scalar(select(Post).where(Post.uri == ALICE_NOTE))
        assert post is not None and post.deleted_at is not None


async def test_a_signed_remote_reply_is_reshared_with_the_context_its_proof_covers(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    # Fedify signs with data-integrity/v1 and puts the @context in the proof (FEP-8b32). Found by
    # tests/interop/test_independent_ap.py: we stripped the reply's @context inside our
    # Announce{Create}, which broke its proof, and wrapped it in a v2 context, which Fedify's
    # JSON-LD processor refuses ("tried to redefine a protected term": DataIntegrityProof).
    maths = await community(node)
    await remote_follower(node)
    thread = await local_post(node, ana, "Fractions week", community=maths)
    key = Ed25519PrivateKey.generate()
    fediverse.documents[ALICE]["assertionMethod"] = [
        {
            "id": ALICE + "#key-2",
            "type": "Multikey",
            "controller": ALICE,
            "publicKeyMultibase": encode_public_key(key.public_key()),
        }
    ]
    reply = fixture("mastodon_create_note.json")
    reply["@context"] = [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/data-integrity/v1",
    ]
    reply["object"]["inReplyTo"] = thread.uri
    signed = integrity.sign(
        reply, key, ALICE + "#key-2", integrity.JCS, "2025-03-01T09:00:00.123456789Z"
    )
    assert (await deliver(node, signed)).state == "done"

    announced = [a for a, _ in await queued(node, "Announce") if isinstance(a["object"], dict)]
    [shared] = [a for a in announced if a["object"]["id"] == signed["id"]]
    assert shared["object"] == signed  # the author's activity as signed, @context and all
    assert integrity.verify(shared["object"], key.public_key()).verification_method.endswith(
        "#key-2"
    )
    assert shared["@context"] == signed["@context"]  # no v2 beside v1
    assert shared["proof"]["verificationMethod"] == GROUP + "#ed25519-key"
