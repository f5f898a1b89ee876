"""The inbox: a thin edge that verifies and persists, and one dispatch table the worker runs.

Edge (per request): bounded body, JSON object, HTTP Signature verified (one key refetch), the
signer must be the activity's actor and the activity id must share its origin; then the raw
activity is stored once by id and the server answers 202. Work happens in `process_due`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation.domains import authority_of, same_origin
from federation.signatures import (
    SignatureError,
    SignedRequest,
    parse_signature_request,
    verify_with_refetch,
)
from federation.vocabulary import id_of, types_of
from node import (
    follows,
    hosts,
    identity,
    notes,
    policy,
    profile_updates,
    proofs,
    reactions,
    reports,
)
from node.incoming import Ignored, Incoming
from node.remote_actors import RemoteError, public_key
from node.runtime import Node, Tx
from storage.models import Actor, InboxActivity

Handler = Callable[[Tx, Incoming], Awaitable[None]]
MAX_ATTEMPTS = 5
CLAIM_LEASE = timedelta(minutes=5)


class Refused(Exception):
    """An inbound delivery we refuse, with the HTTP status to answer and the reason."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# The map of everything we federate: (activity type, object type) -> handler; "*" = any object.
HANDLERS: dict[tuple[str, str], Handler] = {
    ("Follow", "*"): follows.on_follow,
    ("Move", "*"): identity.on_move,
    ("Accept", "*"): follows.on_accept,
    ("Reject", "*"): follows.on_reject,
    ("Undo", "Follow"): follows.on_undo_follow,
    ("Like", "*"): reactions.on_like,
    ("Undo", "Like"): reactions.on_undo_like,
    ("Undo", "Announce"): reactions.on_undo_announce,
    ("Undo", "*"): reactions.on_undo,
    ("Flag", "*"): reports.on_flag,
    ("Create", "*"): notes.on_create,
    ("Update", "Note"): notes.on_update,
    **{("Update", kind): profile_updates.on_update_actor for kind in profile_updates.ACTOR_TYPES},
    ("Update", "Page"): notes.on_update,
    ("Update", "Article"): notes.on_update,
    ("Update", "Question"): notes.on_update,
    ("Delete", "*"): notes.on_delete,
    ("Announce", "*"): notes.on_announce,
}


def _object_type(document: dict[str, object]) -> str | None:
    obj = document.get("object")
    if isinstance(obj, dict):
        kinds = types_of(obj)
        return sorted(kinds)[0] if kinds else None
    return None


async def _check_permitted(tx: Tx, *urls: str) -> None:
    rules = await policy.current(tx)
    for url in urls:
        decision = rules.decide_url(url)
        if not decision.permitted:
            raise Refused(decision.reason, 403)


async def signer_of(tx: Tx, signed: SignedRequest) -> Actor:
    """The actor whose key made a parsed signature valid (its key refetched once on failure)."""

    async def fetch_key(key_id: str, refresh: bool):  # type: ignore[no-untyped-def]
        return (await public_key(tx, key_id, refresh))[1]

    await verify_with_refetch(signed, fetch_key)
    return (await public_key(tx, signed.key_id, False))[0]


async def authorize_fetch(
    node: Node, method: str, path_with_query: str, headers: Mapping[str, str]
) -> None:
    """Refuse a GET of AS2 content in allowlist mode unless signed by a permitted domain.

    Mastodon's authorized fetch (secure mode) answers unsigned GETs with 401; we require it in
    allowlist mode, where an unsigned GET could come from any server, permitted or not.
    """
    async with node.transaction() as tx:
        if (await policy.current(tx)).mode != "allowlist":
            return
        scheme = urlsplit(node.settings.base_url).scheme
        try:
            signed = parse_signature_request(
                method, path_with_query, dict(headers), b"", node.clock(), scheme=scheme
            )
        except SignatureError as exc:
            raise Refused(f"this node only answers signed requests: {exc.reason}", 401) from exc
        await _check_permitted(tx, signed.key_id)
        try:
            signer = await signer_of(tx, signed)
        except (SignatureError, RemoteError) as exc:
            raise Refused(f"signature: {exc.reason}", 401) from exc
        await _check_permitted(tx, signer.uri)
        await hosts.record_signed_request(tx, authority_of(signer.uri))


