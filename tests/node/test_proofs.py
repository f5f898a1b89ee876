"""Object proofs: what we author leaves signed by its author, and relayed copies are checked.

Three nodes share the test: the school (where Ana writes), a relay community on another server,
and the NGO node that receives the relayed note through its real inbox queue.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from federation import integrity
from federation.multikey import decode_private_key, decode_public_key
from node import (
    actors,
    communities,
    delivery,
    discovery,
    documents,
    inbox,
    keys,
    members,
    posts,
    proofs,
    remote_actors,
)
from node.incoming import Incoming
from node.runtime import Node, Tx, open_node
from node.settings import Settings
from storage.models import Actor, InboxActivity, OutboxActivity
from tests.conftest import TEST_SECRET

FEP = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "fep-8b32-eddsa-jcs-2022"


def _settings(database_url: str, tmp_path: Path, host: str) -> Settings:
    return Settings(
        base_url=f"https://{host}",
        database_url=database_url,
        secret=TEST_SECRET,
        media_dir=tmp_path / host,
        dev=True,  # lets the mocked HTTP client reach made-up hosts without DNS
    )


@pytest.fixture
def databases(make_database: Callable[[], str]) -> list[str]:
    """Three fresh databases, made outside the event loop (PostgreSQL needs asyncio.run)."""
    return [make_database() for _ in range(3)]


def _key_of(document: dict[str, Any]) -> Any:
    return decode_public_key(document["assertionMethod"][0]["publicKeyMultibase"])


async def test_signing_reproduces_the_fep_8b32_vector(node: Node) -> None:
    expected = json.loads((FEP / "keypair-and-expected.json").read_text())
    unsigned = json.loads((FEP / "unsigned.json").read_text())
    secret = decode_private_key(expected["secretKeyMultibase"])
    alice = Actor(
        uri="https://server.example/users/alice",
        ed25519_private_sealed=keys.Sealer(TEST_SECRET).seal(secret.private_bytes_raw()),
    )
    async with node.transaction() as tx:
        signed = await proofs.sign(tx, alice, unsigned, created=expected["created"])
    assert signed == json.loads((FEP / "signed.json").read_text())
    assert signed["proof"]["proofValue"] == expected["expectedProofValue"]


async def test_a_post_and_its_create_are_signed_by_the_author(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana", display_name="Ana Díaz")
        post = await posts.create(
            tx, ana, posts.Draft(text="Fractions with paper strips", licence="CC-BY-SA-4.0")
        )
        note = documents.note_document(tx, post)
        note.pop("@context")
        create = documents.activity(
            ana.actor, "Create", note, delivery.new_activity_uri(tx, ana.actor), to=note["to"]
        )
        await delivery.publish(tx, ana.actor, create)
        actor_doc = await discovery.actor_document(tx, ana.actor)
        stored = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.uri == create["id"])
        )
        assert stored is not None
        signed = stored.raw
    key = _key_of(actor_doc)
    method = actor_doc["assertionMethod"][0]["id"]
    assert signed["proof"]["verificationMethod"] == method == actor_doc["id"] + "#ed25519-key"
    assert signed["proof"]["@context"] == signed["@context"]
    assert proofs.DATA_INTEGRITY_CONTEXT in signed["@context"]
    assert integrity.verify(signed, key).verification_method == method
    # The embedded note carries its own proof, so it stays provable once separated.
    inner = signed["object"]
    assert inner["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert integrity.verify(inner, key).verification_method == method
    forged = copy.deepcopy(inner)
    forged["license"] = "https://creativecommons.org/licenses/by-nc-nd/4.0/"
    with pytest.raises(integrity.ProofError):
        integrity.verify(forged, key)


class Network:
    """Three in-process nodes, and the actor documents each serves, for the NGO's HTTP client."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            document = self.documents.get(str(request.url))
            if document is None:
                return httpx.Response(404)
            return httpx.Response(
                200, json=document, headers={"Content-Type": "application/activity+json"}
            )

        return httpx.MockTransport(answer)


@pytest.fixture
async def trio(
    databases: list[str], tmp_path: Path
) -> AsyncIterator[tuple[Node, Node, Node, Network]]:
    network = Network()
    school = await open_node(_settings(databases[0], tmp_path, "school.example"))
    relay = await open_node(_settings(databases[1], tmp_path, "relay.example"))
    ngo = await open_node(
        _settings(databases[2], tmp_path, "ngo.example"),
        http=httpx.AsyncClient(transport=network.transport()),
    )
    yield school, relay, ngo, network
    for running in (school, relay, ngo):
        await running.close()


