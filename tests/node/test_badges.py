"""Badges: defining, awarding, signing, revoking, verifying, baking and receiving OB 3.0 awards."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import select

from federation import badges as ob3
from federation import baking, integrity, status_list
from federation.multikey import encode_public_key
from node import (
    achievements,
    awards,
    badge_requests,
    communities,
    credentials,
    delivery,
    discovery,
    inbox,
    keys,
    members,
    remote_actors,
    status_lists,
    verification,
)
from node.errors import Forbidden, InvalidInput
from node.incoming import Ignored, Incoming
from node.runtime import Node, Tx, open_node
from node.settings import Settings
from storage.models import Community, Delivery, Member, OutboxActivity

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(settings: Settings, clock: Clock) -> AsyncIterator[Node]:
    running = await open_node(settings, clock=clock)
    yield running
    await running.close()


async def school(tx: Tx) -> tuple[Community, Member, Member]:
    """A community with a mentor and a learner."""
    maths = await communities.add(tx, "maths", title="Maths Circle")
    mentor = await members.add(tx, "mira", display_name="Mira")
    ana = await members.add(tx, "ana", display_name="Ana")
    record = await communities.join(tx, maths, mentor)
    record.role = "mentor"
    await communities.join(tx, maths, ana)
    return maths, mentor, ana


async def issued(tx: Tx, **options: Any) -> Any:
    maths, mentor, ana = await school(tx)
    badge = await achievements.define(
        tx,
        mentor,
        maths,
        "proofs",
        name="Proof Writer",
        criteria="Wrote **three** proofs the circle checked.",
        image=("badge.png", png_bytes()),
        image_license="CC-BY-4.0",
        image_author="Mira",
        tags=["proof", "geometry"],
        alignment=[{"target_name": "CCSS 8.G", "target_url": "https://standards.example/8g"}],
    )
    return await awards.award(
        tx, mentor, badge, ana.actor, evidence=["https://school.example/posts/abc"], **options
    )


async def test_only_mentors_and_stewards_define_and_award(timed: Node) -> None:
    async with timed.transaction() as tx:
        maths, mentor, ana = await school(tx)
        with pytest.raises(Forbidden):
            await achievements.define(tx, ana, maths, "x", name="X", criteria="c")
        badge = await achievements.define(tx, mentor, maths, "x", name="X", criteria="c")
        with pytest.raises(Forbidden):
            await awards.award(tx, ana, badge, ana.actor)
        with pytest.raises(InvalidInput, match="already has a badge"):
            await achievements.define(tx, mentor, maths, "X", name="Again", criteria="c")


async def test_badge_images_are_png_or_plain_svg(timed: Node) -> None:
    async with timed.transaction() as tx:
        maths, mentor, _ana = await school(tx)
        svg = await achievements.define(
            tx, mentor, maths, "svg", name="S", criteria="c", image=("b.svg", SVG)
        )
        assert svg.image_media_type == "image/svg+xml"
        assert achievements.image_bytes(tx, svg) == SVG
        jpeg = io.BytesIO()
        Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
        with pytest.raises(InvalidInput, match="PNG or SVG"):
            await achievements.define(
                tx, mentor, maths, "j", name="J", criteria="c", image=("b.jpg", jpeg.getvalue())
            )
        bomb = b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
        with pytest.raises(InvalidInput, match="DOCTYPE"):
            await achievements.define(
                tx, mentor, maths, "b", name="B", criteria="c", image=("b.svg", bomb)
            )
        with pytest.raises(InvalidInput, match="not an SVG"):
            await achievements.define(
                tx, mentor, maths, "h", name="H", criteria="c", image=("b.svg", b"<html/>")
            )


async def test_an_award_is_a_signed_open_badge_credential(timed: Node) -> None:
    async with timed.transaction() as tx:
        award = await issued(tx)
        credential = award.credential
        community = award.community
        assert community is not None
        assert credential["@context"] == ob3.CONTEXTS
        assert credential["id"] == f"https://school.example/credentials/{award.key}"
        assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert credential["issuer"]["id"] == "https://school.example/communities/maths"
        assert credential["credentialSubject"]["id"] == "https://school.example/members/ana"
        achievement = credential["credentialSubject"]["achievement"]
        assert achievement["id"].startswith("https://school.example/achievements/")
        assert achievement["criteria"] == {
            "narrative": "Wrote **three** proofs the circle checked."
        }
        assert achievement["tag"] == ["geometry", "proof"]
        assert achievement["alignment"][0]["targetUrl"] == "https://standards.example/8g"
        assert credential["evidence"] == [
            {"id": "https://school.example/posts/abc", "type": ["Evidence"]}
        ]
        assert credential["validFrom"] == "2025-03-01T09:00:00Z"
        entry = credential["credentialStatus"]
        assert entry["type"] == "BitstringStatusListEntry"
        assert (
            entry["statusListCredential"]
            == "https://school.example/communities/maths/badges/status"
        )
        assert int(entry["statusListIndex"]) == award.status_index
        proof = credential["proof"]
        assert proof["cryptosuite"] == "eddsa-rdfc-2022"
        assert proof["verificationMethod"] == "https://school.example/communities/maths#ed25519-key"
        # The key the community publishes in its actor document verifies the proof.
        document = await discovery.actor_document(tx, community.actor)
        listed = document["assertionMethod"][0]
        assert listed["id"] == proof["verificationMethod"]
        public = keys.ed25519_private_key(
            keys.Sealer(tx.settings.secret), community.actor.ed25519_private_sealed or ""
        ).public_key()
        assert listed["publicKeyMultibase"] == encode_public_key(public)
        integrity.verify(credential, public)
        verified = await verification.verify(tx, credential)
        assert verified.status_checked
        assert verified.summary.subject_id == award.recipient.uri


def _resigned(credential: dict[str, Any], key: Ed25519PrivateKey, method: str) -> dict[str, Any]:
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    return integrity.sign(unsigned, key, method, integrity.RDFC, T0)


async def test_tampering_a_wrong_key_revocation_and_expiry_fail_with_distinct_reasons(
    timed: Node, clock: Clock
) -> None:
    async with timed.transaction() as tx:
        award = await issued(tx, valid_until=T0 + timedelta(days=30))
        credential = award.credential
        for path, value in [
            (("name",), "Forged Badge"),
            (("issuer", "name"), "Another School"),
            (("credentialSubject", "id"), "https://school.example/members/mira"),
            (("credentialSubject", "achievement", "name"), "Professor"),
            (("credentialSubject", "achievement", "criteria", "narrative"), "Nothing"),
            (("validUntil",), "2099-01-01T00:00:00Z"),
            (("evidence",), [{"id": "https://school.example/posts/zzz", "type": ["Evidence"]}]),
        ]:
            forged = copy.deepcopy(credential)
            target = forged
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
            with pytest.raises(credentials.CredentialInvalid) as failed:
                await verification.verify(tx, forged)
            assert failed.value.reason.startswith("signature invalid"), path

        stranger = Ed25519PrivateKey.generate()
        wrong = _resigned(credential, stranger, "https://school.example/members/mira#ed25519-key")
        with pytest.raises(credentials.CredentialInvalid) as failed:
            await verification.verify(tx, wrong)
        assert failed.value.reason.startswith("wrong key")

        # A term the contexts do not define is unsigned by pyld, so it is refused, not ignored.
        padded = {**credential, "extraClaim": "admin"}
        with pytest.raises(credentials.CredentialInvalid, match="not defined"):
            await verification.verify(tx, padded)

        clock.now = T0 + timedelta(days=31)
        with pytest.raises(credentials.CredentialInvalid) as failed:
            await verification.verify(tx, credential)
        assert failed.value.reason.startswith("expired")

        clock.now = T0 + timedelta(days=1)
        await awards.revoke(tx, None, award, "plagiarised proof")
        with pytest.raises(credentials.CredentialInvalid) as failed:
            await verification.verify(tx, credential)
        assert failed.value.reason.startswith("revoked")
        reasons = {"signature invalid", "wrong key", "expired", "revoked"}
        assert len(reasons) == 4


async def test_revocation_sets_the_bit_in_a_signed_status_list_and_withdraws_the_note(
    timed: Node,
) -> None:
    async with timed.transaction() as tx:
        award = await issued(tx)
        community = award.community
        assert community is not None
        before = await status_lists.status_list_document(tx, community)
        entry = ob3.read_credential(award.credential).status[0]
        assert status_list.check_status(before, entry) is False
        with pytest.raises(Forbidden):
            await awards.revoke(tx, await members.get(tx, "ana"), award, "no")
        await awards.revoke(tx, await members.get(tx, "mira"), award, "plagiarised")
        after = await status_lists.status_list_document(tx, community)
        assert status_list.check_status(after, entry) is True
        method = credentials.verification_method(community.actor)
        assert after["proof"]["verificationMethod"] == method
        with pytest.raises(InvalidInput, match="already revoked"):
            await awards.revoke(tx, None, award, "again")
        deleted = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Delete")
        )
        assert deleted is not None and deleted.raw["object"]["id"] == award.note_uri
        assert await awards.awards_of(tx, award.recipient) == []


async def test_requests_are_approved_into_awards_or_declined(timed: Node) -> None:
    async with timed.transaction() as tx:
        maths, mentor, ana = await school(tx)
        badge = await achievements.define(tx, mentor, maths, "p", name="P", criteria="c")
        with pytest.raises(InvalidInput, match="evidence"):
            await badge_requests.request_badge(tx, ana, badge, [])
        asked = await badge_requests.request_badge(tx, ana, badge, ["https://school.example/posts/1"])
        with pytest.raises(InvalidInput, match="already asked"):
            await badge_requests.request_badge(tx, ana, badge, ["https://school.example/posts/1"])
        assert [r.id for r in await badge_requests.pending_requests(tx, maths)] == [asked.id]
        with pytest.raises(Forbidden):
            await badge_requests.decide(tx, ana, asked, True)
        given = await badge_requests.decide(tx, mentor, asked, True)
        assert given is not None and given.evidence_urls == ["https://school.example/posts/1"]
        assert asked.state == "approved" and asked.award_id == given.id
        again = await badge_requests.request_badge(tx, ana, badge, ["https://school.example/posts/2"])
        assert await badge_requests.decide(tx, mentor, again, False) is None
        assert again.state == "declined"
        assert await badge_requests.pending_requests(tx, maths) == []


async def test_baked_png_and_svg_round_trip_and_verify(timed: Node) -> None:
    async with timed.transaction() as tx:
        award = await issued(tx)
        assert credentials.baked_formats(award) == ("png",)
        png = credentials.baked(tx, award, "png")
        assert Image.open(io.BytesIO(png)).size == (64, 64)
        credential = credentials.unbake("badge.png", png)
        assert credential == award.credential
        await verification.verify(tx, credential)
        maths = award.community
        assert maths is not None
        plain = await achievements.define(tx, None, maths, "plain", name="Plain", criteria="c")
        other = await awards.award(tx, None, plain, award.recipient)
        assert credentials.baked_formats(other) == ("png", "svg")
        svg = credentials.baked(tx, other, "svg")
        assert credentials.unbake("badge.svg", svg) == other.credential
        assert baking.extract_png(credentials.baked(tx, other, "png"))
        with pytest.raises(credentials.CredentialInvalid, match="no credential"):
            credentials.unbake("x.png", png_bytes())


# Federation -------------------------------------------------------------------------------------


def _pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def mastodon_person(uri: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": uri.rsplit("/", 1)[1],
        "url": "https://social.example/@" + uri.rsplit("/", 1)[1],
        "inbox": uri + "/inbox",
        "followers": uri + "/followers",
        "endpoints": {"sharedInbox": "https://social.example/inbox"},
        "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": _pem(key)},
    }


async def test_the_award_note_reaches_a_mastodon_inbox_as_a_note_with_mention_and_image(
    settings: Settings, clock: Clock
) -> None:
    posted: list[httpx.Request] = []

    def mastodon(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(202)

    http = httpx.AsyncClient(transport=httpx.MockTransport(mastodon))
    # Development mode skips DNS for the made-up hosts; MockTransport answers for them.
    node = await open_node(replace(settings, dev=True), clock=clock, http=http)
    try:
        async with node.transaction() as tx:
            maths, mentor, _ana = await school(tx)
            bob = await remote_actors.store(tx, mastodon_person("https://social.example/users/bob"))
            badge = await achievements.define(
                tx,
                mentor,
                maths,
                "p",
                name="Proof Writer",
                criteria="c",
                image=("b.png", png_bytes()),
                image_license="CC-BY-SA-4.0",
            )
            award = await awards.award(tx, mentor, badge, bob)
            community_key = keys.ed25519_private_key(
                keys.Sealer(tx.settings.secret), maths.actor.ed25519_private_sealed or ""
            ).public_key()
        assert await delivery.deliver_due(node) == 1
    finally:
        await node.close()
    assert [str(r.url) for r in posted] == ["https://social.example/inbox"]
    activity = json.loads(posted[0].content)
    assert activity["type"] == "Create" and activity["actor"] == maths.actor.uri
    note = activity["object"]
    # What Mastodon's ActivityPub::Activity::Create needs to show a status with a mention.
    assert note["type"] == "Note" and note["id"] == award.note_uri
    assert note["attributedTo"] == maths.actor.uri
    assert PUBLIC in note["to"]
    assert "https://social.example/users/bob" in note["cc"]
    assert note["tag"] == [
        {
            "type": "Mention",
            "href": "https://social.example/users/bob",
            "name": "@bob@social.example",
        }
    ]
    assert 'class="u-url mention"' in note["content"]
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in note["content"]
    image, link = note["attachment"]
    assert image["type"] == "Image" and image["mediaType"] == "image/png"
    assert image["url"].startswith("https://school.example/achievements/")
    assert image["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert link == {
        "type": "Link",
        "mediaType": "application/vc+ld+json",
        "href": f"https://school.example/credentials/{award.key}",
        "name": "Open Badge credential",
    }
    assert note["verifiableCredential"] == award.credential
    # FEP-8b32: the whole activity carries an eddsa-jcs-2022 proof by the community.
    assert activity["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    integrity.verify(activity, community_key)


def remote_group(uri: str, signing: Ed25519PrivateKey) -> dict[str, Any]:
    document = mastodon_person(uri)
    return {
        **document,
        "@context": [*document["@context"], "https://www.w3.org/ns/cid/v1"],
        "type": "Group",
        "assertionMethod": [
            {
                "id": uri + "#ed25519-key",
                "type": "Multikey",
                "controller": uri,
                "publicKeyMultibase": encode_public_key(signing.public_key()),
            }
        ],
    }


def remote_award(
    issuer: str, signing: Ed25519PrivateKey, subject: str, *, revoked: bool = False
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A credential, its award note and the issuer's status list, as another node makes them."""
    status_url = issuer + "/badges/status"
    method = issuer + "#ed25519-key"
    credential = integrity.sign(
        ob3.open_badge_credential(
            "https://ngo.example/credentials/1",
            ob3.profile(issuer, "Robotics"),
            subject,
            ob3.achievement(
                "https://ngo.example/achievements/1", "Soldering", "Solders.", "c", None
            ),
            T0,
            name="Soldering",
            credential_status=status_list.status_entry(status_url, 42),
        ),
        signing,
        method,
        integrity.RDFC,
        T0,
    )
    listing = integrity.sign(
        status_list.status_list_credential(
            status_url, issuer, T0, status_list.encode_bitstring({42} if revoked else set())
        ),
        signing,
        method,
        integrity.RDFC,
        T0,
    )
    note = {
        "id": "https://ngo.example/awards/1",
        "type": "Note",
        "attributedTo": issuer,
        "content": "<p>@ana earned Soldering</p>",
        "tag": [{"type": "Mention", "href": subject}],
        "verifiableCredential": credential,
    }
    return credential, note, listing


