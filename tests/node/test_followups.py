"""Follow-ups across modules: profile links queued for checking, withdrawn badges, community rules.

Each test goes through the public entry point a real change takes (members.update_profile, the
inbox handlers, communities.update) and asserts what another part of the node then sees.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from federation.vocabulary import PUBLIC
from node import awards, communities, discovery, follows, identity, inbox, members, remote_actors
from node.errors import Forbidden, InvalidInput
from node.incoming import Ignored, Incoming
from node.runtime import Node, open_node
from node.settings import Settings
from storage.models import Actor, Community, Follow, LinkCheck, Member
from tests.node import test_badges, test_groups
from tests.node.test_cli import Shell, initialised, ready, shell
from tests.node.test_identity import Clock, Web, world
from tests.node.test_notes import (
    ALICE,
    ALICE_NOTE,
    Fediverse,
    deliver,
    fediverse,
    fixture,
    node,
    queued,
    stored,
)

# Fixtures shared with other test modules.
__all__ = ["fediverse", "initialised", "node", "ready", "shell", "world"]
PROFILE = "https://school.example/members/ana"
BACK_LINK = f'<html><head><link rel="me" href="{PROFILE}"></head></html>'


# --- profile links: saved links are queued for their rel="me" check -------------------------


async def links_of(node: Node) -> dict[str, LinkCheck]:
    async with node.transaction() as tx:
        return {check.url: check for check in await tx.session.scalars(select(LinkCheck))}


async def save_links(node: Node, *links: tuple[str, str]) -> None:
    async with node.transaction() as tx:
        ana = await members.get(tx, "ana")
        await members.update_profile(
            tx, ana, display_name="Ana", bio="", default_license=None, links=list(links)
        )


async def test_saving_a_profile_queues_new_and_changed_links_for_verification(
    world: tuple[Node, Web, Clock],
) -> None:
    node, web, clock = world
    for url in ("https://blog.example/", "https://code.example/ana", "https://code.example/a"):
        web.pages[url] = httpx.Response(200, html=BACK_LINK)
    async with node.transaction() as tx:
        await members.add(tx, "ana")
    await save_links(node, ("Blog", "https://blog.example/"))
    # Nobody has viewed the profile: the save alone makes the worker check the new link.
    assert await identity.check_due(node) == 1
    assert (await links_of(node))["https://blog.example/"].verified_at == clock.now

    clock.now += timedelta(hours=1)
    await save_links(node, ("Blog", "https://blog.example/"), ("Code", "https://code.example/ana"))
    checks = await links_of(node)
    assert checks["https://code.example/ana"].next_check_at == clock.now  # new: due now
    assert checks["https://blog.example/"].verified_at is not None  # unchanged: keeps its mark
    assert await identity.check_due(node) == 1

    clock.now += timedelta(hours=1)
    await save_links(node, ("Blog", "https://blog.example/"), ("Code", "https://code.example/a"))
    checks = await links_of(node)
    assert set(checks) == {"https://blog.example/", "https://code.example/a"}
    assert checks["https://code.example/a"].verified_at is None
    assert checks["https://code.example/a"].next_check_at == clock.now
    assert await identity.check_due(node) == 1
    async with node.transaction() as tx:
        verified = await identity.verified_links(tx, await members.get(tx, "ana"))
    assert set(verified) == {"https://blog.example/", "https://code.example/a"}


# --- badges: deleting an award note withdraws the badge it announced ---------------------------

ISSUER = "https://ngo.example/communities/robotics"
SUBJECT = "https://school.example/members/ana"
VC_JSON = "application/vc+ld+json"


class Issuer:
    """Another node's community: its actor document and status list, served as OB 3.0 issuers
    serve them (the status list as application/vc+ld+json when the Accept header asks)."""

    def __init__(self) -> None:
        self.signing = Ed25519PrivateKey.generate()
        self.documents: dict[str, dict[str, Any]] = {
            ISSUER: test_badges.remote_group(ISSUER, self.signing)
        }
        self.status_accepts: list[str] = []
        _credential, self.note, listing = test_badges.remote_award(ISSUER, self.signing, SUBJECT)
        self.documents[listing["id"]] = listing

    def revoke(self) -> None:
        _credential, _note, listing = test_badges.remote_award(
            ISSUER, self.signing, SUBJECT, revoked=True
        )
        self.documents[listing["id"]] = listing

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url not in self.documents:
            return httpx.Response(404)
        kind = "application/activity+json"
        if url.endswith("/badges/status"):
            self.status_accepts.append(request.headers["accept"])
            kind = VC_JSON if VC_JSON in request.headers["accept"] else "application/ld+json"
        return httpx.Response(200, json=self.documents[url], headers={"content-type": kind})


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
async def receiver(settings: Settings, issuer: Issuer) -> AsyncIterator[Node]:
    running = await open_node(
        replace(settings, dev=True),
        clock=test_badges.Clock(),
        http=httpx.AsyncClient(transport=httpx.MockTransport(issuer.handle)),
    )
    yield running
    await running.close()


async def receive(node: Node, issuer: Issuer) -> None:
    """The award note arrives (Create) and its badge is verified and stored for ana."""
    activity = {
        "id": "https://ngo.example/activities/1",
        "type": "Create",
        "actor": ISSUER,
        "object": {**issuer.note, "to": [test_badges.PUBLIC]},
    }
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        robotics = await remote_actors.store(tx, issuer.documents[ISSUER])
        handler = inbox.handler_for("Create", "Note")
        assert handler is not None
        await handler(tx, Incoming(activity["id"], "Create", activity, robotics))
        assert [a.note_uri for a in await awards.awards_of(tx, ana.actor)] == [issuer.note["id"]]


async def delete_note(node: Node, actor_uri: str, note_uri: str) -> None:
    """A Delete{Tombstone} of the note, as `awards.revoke` sends it, through the inbox table."""
    activity = {
        "id": actor_uri + "/activities/2",
        "type": "Delete",
        "actor": actor_uri,
        "object": {"id": note_uri, "type": "Tombstone"},
    }
    async with node.transaction() as tx:
        sender = await tx.session.scalar(select(Actor).where(Actor.uri == actor_uri))
        assert sender is not None
        handler = inbox.handler_for("Delete", "Tombstone")
        assert handler is not None
        await handler(tx, Incoming(activity["id"], "Delete", activity, sender))


async def held(node: Node) -> list[tuple[bool, str]]:
    """Ana's received badges: (shown on her profile, revocation reason)."""
    async with node.transaction() as tx:
        ana = await members.get(tx, "ana")
        shown = {a.id for a in await awards.awards_of(tx, ana.actor)}
        return [
            (award.id in shown, award.revocation_reason)
            for award in await awards.awards_of(tx, ana.actor, include_revoked=True)
        ]


