"""Notes across servers: signed Create/Update/Delete/Announce through the inbox, and what we send.

Remote servers are faked in process (httpx.MockTransport) with real RSA keys; every inbound
activity is signed with federation.signatures.sign_request and goes through node.inbox.receive
and the worker, as a real delivery would. The mastodon_*.json fixtures follow Mastodon's
serializers (app/serializers/activitypub/note_serializer.rb, delete_serializer.rb,
delete_actor_serializer.rb, ActivityPresenter.from_status for Create/Update/Announce).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from federation.signatures import load_public_key_pem, parse_signature_request, sign_request, verify
from federation.vocabulary import PUBLIC
from node import delivery, follows, hosts, inbox, members, posts, remote_actors
from node.errors import Forbidden
from node.runtime import Node, open_node
from node.settings import Settings
from storage.models import (
    Actor,
    Attachment,
    Delivery,
    Follow,
    InboxActivity,
    Member,
    Mention,
    Notification,
    OutboxActivity,
    Post,
    Reaction,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "activitypub"
ALICE = "https://mastodon.example/users/alice"
ALICE_NOTE = "https://mastodon.example/users/alice/statuses/113957471284521987"
AS2 = {"Content-Type": "application/activity+json"}
# One key for every fake actor: generating RSA keys is slow, and each actor's key is still its own
# document's, so a signature by one actor is checked against that actor's document.
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fixture(name: str) -> dict[str, Any]:
    """A stored payload from a real server's serializers."""
    return dict(json.loads((FIXTURES / name).read_text()))


@dataclass
class Fediverse:
    """Other servers, in process: actor documents, notes, WebFinger, and inboxes that record."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    received: list[tuple[str, dict[str, Any], httpx.Request]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    def actor(self, uri: str, kind: str = "Person") -> str:
        base = uri.split("/", 3)[:3]
        self.documents[uri] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": kind,
            "preferredUsername": uri.rstrip("/").rsplit("/", 1)[-1],
            "inbox": uri + "/inbox",
            "outbox": uri + "/outbox",
            "followers": uri + "/followers",
            "endpoints": {"sharedInbox": "/".join(base) + "/inbox"},
            "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": PEM},
        }
        return uri

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(query=None))
        if request.method == "POST":
            self.received.append((url, json.loads(request.content), request))
            return httpx.Response(202)
        if request.url.path == "/.well-known/webfinger":
            resource = unquote(request.url.params["resource"])
            name = resource.removeprefix("acct:").split("@")[0]
            uri = f"https://{request.url.netloc.decode()}/users/{name}"
            if uri not in self.documents:
                return httpx.Response(404)
            jrd = {
                "subject": resource,
                "links": [{"rel": "self", "type": AS2["Content-Type"], "href": uri}],
            }
            return httpx.Response(200, json=jrd, headers={"Content-Type": "application/jrd+json"})
        self.fetched.append(url)
        if url in self.gone:
            return httpx.Response(410)
        if url not in self.documents:
            return httpx.Response(404)
        return httpx.Response(200, json=self.documents[url], headers=AS2)


@pytest.fixture
def fediverse() -> Fediverse:
    world = Fediverse()
    world.actor(ALICE)
    return world


@pytest.fixture
async def node(settings: Settings, fediverse: Fediverse) -> AsyncIterator[Node]:
    """A node at https://school.example whose HTTP client reaches only the fake fediverse."""
    # Development mode skips DNS checks, which the fake hosts would fail; nothing else changes.
    http = httpx.AsyncClient(transport=httpx.MockTransport(fediverse.handle))
    running = await open_node(replace(settings, dev=True), http=http)
    yield running
    await running.close()


@pytest.fixture
async def ana(node: Node) -> Member:
    async with node.transaction() as tx:
        return await members.add(tx, "ana", display_name="Ana <3")


async def deliver(
    node: Node, activity: dict[str, Any], key: rsa.RSAPrivateKey = KEY, path: str = "/inbox"
) -> InboxActivity:
    """Sign an activity as its actor, post it to our inbox, run the worker, return its record."""
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        "https://school.example" + path,
        AS2,
        body,
        activity["actor"] + "#main-key",
        key,
        datetime.now(UTC),
    )
    await inbox.receive(node, "POST", path, headers, body, None)
    await inbox.process_due(node)
    async with node.transaction() as tx:
        record = await tx.session.scalar(
            select(InboxActivity).where(InboxActivity.uri == activity["id"])
        )
        assert record is not None
        return record


