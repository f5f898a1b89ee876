"""Identity: rel="me" links verified and re-checked, key fingerprints, aliases and Move."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from node import discovery, follows, identity, inbox, keys, members, remote_actors, worker
from node.errors import InvalidInput
from node.runtime import Node, open_node
from node.settings import Settings
from storage.models import Actor, Delivery, Follow, InboxActivity, LinkCheck, OutboxActivity
from tests.conftest import TEST_SECRET


class Web:
    """Pages and documents other servers serve, by URL, behind the node's HTTP client."""

    def __init__(self) -> None:
        self.pages: dict[str, httpx.Response] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        return self.pages.get(str(request.url), httpx.Response(404))

    def json(self, url: str, document: dict[str, Any]) -> None:
        self.pages[url] = httpx.Response(
            200, json=document, headers={"Content-Type": "application/activity+json"}
        )


class Clock:
    def __init__(self) -> None:
        self.now = datetime.fromisoformat("2026-03-01T09:00:00+00:00")

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Node, Web, Clock]]:
    web, clock = Web(), Clock()
    settings = Settings(
        base_url="https://school.example",
        database_url=database_url,
        secret=TEST_SECRET,
        media_dir=tmp_path / "media",
        dev=True,  # the mocked web needs no DNS
    )
    running = await open_node(
        settings, clock=clock, http=httpx.AsyncClient(transport=httpx.MockTransport(web.handle))
    )
    yield running, web, clock
    await running.close()


def remote_person(uri: str, also_known_as: list[str] | None = None) -> dict[str, Any]:
    material = keys.generate(keys.Sealer("remote"))
    document: dict[str, Any] = {
        "id": uri,
        "type": "Person",
        "preferredUsername": uri.rsplit("/", 1)[1],
        "inbox": uri + "/inbox",
        "followers": uri + "/followers",
        "publicKey": {
            "id": uri + "#main-key",
            "owner": uri,
            "publicKeyPem": material.rsa_public_pem,
        },
    }
    if also_known_as:
        document["alsoKnownAs"] = also_known_as
    return document