async def receive(
    node: Node,
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes,
    recipient_uri: str | None,
) -> bool:
    """Verify and store one delivery; True when it was new, False for a repeat. Refused if bad."""
    if len(body) > node.settings.limits.max_inbox_bytes:
        raise Refused("activity too large", 413)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Refused("body is not JSON") from exc
    if not isinstance(document, dict):
        raise Refused("activity must be a JSON object")
    uri, actor_uri, kinds = id_of(document), id_of(document.get("actor")), types_of(document)
    if not uri or not actor_uri or not kinds:
        raise Refused("activity needs an id, a type and an actor")
    if not same_origin(uri, actor_uri):
        raise Refused("activity id and actor are on different servers")
    scheme = urlsplit(node.settings.base_url).scheme
    try:
        signed = parse_signature_request(
            method, path_with_query, dict(headers), body, node.clock(), scheme=scheme
        )
    except SignatureError as exc:
        raise Refused(f"signature: {exc.reason}", 401) from exc
    async with node.transaction() as tx:
        # Federation policy first: a refused domain gets 403 before we store or fetch anything.
        await _check_permitted(tx, actor_uri, signed.key_id)
        if await tx.session.scalar(select(InboxActivity.id).where(InboxActivity.uri == uri)):
            return False  # a redelivery: we already have it
        try:
            signer = await signer_of(tx, signed)
        except (SignatureError, RemoteError) as exc:
            # Mastodon sends Delete for a removed account signed by a key that is now gone.
            if "Delete" in kinds and id_of(document.get("object")) == actor_uri:
                return False
            raise Refused(f"signature: {exc.reason}", 401) from exc
        if signer.uri != actor_uri:
            raise Refused(f"signed by {signer.uri}, not by the activity's actor", 401)
        await hosts.record_signed_request(tx, authority_of(signer.uri))
        try:
            # One activity often arrives at several of our inboxes at once (Fedify delivers to
            # each addressed actor's inbox in parallel): the later copy loses on the unique uri.
            async with tx.session.begin_nested():
                tx.session.add(
                    InboxActivity(
                        uri=uri,
                        type=sorted(kinds)[0],
                        actor_uri=actor_uri,
                        object_type=_object_type(document),
                        signer_key_id=signed.key_id,
                        recipient_uri=recipient_uri,
                        raw=document,
                        state="queued",
                        attempts=0,
                        next_attempt_at=tx.now(),
                        received_at=tx.now(),
                    )
                )
        except IntegrityError:
            return False  # a concurrent redelivery stored it first
    return True


async def _claim(node: Node, limit: int) -> list[int]:
    async with node.transaction() as tx:
        now = tx.now()
        rows = list(
            await tx.session.scalars(
                select(InboxActivity)
                .where(InboxActivity.state == "queued", InboxActivity.next_attempt_at <= now)
                .order_by(InboxActivity.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.next_attempt_at = now + CLAIM_LEASE
        return [row.id for row in rows]


def handler_for(activity_type: str, object_type: str | None) -> Handler | None:
    """The handler for an activity, most specific first."""
    return HANDLERS.get((activity_type, object_type or "*")) or HANDLERS.get((activity_type, "*"))


async def _process(node: Node, activity_id: int) -> None:
    try:
        async with node.transaction() as tx:
            row = await tx.session.get(InboxActivity, activity_id)
            if row is None or row.state != "queued":
                return
            actor = await tx.session.scalar(select(Actor).where(Actor.uri == row.actor_uri))
            handler = handler_for(row.type, row.object_type)
            row.attempts += 1
            row.processed_at = tx.now()
            if actor is None or handler is None:
                row.state = "ignored"
                row.last_error = "unsupported activity" if handler is None else "unknown actor"
                return
            try:
                # DESIGN.md §5: object proofs are checked before any handler sees the activity.
                trusted = await proofs.verify_inbound(tx, row.raw, actor)
            except proofs.ProofRejected as exc:
                row.state = "rejected"
                row.last_error = exc.reason[:1000]
                return
            try:
                async with tx.session.begin_nested():
                    await handler(tx, Incoming(row.uri, row.type, trusted, actor))
                row.state = "done"
            except Ignored as exc:
                row.state = "ignored"
                row.last_error = exc.reason[:1000]
    except Exception as exc:  # the worker loop records what it caught and retries later
        async with node.transaction() as tx:
            row = await tx.session.get(InboxActivity, activity_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            if row.attempts >= MAX_ATTEMPTS:
                row.state = "failed"
            else:
                row.next_attempt_at = tx.now() + timedelta(seconds=30 * 2**row.attempts)


async def process_due(node: Node, limit: int = 50) -> int:
    """Handle the stored activities that are due; returns how many were taken."""
    claimed = await _claim(node, limit)
    for activity_id in claimed:
        await _process(node, activity_id)
    return len(claimed)