async def stored(node: Node, uri: str) -> Post | None:
    async with node.transaction() as tx:
        return await tx.session.scalar(select(Post).where(Post.uri == uri))


async def local_post(node: Node, member: Member, text: str, **draft: Any) -> Post:
    async with node.transaction() as tx:
        author = await members.get(tx, member.actor.name)
        return await posts.create(tx, author, posts.Draft(text, **draft))


def mastodon_reply_to(parent_uri: str) -> dict[str, Any]:
    create = fixture("mastodon_create_note.json")
    create["object"]["inReplyTo"] = parent_uri
    return create


# --- inbound Create ---------------------------------------------------------------------------


async def test_a_mastodon_reply_is_stored_with_author_thread_media_and_notifications(
    node: Node, ana: Member
) -> None:
    parent = await local_post(node, ana, "Who tried the fractions worksheet?", licence="CC-BY-4.0")
    record = await deliver(node, mastodon_reply_to(parent.uri))
    assert record.state == "done", record.last_error

    async with node.transaction() as tx:
        post = await tx.session.scalar(select(Post).where(Post.uri == ALICE_NOTE))
        assert post is not None and not post.local
        assert post.author.uri == ALICE
        assert post.url == "https://mastodon.example/@alice/113957471284521987"
        assert post.in_reply_to_id == parent.id and post.thread_id == parent.id
        assert post.visibility == "public"
        assert post.license is None  # Mastodon states no licence: all rights reserved
        assert post.published_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
        assert "Thank you!" in post.content_html and 'class="u-url mention"' in post.content_html
        assert 'translate="no"' not in post.content_html  # sanitised to Mastodon's allow-list
        [picture] = post.attachments
        assert picture.remote_url.endswith("/original/6a0f.png") and picture.storage_path is None
        assert picture.alt_text == "A worksheet with three fraction strips coloured in"
        assert (picture.media_type, picture.width, picture.height) == ("image/png", 800, 600)
        assert [m.actor.name for m in post.mentions] == ["ana"]
        kinds = list(
            await tx.session.scalars(
                select(Notification.kind).where(Notification.member_id == ana.id)
            )
        )
        assert kinds == ["reply"]  # mentioned and answered: told once
        thread = await posts.thread(tx, parent)
        assert [reply.uri for reply in thread.replies] == [ALICE_NOTE]


async def test_the_same_note_twice_is_stored_once(node: Node, ana: Member) -> None:
    first = fixture("mastodon_create_note.json")
    again = copy.deepcopy(first)
    again["id"] += "-redelivered"
    assert (await deliver(node, first)).state == "done"
    assert (await deliver(node, again)).state == "done"
    async with node.transaction() as tx:
        rows = list(await tx.session.scalars(select(Post).where(Post.uri == ALICE_NOTE)))
        assert len(rows) == 1
        assert len(list(await tx.session.scalars(select(Notification)))) == 1


async def test_html_is_sanitised_and_the_licence_read_never_guessed(
    node: Node, ana: Member
) -> None:
    create = fixture("mastodon_create_note.json")
    note = create["object"]
    note["content"] = '<p onclick="x()">Hi<script>alert(1)</script><img src=x></p>'
    note["license"] = "http://creativecommons.org/licenses/by-sa/4.0/legalcode"
    note["attachment"][0]["license"] = "https://creativecommons.org/publicdomain/zero/1.0/"
    assert (await deliver(node, create)).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None
    assert post.content_html == "<p>Hi</p>"
    assert post.license == "CC-BY-SA-4.0"
    async with node.transaction() as tx:
        attachment = await tx.session.scalar(
            select(Attachment).where(Attachment.post_id == post.id)
        )
        assert attachment is not None and attachment.license == "CC0-1.0"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda n: n.update(attributedTo="https://mastodon.example/users/bob"), "attributed"),
        (lambda n: n.update(id="https://elsewhere.example/notes/1"), "author's server"),
        # Followers-only, mentioning no one, and nobody here follows Alice: nobody may read it.
        (lambda n: n.update(to=[ALICE + "/followers"], cc=[], tag=[]), "nobody here"),
        (lambda n: n.update(type="ChatMessage"), "not a note"),
    ],
)
async def test_notes_that_break_the_rules_are_not_stored(
    node: Node, ana: Member, change: Any, reason: str
) -> None:
    create = fixture("mastodon_create_note.json")
    change(create["object"])
    record = await deliver(node, create)
    assert record.state == "ignored" and reason in (record.last_error or "")
    async with node.transaction() as tx:
        assert list(await tx.session.scalars(select(Post))) == []