async def test_a_deleted_award_note_of_a_revoked_badge_marks_it_revoked(
    receiver: Node, issuer: Issuer
) -> None:
    await receive(receiver, issuer)
    # The status list was fetched as a credential and read although it is application/vc+ld+json.
    assert issuer.status_accepts and issuer.status_accepts[-1].startswith(VC_JSON)
    issuer.revoke()  # the issuer sets the status bit, then deletes the note (awards.revoke)
    await delete_note(receiver, ISSUER, issuer.note["id"])
    assert await held(receiver) == [(False, "revoked by Robotics: its status list says so")]


async def test_a_deleted_award_note_withdraws_the_badge_even_if_not_revoked(
    receiver: Node, issuer: Issuer
) -> None:
    await receive(receiver, issuer)
    await delete_note(receiver, ISSUER, issuer.note["id"])
    ((shown, reason),) = await held(receiver)
    assert not shown and reason.startswith("withdrawn by")


async def test_only_the_issuer_or_its_server_may_withdraw_a_badge(
    receiver: Node, issuer: Issuer
) -> None:
    await receive(receiver, issuer)
    stranger = "https://elsewhere.example/users/eve"
    async with receiver.transaction() as tx:
        await remote_actors.store(tx, test_badges.mastodon_person(stranger))
    with pytest.raises(Ignored, match="only a badge's issuer"):
        await delete_note(receiver, stranger, issuer.note["id"])
    assert await held(receiver) == [(True, "")]


async def test_a_deleted_issuer_account_withdraws_its_badges(
    receiver: Node, issuer: Issuer
) -> None:
    await receive(receiver, issuer)
    await delete_note(receiver, ISSUER, ISSUER)  # Delete{actor}: the account is gone
    assert await held(receiver) == [(False, "withdrawn: robotics@ngo.example deleted its account")]


# --- communities: remote posts meet the minimum openness too ------------------------------------

CC_BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"
CC_BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"


async def oer_community(node: Node) -> Community:
    """Maths, open, taking only free cultural works (CC0, PDM, CC BY, CC BY-SA), with alice."""
    maths = await test_groups.community(node)
    async with node.transaction() as tx:
        record = await communities.get(tx, "maths")
        record.minimum_openness = "free"
    await test_groups.remote_follower(node)
    return maths


