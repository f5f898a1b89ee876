"""Data Integrity proofs reproduce the W3C, 1EdTech and FEP-8b32 vectors byte for byte."""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation.integrity import (
    JCS,
    RDFC,
    ProofError,
    canonical_document,
    canonical_proof_configuration,
    hash_data,
    proof_configuration,
    sign,
    verify,
)
from federation.multikey import (
    decode_multibase,
    decode_private_key,
    decode_public_key,
    encode_multibase,
    generate_ed25519,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
W3C = VECTORS / "w3c-vc-di-eddsa" / "TestVectors"
OB3 = VECTORS / "ob3-1edtech-eddsa-rdfc-2022"
FEP = VECTORS / "fep-8b32-eddsa-jcs-2022"

W3C_KEYS = json.loads((W3C / "keyPair.json").read_text())
W3C_METHOD = (
    "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
)
W3C_CREATED = "2023-02-24T23:36:38Z"
# The published files of each W3C suite, by step.
W3C_FILES = {
    JCS: {
        "dir": "eddsa-jcs-2022",
        "canon_doc": "canonDocJCS.txt",
        "doc_hash": "docHashJCS.txt",
        "config": "proofConfigJCS.json",
        "proof_canon": "proofCanonJCS.txt",
        "proof_hash": "proofHashJCS.txt",
        "combined": "combinedHashJCS.txt",
        "sig_hex": "sigHexJCS.txt",
        "proof_value": "sigBTC58JCS.txt",
        "signed": "signedJCS.json",
    },
    RDFC: {
        "dir": "eddsa-rdfc-2022",
        "canon_doc": "canonDocDataInt.txt",
        "doc_hash": "docHashDataInt.txt",
        "config": "proofConfigDataInt.json",
        "proof_canon": "proofCanonDataInt.txt",
        "proof_hash": "proofHashDataInt.txt",
        "combined": "combinedHashDataInt.txt",
        "sig_hex": "sigHexDataInt.txt",
        "proof_value": "sigBTC58DataInt.txt",
        "signed": "signedDataInt.json",
    },
}


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def published(suite: str, step: str) -> str:
    files = W3C_FILES[suite]
    return (W3C / files["dir"] / files[step]).read_text("utf-8")


def w3c_private_key() -> Any:
    return decode_private_key(W3C_KEYS["privateKeyMultibase"])


def w3c_public_key() -> Ed25519PublicKey:
    return decode_public_key(W3C_KEYS["publicKeyMultibase"])


# W3C vc-di-eddsa, both cryptosuites, every intermediate step.


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_canonical_document_and_hash(suite: str) -> None:
    canon = canonical_document(load(W3C / "unsigned.json"), suite)
    assert canon.decode("utf-8") == published(suite, "canon_doc")
    assert hashlib.sha256(canon).hexdigest() == published(suite, "doc_hash").strip()


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_proof_configuration(suite: str) -> None:
    config = proof_configuration(load(W3C / "unsigned.json"), W3C_METHOD, suite, W3C_CREATED)
    assert config == json.loads(published(suite, "config"))


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_canonical_proof_configuration_and_hash(suite: str) -> None:
    canon = canonical_proof_configuration(json.loads(published(suite, "config")))
    assert canon.decode("utf-8") == published(suite, "proof_canon")
    assert hashlib.sha256(canon).hexdigest() == published(suite, "proof_hash").strip()


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_combined_hash_signature_and_proof_value(suite: str) -> None:
    combined = hash_data(
        published(suite, "proof_canon").encode("utf-8"),
        published(suite, "canon_doc").encode("utf-8"),
    )
    assert combined.hex() == published(suite, "combined").strip()
    signature = w3c_private_key().sign(combined)
    assert signature.hex() == published(suite, "sig_hex").strip()
    assert encode_multibase(signature) == published(suite, "proof_value").strip()


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_sign_reproduces_signed_document(suite: str) -> None:
    signed = sign(load(W3C / "unsigned.json"), w3c_private_key(), W3C_METHOD, suite, W3C_CREATED)
    assert signed == json.loads(published(suite, "signed"))


def test_jcs_proof_keeps_context_and_rdfc_proof_does_not() -> None:
    unsigned = load(W3C / "unsigned.json")
    jcs = sign(unsigned, w3c_private_key(), W3C_METHOD, JCS, W3C_CREATED)
    rdfc = sign(unsigned, w3c_private_key(), W3C_METHOD, RDFC, W3C_CREATED)
    assert jcs["proof"]["@context"] == unsigned["@context"]
    assert "@context" not in rdfc["proof"]
    assert "proof" not in unsigned


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_signed_document_verifies(suite: str) -> None:
    result = verify(json.loads(published(suite, "signed")), w3c_public_key())
    assert result.verification_method == W3C_METHOD
    assert result.cryptosuite == suite
    assert result.proof_purpose == "assertionMethod"
    assert result.created == W3C_CREATED


def test_w3c_employment_vector_signature_over_published_canonical_forms() -> None:
    # The document's citizenship/v4rc1 context is not bundled, so start from its canonical forms.
    employ = W3C / "eddsa-rdfc-2022" / "employ"
    combined = hash_data(
        (employ / "proofCanonDataInt.txt").read_bytes(),
        (employ / "canonDocDataInt.txt").read_bytes(),
    )
    assert combined.hex() == (employ / "combinedHashDataInt.txt").read_text().strip()
    signed = load(employ / "signedDataInt.json")
    signature = decode_multibase(signed["proof"]["proofValue"])
    assert signature.hex() == (employ / "sigHexDataInt.txt").read_text().strip()
    w3c_public_key().verify(signature, combined)


def test_unbundled_context_is_refused_not_fetched() -> None:
    signed = load(W3C / "eddsa-rdfc-2022" / "employ" / "signedDataInt.json")
    with pytest.raises(ProofError, match="citizenship/v4rc1"):
        verify(signed, w3c_public_key())


@pytest.mark.parametrize("suite", [JCS, RDFC])
@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "alumniOf"), "The School of Forgeries"),
        (("issuer",), "https://vc.example/issuers/6666"),
        (("validFrom",), "2024-01-01T00:00:00Z"),
    ],
)
def test_w3c_tampered_document_fails(suite: str, path: tuple[str, ...], value: str) -> None:
    signed = json.loads(published(suite, "signed"))
    target = signed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ProofError, match="does not match"):
        verify(signed, w3c_public_key())


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_tampered_proof_fails(suite: str) -> None:
    signed = json.loads(published(suite, "signed"))
    signed["proof"]["created"] = "2023-02-25T00:00:00Z"
    with pytest.raises(ProofError, match="does not match"):
        verify(signed, w3c_public_key())


