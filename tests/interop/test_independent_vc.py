"""Our credentials and object proofs against an independent implementation: Digital Bazaar's.

`@digitalbazaar/vc` (with `eddsa-rdfc-2022`, `eddsa-jcs-2022` and the Bitstring Status List
checker) runs in Node.js over an offline loader serving only our bundled contexts and the actor
documents handed in (tests/peers/vc-verify.mjs, vc-issue.mjs). Versions are in docs/interop.md.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from federation import integrity
from federation.badges import CONTEXTS as OB3_CONTEXTS
from node import (
    achievements,
    awards,
    communities,
    credentials,
    delivery,
    discovery,
    documents,
    keys,
    members,
    posts,
    proofs,
    status_lists,
    verification,
)
from node.cli import main
from node.runtime import Node, Tx
from storage.models import Award, Community, Member
from tests.peers import bundled_contexts, run_script


def digital_bazaar(kind: str, document: Any, *related: dict[str, Any], **options: Any) -> Any:
    """Digital Bazaar's verdict on a document, given the documents it may dereference."""
    request = {
        "kind": kind,
        "document": document,
        "documents": {doc["id"]: doc for doc in related},
        "contexts": bundled_contexts(),
        **options,
    }
    return run_script("vc-verify.mjs", request)


async def awarded(tx: Tx) -> tuple[Community, Member, Award]:
    """Maths Circle awards Ana a badge, as a mentor does with `guildhall badge award`."""
    maths = await communities.add(tx, "maths", title="Maths Circle")
    mentor = await members.add(tx, "mira", display_name="Mira")
    ana = await members.add(tx, "ana", display_name="Ana")
    (await communities.join(tx, maths, mentor)).role = "mentor"
    badge = await achievements.define(
        tx, mentor, maths, "proofs", name="Proof Writer", criteria="Three checked proofs."
    )
    record = await awards.award(
        tx, mentor, badge, ana.actor, evidence=["https://school.example/posts/p1"]
    )
    return maths, mentor, record


async def test_a_guildhall_credential_verifies_with_digital_bazaar_until_revoked(
    node: Node,
) -> None:
    async with node.transaction() as tx:
        maths, mentor, record = await awarded(tx)
        issuer = await discovery.actor_document(tx, maths.actor)
        status = await status_lists.status_list_document(tx, maths)
    credential = record.credential

    verdict = digital_bazaar("credential", credential, issuer, status, checkStatus=True)
    assert verdict["errors"] == []
    assert verdict["verified"] is True
    assert verdict["statusChecked"] is True and verdict["statusVerified"] is True
    assert verdict["revoked"] is False
    assert verdict["methods"] == [maths.actor.uri + "#ed25519-key"]

    async with node.transaction() as tx:
        record = await awards.get_award(tx, record.key)
        await awards.revoke(tx, mentor, record, "copied proofs")
        revoked_list = await status_lists.status_list_document(tx, maths)
    verdict = digital_bazaar("credential", credential, issuer, revoked_list, checkStatus=True)
    # The revocation list is ours, signed and read by Digital Bazaar: the award's bit is set.
    assert verdict["statusVerified"] is True and verdict["revoked"] is True


async def test_digital_bazaar_rejects_a_tampered_credential_and_a_borrowed_key(
    node: Node,
) -> None:
    async with node.transaction() as tx:
        maths, _mentor, record = await awarded(tx)
        issuer = await discovery.actor_document(tx, maths.actor)
        art = await communities.add(tx, "art", title="Art Room")
        art_document = await discovery.actor_document(tx, art.actor)
        art_key = keys.ed25519_private_key(
            keys.Sealer(tx.settings.secret), art.actor.ed25519_private_sealed or ""
        )
    tampered = {**record.credential, "name": "Grand Master"}
    verdict = digital_bazaar("credential", tampered, issuer)
    assert verdict["verified"] is False
    assert "Invalid signature." in verdict["errors"]

    # A valid signature by the Art Room on a credential claiming Maths Circle as its issuer.
    unsigned = {k: v for k, v in record.credential.items() if k != "proof"}
    unsigned.pop("credentialStatus")
    forged = integrity.sign(
        unsigned, art_key, art.actor.uri + "#ed25519-key", integrity.RDFC, datetime.now(UTC)
    )
    verdict = digital_bazaar("credential", forged, issuer, art_document)
    assert verdict["verified"] is False
    assert any("issuer" in error.lower() for error in verdict["errors"]), verdict["errors"]
    with pytest.raises(credentials.CredentialInvalid, match="wrong key"):
        verification.verify_document(forged, issuer, None, datetime.now(UTC))


