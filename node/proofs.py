"""Object integrity: FEP-8b32 proofs on everything we author, and checking the proofs we receive.

Outbound, `sign` attaches an `eddsa-jcs-2022` DataIntegrityProof made with the author's Ed25519
key (`<actor>#ed25519-key`, published in the actor's `assertionMethod`); an object embedded in an
activity is signed by its own author first, so it stays provable when a community re-shares it.

Inbound, `verify_inbound` checks every proof against the key its claimed author lists in
`assertionMethod` (refetching the author once, for rotated keys) and rejects the activity when
one fails. An embedded object with no proof is trusted only when the HTTP signature came from its
author's server; otherwise handlers get its id alone and must fetch it from its origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from federation import integrity
from federation.domains import same_origin
from federation.multikey import MultikeyError, decode_public_key
from federation.vocabulary import as_list, first_of, id_of
from node import keys, remote_actors
from node.runtime import Tx
from storage.models import Actor

DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
# Fedify signs with v1; a document already speaking it must not get v2 too (conflicting terms).
DATA_INTEGRITY_CONTEXTS = (DATA_INTEGRITY_CONTEXT, "https://w3id.org/security/data-integrity/v1")
KEY_FRAGMENT = "#ed25519-key"
# Activities whose embedded object is the author's own content, signed along with it.
AUTHORING_ACTIVITIES = frozenset({"Create", "Update"})
MAX_DEPTH = 4  # Announce{Create{Note}} is 3 deep; deeper nesting is refused, not walked
LD_SIGNATURE = "signature"  # Mastodon's RsaSignature2017 Linked Data signature


class ProofRejected(Exception):
    """An inbound activity whose proof does not verify, or that claims an author it cannot."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verification_method(actor: Actor) -> str:
    """The id of an actor's Ed25519 key, as listed in its `assertionMethod` (FEP-521a)."""
    return actor.uri + KEY_FRAGMENT


def author_of(document: Mapping[str, Any]) -> str | None:
    """Who claims to have made an object (`attributedTo`) or an activity (`actor`)."""
    return id_of(first_of(document.get("attributedTo"))) or id_of(document.get("actor"))


def _with_data_integrity_context(document: Mapping[str, Any]) -> dict[str, Any]:
    # FEP-8b32 examples put the Data Integrity context right after the AS2 one; the proof copies
    # the document's @context, so it must be complete before signing.
    contexts = as_list(document.get("@context"))
    if any(context in contexts for context in DATA_INTEGRITY_CONTEXTS):
        return dict(document)
    return {**document, "@context": [*contexts[:1], DATA_INTEGRITY_CONTEXT, *contexts[1:]]}


async def _local_author(tx: Tx, uri: str | None) -> Actor | None:
    if uri is None:
        return None
    return await tx.session.scalar(
        select(Actor).where(
            Actor.uri == uri, Actor.local.is_(True), Actor.ed25519_private_sealed.is_not(None)
        )
    )


async def sign(
    tx: Tx, actor: Actor, document: Mapping[str, Any], created: datetime | str | None = None
) -> dict[str, Any]:
    """A copy of an object or activity carrying the actor's proof (embedded objects first)."""
    if "proof" in document:
        return dict(document)  # already signed (by us earlier, or by its remote author)
    unsigned = dict(document)
    embedded = unsigned.get("object")
    if (
        isinstance(embedded, Mapping)
        and "proof" not in embedded
        and ("attributedTo" in embedded or embedded.get("type") in AUTHORING_ACTIVITIES)
    ):
        author = await _local_author(tx, author_of(embedded))
        if author is not None:
            if "@context" not in embedded:
                embedded = {"@context": unsigned.get("@context"), **embedded}
            unsigned["object"] = await sign(tx, author, embedded, created)
    if actor.ed25519_private_sealed is None:
        raise ProofRejected(f"{actor.uri} has no Ed25519 key to sign with")
    private_key = keys.ed25519_private_key(
        keys.Sealer(tx.settings.secret), actor.ed25519_private_sealed
    )
    try:
        return integrity.sign(
            _with_data_integrity_context(unsigned),
            private_key,
            verification_method(actor),
            integrity.JCS,
            created or tx.now(),
        )
    except integrity.ProofError as exc:
        raise ProofRejected(f"cannot sign {id_of(document)}: {exc.reason}") from exc


