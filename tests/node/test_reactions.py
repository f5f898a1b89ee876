"""node.reactions: likes and boosts sent by members and received through the signed inbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from federation.signatures import sign_request
from federation.vocabulary import PUBLIC
from node import collections, inbox, members, posts, reactions
from node.errors import Conflict, Forbidden, InvalidInput, NotFound
from node.runtime import Node, Tx, open_node
from node.settings import Settings
from storage.models import (
    Actor,
    Delivery,
    Follow,
    InboxActivity,
    Notification,
    OutboxActivity,
    Post,
    Reaction,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "activitypub"


class Remote:
    """A person on another server: their cached actor row and the key they sign with."""

    def __init__(self, actor: Actor, key: rsa.RSAPrivateKey) -> None:
        self.actor, self.key = actor, key
        self.uri = actor.uri


def _pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def remote_person(
    tx: Tx, name: str, host: str = "social.example", path: str = "/users/"
) -> Remote:
    """A remote actor as the cache keeps it after a fetch (fresh, so nothing is refetched)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    uri = f"https://{host}{path}{name}"
    now = tx.now()
    actor = Actor(
        uri=uri,
        kind="person",
        local=False,
        name=name,
        domain=host,
        url=f"https://{host}/@{name}",
        inbox_uri=uri + "/inbox",
        shared_inbox_uri=f"https://{host}/inbox",
        followers_uri=uri + "/followers",
        key_id=uri + "#main-key",
        public_key_pem=_pem(key),
        fetched_at=now,
        created_at=now,
        updated_at=now,
    )
    tx.session.add(actor)
    await tx.session.flush()
    return Remote(actor, key)


async def deliver(node: Node, sender: Remote, document: dict[str, Any]) -> str:
    """POST an activity signed by `sender` to the shared inbox, run the worker, return its state."""
    body = json.dumps(document).encode()
    headers = sign_request(
        "POST",
        node.settings.url("/inbox"),
        {"Content-Type": "application/activity+json"},
        body,
        sender.actor.key_id or "",
        sender.key,
        node.clock(),
    )
    await inbox.receive(node, "POST", "/inbox", headers, body, None)
    await inbox.process_due(node)
    async with node.transaction() as tx:
        row = await tx.session.scalar(
            select(InboxActivity).where(InboxActivity.uri == document["id"])
        )
        assert row is not None
        return row.state


async def local_post(tx: Tx, author: str = "ana", text: str = "Gears and levers") -> Post:
    member = await members.add(tx, author)
    return await posts.create(tx, member, posts.Draft(text=text))


async def remote_post(tx: Tx, author: Remote, visibility: str = "public") -> Post:
    """A cached copy of a post on another server."""
    post = Post(
        key="remote" + author.actor.name,
        uri=f"https://{author.actor.domain}/users/{author.actor.name}/statuses/1",
        url=f"https://{author.actor.domain}/@{author.actor.name}/1",
        local=False,
        author_id=author.actor.id,
        content_html="<p>Hello from afar</p>",
        visibility=visibility,
        published_at=tx.now(),
    )
    tx.session.add(post)
    await tx.session.flush()
    await tx.session.refresh(post, ["author"])
    return post