async def test_a_signed_create_and_its_note_verify_with_digital_bazaar_jcs(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana", display_name="Ana Díaz")
        post = await posts.create(
            tx, ana, posts.Draft(text="Fractions with paper strips", licence="CC-BY-SA-4.0")
        )
        note = documents.note_document(tx, post)
        note.pop("@context")
        uri = delivery.new_activity_uri(tx, ana.actor)
        create = documents.activity(ana.actor, "Create", note, uri, to=note["to"])
        signed = await proofs.sign(tx, ana.actor, create)
        author = await discovery.actor_document(tx, ana.actor)
    assert (
        signed["proof"]["cryptosuite"]
        == signed["object"]["proof"]["cryptosuite"]
        == "eddsa-jcs-2022"
    )

    for document in (signed, signed["object"]):
        verdict = digital_bazaar("proof", document, author)
        assert verdict["errors"] == [] and verdict["verified"] is True
        assert verdict["methods"] == [ana.actor.uri + "#ed25519-key"]

    relicensed = copy.deepcopy(signed["object"])
    relicensed["license"] = "https://creativecommons.org/publicdomain/zero/1.0/"
    verdict = digital_bazaar("proof", relicensed, author)
    assert verdict["verified"] is False and "Invalid signature." in verdict["errors"]

    # Digital Bazaar's eddsa-jcs-2022 1.0.0 compares @context entries by identity, so our inline
    # extension context never matches its copy in the proof; vc-verify.mjs shares the JSON-equal
    # objects before verifying. When this assertion fails, the quirk is fixed upstream: drop the
    # shim (tests/peers/vc-verify.mjs) and this check, and update docs/interop.md.
    verdict = digital_bazaar("proof", signed["object"], author, contextShim=False)
    assert "document.@context does not start with proof.@context" in verdict["errors"]


def ob3_credential(issuer: str, index: int) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential written by hand, as another issuer's software would."""
    return {
        "@context": list(OB3_CONTEXTS),
        "id": f"urn:uuid:8c2b4a3e-5d1f-4e8a-9b0c-00000000000{index % 10}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Bazaar Academy"},
        "validFrom": "2025-01-15T10:00:00Z",
        "name": "Soldering Basics",
        "credentialSubject": {
            "id": "https://school.example/members/ana",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://bazaar.example/achievements/soldering",
                "type": ["Achievement"],
                "name": "Soldering Basics",
                "description": "Joins two wires safely.",
                "criteria": {"narrative": "Solder five joints a mentor checks."},
            },
        },
        "credentialStatus": {
            "id": f"https://bazaar.example/status/1#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": "https://bazaar.example/status/1",
        },
    }


def test_a_credential_issued_by_digital_bazaar_verifies_with_guildhall(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issuer = "https://bazaar.example/issuers/academy"
    status_list = "https://bazaar.example/status/1"
    status = {"id": status_list, "revoked": [7]}
    good = run_script(
        "vc-issue.mjs",
        {"credential": ob3_credential(issuer, 3), "statusList": status,
         "contexts": bundled_contexts()},
    )  # fmt: skip
    assert good["credential"]["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    method = good["assertionMethod"]
    assert method["type"] == "Multikey" and method["controller"] == issuer
    issuer_document = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://www.w3.org/ns/cid/v1"],
        "id": issuer,
        "type": "Organization",
        "assertionMethod": [method],
    }
    statuses = {status_list: good["statusList"]}

    verified = verification.verify_document(
        good["credential"], issuer_document, statuses, datetime.now(UTC)
    )
    assert verified.status_checked and verified.verification_method == method["id"]
    assert verified.summary.achievement_name == "Soldering Basics"

    # The same through `guildhall badge verify --offline`, from files.
    files = {"credential": good["credential"], "issuer": issuer_document}
    files["status"] = good["statusList"]
    for name, document in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    args = ["--offline", "--issuer-document", str(tmp_path / "issuer.json")]
    args += ["--status-document", str(tmp_path / "status.json")]
    assert main(["badge", "verify", str(tmp_path / "credential.json"), *args]) == 0
    out = capsys.readouterr().out
    assert "Valid: Bazaar Academy" in out and "Status: not revoked." in out

    # Bit 7 of Digital Bazaar's list is set: our status check reads it as revoked.
    revoked = run_script(
        "vc-issue.mjs",
        {"credential": ob3_credential(issuer, 7), "statusList": status,
         "contexts": bundled_contexts()},
    )  # fmt: skip
    revoked_issuer = {**issuer_document, "assertionMethod": [revoked["assertionMethod"]]}
    with pytest.raises(credentials.CredentialInvalid, match="revoked"):
        verification.verify_document(
            revoked["credential"],
            revoked_issuer,
            {status_list: revoked["statusList"]},
            datetime.now(UTC),
        )
    tampered = {**good["credential"], "validFrom": "2020-01-01T00:00:00Z"}
    with pytest.raises(credentials.CredentialInvalid, match="signature invalid"):
        verification.verify_document(tampered, issuer_document, None, datetime.now(UTC))