async def receiving_node(
    settings: Settings, clock: Clock, documents: dict[str, dict[str, Any]]
) -> Node:
    def peer(request: httpx.Request) -> httpx.Response:
        document = documents.get(str(request.url))
        if document is None:
            return httpx.Response(404)
        kind = (
            "application/ld+json" if "status" in str(request.url) else "application/activity+json"
        )
        return httpx.Response(200, json=document, headers={"content-type": kind})

    return await open_node(
        replace(settings, dev=True),
        clock=clock,
        http=httpx.AsyncClient(transport=httpx.MockTransport(peer)),
    )


async def test_a_received_award_is_verified_before_it_is_shown(
    settings: Settings, clock: Clock
) -> None:
    issuer = "https://ngo.example/communities/robotics"
    signing = Ed25519PrivateKey.generate()
    group = remote_group(issuer, signing)
    subject = "https://school.example/members/ana"
    credential, note, listing = remote_award(issuer, signing, subject)
    node = await receiving_node(settings, clock, {issuer: group, listing["id"]: listing})
    try:
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana")
            robotics = await remote_actors.store(tx, group)
            incoming = Incoming("https://ngo.example/activities/1", "Create", {}, robotics)

            tampered = copy.deepcopy(note)
            tampered["verifiableCredential"]["name"] = "Master Welder"
            with pytest.raises(Ignored, match="award rejected: signature invalid"):
                await awards.receive_award(tx, incoming, tampered)
            elsewhere = {**note, "tag": [{"type": "Mention", "href": issuer}]}
            with pytest.raises(Ignored, match="wrong recipient"):
                await awards.receive_award(tx, incoming, elsewhere)
            mira = await remote_actors.store(tx, mastodon_person("https://ngo.example/users/mira"))
            impostor = Incoming("https://ngo.example/activities/2", "Create", {}, mira)
            with pytest.raises(Ignored, match="wrong issuer"):
                await awards.receive_award(tx, impostor, note)
            assert await awards.awards_of(tx, ana.actor) == []

            stored = await awards.receive_award(tx, incoming, note)
            assert not stored.local and stored.credential == credential
            assert [a.id for a in await awards.awards_of(tx, ana.actor)] == [stored.id]
            assert (await awards.receive_award(tx, incoming, note)).id == stored.id
    finally:
        await node.close()