@pytest.mark.parametrize("suite", [JCS, RDFC])
def test_w3c_other_key_fails(suite: str) -> None:
    with pytest.raises(ProofError, match="does not match"):
        verify(json.loads(published(suite, "signed")), generate_ed25519().public_key)


# 1EdTech Open Badges 3.0 (eddsa-rdfc-2022).

OB3_KEYS = load(OB3 / "keypair.json")
OB3_EXPECTED = load(OB3 / "expected.json")
OB3_OPTIONS = load(OB3 / "proof-options.json")


def test_ob3_canonical_forms_and_hashes() -> None:
    unsigned = load(OB3 / "unsigned.json")
    document = canonical_document(unsigned, RDFC)
    assert document.decode("utf-8") == (OB3 / "document-canon.txt").read_text("utf-8")
    assert hashlib.sha256(document).hexdigest() == OB3_EXPECTED["documentHashHex"]
    config = proof_configuration(
        unsigned, OB3_OPTIONS["verificationMethod"], RDFC, OB3_OPTIONS["created"]
    )
    proof = canonical_proof_configuration(config)
    assert proof.decode("utf-8") == (OB3 / "proof-canon.txt").read_text("utf-8")
    assert hashlib.sha256(proof).hexdigest() == OB3_EXPECTED["proofHashHex"]
    signature = decode_private_key(OB3_KEYS["secretKeyMultibase"]).sign(hash_data(proof, document))
    assert signature.hex() == OB3_EXPECTED["signatureHex"]