async def test_fingerprints_are_of_the_published_keys(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        document = await discovery.actor_document(tx, ana.actor)
        printed = identity.fingerprints(ana.actor)
    der = serialization.load_pem_public_key(
        document["publicKey"]["publicKeyPem"].encode()
    ).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert printed.rsa_sha256 is not None
    assert printed.rsa_sha256.replace(":", "").lower() == hashlib.sha256(der).hexdigest()
    assert len(printed.rsa_sha256.split(":")) == 32
    assert printed.ed25519 == document["assertionMethod"][0]["publicKeyMultibase"]


@pytest.mark.parametrize(
    ("page", "found"),
    [
        ('<a rel="me" href="https://school.example/members/ana">me</a>', True),
        ('<link rel="me" href="https://school.example/members/ana/">', True),
        ('<a rel="nofollow me noopener" href="HTTPS://school.example/members/ana">x</a>', True),
        ('<a rel="me" href="/members/ana">relative, on the profile host</a>', False),
        ('<a href="https://school.example/members/ana">no rel</a>', False),
        ('<a rel="me" href="https://school.example/members/anabel">someone else</a>', False),
        ('<a rel="menu" href="https://school.example/members/ana">not me</a>', False),
    ],
)
def test_back_links_need_rel_me_and_the_profile_url(page: str, found: bool) -> None:
    profile = {"https://school.example/members/ana"}
    assert identity.links_back(page, "https://blog.example/about", profile) is found


async def test_links_are_verified_then_rechecked_by_the_worker(
    world: tuple[Node, Web, Clock],
) -> None:
    node, web, clock = world
    web.pages["https://blog.example/"] = httpx.Response(
        301, headers={"Location": "https://blog.example/about"}
    )
    web.pages["https://blog.example/about"] = httpx.Response(
        200,
        html='<html><head><link rel="me" href="https://school.example/members/ana"></head></html>',
    )
    web.pages["https://other.example/"] = httpx.Response(200, html="<p>nothing here</p>")
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        await members.update_profile(
            tx,
            ana,
            display_name="Ana",
            bio="",
            default_license=None,
            links=[("Blog", "https://blog.example/"), ("Other", "https://other.example/")],
        )
        assert await identity.verified_links(tx, ana) == {}  # scheduled, not yet checked
    assert await worker.run_once(node) == 2
    async with node.transaction() as tx:
        ana = await members.get(tx, "ana")
        verified = await identity.verified_links(tx, ana)
        other = await tx.session.scalar(
            select(LinkCheck).where(LinkCheck.url == "https://other.example/")
        )
        assert other is not None
        assert other.last_error == 'no rel="me" link back to https://school.example/members/ana'
        assert other.next_check_at == clock.now + identity.RECHECK_FAILED
    assert verified == {"https://blog.example/": clock.now}
    assert await identity.check_due(node) == 0  # nothing due: nothing fetched

    # A week later the blog dropped the back-link: the mark goes.
    web.pages["https://blog.example/about"] = httpx.Response(200, html="<p>moved on</p>")
    clock.now += timedelta(days=8)
    assert await identity.check_due(node) == 2
    async with node.transaction() as tx:
        assert await identity.verified_links(tx, await members.get(tx, "ana")) == {}


async def test_a_member_moves_to_an_account_that_claims_them(
    world: tuple[Node, Web, Clock],
) -> None:
    node, web, _ = world
    new_uri = "https://elsewhere.example/users/ana"
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        ben = await members.add(tx, "ben")
        fan = await remote_actors.store(tx, remote_person("https://fans.example/users/fan"))
        tx.session.add(
            Follow(
                uri="https://fans.example/f/1",
                follower_id=fan.id,
                followed_id=ana.actor_id,
                state="accepted",
                created_at=tx.now(),
            )
        )
        await follows.follow(tx, ben.actor, ana.actor)
        web.json(new_uri, remote_person(new_uri))
        with pytest.raises(InvalidInput) as refused:
            await identity.move(tx, ana, new_uri)
        assert "must first list this account" in refused.value.reason
        web.json(new_uri, remote_person(new_uri, also_known_as=[ana.actor.uri]))
        target = await identity.move(tx, ana, new_uri)
        document = await discovery.actor_document(tx, ana.actor)
        moves = list(
            await tx.session.scalars(select(OutboxActivity).where(OutboxActivity.type == "Move"))
        )
        inboxes = list(
            await tx.session.scalars(
                select(Delivery.inbox_uri).where(Delivery.activity_id == moves[0].id)
            )
        )
        ben_follows = {
            f.followed_id: f.state
            for f in await tx.session.scalars(
                select(Follow).where(Follow.follower_id == ben.actor_id)
            )
        }
    assert document["movedTo"] == new_uri
    assert len(moves) == 1
    assert moves[0].raw["object"] == document["id"] and moves[0].raw["target"] == new_uri
    assert moves[0].raw["proof"]["verificationMethod"] == document["id"] + "#ed25519-key"
    assert inboxes == ["https://fans.example/users/fan/inbox"]
    assert ben_follows == {target.id: "pending"}  # Ben now asks the new account, not the old


async def test_aliases_appear_as_also_known_as(world: tuple[Node, Web, Clock]) -> None:
    node, web, _ = world
    old_uri = "https://old.example/users/ana"
    web.json(old_uri, remote_person(old_uri))
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        assert await identity.set_aliases(tx, ana, [old_uri]) == [old_uri]
        document = await discovery.actor_document(tx, ana.actor)
        with pytest.raises(InvalidInput):
            await identity.set_aliases(tx, ana, [ana.actor.uri])
    assert document["alsoKnownAs"] == [old_uri]


async def _move_from(node: Node, old_uri: str, target_uri: str) -> InboxActivity:
    async with node.transaction() as tx:
        tx.session.add(
            InboxActivity(
                uri=old_uri + "#move",
                type="Move",
                actor_uri=old_uri,
                raw={
                    "id": old_uri + "#move",
                    "type": "Move",
                    "actor": old_uri,
                    "object": old_uri,
                    "target": target_uri,
                },
                state="queued",
                attempts=0,
                next_attempt_at=tx.now(),
                received_at=tx.now(),
            )
        )
    await inbox.process_due(node)
    async with node.transaction() as tx:
        row = await tx.session.scalar(select(InboxActivity).where(InboxActivity.type == "Move"))
        assert row is not None
        return row


async def test_an_inbound_move_refollows_only_a_target_that_claims_the_old_account(
    world: tuple[Node, Web, Clock],
) -> None:
    node, web, _ = world
    old_uri, new_uri = "https://old.example/users/ana", "https://new.example/users/ana"
    web.json(new_uri, remote_person(new_uri))
    async with node.transaction() as tx:
        ben = await members.add(tx, "ben")
        old = await remote_actors.store(tx, remote_person(old_uri))
        tx.session.add(
            Follow(
                uri="https://school.example/f/1",
                follower_id=ben.actor_id,
                followed_id=old.id,
                state="accepted",
                created_at=tx.now(),
            )
        )
    row = await _move_from(node, old_uri, new_uri)
    assert row.state == "ignored" and "does not list" in (row.last_error or "")

    web.json(new_uri, remote_person(new_uri, also_known_as=[old_uri]))
    async with node.transaction() as tx:
        await tx.session.delete(row)
    row = await _move_from(node, old_uri, new_uri)
    assert row.state == "done", row.last_error
    async with node.transaction() as tx:
        ben = await members.get(tx, "ben")
        followed = {
            (await tx.session.get(Actor, f.followed_id)).uri  # type: ignore[union-attr]
            for f in await tx.session.scalars(
                select(Follow).where(Follow.follower_id == ben.actor_id)
            )
        }
        sent = {a.type: a.raw for a in await tx.session.scalars(select(OutboxActivity))}
        old = await tx.session.scalar(select(Actor).where(Actor.uri == old_uri))
    assert followed == {new_uri}
    assert sent["Follow"]["object"] == new_uri
    assert sent["Undo"]["object"]["object"] == old_uri
    assert old is not None and old.moved_to_uri == new_uri