async def _count(tx: Tx, model: Any, *where: Any) -> int:
    return int(await tx.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_like_from_lemmy_is_counted_and_notifies_the_author(node: Node) -> None:
    async with node.transaction() as tx:
        post = await local_post(tx)
        alpha = await remote_person(tx, "lemmy_alpha", "ds9.lemmy.ml", "/u/")
    # tests/fixtures/activitypub/lemmy_like_note.json (Lemmy's apub test assets), aimed at
    # our post and made to come from the cached actor's https origin.
    like = json.loads((FIXTURES / "lemmy_like_note.json").read_text())
    like = json.loads(json.dumps(like).replace("http://ds9.lemmy.ml", "https://ds9.lemmy.ml"))
    like["object"] = post.uri
    assert await deliver(node, alpha, like) == "done"
    async with node.transaction() as tx:
        reaction = await tx.session.scalar(select(Reaction))
        assert reaction is not None
        assert (reaction.kind, reaction.uri, reaction.actor_id) == (
            "like",
            like["id"],
            alpha.actor.id,
        )
        notice = await tx.session.scalar(select(Notification))
        assert notice is not None
        assert (notice.kind, notice.actor_id, notice.post_id) == ("like", alpha.actor.id, post.id)
        shown = await reactions.summaries(tx, [post], None)
        assert shown[post.id] == reactions.Summary(likes=1)
    # The same Like again under a new id (Mastodon re-sends after a lost answer) counts once.
    again = {**like, "id": like["id"] + "-again"}
    assert await deliver(node, alpha, again) == "ignored"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 1


async def test_a_like_of_a_post_that_is_not_ours_is_ignored(node: Node) -> None:
    async with node.transaction() as tx:
        bob = await remote_person(tx, "bob")
        cached = await remote_post(tx, bob)
        eve = await remote_person(tx, "eve", "other.example")
    for target in ("https://school.example/posts/nothing", cached.uri):
        like = {
            "id": f"https://other.example/likes/{len(target)}",
            "type": "Like",
            "actor": eve.uri,
            "object": target,
        }
        assert await deliver(node, eve, like) == "ignored"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 0


async def test_undo_of_a_like_embedded_or_by_id_and_only_by_its_author(node: Node) -> None:
    async with node.transaction() as tx:
        post = await local_post(tx)
        bob = await remote_person(tx, "bob")
        eve = await remote_person(tx, "eve", "other.example")
    like = {"id": bob.uri + "#likes/1", "type": "Like", "actor": bob.uri, "object": post.uri}
    assert await deliver(node, bob, like) == "done"
    # Eve cannot take back Bob's like, neither by naming it nor by embedding it.
    forged_ref = {"id": eve.uri + "#undo/1", "type": "Undo", "actor": eve.uri, "object": like["id"]}
    forged_embed = {"id": eve.uri + "#undo/2", "type": "Undo", "actor": eve.uri, "object": like}
    assert await deliver(node, eve, forged_ref) == "ignored"
    assert await deliver(node, eve, forged_embed) == "ignored"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 1
    # Mastodon embeds the Like (ActivityPub::UndoLikeSerializer).
    undo = {"id": bob.uri + "#likes/1/undo", "type": "Undo", "actor": bob.uri, "object": like}
    assert await deliver(node, bob, undo) == "done"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 0
        assert await _count(tx, Notification) == 0  # the like's notification went with it
    # Liked again, then undone by a bare id (("Undo", "*") resolves it).
    like2 = {**like, "id": bob.uri + "#likes/2"}
    assert await deliver(node, bob, like2) == "done"
    by_id = {"id": bob.uri + "#undo/3", "type": "Undo", "actor": bob.uri, "object": like2["id"]}
    assert await deliver(node, bob, by_id) == "done"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 0


async def test_undo_with_an_embedded_like_of_another_id_matches_by_actor_and_post(
    node: Node,
) -> None:
    async with node.transaction() as tx:
        post = await local_post(tx)
        bob = await remote_person(tx, "bob")
    like = {"id": bob.uri + "#likes/1", "type": "Like", "actor": bob.uri, "object": post.uri}
    assert await deliver(node, bob, like) == "done"
    rebuilt = {**like, "id": bob.uri + "#likes/rebuilt"}
    undo = {"id": bob.uri + "#undo/1", "type": "Undo", "actor": bob.uri, "object": rebuilt}
    assert await deliver(node, bob, undo) == "done"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 0


async def test_undo_announce_removes_the_signers_boost_only(node: Node) -> None:
    async with node.transaction() as tx:
        post = await local_post(tx)
        bob = await remote_person(tx, "bob")
        eve = await remote_person(tx, "eve", "other.example")
        # Inbound Announce belongs to another module: the boost row is what it leaves behind.
        tx.session.add(
            Reaction(
                uri=bob.uri + "/statuses/9/activity",
                kind="announce",
                actor_id=bob.actor.id,
                post_id=post.id,
                created_at=tx.now(),
            )
        )
    announce = {
        "id": bob.uri + "/statuses/9/activity",
        "type": "Announce",
        "actor": bob.uri,
        "object": post.uri,
        "to": [PUBLIC],
    }
    forged = {"id": eve.uri + "#undo", "type": "Undo", "actor": eve.uri, "object": announce}
    assert await deliver(node, eve, forged) == "ignored"
    undo = {
        "id": bob.uri + "#announces/9/undo",
        "type": "Undo",
        "actor": bob.uri,
        "object": announce,
    }
    assert await deliver(node, bob, undo) == "done"
    async with node.transaction() as tx:
        assert await _count(tx, Reaction) == 0


async def test_undo_by_bare_id_still_reaches_a_follow(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        bob = await remote_person(tx, "bob")
        tx.session.add(
            Follow(
                uri=bob.uri + "#follows/1",
                follower_id=bob.actor.id,
                followed_id=ana.actor_id,
                state="accepted",
                created_at=tx.now(),
            )
        )
    undo = {
        "id": bob.uri + "#undo",
        "type": "Undo",
        "actor": bob.uri,
        "object": bob.uri + "#follows/1",
    }
    assert await deliver(node, bob, undo) == "done"
    async with node.transaction() as tx:
        assert await _count(tx, Follow) == 0


async def test_liking_a_remote_post_sends_like_and_undo_to_its_author(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        bob = await remote_person(tx, "bob")
        post = await remote_post(tx, bob)
        reaction = await reactions.react(tx, ana, "like", post)
        with pytest.raises(Conflict):
            async with tx.session.begin_nested():
                await reactions.react(tx, ana, "like", post)
    async with node.transaction() as tx:
        sent = await tx.session.scalar(select(OutboxActivity).where(OutboxActivity.type == "Like"))
        assert sent is not None and not sent.public
        assert sent.raw["id"] == reaction.uri
        assert (sent.raw["actor"], sent.raw["object"]) == (ana.actor.uri, post.uri)
        deliveries = list(await tx.session.scalars(select(Delivery)))
        assert [d.inbox_uri for d in deliveries] == ["https://social.example/inbox"]
        ana = await members.get(tx, "ana")
        post = await posts.get(tx, post.key)
        await reactions.withdraw(tx, ana, "like", post)
        with pytest.raises(NotFound):
            async with tx.session.begin_nested():
                await reactions.withdraw(tx, ana, "like", post)
    async with node.transaction() as tx:
        undo = await tx.session.scalar(select(OutboxActivity).where(OutboxActivity.type == "Undo"))
        assert undo is not None
        assert undo.raw["object"]["type"] == "Like"
        assert undo.raw["object"]["id"] == reaction.uri
        assert "@context" not in undo.raw["object"]
        assert await _count(tx, Reaction) == 0
        assert await _count(tx, Delivery) == 2


async def test_liking_a_local_post_notifies_its_author_and_sends_nothing(node: Node) -> None:
    async with node.transaction() as tx:
        post = await local_post(tx)
        ben = await members.add(tx, "ben")
        await reactions.react(tx, ben, "like", post)
        await reactions.react(tx, await members.get(tx, "ana"), "like", post)  # own post
    async with node.transaction() as tx:
        notices = list(await tx.session.scalars(select(Notification)))
        assert [(n.kind, n.actor_id) for n in notices] == [("like", ben.actor_id)]
        assert await _count(tx, OutboxActivity, OutboxActivity.type == "Like") == 0
        viewer = await members.get(tx, "ben")
        assert (await reactions.summaries(tx, [post], viewer))[post.id] == reactions.Summary(
            likes=2, liked=True
        )


async def test_boosting_announces_to_followers_and_author_and_unboosting_undoes_it(
    node: Node,
) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        bob = await remote_person(tx, "bob")
        carla = await remote_person(tx, "carla", "third.example")
        tx.session.add(
            Follow(
                uri=carla.uri + "#follow",
                follower_id=carla.actor.id,
                followed_id=ana.actor_id,
                state="accepted",
                created_at=tx.now(),
            )
        )
        post = await remote_post(tx, bob)
        boost = await reactions.react(tx, ana, "announce", post)
    async with node.transaction() as tx:
        sent = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Announce")
        )
        assert sent is not None and sent.public
        assert sent.raw["id"] == boost.uri
        assert sent.raw["object"] == post.uri
        assert sent.raw["to"] == [PUBLIC]
        assert sent.raw["cc"] == [bob.uri, ana.actor.uri + "/followers"]
        inboxes = sorted(d.inbox_uri for d in await tx.session.scalars(select(Delivery)))
        assert inboxes == ["https://social.example/inbox", "https://third.example/inbox"]
        outbox = await collections.collection(tx, ana.actor, "outbox", "1")
        assert [item["id"] for item in outbox["orderedItems"]] == [boost.uri]
        await reactions.withdraw(tx, await members.get(tx, "ana"), "announce", post)
    async with node.transaction() as tx:
        undo = await tx.session.scalar(select(OutboxActivity).where(OutboxActivity.type == "Undo"))
        assert undo is not None
        assert undo.raw["object"]["id"] == boost.uri
        assert undo.raw["to"] == [PUBLIC]
        assert await _count(tx, Delivery, Delivery.activity_id == undo.id) == 2
        ana = await members.get(tx, "ana")
        assert (await collections.collection(tx, ana.actor, "outbox", None))["totalItems"] == 0


async def test_followers_only_posts_cannot_be_boosted(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        bob = await remote_person(tx, "bob")
        post = await remote_post(tx, bob, visibility="followers")
        with pytest.raises(Forbidden):
            await reactions.react(tx, ana, "announce", post)


def _peer(documents: dict[str, dict[str, Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        assert "signature" in request.headers  # our fetches are signed (authorized fetch)
        document = documents.get(str(request.url))
        if document is None:
            return httpx.Response(404)
        return httpx.Response(
            200, json=document, headers={"content-type": "application/activity+json"}
        )

    return httpx.MockTransport(handle)


def _actor_document(uri: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": uri.rsplit("/", 1)[1],
        "inbox": uri + "/inbox",
        "followers": uri + "/followers",
        "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": _pem(key)},
    }


async def test_a_pasted_post_url_is_fetched_signed_sanitised_and_kept(settings: Settings) -> None:
    bob = "https://social.example/users/bob"
    note = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": bob + "/statuses/7",
        "type": "Note",
        "attributedTo": bob,
        "url": "https://social.example/@bob/7",
        "content": '<p>Hi <script>alert(1)</script><a href="https://x.example">link</a></p>',
        "published": "2024-05-01T10:00:00Z",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "to": [PUBLIC],
        "cc": [bob + "/followers"],
    }
    forged = {
        **note,
        "id": "https://social.example/statuses/8",
        "attributedTo": "https://evil.example/users/x",
    }
    peer = _peer(
        {
            bob: _actor_document(bob),
            note["id"]: note,
            "https://social.example/@bob/7": note,
            forged["id"]: forged,
        }
    )
    node = await open_node(replace(settings, dev=True), http=httpx.AsyncClient(transport=peer))
    try:
        async with node.transaction() as tx:
            post = await reactions.resolve_post(tx, "https://social.example/@bob/7")
            assert (post.uri, post.local, post.author.uri) == (note["id"], False, bob)
            assert "<script>" not in post.content_html and "link</a>" in post.content_html
            assert (post.visibility, post.license) == ("public", "CC-BY-4.0")
            assert post.published_at.isoformat() == "2024-05-01T10:00:00+00:00"
            # Known now: resolving by id or URL again does not fetch or duplicate it.
            again = await reactions.resolve_post(tx, note["id"])
            assert again.id == post.id
            with pytest.raises(InvalidInput, match="not on the server of its author"):
                await reactions.resolve_post(tx, forged["id"])
            with pytest.raises(InvalidInput):
                await reactions.resolve_post(tx, "javascript:alert(1)")
        async with node.transaction() as tx:
            assert await _count(tx, Post) == 1
            assert await _count(tx, Post, Post.published_at < tx.now() - timedelta(days=1)) == 1
    finally:
        await node.close()


async def test_a_pasted_post_takes_the_same_path_as_any_remote_note(settings: Settings) -> None:
    # node.notes keeps it: the copy at its id, attachments linked not copied, a reply threaded
    # under its fetched parent, and only public or unlisted posts.
    bob = "https://social.example/users/bob"
    parent = {
        "id": bob + "/statuses/1",
        "type": "Note",
        "attributedTo": bob,
        "content": "<p>Which gear?</p>",
        "to": [PUBLIC],
    }
    fresh = {
        "id": bob + "/statuses/2",
        "type": "Note",
        "attributedTo": bob,
        "inReplyTo": parent["id"],
        "content": "<p>The small one</p>",
        "license": "https://example.org/my-own-terms",
        "attachment": [
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "https://media.social.example/gear.png",
                "name": "A small gear",
                "license": "https://creativecommons.org/publicdomain/zero/1.0/",
            }
        ],
        "to": [PUBLIC],
    }
    stale = {**fresh, "content": "<p>An old copy served at the page URL</p>"}
    private = {**parent, "id": bob + "/statuses/3", "to": [bob + "/followers"]}
    peer = _peer(
        {
            bob: _actor_document(bob),
            parent["id"]: parent,
            fresh["id"]: fresh,
            "https://social.example/@bob/2": stale,
            private["id"]: private,
        }
    )
    node = await open_node(replace(settings, dev=True), http=httpx.AsyncClient(transport=peer))
    try:
        async with node.transaction() as tx:
            post = await reactions.resolve_post(tx, "https://social.example/@bob/2")
            assert (post.uri, post.content_html) == (fresh["id"], "<p>The small one</p>")
            assert post.license is None  # not a licence we know: all rights reserved
            [picture] = post.attachments
            assert (picture.remote_url, picture.storage_path) == (
                "https://media.social.example/gear.png",
                None,
            )
            assert (picture.alt_text, picture.license) == ("A small gear", "CC0-1.0")
            assert post.in_reply_to_id is not None and post.thread_id == post.in_reply_to_id
            with pytest.raises(InvalidInput, match="not public"):
                await reactions.resolve_post(tx, private["id"])
        async with node.transaction() as tx:
            assert await _count(tx, Post) == 2  # the reply and its parent; not the private one
    finally:
        await node.close()