def test_ob3_sign_reproduces_signed_credential() -> None:
    signed = sign(
        load(OB3 / "unsigned.json"),
        decode_private_key(OB3_KEYS["secretKeyMultibase"]),
        OB3_OPTIONS["verificationMethod"],
        RDFC,
        OB3_OPTIONS["created"],
    )
    assert signed["proof"]["proofValue"] == OB3_EXPECTED["proofValue"]
    assert signed == load(OB3 / "signed.json")


def ob3_resolver(method: str) -> Ed25519PublicKey:
    """Resolve the verification method offline from the published controller document."""
    controller = load(OB3 / "controller-document.json")
    assert method in controller["assertionMethod"]
    [entry] = [vm for vm in controller["verificationMethod"] if vm["id"] == method]
    return decode_public_key(entry["publicKeyMultibase"])


def test_ob3_signed_credential_verifies_through_controller_document() -> None:
    result = verify(load(OB3 / "signed.json"), ob3_resolver)
    assert result.verification_method == OB3_KEYS["verificationMethod"]


def test_ob3_tampered_achievement_fails() -> None:
    signed = load(OB3 / "signed.json")
    signed["credentialSubject"]["achievement"]["name"] = "Leadership"
    with pytest.raises(ProofError, match="does not match"):
        verify(signed, ob3_resolver)


def test_ob3_unsigned_extra_term_is_refused_on_verify() -> None:
    # pyld would drop the undefined term, so the signature still matches: refuse instead.
    signed = load(OB3 / "signed.json")
    signed["credentialSubject"]["grade"] = "A+"
    with pytest.raises(ProofError, match="'grade'"):
        verify(signed, ob3_resolver)


# FEP-8b32 (eddsa-jcs-2022 over an ActivityStreams Create).

FEP_KEYS = load(FEP / "keypair-and-expected.json")


def test_fep_8b32_sign_reproduces_proof_value_and_signed_activity() -> None:
    signed = sign(
        load(FEP / "unsigned.json"),
        decode_private_key(FEP_KEYS["secretKeyMultibase"]),
        FEP_KEYS["verificationMethod"],
        JCS,
        FEP_KEYS["created"],
    )
    assert signed["proof"]["proofValue"] == FEP_KEYS["expectedProofValue"]
    assert signed == load(FEP / "signed.json")


def test_fep_8b32_signed_activity_verifies_with_actor_key() -> None:
    actor = load(FEP / "actor.json")
    [method] = actor["assertionMethod"]

    def resolve(url: str) -> Ed25519PublicKey:
        assert url == method["id"]
        return decode_public_key(method["publicKeyMultibase"])

    assert verify(load(FEP / "signed.json"), resolve).verification_method == method["id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attributedTo", "https://relay.example/users/mallory"),
        ("content", "Goodbye world"),
        ("license", "https://creativecommons.org/licenses/by/4.0/"),
    ],
)
def test_fep_8b32_tampered_object_fails(field: str, value: str) -> None:
    signed = load(FEP / "signed.json")
    signed["object"][field] = value
    with pytest.raises(ProofError, match="does not match"):
        verify(signed, decode_public_key(FEP_KEYS["publicKeyMultibase"]))


def test_fep_8b32_proof_context_must_prefix_document_context() -> None:
    signed = load(FEP / "signed.json")
    signed["@context"] = ["https://www.w3.org/ns/activitystreams"]
    with pytest.raises(ProofError, match="does not start with"):
        verify(signed, decode_public_key(FEP_KEYS["publicKeyMultibase"]))


# Signing and verifying fresh documents.