async def test_a_received_award_that_was_revoked_is_refused(
    settings: Settings, clock: Clock
) -> None:
    issuer = "https://ngo.example/communities/robotics"
    signing = Ed25519PrivateKey.generate()
    group = remote_group(issuer, signing)
    _credential, note, listing = remote_award(
        issuer, signing, "https://school.example/members/ana", revoked=True
    )
    node = await receiving_node(settings, clock, {issuer: group, listing["id"]: listing})
    try:
        async with node.transaction() as tx:
            await members.add(tx, "ana")
            robotics = await remote_actors.store(tx, group)
            incoming = Incoming("https://ngo.example/activities/1", "Create", {}, robotics)
            with pytest.raises(Ignored, match="award rejected: revoked"):
                await awards.receive_award(tx, incoming, note)
    finally:
        await node.close()


async def test_no_deliveries_for_a_local_recipient(timed: Node) -> None:
    async with timed.transaction() as tx:
        award = await issued(tx)
        created = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Create")
        )
        assert created is not None and created.object_uri == award.note_uri
        assert list(await tx.session.scalars(select(Delivery))) == []


async def test_the_inbox_create_handler_routes_award_notes_to_verification(
    settings: Settings, clock: Clock
) -> None:
    issuer = "https://ngo.example/communities/robotics"
    signing = Ed25519PrivateKey.generate()
    group = remote_group(issuer, signing)
    _credential, note, listing = remote_award(issuer, signing, "https://school.example/members/ana")
    node = await receiving_node(settings, clock, {issuer: group, listing["id"]: listing})
    activity = {
        "id": "https://ngo.example/activities/1",
        "type": "Create",
        "actor": issuer,
        "object": {**note, "to": [PUBLIC]},
    }
    try:
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana")
            robotics = await remote_actors.store(tx, group)
            handler = inbox.handler_for("Create", "Note")
            assert handler is not None
            await handler(tx, Incoming(activity["id"], "Create", activity, robotics))
            (award,) = await awards.awards_of(tx, ana.actor)
            assert award.note_uri == note["id"] and not award.local
    finally:
        await node.close()