async def test_a_forged_signature_is_refused_at_the_edge(node: Node) -> None:
    with pytest.raises(inbox.Refused) as refused:
        await deliver(node, fixture("mastodon_create_note.json"), key=OTHER_KEY)
    assert refused.value.status == 401


async def test_missing_parents_are_fetched_up_to_five_levels(
    node: Node, fediverse: Fediverse
) -> None:
    chain = [f"https://mastodon.example/users/alice/statuses/{n}" for n in range(8)]
    for depth, uri in enumerate(chain):
        fediverse.documents[uri] = {
            "id": uri,
            "type": "Note",
            "attributedTo": ALICE,
            "content": f"<p>level {depth}</p>",
            "to": [PUBLIC],
            "inReplyTo": chain[depth - 1] if depth else None,
        }
    create = fixture("mastodon_create_note.json")
    create["object"]["inReplyTo"] = chain[-1]
    assert (await deliver(node, create)).state == "done"
    async with node.transaction() as tx:
        known = set(await tx.session.scalars(select(Post.uri)))
        assert known == {ALICE_NOTE, *chain[-5:]}
        oldest = await tx.session.scalar(select(Post).where(Post.uri == chain[-5]))
        newest = await tx.session.scalar(select(Post).where(Post.uri == ALICE_NOTE))
        assert oldest is not None and newest is not None
        assert oldest.in_reply_to_id is None and oldest.in_reply_to_uri == chain[-6]
        assert newest.thread_id == oldest.id


async def test_a_parent_claiming_another_author_is_not_trusted(
    node: Node, fediverse: Fediverse
) -> None:
    parent = "https://mastodon.example/users/alice/statuses/1"
    fediverse.documents[parent] = {
        "id": parent,
        "type": "Note",
        "attributedTo": "https://elsewhere.example/users/mallory",
        "content": "<p>forged</p>",
        "to": [PUBLIC],
    }
    create = fixture("mastodon_create_note.json")
    create["object"]["inReplyTo"] = parent
    assert (await deliver(node, create)).state == "done"
    assert await stored(node, parent) is None
    reply = await stored(node, ALICE_NOTE)
    assert reply is not None and reply.in_reply_to_uri == parent and reply.in_reply_to_id is None


# --- inbound Update and Delete ----------------------------------------------------------------


async def test_an_edit_by_the_author_changes_the_note(node: Node, ana: Member) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    update = fixture("mastodon_update_note.json")
    update["object"]["license"] = "https://creativecommons.org/licenses/by/4.0/"
    assert (await deliver(node, update)).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None
    assert post.content_html == "<p>Edited: my class did the worksheet in pairs.</p>"
    assert post.license == "CC-BY-4.0" and post.updated_at is not None
    assert post.attachments == []


async def test_an_edit_by_someone_else_is_ignored(node: Node, fediverse: Fediverse) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    mallory = fediverse.actor("https://mastodon.example/users/mallory")
    update = fixture("mastodon_update_note.json")
    update["actor"] = mallory
    update["id"] = mallory + "#updates/1"
    record = await deliver(node, update)
    assert record.state == "ignored" and "author" in (record.last_error or "")
    post = await stored(node, ALICE_NOTE)
    assert post is not None and "Thank you!" in post.content_html


async def test_a_tombstone_deletes_the_note(node: Node, ana: Member) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    assert (await deliver(node, fixture("mastodon_delete_note.json"))).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.deleted_at is not None
    assert post.content_html == "" and post.raw is None
    async with node.transaction() as tx:
        assert list(await tx.session.scalars(select(Attachment))) == []


async def test_a_deletion_from_another_server_is_ignored(node: Node, fediverse: Fediverse) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    mallory = fediverse.actor("https://evil.example/users/mallory")
    delete = fixture("mastodon_delete_note.json")
    delete["actor"], delete["id"] = mallory, mallory + "#delete"
    record = await deliver(node, delete)
    assert record.state == "ignored"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.deleted_at is None


