"""Actors on other servers: finding them by handle or URL, caching and refreshing their profiles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation.client import FetchError, Permit
from federation.domains import DomainError, authority_of, same_origin
from federation.media_types import JRD_JSON
from federation.sanitize import SanitizeError, plain_text, sanitize_html
from federation.signatures import HttpSignatureAuth, PublicKey, SignatureError, load_public_key_pem
from federation.vocabulary import first_of, id_of
from federation.webfinger import WebFingerError, lookup_url, parse_acct, read_jrd
from node import actors, keys, policy
from node.errors import InvalidInput, NotFound
from node.runtime import Tx
from storage.models import Actor

STALE_AFTER = timedelta(days=1)
KINDS = {
    "Person": "person",
    "Service": "person",
    "Group": "group",
    "Organization": "group",
    "Application": "application",
}


class RemoteError(InvalidInput):
    """A remote server or document we cannot use, with the reason."""


async def signer(tx: Tx, actor: Actor | None = None) -> HttpSignatureAuth:
    """HTTP Signature auth for a local actor (the instance actor when none is given)."""
    actor = actor or await actors.instance_actor(tx)
    assert actor.private_key_sealed and actor.key_id
    sealer = keys.Sealer(tx.settings.secret)
    return HttpSignatureAuth(
        actor.key_id, keys.rsa_private_key(sealer, actor.private_key_sealed), clock=tx.node.clock
    )


async def _permit(tx: Tx) -> Permit:
    # The policy is read once per fetch and checked on the URL and on every redirect hop.
    rules = await policy.current(tx)

    def permit(url: str) -> str | None:
        decision = rules.decide_url(url)
        return None if decision.permitted else f"federation policy: {decision.reason}"

    return permit


async def fetch_document(tx: Tx, url: str) -> dict[str, Any]:
    """A remote AS2 document, fetched with a GET signed by the instance actor."""
    permit = await _permit(tx)
    if (refusal := permit(url)) is not None:
        raise RemoteError(refusal)  # before anything else, even loading our key
    auth = await signer(tx)
    try:
        final_url, document = await tx.node.client.get_json(
            url, auth=lambda: auth, permit=permit
        )
    except FetchError as exc:
        raise RemoteError(exc.reason) from exc
    if id_of(document) and not same_origin(str(id_of(document)), final_url):
        # Mastodon's fetch_resource: the id must live where we fetched it, or we refetch by id.
        raise RemoteError(f"{final_url} served a document claiming to be {id_of(document)}")
    return document


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _url(value: object) -> str | None:
    candidate = id_of(first_of(value)) if not isinstance(value, str) else value
    if isinstance(value, dict) and isinstance(value.get("url"), str):
        candidate = value["url"]
    if isinstance(candidate, str) and urlsplit(candidate).scheme in ("http", "https"):
        return candidate[:2048]
    return None


def _apply(actor: Actor, document: dict[str, Any], tx: Tx) -> None:
    uri = str(document["id"])
    key = document.get("publicKey")
    key = first_of(key) if isinstance(key, list) else key
    if not isinstance(key, dict) or not isinstance(key.get("publicKeyPem"), str):
        raise RemoteError(f"{uri} has no public key")
    if key.get("owner") not in (None, uri) or not same_origin(str(key.get("id", "")), uri):
        raise RemoteError(f"{uri} publishes a key it does not own")
    try:
        load_public_key_pem(key["publicKeyPem"])
    except SignatureError as exc:
        raise RemoteError(f"{uri} publishes an unusable key: {exc.reason}") from exc
    listed = document.get("endpoints")
    endpoints: dict[str, Any] = listed if isinstance(listed, dict) else {}
    try:
        summary = sanitize_html(_text(document.get("summary"), 20_000))
        display = plain_text(_text(document.get("name"), 500))[:255]
    except SanitizeError as exc:
        raise RemoteError(f"{uri}: {exc.reason}") from exc
    assertion = (
        [
            m
            for m in (document.get("assertionMethod") or [])
            if isinstance(m, dict) and m.get("type") == "Multikey" and m.get("controller") == uri
        ]
        if isinstance(document.get("assertionMethod"), list)
        else []
    )
    actor.display_name = display
    actor.summary_html = summary
    actor.url = _url(document.get("url")) or uri
    actor.icon_url = _url(document.get("icon"))
    actor.inbox_uri = _url(document.get("inbox"))
    actor.shared_inbox_uri = _url(endpoints.get("sharedInbox"))
    actor.outbox_uri = _url(document.get("outbox"))
    actor.followers_uri = _url(document.get("followers"))
    actor.following_uri = _url(document.get("following"))
    actor.featured_uri = _url(document.get("featured"))
    actor.manually_approves_followers = document.get("manuallyApprovesFollowers") is True
    actor.key_id = str(key.get("id"))[:2048]
    actor.public_key_pem = key["publicKeyPem"]
    actor.ed25519_public_multibase = (
        str(assertion[0].get("publicKeyMultibase"))[:128] if assertion else None
    )
    actor.raw = document
    actor.fetched_at = tx.now()
    actor.updated_at = tx.now()


async def store(tx: Tx, document: dict[str, Any]) -> Actor:
    """Create or refresh the cached actor described by a fetched document."""
    uri = id_of(document)
    kind = KINDS.get(str(document.get("type")))
    name = document.get("preferredUsername")
    if not uri or kind is None or not isinstance(name, str) or not name or len(name) > 255:
        raise RemoteError("the document is not an actor with a preferredUsername")
    if not document.get("inbox"):
        raise RemoteError(f"{uri} has no inbox")
    try:
        domain = authority_of(uri)
    except DomainError as exc:
        raise RemoteError(exc.reason) from exc
    if domain == tx.settings.domain:
        raise RemoteError(f"{uri} claims to be on this node")
    actor = await tx.session.scalar(select(Actor).where(Actor.uri == uri))
    if actor is None:
        # A name reused on that server for a different account: the old row keeps its posts.
        taken = await tx.session.scalar(
            select(Actor).where(Actor.domain == domain, Actor.name == name)
        )
        if taken is not None:
            taken.name = f"{taken.name}~{taken.id}"
            await tx.session.flush()
        now = tx.now()
        actor = Actor(
            uri=uri,
            kind=kind,
            local=False,
            name=name,
            domain=domain,
            created_at=now,
            updated_at=now,
        )
        _apply(actor, document, tx)
        try:
            async with tx.session.begin_nested():
                tx.session.add(actor)
        except IntegrityError:
            # Two deliveries from an actor we did not know arrived at once; the other one
            # stored it first, so refresh that row instead.
            actor = await tx.session.scalar(select(Actor).where(Actor.uri == uri))
            if actor is None:
                raise
    actor.kind = kind
    _apply(actor, document, tx)
    await tx.session.flush()
    return actor


async def fetch(tx: Tx, uri: str, *, refresh: bool = False) -> Actor:
    """The actor with this id: ours, cached, or fetched (again when stale or asked)."""
    actor = await tx.session.scalar(select(Actor).where(Actor.uri == uri))
    if actor is not None and (
        actor.local
        or (not refresh and actor.fetched_at and actor.fetched_at > tx.now() - STALE_AFTER)
    ):
        return actor
    try:
        document = await fetch_document(tx, uri)
    except RemoteError:
        if actor is not None and not refresh:
            return actor  # a stale profile beats none while its server is down
        raise
    if id_of(document) != uri:
        raise RemoteError(f"{uri} served the document of {id_of(document)}")
    return await store(tx, document)


async def public_key(tx: Tx, key_id: str, refresh: bool) -> tuple[Actor, PublicKey]:
    """The actor owning an HTTP Signature key id and that key (fetched when unknown)."""
    actor = await tx.session.scalar(select(Actor).where(Actor.key_id == key_id))
    if actor is None or refresh:
        owner_uri = key_id.split("#", 1)[0]
        actor = await fetch(tx, owner_uri, refresh=refresh)
        if actor.key_id != key_id:
            raise RemoteError(f"{owner_uri} does not publish the key {key_id}")
    if actor.public_key_pem is None:
        raise RemoteError(f"{actor.uri} has no public key")
    return actor, load_public_key_pem(actor.public_key_pem)


async def lookup(tx: Tx, query: str) -> Actor:
    """An actor from what a person types: `@name@host`, `name@host` or a profile URL."""
    query = query.strip()
    if query.startswith(("https://", "http://")):
        try:
            return await fetch(tx, query)
        except RemoteError:
            document = await fetch_document(tx, query)
            uri = id_of(document)
            if not uri:
                raise
            return await fetch(tx, uri)
    try:
        acct = parse_acct(query)
    except WebFingerError as exc:
        raise InvalidInput(f"{query!r} is not a handle like @name@server.example") from exc
    if acct.host == tx.settings.domain:
        local = await actors.find_local(tx, acct.name)
        if local is None:
            raise NotFound(f"no one called {acct.name} on this node")
        return local
    decision = await policy.is_permitted(tx, acct.host)
    if not decision.permitted:
        raise RemoteError(f"cannot look up {acct.uri}: federation policy: {decision.reason}")
    permit = await _permit(tx)
    cached = await tx.session.scalar(
        select(Actor).where(Actor.domain == acct.host, Actor.name == acct.name)
    )
    if cached is not None and cached.fetched_at and cached.fetched_at > tx.now() - STALE_AFTER:
        return cached
    scheme = "http" if tx.settings.dev else "https"
    try:
        _, jrd = await tx.node.client.get_json(
            lookup_url(acct, scheme=scheme), auth=lambda: None, accept=JRD_JSON, permit=permit
        )
        actor_uri = read_jrd(jrd).self_href
    except (FetchError, WebFingerError) as exc:
        reason = exc.reason
        raise RemoteError(f"cannot find {acct.uri}: {reason}") from exc
    actor = await fetch(tx, actor_uri, refresh=True)
    if actor.domain != acct.host:
        # Mastodon accepts split domains only after a reverse WebFinger check; we do not.
        raise RemoteError(f"{acct.uri} points at an actor on another server ({actor.domain})")
    return actor
