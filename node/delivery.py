"""Publishing activities: the durable outbound queue, fan-out to inboxes, and sending with retries.

The database is the queue. Publishing writes one OutboxActivity and one Delivery per target inbox
(deduplicated by shared inbox) in the caller's transaction, so an activity is queued if and only
if the change that caused it is committed. Workers claim due rows with a lease (and
`FOR UPDATE SKIP LOCKED` on PostgreSQL); a worker that dies mid-send leaves the lease to expire
and another sends the activity again, which receivers ignore by activity id.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from federation.client import FetchError
from federation.domains import DomainError, authority_of
from federation.retry import decide
from node import proofs
from node.remote_actors import signer
from node.runtime import Node, Tx
from storage.models import Actor, Delivery, OutboxActivity

CLAIM_LEASE = timedelta(minutes=5)
BATCH = 20


def new_activity_uri(tx: Tx, actor: Actor) -> str:
    """A fresh id for an activity published by a local actor."""
    return f"{actor.uri}/activities/{secrets.token_hex(8)}"


def inbox_of(actor: Actor) -> str | None:
    """Where to deliver to an actor: its server's shared inbox when it has one."""
    return actor.shared_inbox_uri or actor.inbox_uri


async def publish(
    tx: Tx,
    actor: Actor,
    document: dict[str, Any],
    *,
    recipients: Iterable[Actor] = (),
    public: bool = True,
) -> OutboxActivity:
    """Record an activity and queue one delivery per remote inbox that should receive it."""
    # DESIGN.md §5: everything we author leaves signed by its author (FEP-8b32).
    document = await proofs.sign(tx, actor, document)
    activity = OutboxActivity(
        uri=document["id"],
        actor_id=actor.id,
        type=document["type"],
        object_uri=_object_uri(document),
        public=public,
        raw=document,
        created_at=tx.now(),
    )
    tx.session.add(activity)
    await tx.session.flush()
    targets: list[Actor] = list(recipients)
    inboxes: dict[str, str] = {}
    for target in targets:
        inbox = inbox_of(target)
        if target.local or inbox is None or inbox in inboxes:
            continue
        try:
            inboxes[inbox] = authority_of(inbox)
        except DomainError:
            continue
    for inbox, host in inboxes.items():
        tx.session.add(
            Delivery(
                activity_id=activity.id,
                inbox_uri=inbox,
                host=host,
                state="queued",
                attempts=0,
                next_attempt_at=tx.now(),
                created_at=tx.now(),
            )
        )
    await tx.session.flush()
    return activity


def _object_uri(document: dict[str, Any]) -> str | None:
    obj = document.get("object")
    if isinstance(obj, dict):
        obj = obj.get("id")
    return obj if isinstance(obj, str) else None


async def _claim(node: Node, limit: int) -> list[int]:
    async with node.transaction() as tx:
        now = tx.now()
        rows = list(
            await tx.session.scalars(
                select(Delivery)
                .where(Delivery.state == "queued", Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.next_attempt_at = now + CLAIM_LEASE
        return [row.id for row in rows]


async def _send(node: Node, delivery_id: int, rng: random.Random) -> None:
    async with node.transaction() as tx:
        delivery = await tx.session.get(Delivery, delivery_id)
        if delivery is None or delivery.state != "queued":
            return
        actor = delivery.activity.actor
        auth = await signer(tx, actor)
        body = json.dumps(delivery.activity.raw).encode("utf-8")
        inbox = delivery.inbox_uri
    status: int | None = None
    error: str | None = None
    retry_after: str | None = None
    try:
        answer = await node.client.post_activity(inbox, body, auth=auth)
        status = answer.status
    except FetchError as exc:
        status, error, retry_after = exc.status, exc.reason, exc.retry_after
    async with node.transaction() as tx:
        delivery = await tx.session.get(Delivery, delivery_id)
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.last_status = status
        now = tx.now()
        if error is None:
            delivery.state = "delivered"
            delivery.finished_at = now
            delivery.last_error = None
            return
        decision = decide(delivery.attempts, status, error, retry_after, now, rng)
        delivery.last_error = decision.reason[:1000]
        if decision.deliver_again and decision.at is not None:
            delivery.next_attempt_at = decision.at
        else:
            delivery.state = "failed"
            delivery.finished_at = now


async def deliver_due(node: Node, limit: int = BATCH, rng: random.Random | None = None) -> int:
    """Send the deliveries that are due; returns how many were attempted."""
    rng = rng or random.Random()
    claimed = await _claim(node, limit)
    for delivery_id in claimed:
        await _send(node, delivery_id, rng)
    return len(claimed)