async def test_a_deleted_account_takes_its_posts_along(node: Node, ana: Member) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    assert (await deliver(node, fixture("mastodon_delete_actor.json"))).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.deleted_at is not None


async def test_a_remote_server_cannot_delete_our_posts(node: Node, ana: Member) -> None:
    mine = await local_post(node, ana, "Mine")
    delete = fixture("mastodon_delete_note.json")
    delete["object"]["id"] = mine.uri
    assert (await deliver(node, delete)).state == "ignored"
    post = await stored(node, mine.uri)
    assert post is not None and post.deleted_at is None


# --- inbound Announce -------------------------------------------------------------------------


async def test_a_boost_of_our_post_is_recorded_once_and_notified(node: Node, ana: Member) -> None:
    mine = await local_post(node, ana, "Worth sharing")
    announce = fixture("mastodon_announce.json")
    announce["object"] = mine.uri
    assert (await deliver(node, announce)).state == "done"
    again = {**announce, "id": announce["id"] + "-again"}
    assert (await deliver(node, again)).state == "done"
    async with node.transaction() as tx:
        [boost] = list(await tx.session.scalars(select(Reaction)))
        assert (boost.kind, boost.actor.uri, boost.post_id) == ("announce", ALICE, mine.id)
        kinds = list(await tx.session.scalars(select(Notification.kind)))
        assert kinds == ["announce"]


async def test_a_boost_of_an_unknown_note_by_a_stranger_is_ignored(
    node: Node, fediverse: Fediverse
) -> None:
    announce = fixture("mastodon_announce.json")
    announce["object"] = "https://mastodon.example/users/alice/statuses/5"
    record = await deliver(node, announce)
    assert record.state == "ignored" and "follows" in (record.last_error or "")
    assert fediverse.fetched == [ALICE]  # only the signer's key, never the note


async def follow_remote(node: Node, member: Member, uri: str) -> None:
    """Make a local member an accepted follower of a remote actor."""
    async with node.transaction() as tx:
        target = await remote_actors.fetch(tx, uri)
        actor = await tx.session.get(Actor, member.actor_id)
        assert actor is not None
        record = await follows.follow(tx, actor, target)
        record.state = "accepted"