def licensed(note_id: str, licence_url: str | None) -> dict[str, Any]:
    """alice's note into @maths, under a licence (None: none stated, as Mastodon sends)."""
    create = test_groups.into_community(fixture("mastodon_create_note.json"))
    create["id"] = note_id + "/activity"
    create["object"]["id"] = note_id
    if licence_url is not None:
        create["object"]["license"] = licence_url
    return create


async def test_remote_posts_below_a_communitys_minimum_openness_stay_outside(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    maths = await oer_community(node)
    caplog.set_level(logging.INFO, logger="guildhall.notes")
    for suffix, licence_url in (("-none", None), ("-nc", CC_BY_NC)):
        record = await deliver(node, licensed(ALICE_NOTE + suffix, licence_url))
        assert record.state == "done", record.last_error
        post = await stored(node, ALICE_NOTE + suffix)
        assert post is not None and post.community_id is None  # kept, outside the community
    assert await queued(node, "Announce") == []
    refusals = [r.getMessage() for r in caplog.records if "kept outside maths" in r.getMessage()]
    assert len(refusals) == 2
    assert "accepts only CC0, the Public Domain Mark, CC BY or CC BY-SA" in refusals[0]
    assert "no licence (all rights reserved)" in refusals[0]

    assert (await deliver(node, licensed(ALICE_NOTE + "-sa", CC_BY_SA))).state == "done"
    post = await stored(node, ALICE_NOTE + "-sa")
    assert post is not None and post.community_id == maths.id and post.license == "CC-BY-SA-4.0"
    assert len(await queued(node, "Announce")) == 2  # Announce{Create} and Announce{Note}


async def test_a_reply_below_the_minimum_openness_is_refused_from_the_thread(
    node: Node,
) -> None:
    maths = await oer_community(node)
    await deliver(node, licensed(ALICE_NOTE + "-sa", CC_BY_SA))
    reply = licensed(ALICE_NOTE, None)
    reply["object"]["inReplyTo"] = ALICE_NOTE + "-sa"
    record = await deliver(node, reply)
    assert record.state == "ignored"
    assert "not open enough for maths" in (record.last_error or "")
    assert await stored(node, ALICE_NOTE) is None

    reply["id"] += "-2"
    reply["object"]["license"] = CC_BY_SA
    assert (await deliver(node, reply)).state == "done"
    post = await stored(node, ALICE_NOTE)
    assert post is not None and post.community_id == maths.id


async def test_an_edit_that_drops_the_licence_of_a_community_post_is_not_applied(
    node: Node,
) -> None:
    await oer_community(node)
    await deliver(node, licensed(ALICE_NOTE, CC_BY_SA))
    before = await stored(node, ALICE_NOTE)
    assert before is not None and before.community_id is not None
    update = fixture("mastodon_update_note.json")  # Mastodon states no licence
    record = await deliver(node, update)
    assert record.state == "ignored" and "not open enough" in (record.last_error or "")
    after = await stored(node, ALICE_NOTE)
    assert after is not None and after.content_html == before.content_html
    assert after.license == "CC-BY-SA-4.0"
    assert len(await queued(node, "Announce")) == 2  # the Create's two; no Update re-shared

    update["id"] += "-2"
    update["object"]["license"] = CC_BY_SA
    assert (await deliver(node, update)).state == "done"
    edited = await stored(node, ALICE_NOTE)
    assert edited is not None and "Edited" in edited.content_html


# --- communities: settings, and the Update of the Group actor -----------------------------------


async def stewarded(node: Node) -> tuple[Community, Member, Member]:
    """Maths (open, CC BY-SA) with ana as steward, bo as plain member, alice following."""
    maths = await test_groups.community(node)
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        bo = await members.add(tx, "bo")
        (await communities.join(tx, maths, ana)).role = "steward"
        await communities.join(tx, maths, bo)
    await test_groups.remote_follower(node)
    return maths, ana, bo


async def change(node: Node, acting: str, **changes: Any) -> Community:
    async with node.transaction() as tx:
        maths = await communities.get(tx, "maths")
        who = await members.get(tx, acting)
        wanted = replace(communities.settings_of(maths), **changes)
        return await communities.update(tx, who, maths, wanted)


async def test_stewards_change_settings_and_followers_get_an_update_of_the_group(
    node: Node,
) -> None:
    await stewarded(node)
    with pytest.raises(Forbidden, match="stewards and administrators"):
        await change(node, "bo", title="Mine now")
    with pytest.raises(InvalidInput, match="must itself be open enough"):
        await change(node, "ana", minimum_openness="free", default_license="CC-BY-NC-4.0")
    with pytest.raises(InvalidInput, match="unknown openness"):
        await change(node, "ana", minimum_openness="wide")
    assert await queued(node, "Update") == []

    await change(
        node,
        "ana",
        title="Maths circle",
        description="Puzzles *weekly*",
        minimum_openness="free",
        closed=True,
    )
    async with node.transaction() as tx:
        maths = await communities.get(tx, "maths")
        assert (maths.title, maths.minimum_openness, maths.closed) == ("Maths circle", "free", True)
        assert maths.actor.manually_approves_followers is True
        served = await discovery.actor_document(tx, maths.actor)
    [(update, inboxes)] = await queued(node, "Update")
    assert inboxes == ["https://mastodon.example/inbox"]  # the group's followers
    assert update["actor"] == test_groups.GROUP and update["to"] == [PUBLIC]
    group = update["object"]
    assert group["id"] == test_groups.GROUP and group["type"] == "Group"
    assert group["manuallyApprovesFollowers"] is True and group["name"] == "Maths circle"
    assert group == {k: v for k, v in served.items() if k != "@context"}
    assert "<em>weekly</em>" in group["summary"]
    assert update["proof"]["verificationMethod"] == test_groups.GROUP + "#ed25519-key"

    await change(node, "ana", closed=True)  # nothing changed: nothing sent
    assert len(await queued(node, "Update")) == 1
    await change(node, "ana", minimum_openness=None)  # not in the actor document: not sent
    assert len(await queued(node, "Update")) == 1


async def test_opening_a_closed_community_accepts_whoever_was_waiting(
    node: Node, fediverse: Fediverse
) -> None:
    maths, _ana, _bo = await stewarded(node)
    await change(node, "ana", closed=True)
    bob = fediverse.actor("https://other.example/users/bob")
    await test_groups.remote_follower(node, bob, state="pending")
    async with node.transaction() as tx:
        cy = await members.add(tx, "cy")
        assert (await communities.join(tx, await communities.get(tx, "maths"), cy)).state == (
            "pending"
        )

    await change(node, "ana", closed=False)
    async with node.transaction() as tx:
        maths = await communities.get(tx, "maths")
        assert maths.actor.manually_approves_followers is False
        assert await follows.requests(tx, maths.actor) == []
        cy = await members.get(tx, "cy")
        record = await communities.membership(tx, maths, cy.actor)
        assert record is not None and record.state == "approved"
    [(accept, accept_inboxes)] = await queued(node, "Accept")
    assert accept["object"]["actor"] == bob and accept_inboxes == ["https://other.example/inbox"]
    updates = await queued(node, "Update")
    assert [u["object"]["manuallyApprovesFollowers"] for u, _ in updates] == [True, False]
    # bob is a follower now, so the second Update reaches his server too.
    assert updates[1][1] == ["https://mastodon.example/inbox", "https://other.example/inbox"]
    assert ALICE in {f.follower.uri for f in await followers_of(node)}


async def followers_of(node: Node) -> list[Follow]:
    async with node.transaction() as tx:
        maths = await communities.get(tx, "maths")
        return list(
            await tx.session.scalars(
                select(Follow).where(
                    Follow.followed_id == maths.actor_id, Follow.state == "accepted"
                )
            )
        )


def test_the_cli_sets_a_communitys_settings(ready: Shell) -> None:
    code, _, err = ready.run("community", "add", "maths", "--title", "Maths")
    assert (code, err) == (0, "")
    code, out, _ = ready.run(
        "community",
        "set",
        "maths",
        "--title",
        "Maths circle",
        "--license",
        "CC-BY-SA-4.0",
        "--minimum-openness",
        "free",
        "--closed",
    )
    assert (code, out) == (
        0,
        "maths: Maths circle · closed · licence CC-BY-SA-4.0 · minimum openness free\n",
    )
    code, out, _ = ready.run("community", "set", "maths", "--open", "--minimum-openness", "none")
    assert (code, out) == (
        0,
        "maths: Maths circle · open · licence CC-BY-SA-4.0 · minimum openness any licence\n",
    )
    code, _, err = ready.run(
        "community", "set", "maths", "--minimum-openness", "free", "--license", "CC-BY-NC-4.0"
    )
    assert code == 2 and "must itself be open enough" in err
    with pytest.raises(SystemExit) as exited:  # argparse: --open and --closed exclude each other
        ready.run("community", "set", "maths", "--open", "--closed")
    assert exited.value.code == 2
    code, _, err = ready.run("community", "set", "nowhere", "--open")
    assert code == 2 and "no community called 'nowhere'" in err