def assertion_methods(actor: Actor) -> dict[str, str]:
    """The Ed25519 keys an actor asserts with: verification method id -> publicKeyMultibase."""
    if actor.local:
        if not actor.ed25519_public_multibase:
            return {}
        return {verification_method(actor): actor.ed25519_public_multibase}
    methods: dict[str, str] = {}
    for method in as_list((actor.raw or {}).get("assertionMethod")):
        # FEP-521a: Multikey objects embedded in the actor, controlled by the actor itself.
        if not isinstance(method, Mapping) or method.get("controller") != actor.uri:
            continue
        if isinstance(method.get("id"), str) and isinstance(method.get("publicKeyMultibase"), str):
            methods[method["id"]] = method["publicKeyMultibase"]
    return methods


async def _key_of(tx: Tx, author_uri: str, method: str) -> Ed25519PublicKey:
    actor = await remote_actors.fetch(tx, author_uri)
    found = assertion_methods(actor).get(method)
    if found is None and not actor.local:
        # The author may have added a key since we cached the profile: refetch once.
        actor = await remote_actors.fetch(tx, author_uri, refresh=True)
        found = assertion_methods(actor).get(method)
    if found is None:
        raise ProofRejected(f"{method} is not an assertion method of {author_uri}")
    try:
        return decode_public_key(found)
    except MultikeyError as exc:
        raise ProofRejected(f"{author_uri} publishes an unusable key: {exc.reason}") from exc


async def verify_proof(tx: Tx, document: Mapping[str, Any], author_uri: str) -> None:
    """Check a document's proof was made by a key its claimed author lists; ProofRejected if not."""
    proof = first_of(document.get("proof"))
    method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    if not isinstance(method, str):
        raise ProofRejected(f"the proof on {id_of(document)} names no verificationMethod")
    key = await _key_of(tx, author_uri, method)
    # FEP-8b32 "Backward compatibility": a Linked Data signature is made after the proof, so it
    # "MUST be removed before the verification of the integrity proof" (Fedify sends both).
    unsigned = {name: value for name, value in document.items() if name != LD_SIGNATURE}
    try:
        integrity.verify(unsigned, key)
    except integrity.ProofError as exc:
        raise ProofRejected(
            f"the proof on {id_of(document)} does not verify as {author_uri}'s: {exc.reason}"
        ) from exc


def _references(document: Mapping[str, Any]) -> Any:
    """An unproven relayed object reduced to what can be checked at its origin: ids."""
    if "actor" not in document:
        return id_of(document)
    # An activity keeps its shape (a Create stays a Create of some id), never its content.
    kept = {key: document[key] for key in ("id", "type", "actor") if key in document}
    if document.get("object") is not None:
        kept["object"] = id_of(document["object"])
    return kept


async def _trusted(tx: Tx, document: dict[str, Any], signer_uri: str, depth: int) -> Any:
    """The embedded object as handlers may trust it, given who vouches for its container."""
    if depth > MAX_DEPTH:
        raise ProofRejected("objects are nested too deeply")
    author = author_of(document)
    if (
        author is not None
        and not same_origin(author, signer_uri)
        and await tx.session.scalar(select(Actor.id).where(Actor.uri == author, Actor.local))
    ):
        # Our own object: handlers read it from our database, not from here. A copy may carry
        # our proof yet fail it: Fedify's Accept re-serialises our Follow with actors inlined.
        return document
    if "proof" in document:
        if author is None:
            raise ProofRejected(f"{id_of(document)} carries a proof but names no author")
        await verify_proof(tx, document, author)
        signer_uri = author
    elif author is not None and not same_origin(author, signer_uri):
        # Mastodon's ActivityPub::Activity#status_from_object likewise trusts an embedded object
        # only from its author and otherwise fetches it by id from its origin.
        ident = id_of(document)
        if ident is None or not same_origin(ident, author):
            raise ProofRejected(f"an object by {author} was relayed by {signer_uri} unsigned")
        return _references(document)
    inner = document.get("object")
    if isinstance(inner, dict):
        document = {**document, "object": await _trusted(tx, inner, signer_uri, depth + 1)}
    return document


async def verify_inbound(tx: Tx, document: dict[str, Any], sender: Actor) -> dict[str, Any]:
    """The activity as handlers may trust it: proofs verified, unproven relayed objects as ids."""
    if "proof" in document:
        await verify_proof(tx, document, sender.uri)
    inner = document.get("object")
    if isinstance(inner, dict):
        return {**document, "object": await _trusted(tx, inner, sender.uri, 1)}
    return document
