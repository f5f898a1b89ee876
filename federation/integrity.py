"""W3C Data Integrity proofs (`DataIntegrityProof`, eddsa-jcs-2022 and eddsa-rdfc-2022)."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from federation import jsonld
from federation.multikey import MultikeyError, decode_multibase, encode_multibase

# https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022 and #eddsa-rdfc-2022
JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
CRYPTOSUITES = (JCS, RDFC)
PROOF_TYPE = "DataIntegrityProof"
_SIGNATURE_LENGTH = 64
# https://www.w3.org/TR/xmlschema11-2/#dateTime, as the proof's `created` must be.
_DATETIME = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")

PublicKeyResolver = Callable[[str], Ed25519PublicKey]


class ProofError(Exception):
    """A Data Integrity proof that cannot be created or does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedProof:
    """What a proof that verified asserts: who signed, how, for what and when."""

    verification_method: str
    cryptosuite: str
    proof_purpose: str
    created: str | None


def proof_configuration(
    document: Mapping[str, Any],
    verification_method: str,
    cryptosuite: str,
    created: datetime | str | None,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Build the proof configuration (the proof without proofValue) that sign() hashes."""
    if cryptosuite not in CRYPTOSUITES:
        raise ProofError(f"unknown cryptosuite {cryptosuite!r}; expected one of {CRYPTOSUITES}")
    config: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": cryptosuite}
    if created is not None:
        config["created"] = _format_created(created)
    config["verificationMethod"] = verification_method
    config["proofPurpose"] = proof_purpose
    # Both suites hash the configuration under the document's @context
    # (https://www.w3.org/TR/vc-di-eddsa/#proof-configuration-eddsa-jcs-2022 and
    # #proof-configuration-eddsa-rdfc-2022); only the JCS proof keeps it when attached (FEP-8b32).
    if "@context" in document:
        config["@context"] = document["@context"]
    return config


def _format_created(created: datetime | str) -> str:
    if isinstance(created, str):
        if not _DATETIME.fullmatch(created):
            raise ProofError(f"created {created!r} is not an XML Schema dateTime")
        return created
    if created.tzinfo is None:
        raise ProofError("created must be a timezone-aware datetime")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_document(
    document: Mapping[str, Any],
    cryptosuite: str,
    max_bytes: int = jsonld.DEFAULT_MAX_BYTES,
) -> bytes:
    """Return the canonical bytes of an unsecured document (JCS JSON or RDFC-1.0 N-Quads)."""
    try:
        if cryptosuite == JCS:
            jsonld.check_bounds(document, max_bytes)
            # RFC 8785; rfc8785 refuses integers beyond 2**53 instead of rounding them silently.
            return rfc8785.dumps(document)
        if cryptosuite == RDFC:
            return jsonld.canonicalize(document, max_bytes=max_bytes).encode("utf-8")
    except jsonld.JsonLdError as exc:
        raise ProofError(exc.reason) from exc
    except rfc8785.CanonicalizationError as exc:
        raise ProofError(f"cannot canonicalize with JCS: {exc}") from exc
    raise ProofError(f"unknown cryptosuite {cryptosuite!r}; expected one of {CRYPTOSUITES}")


def canonical_proof_configuration(config: Mapping[str, Any]) -> bytes:
    """Return the canonical bytes of a proof configuration under its own cryptosuite."""
    return canonical_document(config, config.get("cryptosuite", ""))


def hash_data(canonical_config: bytes, canonical_doc: bytes) -> bytes:
    """Return the 64 bytes that are signed: SHA-256(proof configuration) || SHA-256(document)."""
    # https://www.w3.org/TR/vc-di-eddsa/#hashing-eddsa-jcs-2022: the configuration hash comes first.
    return hashlib.sha256(canonical_config).digest() + hashlib.sha256(canonical_doc).digest()


def _check_defined(
    document: Mapping[str, Any], what: str, max_bytes: int = jsonld.DEFAULT_MAX_BYTES
) -> None:
    """Refuse RDFC input that pyld would canonicalize only in part."""
    try:
        jsonld.check_bounds(document, max_bytes)
        jsonld.check_fully_defined(document)
    except jsonld.JsonLdError as exc:
        raise ProofError(f"{what}: {exc.reason}") from exc


def sign(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    cryptosuite: str,
    created: datetime | str | None,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """Return a copy of the document with a DataIntegrityProof attached."""
    if "proof" in document:
        raise ProofError("document already has a proof; proof sets and chains are not supported")
    config = proof_configuration(document, verification_method, cryptosuite, created, proof_purpose)
    if cryptosuite == RDFC:
        _check_defined(document, "document")
        _check_defined(config, "proof configuration")
    signature = private_key.sign(
        hash_data(canonical_proof_configuration(config), canonical_document(document, cryptosuite))
    )
    proof = dict(config)
    if cryptosuite == RDFC:
        # https://www.w3.org/TR/vc-di-eddsa/#create-proof-eddsa-rdfc-2022 attaches the proof
        # without the @context that was only borrowed for hashing.
        proof.pop("@context", None)
    proof["proofValue"] = encode_multibase(signature)
    return copy.deepcopy({**document, "proof": proof})


def verify(
    document: Mapping[str, Any],
    resolve_public_key: PublicKeyResolver | Ed25519PublicKey,
    proof_purpose: str = "assertionMethod",
    max_bytes: int = jsonld.DEFAULT_MAX_BYTES,
) -> VerifiedProof:
    """Verify a document's DataIntegrityProof with the key of its verificationMethod."""
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if proof is None:
        raise ProofError("document has no proof")
    if not isinstance(proof, Mapping):
        raise ProofError("proof must be a single object; proof sets are not supported")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"proof type {proof.get('type')!r} is not {PROOF_TYPE!r}")
    cryptosuite = proof.get("cryptosuite")
    if cryptosuite not in CRYPTOSUITES:
        raise ProofError(f"unknown cryptosuite {cryptosuite!r}; expected one of {CRYPTOSUITES}")
    if proof.get("proofPurpose") != proof_purpose:
        raise ProofError(f"proofPurpose {proof.get('proofPurpose')!r} is not {proof_purpose!r}")
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise ProofError("proof has no verificationMethod URL")
    created = proof.get("created")
    if created is not None and (not isinstance(created, str) or not _DATETIME.fullmatch(created)):
        raise ProofError(f"created {created!r} is not an XML Schema dateTime")
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str):
        raise ProofError("proof has no proofValue string")
    try:
        signature = decode_multibase(proof_value)
    except MultikeyError as exc:
        raise ProofError(f"proofValue: {exc.reason}") from exc
    if len(signature) != _SIGNATURE_LENGTH:
        raise ProofError(
            f"proofValue is {len(signature)} bytes, not a {_SIGNATURE_LENGTH}-byte signature"
        )

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    config = {key: value for key, value in proof.items() if key != "proofValue"}
    if cryptosuite == JCS and "@context" in config:
        # https://www.w3.org/TR/vc-di-eddsa/#verify-proof-eddsa-jcs-2022: the document's @context
        # must start with the proof's, which then stands in for it.
        proof_context = _as_list(config["@context"])
        if _as_list(unsecured.get("@context"))[: len(proof_context)] != proof_context:
            raise ProofError("the document's @context does not start with the proof's @context")
        unsecured["@context"] = config["@context"]
    if cryptosuite == RDFC:
        if "@context" in unsecured:
            config["@context"] = unsecured["@context"]
        # Terms pyld would drop are unsigned, so a relay could add them freely: refuse them.
        _check_defined(unsecured, "document", max_bytes)
        _check_defined(config, "proof configuration")

    if isinstance(resolve_public_key, Ed25519PublicKey):
        key = resolve_public_key
    else:
        key = resolve_public_key(method)
    data = hash_data(
        canonical_proof_configuration(config),
        canonical_document(unsecured, cryptosuite, max_bytes),
    )
    try:
        key.verify(signature, data)
    except InvalidSignature as exc:
        raise ProofError(f"signature by {method} does not match the document") from exc
    return VerifiedProof(method, cryptosuite, proof_purpose, created)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