async def _relayed_note(
    school: Node, relay: Node, network: Network
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ana's signed note re-shared by a community elsewhere; returns (Announce, Ana's doc)."""
    async with school.transaction() as tx:
        ana = await members.add(tx, "ana", display_name="Ana Díaz")
        bob = await members.add(tx, "bob")
        post = await posts.create(
            tx,
            ana,
            posts.Draft(text="Lesson plan", title="Fractions", licence="CC-BY-SA-4.0"),
        )
        note = documents.note_document(tx, post)
        note.pop("@context")
        create = documents.activity(
            ana.actor, "Create", note, delivery.new_activity_uri(tx, ana.actor), to=note["to"]
        )
        signed_create = await proofs.sign(tx, ana.actor, create)
        for member in (ana, bob):
            doc = await discovery.actor_document(tx, member.actor)
            network.documents[doc["id"]] = doc
        ana_doc = network.documents[ana.actor.uri]
    async with relay.transaction() as tx:
        community = await communities.add(tx, "maths", title="Maths teachers")
        group = community.actor
        inner = {k: v for k, v in signed_create.items()}
        announce = documents.activity(
            group, "Announce", inner, delivery.new_activity_uri(tx, group), to=[group.uri]
        )
        signed_announce = await proofs.sign(tx, group, announce)
        group_doc = await discovery.actor_document(tx, group)
        network.documents[group_doc["id"]] = group_doc
    return signed_announce, ana_doc


async def _deliver(ngo: Node, document: dict[str, Any]) -> InboxActivity:
    """Put an activity in the NGO's inbox queue as receive() would, and run the worker on it."""
    async with ngo.transaction() as tx:
        sender = await remote_actors.fetch(tx, document["actor"])
        tx.session.add(
            InboxActivity(
                uri=document["id"],
                type=document["type"],
                actor_uri=sender.uri,
                object_type="Create",
                raw=document,
                state="queued",
                attempts=0,
                next_attempt_at=tx.now(),
                received_at=tx.now(),
            )
        )
    await inbox.process_due(ngo)
    async with ngo.transaction() as tx:
        row = await tx.session.scalar(
            select(InboxActivity).where(InboxActivity.uri == document["id"])
        )
        assert row is not None
        return row


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the Announce handler is given, instead of what it would do with it."""
    received: list[dict[str, Any]] = []

    async def capture(tx: Tx, incoming: Incoming) -> None:
        received.append(incoming.document)

    monkeypatch.setitem(inbox.HANDLERS, ("Announce", "*"), capture)
    monkeypatch.setitem(inbox.HANDLERS, ("Announce", "Create"), capture)
    return received


async def test_a_relayed_note_is_verified_against_its_author_not_the_relayer(
    trio: tuple[Node, Node, Node, Network], seen: list[dict[str, Any]]
) -> None:
    school, relay, ngo, network = trio
    announce, ana_doc = await _relayed_note(school, relay, network)
    row = await _deliver(ngo, announce)
    assert row.state == "done", row.last_error
    note = seen[0]["object"]["object"]
    assert note["attributedTo"] == ana_doc["id"]
    assert note["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert "Fractions by Ana Díaz" in note["content"]
    # The relayer signed the Announce; the note and its Create are Ana's, by Ana's key.
    assert announce["proof"]["verificationMethod"].startswith("https://relay.example/")
    assert integrity.verify(note, _key_of(ana_doc)).verification_method == (
        ana_doc["id"] + "#ed25519-key"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("license", "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
        ("attributedTo", "https://school.example/members/bob"),
        ("content", "<p>Lesson plan by Someone Else, CC0 1.0</p>"),
    ],
)
async def test_tampering_with_a_relayed_note_is_rejected(
    trio: tuple[Node, Node, Node, Network],
    seen: list[dict[str, Any]],
    field: str,
    value: str,
) -> None:
    school, relay, ngo, network = trio
    announce, _ = await _relayed_note(school, relay, network)
    announce.pop("proof")
    tampered = copy.deepcopy(announce)
    tampered["object"]["object"][field] = value
    tampered["object"]["proof"] = announce["object"]["proof"]
    # The relayer re-signs its Announce around the altered note: only the author's proof tells.
    async with relay.transaction() as tx:
        group = await actors.find_local(tx, "maths")
        assert group is not None
        resigned = await proofs.sign(tx, group, tampered)
    row = await _deliver(ngo, resigned)
    assert row.state == "rejected"
    assert "does not verify" in (row.last_error or "") or "not an assertion method" in (
        row.last_error or ""
    )
    assert seen == []


async def test_tampering_with_the_relayers_own_proof_is_rejected(
    trio: tuple[Node, Node, Node, Network], seen: list[dict[str, Any]]
) -> None:
    school, relay, ngo, network = trio
    announce, _ = await _relayed_note(school, relay, network)
    announce["to"] = ["https://www.w3.org/ns/activitystreams#Public"]
    row = await _deliver(ngo, announce)
    assert row.state == "rejected"
    assert seen == []


async def test_an_unsigned_relayed_note_reaches_handlers_as_references_only(
    trio: tuple[Node, Node, Node, Network], seen: list[dict[str, Any]]
) -> None:
    school, relay, ngo, network = trio
    announce, _ = await _relayed_note(school, relay, network)
    stripped = copy.deepcopy(announce)
    stripped.pop("proof")
    stripped["object"].pop("proof")
    stripped["object"]["object"].pop("proof")
    stripped["object"]["object"]["license"] = "https://creativecommons.org/publicdomain/zero/1.0/"
    row = await _deliver(ngo, stripped)
    assert row.state == "done", row.last_error
    create = seen[0]["object"]
    # Only ids are left: the note must be fetched from its own server to be believed.
    assert create == {
        "id": announce["object"]["id"],
        "type": "Create",
        "actor": announce["object"]["actor"],
        "object": announce["object"]["object"]["id"],
    }


async def test_a_proof_by_a_key_the_author_does_not_list_is_rejected(
    trio: tuple[Node, Node, Node, Network], seen: list[dict[str, Any]]
) -> None:
    school, relay, ngo, network = trio
    announce, ana_doc = await _relayed_note(school, relay, network)
    # Ana's server now lists another key (rotated): her old proofs no longer verify as hers.
    network.documents[ana_doc["id"]] = {
        **ana_doc,
        "assertionMethod": [
            {
                **ana_doc["assertionMethod"][0],
                "id": ana_doc["id"] + "#other-key",
            }
        ],
    }
    row = await _deliver(ngo, announce)
    assert row.state == "rejected"
    assert "is not an assertion method of " + ana_doc["id"] in (row.last_error or "")


async def test_a_linked_data_signature_added_after_the_proof_is_set_aside(
    trio: tuple[Node, Node, Node, Network], seen: list[dict[str, Any]]
) -> None:
    # Fedify signs an activity's proof first and then adds an RsaSignature2017 `signature`
    # (FEP-8b32 "Backward compatibility"), which the proof does not cover: found by
    # tests/interop/test_independent_ap.py, where our inbox rejected every Fedify activity.
    school, relay, ngo, network = trio
    announce, _ = await _relayed_note(school, relay, network)
    ld_signature = {
        "type": "RsaSignature2017",
        "creator": announce["actor"] + "#main-key",
        "created": "2025-03-01T09:00:00Z",
        "signatureValue": "bm90IGNoZWNrZWQ=",
    }
    row = await _deliver(ngo, {**announce, "signature": ld_signature})
    assert row.state == "done", row.last_error
    assert seen[0]["object"]["object"]["attributedTo"].startswith("https://school.example/")

    # Only the signature is set aside: anything else added after signing still fails.
    forged = {**announce, "id": announce["id"] + "-again", "signature": ld_signature}
    forged["summary"] = "added in transit"
    row = await _deliver(ngo, forged)
    assert row.state == "rejected"


async def test_a_copy_of_our_own_object_is_taken_by_id_whatever_its_proof(node: Node) -> None:
    # Fedify answers a Follow with an Accept embedding our Follow re-serialised (actor inlined),
    # so our proof on it no longer matches: found by tests/interop/test_independent_ap.py, where
    # every Accept from Fedify was rejected and no follow of a Fedify account ever completed.
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        follow = await proofs.sign(
            tx,
            ana.actor,
            documents.activity(
                ana.actor, "Follow", "https://peer.example/users/p",
                "https://school.example/members/ana/activities/f1", to=[],
            ),
        )  # fmt: skip
        echoed = {**follow, "actor": {"id": ana.actor.uri, "type": "Person"}}
        with pytest.raises(integrity.ProofError):
            integrity.verify(echoed, _key_of(await discovery.actor_document(tx, ana.actor)))
        accept = {
            "id": "https://peer.example/accepts/1",
            "type": "Accept",
            "actor": "https://peer.example/users/p",
            "object": echoed,
        }
        trusted = await proofs.verify_inbound(tx, accept, Actor(uri=accept["actor"]))
    assert trusted["object"]["id"] == follow["id"]
