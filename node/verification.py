"""Verifying an Open Badges 3.0 credential from anywhere.

It checks, in this order and each with its own reason: its shape, that the signing key is one
the issuer lists in `assertionMethod`, the signature, the validity window and the issuer's
Bitstring Status List.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from federation import badges as ob3
from federation import integrity, jsonld, status_list
from federation.client import FetchError, SafeClient
from federation.domains import same_origin
from federation.multikey import MultikeyError, decode_public_key
from federation.vocabulary import as_list, id_of
from node import communities, discovery, remote_actors, status_lists
from node.credentials import MAX_CREDENTIAL_BYTES, VC_JSON, CredentialInvalid, invalid
from node.errors import NotFound
from node.runtime import Tx
from storage.models import Actor, Award

CREDENTIAL_ACCEPT = f"{VC_JSON}, application/ld+json;q=0.9, application/json;q=0.8"


@dataclass(frozen=True)
class Verification:
    """A credential that verified: what it says and how its status was checked."""

    summary: ob3.CredentialSummary
    verification_method: str
    status_checked: bool


def _issuer_key(
    issuer_document: Mapping[str, Any], issuer_id: str, method: str
) -> Ed25519PublicKey:
    """The key behind `method`, if the issuer lists it in its `assertionMethod` (FEP-521a)."""
    if id_of(dict(issuer_document)) != issuer_id:
        raise invalid("wrong key", f"the issuer document is not {issuer_id}")
    for entry in as_list(issuer_document.get("assertionMethod")):
        if not isinstance(entry, dict) or entry.get("id") != method:
            continue
        if entry.get("type") != "Multikey" or entry.get("controller") != issuer_id:
            raise invalid("wrong key", f"{method} is not a Multikey controlled by {issuer_id}")
        try:
            return decode_public_key(str(entry.get("publicKeyMultibase")))
        except MultikeyError as exc:
            raise invalid("wrong key", f"{method}: {exc.reason}") from exc
    raise invalid(
        "wrong key", f"the credential is signed with {method}, which {issuer_id} does not list"
    )


def _proof_method(document: Mapping[str, Any]) -> str:
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, dict):
        raise invalid("unsigned", "the credential has no Data Integrity proof")
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise invalid("unsigned", "the proof names no verificationMethod")
    return method


def _check_signature(document: Mapping[str, Any], key: Ed25519PublicKey, what: str) -> None:
    try:
        integrity.verify(document, key, max_bytes=MAX_CREDENTIAL_BYTES)
    except integrity.ProofError as exc:
        raise invalid(
            "signature invalid",
            f"the {what} was changed after it was signed, or signed by another key ({exc.reason})",
        ) from exc


def _verify_proof(
    credential: Any, issuer_document: Mapping[str, Any], now: datetime, allow_http: bool
) -> Verification:
    try:
        jsonld.check_bounds(credential, MAX_CREDENTIAL_BYTES)
        summary = ob3.read_credential(credential, allow_http=allow_http)
    except (jsonld.JsonLdError, ob3.BadgeError) as exc:
        raise invalid("not an Open Badges 3.0 credential", exc.reason) from exc
    method = _proof_method(credential)
    key = _issuer_key(issuer_document, summary.issuer_id, method)
    _check_signature(credential, key, "credential")
    try:
        ob3.check_validity_window(summary, now)
    except ob3.BadgeError as exc:
        label = "expired" if summary.valid_until and now > summary.valid_until else "not yet valid"
        raise invalid(label, exc.reason) from exc
    return Verification(summary, method, status_checked=False)


def _verify_status(
    verified: Verification,
    issuer_document: Mapping[str, Any],
    status_documents: Mapping[str, Mapping[str, Any]],
) -> Verification:
    summary = verified.summary
    for entry in summary.status:
        listing = status_documents.get(entry.list_credential)
        if listing is None:
            raise invalid("status unknown", f"the status list {entry.list_credential} is missing")
        if id_of(listing.get("issuer")) != summary.issuer_id:
            raise invalid("status unknown", "the status list was not issued by the issuer")
        list_key = _issuer_key(issuer_document, summary.issuer_id, _proof_method(listing))
        _check_signature(listing, list_key, "status list")
        try:
            revoked = status_list.check_status(listing, entry)
        except status_list.StatusListError as exc:
            raise invalid("status unknown", exc.reason) from exc
        if revoked and entry.purpose == "revocation":
            raise invalid("revoked", f"{summary.issuer_name or summary.issuer_id} revoked it")
        if revoked:
            raise invalid("suspended", f"its {entry.purpose} status bit is set")
    return Verification(summary, verified.verification_method, status_checked=True)


def verify_document(
    credential: Any,
    issuer_document: Mapping[str, Any],
    status_documents: Mapping[str, Mapping[str, Any]] | None,
    now: datetime,
    *,
    allow_http: bool = False,
) -> Verification:
    """Verify a credential against its issuer's actor document and status lists (no I/O).

    With `status_documents` None the status is not checked (and the result says so).
    """
    verified = _verify_proof(credential, issuer_document, now, allow_http)
    if status_documents is None:
        return verified
    return _verify_status(verified, issuer_document, status_documents)


def _status_urls(credential: Any, allow_http: bool) -> list[str]:
    try:
        summary = ob3.read_credential(credential, allow_http=allow_http)
    except ob3.BadgeError as exc:
        raise invalid("not an Open Badges 3.0 credential", exc.reason) from exc
    return sorted({entry.list_credential for entry in summary.status})


async def verify_with_client(
    client: SafeClient,
    credential: Any,
    now: datetime,
    *,
    allow_http: bool = False,
    issuer_document: Mapping[str, Any] | None = None,
    status_documents: Mapping[str, Mapping[str, Any]] | None = None,
) -> Verification:
    """Verify a credential, fetching (bounded, unsigned) whatever documents were not given."""
    issuer_id = _status_issuer(credential, allow_http)
    if issuer_document is None:
        issuer_document = await _fetch(client, issuer_id, "issuer")
    verified = _verify_proof(credential, issuer_document, now, allow_http)
    if status_documents is None:
        status_documents = {
            url: await _fetch(client, url, "status list")
            for url in _status_urls(credential, allow_http)
        }
    return _verify_status(verified, issuer_document, status_documents)


def _status_issuer(credential: Any, allow_http: bool) -> str:
    try:
        return ob3.read_credential(credential, allow_http=allow_http).issuer_id
    except ob3.BadgeError as exc:
        raise invalid("not an Open Badges 3.0 credential", exc.reason) from exc


async def _fetch(client: SafeClient, url: str, what: str) -> dict[str, Any]:
    # A status list is a credential: OB 3.0 issuers (we too, asked for it) serve it as
    # application/vc+ld+json, which the client reads as JSON for these fetches only.
    try:
        final_url, document = await client.get_json(
            url,
            auth=lambda: None,
            accept=CREDENTIAL_ACCEPT,
            json_types=(VC_JSON,),
        )
    except FetchError as exc:
        raise invalid(f"{what} unavailable", exc.reason) from exc
    if not same_origin(final_url, url):
        raise invalid(f"{what} unavailable", f"{url} redirected to another server")
    return document


async def verify(tx: Tx, credential: Any) -> Verification:
    """Verify a credential from anywhere: the issuer's keys and status lists are read here when
    the issuer is local and fetched (signed, bounded) otherwise; a remote issuer's profile is
    refetched once when the key is not listed (it may have been rotated). Status lists are
    fetched only for credentials whose signature holds."""
    allow_http = tx.settings.dev
    issuer_id = _status_issuer(credential, allow_http)
    issuer = await tx.session.scalar(select(Actor).where(Actor.uri == issuer_id))
    if issuer is not None and issuer.local:
        document = await discovery.actor_document(tx, issuer)
        verified = _verify_proof(credential, document, tx.now(), allow_http)
    else:
        document = await _remote_issuer(tx, issuer_id, refresh=False)
        try:
            verified = _verify_proof(credential, document, tx.now(), allow_http)
        except CredentialInvalid as exc:
            if not exc.reason.startswith("wrong key"):
                raise
            document = await _remote_issuer(tx, issuer_id, refresh=True)
            verified = _verify_proof(credential, document, tx.now(), allow_http)
    statuses = {
        url: await _status_document(tx, url) for url in _status_urls(credential, allow_http)
    }
    return _verify_status(verified, document, statuses)


async def _remote_issuer(tx: Tx, issuer_id: str, *, refresh: bool) -> dict[str, Any]:
    try:
        actor = await remote_actors.fetch(tx, issuer_id, refresh=refresh)
    except remote_actors.RemoteError as exc:
        raise invalid("issuer unavailable", exc.reason) from exc
    return actor.raw or {}


async def _status_document(tx: Tx, url: str) -> Mapping[str, Any]:
    base = tx.settings.url("/communities/")
    if url.startswith(base) and url.endswith("/badges/status"):
        name = url[len(base) : -len("/badges/status")]
        try:
            community = await communities.get(tx, name)
        except NotFound as exc:
            raise invalid("status unknown", f"no status list at {url}") from exc
        return await status_lists.status_list_document(tx, community)
    return await _fetch(tx.node.client, url, "status list")


async def verify_award(tx: Tx, record: Award) -> Verification:
    """Verify a stored award's credential now (the verification page shows the outcome)."""
    return await verify(tx, record.credential)