async def test_a_group_reshare_is_fetched_from_the_notes_own_server(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    group = fediverse.actor("https://lemmy.example/c/maths", kind="Group")
    await follow_remote(node, ana, group)
    note_uri = "https://mastodon.example/users/alice/statuses/7"
    fediverse.documents[note_uri] = {
        "id": note_uri,
        "type": "Note",
        "attributedTo": ALICE,
        "content": "<p>The real text</p>",
        "to": [PUBLIC],
        "cc": [group],
    }
    forged = {**fediverse.documents[note_uri], "content": "<p>Words put in her mouth</p>"}
    announce = {
        "id": "https://lemmy.example/activities/announce/1",
        "type": "Announce",
        "actor": group,
        "to": [PUBLIC],
        "object": {
            "id": "https://mastodon.example/activities/create/7",
            "type": "Create",
            "actor": ALICE,
            "object": forged,
        },
    }
    assert (await deliver(node, announce)).state == "done"
    post = await stored(node, note_uri)
    assert post is not None and post.content_html == "<p>The real text</p>"
    assert post.raw is not None and post.raw["audience"] == group
    async with node.transaction() as tx:
        [boost] = list(await tx.session.scalars(select(Reaction)))
        assert boost.actor.uri == group and boost.kind == "announce"


async def test_a_group_reshare_of_its_own_servers_note_is_taken_as_embedded(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    payload = fixture("lemmy_announce_create_page.json")
    group = fediverse.actor(payload["actor"], kind="Group")
    fediverse.actor(payload["object"]["actor"])
    await follow_remote(node, ana, group)
    assert (await deliver(node, payload)).state == "done"
    post = await stored(node, "http://enterprise.lemmy.ml/post/7")
    assert post is not None and post.title == "post 4"
    assert "http://enterprise.lemmy.ml/post/7" not in fediverse.fetched


async def test_a_group_reshared_deletion_needs_the_origin_to_agree(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    group = fediverse.actor("https://lemmy.example/c/maths", kind="Group")
    await follow_remote(node, ana, group)
    create = fixture("mastodon_create_note.json")
    fediverse.documents[ALICE_NOTE] = create["object"]
    await deliver(node, create)
    wrapped = {
        "id": "https://lemmy.example/activities/announce/2",
        "type": "Announce",
        "actor": group,
        "to": [PUBLIC],
        "object": fixture("mastodon_delete_note.json"),
    }
    record = await deliver(node, wrapped)
    assert record.state == "ignored" and "still exists" in (record.last_error or "")
    fediverse.gone.add(ALICE_NOTE)
    wrapped["id"] += "-again"
    assert (await deliver(node, wrapped)).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.deleted_at is not None


# --- outbound ---------------------------------------------------------------------------------


async def queued(node: Node, kind: str) -> list[tuple[dict[str, Any], list[str]]]:
    """Published activities of a type, each with the inboxes it is queued for."""
    async with node.transaction() as tx:
        rows = list(
            await tx.session.scalars(
                select(OutboxActivity)
                .where(OutboxActivity.type == kind)
                .order_by(OutboxActivity.id)
            )
        )
        result = []
        for row in rows:
            inboxes = await tx.session.scalars(
                select(Delivery.inbox_uri).where(Delivery.activity_id == row.id)
            )
            result.append((row.raw, sorted(inboxes)))
        return result


async def test_our_note_is_what_mastodon_expects(node: Node, ana: Member) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    parent = await stored(node, ALICE_NOTE)
    assert parent is not None
    reply = await local_post(
        node,
        ana,
        "Thanks @alice@mastodon.example! See `@not@mastodon.example`, @nobody@nowhere.example",
        reply_to=parent.uri,
        licence="CC-BY-SA-4.0",
    )
    [(create, inboxes)] = await queued(node, "Create")
    assert inboxes == ["https://mastodon.example/inbox"]
    note = create["object"]
    assert create["actor"] == note["attributedTo"] == ana.actor.uri
    assert create["to"] == note["to"] == [PUBLIC]
    assert note["cc"] == [ana.actor.followers_uri, ALICE]
    assert note["inReplyTo"] == ALICE_NOTE and note["id"] == reply.uri
    assert note["tag"] == [{"type": "Mention", "href": ALICE, "name": "@alice@mastodon.example"}]
    # Mastodon drops unknown properties: the licence is also a visible line in the content.
    assert note["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert note["content"].endswith(
        '<p>By Ana &lt;3, <a href="https://creativecommons.org/licenses/by-sa/4.0/" '
        'rel="license">CC BY-SA 4.0</a></p>'
    )
    assert (
        '<a href="https://mastodon.example/users/alice" class="u-url mention">' in note["content"]
    )
    assert "<code>@not@mastodon.example</code>" in note["content"]
    assert "@nobody@nowhere.example" in note["content"]  # unresolvable: plain text
    async with node.transaction() as tx:
        mentioned = await tx.session.scalars(
            select(Mention.actor_id).where(Mention.post_id == reply.id)
        )
        assert len(list(mentioned)) == 1


async def test_deliveries_are_signed_by_the_author(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    await local_post(node, ana, "Hello @alice@mastodon.example")
    while await delivery.deliver_due(node):
        pass
    [(url, body, request)] = fediverse.received
    assert url == "https://mastodon.example/inbox" and body["type"] == "Create"
    signed = parse_signature_request(
        "POST",
        request.url.raw_path.decode(),
        dict(request.headers),
        request.content,
        datetime.now(UTC),
    )
    assert signed.key_id == ana.actor.key_id
    verify(signed, load_public_key_pem(ana.actor.public_key_pem or ""))


async def test_local_mentions_notify_and_unknown_names_stay_text(node: Node, ana: Member) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "bea")
    post = await local_post(node, ana, "Thanks @bea and @ghost!")
    assert 'class="u-url mention">@<span>bea</span></a>' in post.content_html
    assert "@ghost!" in post.content_html
    async with node.transaction() as tx:
        [(kind, member_id)] = (
            await tx.session.execute(select(Notification.kind, Notification.member_id))
        ).all()
        bea = await members.get(tx, "bea")
        assert (kind, member_id) == ("mention", bea.id)
    [(create, inboxes)] = await queued(node, "Create")
    assert inboxes == []  # nobody elsewhere to tell


async def test_edits_and_deletions_follow_the_post(node: Node, ana: Member) -> None:
    await deliver(node, fixture("mastodon_create_note.json"))
    async with node.transaction() as tx:
        alice = await remote_actors.fetch(tx, ALICE)
        actor = await tx.session.get(Actor, ana.actor_id)
        assert actor is not None
        tx.session.add(
            Follow(
                uri=ALICE + "#follows/1",
                follower_id=alice.id,
                followed_id=actor.id,
                state="accepted",
                created_at=tx.now(),
            )
        )
    post = await local_post(node, ana, "First draft")
    async with node.transaction() as tx:
        member = await members.get(tx, "ana")
        mine = await posts.get(tx, post.key)
        await posts.edit(tx, member, mine, "Second draft")
    [(update, inboxes)] = await queued(node, "Update")
    assert inboxes == ["https://mastodon.example/inbox"]
    assert update["object"]["content"].startswith("<p>Second draft</p>")
    assert update["object"]["updated"]
    async with node.transaction() as tx:
        member = await members.get(tx, "ana")
        await posts.delete(tx, member, await posts.get(tx, post.key))
    [(delete, inboxes)] = await queued(node, "Delete")
    assert inboxes == ["https://mastodon.example/inbox"]
    assert delete["object"] == {"id": post.uri, "type": "Tombstone"}
    assert delete["to"] == [PUBLIC]
    gone = await stored(node, post.uri)
    assert gone is not None and gone.deleted_at is not None and gone.content_html == ""


async def test_only_the_author_or_a_moderator_changes_a_post(node: Node, ana: Member) -> None:
    post = await local_post(node, ana, "Mine")
    async with node.transaction() as tx:
        bea = await members.add(tx, "bea")
        with pytest.raises(Forbidden):
            await posts.edit(tx, bea, await posts.get(tx, post.key), "Not yours")
        moderator = await members.add(tx, "mod", role="moderator")
        await posts.delete(tx, moderator, await posts.get(tx, post.key))


async def test_a_reply_into_a_remote_group_names_the_group(
    node: Node, ana: Member, fediverse: Fediverse
) -> None:
    group = fediverse.actor("https://lemmy.example/c/maths", kind="Group")
    await follow_remote(node, ana, group)
    note_uri = "https://lemmy.example/post/3"
    fediverse.actor("https://lemmy.example/u/lea")
    fediverse.documents[note_uri] = {
        "id": note_uri,
        "type": "Page",
        "name": "Fractions",
        "attributedTo": "https://lemmy.example/u/lea",
        "to": [group, PUBLIC],
        "audience": group,
    }
    announce = {
        "id": "https://lemmy.example/activities/announce/3",
        "type": "Announce",
        "actor": group,
        "to": [PUBLIC],
        "object": note_uri,
    }
    assert (await deliver(node, announce)).state == "done"
    await local_post(node, ana, "My answer", reply_to=note_uri)
    [(create, inboxes)] = await queued(node, "Create")
    assert inboxes == ["https://lemmy.example/inbox"]
    assert create["object"]["audience"] == group and group in create["object"]["cc"]


async def test_a_copy_stored_while_the_first_is_verified_counts_as_a_redelivery(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fedify delivers one activity to every addressed inbox of ours at the same moment; the copy
    # that loses the race on the unique id is a redelivery, not a 500 (found by
    # tests/interop/test_independent_ap.py: a reply sent to a community and to the post's author).
    activity = fixture("mastodon_create_note.json")
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST", "https://school.example/inbox", AS2, body, ALICE + "#main-key", KEY,
        datetime.now(UTC),
    )  # fmt: skip
    async with node.transaction() as tx:
        await remote_actors.fetch(tx, ALICE)  # known already, so verifying writes nothing
    record_signed_request = hosts.record_signed_request

    async def other_copy_lands_first(tx: Any, host: str) -> None:
        await record_signed_request(tx, host)
        async with node.transaction() as other:
            other.session.add(
                InboxActivity(
                    uri=activity["id"], type="Create", actor_uri=ALICE, raw=activity,
                    state="queued", attempts=0, next_attempt_at=other.now(),
                    received_at=other.now(),
                )
            )  # fmt: skip

    monkeypatch.setattr(hosts, "record_signed_request", other_copy_lands_first)
    assert await inbox.receive(node, "POST", "/inbox", headers, body, None) is False
    async with node.transaction() as tx:
        rows = await tx.session.scalars(
            select(InboxActivity).where(InboxActivity.uri == activity["id"])
        )
        assert len(list(rows)) == 1