def test_sign_and_verify_licensed_note_with_generated_key() -> None:
    pair = generate_ed25519()
    note = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/data-integrity/v2",
            {"license": {"@id": "http://schema.org/license", "@type": "@id"}},
        ],
        "id": "https://school.example/posts/7",
        "type": "Note",
        "attributedTo": "https://school.example/members/ada",
        "content": "Photosynthesis notes",
        "license": "https://creativecommons.org/licenses/by-sa/4.0/",
    }
    created = datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    for suite in (JCS, RDFC):
        signed = sign(
            note, pair.private_key, "https://school.example/members/ada#ed25519-key", suite, created
        )
        assert signed["proof"]["created"] == "2025-03-01T12:00:00Z"
        assert verify(signed, pair.public_key).cryptosuite == suite
        relicensed = copy.deepcopy(signed)
        relicensed["license"] = "https://creativecommons.org/licenses/by/4.0/"
        with pytest.raises(ProofError, match="does not match"):
            verify(relicensed, pair.public_key)


def test_rdfc_sign_refuses_undefined_term() -> None:
    # Without the examples context (whose @vocab catches everything) `nickname` is undefined.
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential"],
        "issuer": "https://vc.example/issuers/5678",
        "credentialSubject": {"id": "did:example:abcdefgh", "nickname": "Al"},
    }
    with pytest.raises(ProofError, match="'nickname'"):
        sign(unsigned, w3c_private_key(), W3C_METHOD, RDFC, W3C_CREATED)


def test_rdfc_sign_refuses_relative_iri() -> None:
    unsigned = {**load(OB3 / "unsigned.json"), "id": "credentials/3527"}
    with pytest.raises(ProofError, match="relative IRI"):
        sign(unsigned, w3c_private_key(), W3C_METHOD, RDFC, W3C_CREATED)


def test_sign_refuses_naive_datetime_and_unknown_suite() -> None:
    unsigned = load(W3C / "unsigned.json")
    with pytest.raises(ProofError, match="timezone-aware"):
        sign(unsigned, w3c_private_key(), W3C_METHOD, JCS, datetime(2025, 1, 1))
    with pytest.raises(ProofError, match="unknown cryptosuite"):
        sign(unsigned, w3c_private_key(), W3C_METHOD, "ecdsa-rdfc-2019", W3C_CREATED)
    assert (
        sign(unsigned, w3c_private_key(), W3C_METHOD, JCS, datetime(2025, 1, 1, tzinfo=UTC))[
            "proof"
        ]["created"]
        == "2025-01-01T00:00:00Z"
    )


def test_jcs_refuses_integer_beyond_ieee_double() -> None:
    with pytest.raises(ProofError, match="JCS"):
        canonical_document({"count": 2**60}, JCS)


# Verification failures each name their cause.


def signed_jcs() -> dict[str, Any]:
    return json.loads(published(JCS, "signed"))


def test_verify_requires_a_proof() -> None:
    with pytest.raises(ProofError, match="no proof"):
        verify(load(W3C / "unsigned.json"), w3c_public_key())


def test_verify_rejects_unknown_cryptosuite() -> None:
    signed = signed_jcs()
    signed["proof"]["cryptosuite"] = "eddsa-2022"
    with pytest.raises(ProofError, match="unknown cryptosuite"):
        verify(signed, w3c_public_key())


def test_verify_rejects_wrong_proof_type() -> None:
    signed = signed_jcs()
    signed["proof"]["type"] = "Ed25519Signature2020"
    with pytest.raises(ProofError, match="proof type"):
        verify(signed, w3c_public_key())


@pytest.mark.parametrize("value", ["u" + "A" * 86, "z0OIl", "z" + "1" * 10])
def test_verify_rejects_bad_proof_value(value: str) -> None:
    signed = signed_jcs()
    signed["proof"]["proofValue"] = value
    with pytest.raises(ProofError, match="proofValue"):
        verify(signed, w3c_public_key())


def test_verify_rejects_other_proof_purpose() -> None:
    with pytest.raises(ProofError, match="proofPurpose"):
        verify(signed_jcs(), w3c_public_key(), proof_purpose="authentication")


def test_verify_accepts_single_element_proof_list() -> None:
    signed = signed_jcs()
    signed["proof"] = [signed["proof"]]
    assert verify(signed, w3c_public_key()).cryptosuite == JCS


def test_verify_refuses_oversized_document() -> None:
    signed = signed_jcs()
    with pytest.raises(ProofError, match="over the limit"):
        verify(signed, w3c_public_key(), max_bytes=256)
