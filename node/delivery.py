"""Publishing activities: the durable outbound queue, fan-out to inboxes, and sending with retries.

The database is the queue. Publishing writes one OutboxActivity and one Delivery per target inbox
(deduplicated by shared inbox) in the caller's transaction, so an activity is queued if and only
if the change that caused it is committed. Workers claim due rows with a lease (and
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers can run); the lease time is also
the claim's token, so a row re-claimed after its lease ran out is sent by one worker only. A send
starts only while at least half the lease is left (the lease is renewed otherwise), and the
results of a pass are written together in one transaction at its end: a fan-out costs a few
commits per pass, not two per delivery. A worker that dies mid-pass leaves its leases to expire
and another sends those activities again, which receivers ignore by activity id.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

from federation.client import FetchError
from federation.domains import DomainError, authority_of
from federation.retry import decide
from federation.signatures import HttpSignatureAuth
from node import hosts, proofs
from node import policy as federation_policy
from node.remote_actors import signer
from node.runtime import Node, Tx
from storage.models import Actor, Delivery, HostState, OutboxActivity

BATCH = 50
SENDERS = 16  # requests in flight per worker
HOST_CONCURRENCY = 2  # requests in flight per host per worker
HOST_BATCH = 8  # rows per host per pass, so one busy host cannot fill a pass
# Some servers rate-limit by address (about one request a second on small instances); space
# requests to one host, and let a 429/503 with Retry-After pause the whole host.
HOST_INTERVAL = 0.2
# Mastodon's response_error_unsalvageable? treats other 4xx answers as final: the host is up.
_HOST_TROUBLE = frozenset({401, 408, 429})


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
    rules = await federation_policy.current(tx)
    skipped = await hosts.unavailable(tx)
    inboxes: dict[str, str] = {}
    for target in targets:
        inbox = inbox_of(target)
        if target.local or inbox is None or inbox in inboxes:
            continue
        try:
            host = authority_of(inbox)
        except DomainError:
            continue
        # No row at all for a domain the policy refuses or a host marked unavailable.
        if host not in skipped and rules.decide(host).permitted:
            inboxes[inbox] = host
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


def lease(node: Node) -> timedelta:
    """How long a claimed row is a worker's alone ([limits] delivery_lease_seconds)."""
    # Also the longest a crashed worker delays the rows it had claimed.
    return timedelta(seconds=node.settings.limits.delivery_lease_seconds)


async def _claim(node: Node, limit: int) -> list[tuple[int, str, datetime]]:
    async with node.transaction() as tx:
        now = tx.now()
        older, older_activity = aliased(Delivery), aliased(OutboxActivity)
        earlier_pending = (
            select(older.id)
            .join(older_activity, older.activity_id == older_activity.id)
            .where(
                older.host == Delivery.host,
                older.state == "queued",
                older.activity_id < Delivery.activity_id,  # an earlier activity, not a sibling
                older_activity.object_uri == OutboxActivity.object_uri,
            )
            .exists()
        )
        paused = select(HostState.host).where(HostState.circuit_open_until > now)
        candidates = await tx.session.execute(
            select(Delivery.id, Delivery.host)
            .join(OutboxActivity, Delivery.activity_id == OutboxActivity.id)
            .where(
                Delivery.state == "queued",
                Delivery.next_attempt_at <= now,
                Delivery.host.not_in(paused),
                or_(OutboxActivity.object_uri.is_(None), ~earlier_pending),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit * 4)
            .with_for_update(of=Delivery, skip_locked=True)
        )
        per_host: Counter[str] = Counter()
        chosen: list[tuple[int, str]] = []
        for delivery_id, host in candidates:
            if per_host[host] < HOST_BATCH and len(chosen) < limit:
                per_host[host] += 1
                chosen.append((delivery_id, host))
        until = now + lease(node)
        if chosen:
            await tx.session.execute(
                update(Delivery)
                .where(Delivery.id.in_([delivery_id for delivery_id, _ in chosen]))
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False)
            )
        return [(delivery_id, host, until) for delivery_id, host in chosen]


@dataclass(frozen=True)
class _Result:
    """How one send ended, kept in memory until the pass writes every result at once."""

    delivery_id: int
    host: str
    outcome: str  # delivered, retry or failed
    status: int | None
    error: str | None  # the retry policy's reason, for rows that did not get through
    next_attempt_at: datetime | None  # for `retry`
    host_trouble: bool  # a network error, 5xx, 401, 408 or 429: counts against the host
    paused_until: datetime | None  # the host's own Retry-After (429/503)


@dataclass
class _Pass:
    """What one pass reads once and shares between its sends, and the results it collects."""

    rules: federation_policy.Policy
    rng: random.Random
    bodies: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # activity -> body, actor
    signers: dict[int, HttpSignatureAuth] = field(default_factory=dict)  # actor -> auth
    answered: set[str] = field(default_factory=set)  # hosts that answered (healthy)
    results: list[_Result] = field(default_factory=list)


async def _prepare(tx: Tx, work: _Pass, activity_id: int) -> tuple[bytes, HttpSignatureAuth]:
    # A fan-out sends one activity to many inboxes: serialise it and load its author's key
    # (~0.1 s of CPU: cryptography validates RSA keys) once per pass, not once per delivery.
    if activity_id not in work.bodies:
        activity = await tx.session.get(OutboxActivity, activity_id)
        assert activity is not None
        work.bodies[activity_id] = (json.dumps(activity.raw).encode("utf-8"), activity.actor_id)
        if activity.actor_id not in work.signers:
            work.signers[activity.actor_id] = await signer(tx, activity.actor)
    body, actor_id = work.bodies[activity_id]
    return body, work.signers[actor_id]


async def _send(node: Node, delivery_id: int, until: datetime, work: _Pass) -> str:
    """Send one claimed delivery; the outcome (delivered, retry, failed, refused, lost).

    The result is written by `_write_results` at the end of the pass, not here.
    """
    async with node.transaction() as tx:
        now = tx.now()
        columns = (Delivery.host, Delivery.inbox_uri, Delivery.activity_id, Delivery.attempts)
        ours = (
            Delivery.id == delivery_id,
            Delivery.state == "queued",
            Delivery.next_attempt_at == until,
        )
        if until - now >= lease(node) / 2:
            # Still ours for longer than a send can take (settings.MIN_PRODUCTION_LEASE): a read
            # suffices, and a commit that writes nothing costs next to nothing.
            mine = (await tx.session.execute(select(*columns).where(*ours))).first()
        else:
            # A slow pass: renew the lease, but only if it is still ours. A row whose lease ran
            # out may have been claimed by another worker meanwhile; that worker sends it.
            mine = (
                await tx.session.execute(
                    update(Delivery)
                    .where(*ours)
                    .values(next_attempt_at=now + lease(node))
                    .returning(*columns)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if mine is None:
            return "lost"
        host, inbox, activity_id, attempts = mine
        decision = work.rules.decide(host)
        if not decision.permitted:
            await tx.session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(state="refused", finished_at=now, last_error=decision.reason[:1000])
                .execution_options(synchronize_session=False)
            )
            return "refused"
        body, auth = await _prepare(tx, work, activity_id)
    status: int | None = None
    error: str | None = None
    retry_after: str | None = None
    try:
        answer = await node.client.post_activity(inbox, body, auth=auth)
        status = answer.status
    except FetchError as exc:
        status, error, retry_after = exc.status, exc.reason, exc.retry_after
    if error is None:
        work.answered.add(host)
        work.results.append(
            _Result(delivery_id, host, "delivered", status, None, None, False, None)
        )
        return "delivered"
    verdict = decide(attempts + 1, status, error, retry_after, node.clock(), work.rng)
    trouble = status is None or status >= 500 or status in _HOST_TROUBLE
    if not trouble:
        work.answered.add(host)  # it answered with a final 4xx: the host is up
    outcome = "retry" if verdict.deliver_again and verdict.at is not None else "failed"
    work.results.append(
        _Result(
            delivery_id,
            host,
            outcome,
            status,
            verdict.reason[:1000],
            verdict.at if outcome == "retry" else None,
            trouble,
            verdict.at if trouble and status in (429, 503) and retry_after else None,
        )
    )
    return outcome


async def _write_results(node: Node, work: _Pass) -> list[_Result]:
    """Write every result of a pass in one transaction; the results whose row was taken over."""
    # One commit per pass instead of one per delivery: at fan-out the commits, not the
    # signatures or the HTTP requests, were what bounded deliveries per second. A crash before
    # this commit loses no activity: the rows are still queued and are sent again when their
    # lease ends (receivers ignore the copy by activity id).
    written: set[int] = set()
    async with node.transaction() as tx:
        now = tx.now()
        delivered: dict[int | None, list[int]] = defaultdict(list)
        for result in work.results:
            if result.outcome == "delivered":
                delivered[result.status].append(result.delivery_id)
        for status, ids in delivered.items():
            rows = await tx.session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.state == "queued")
                .values(
                    state="delivered",
                    attempts=Delivery.attempts + 1,
                    last_status=status,
                    last_error=None,
                    finished_at=now,
                )
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            written.update(rows.scalars())
        for result in work.results:
            if result.outcome == "delivered":
                continue
            ending = (
                {"next_attempt_at": result.next_attempt_at}
                if result.outcome == "retry"
                else {"state": "failed", "finished_at": now}
            )
            row = await tx.session.execute(
                update(Delivery)
                .where(Delivery.id == result.delivery_id, Delivery.state == "queued")
                .values(
                    attempts=Delivery.attempts + 1,
                    last_status=result.status,
                    last_error=result.error,
                    **ending,
                )
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            if row.first() is None:
                continue
            written.add(result.delivery_id)
            if result.host_trouble:
                await hosts.record_failure(tx, result.host, result.error or "", result.paused_until)
        # One write per healthy host per pass, not one per delivery.
        for host in sorted(work.answered):
            await hosts.record_success(tx, host)
    return [result for result in work.results if result.delivery_id not in written]


async def deliver_due(
    node: Node,
    limit: int = BATCH,
    rng: random.Random | None = None,
    *,
    host_interval: float = HOST_INTERVAL,
) -> int:
    """Send the deliveries that are due; returns how many were attempted."""
    return sum((await deliver_due_outcomes(node, limit, rng, host_interval=host_interval)).values())


async def deliver_due_outcomes(
    node: Node,
    limit: int = BATCH,
    rng: random.Random | None = None,
    *,
    host_interval: float = HOST_INTERVAL,
) -> Counter[str]:
    """One pass over the due deliveries; how many ended in each outcome."""
    claimed = await _claim(node, limit)
    outcomes: Counter[str] = Counter()
    if not claimed:
        return outcomes
    async with node.transaction() as tx:
        work = _Pass(await federation_policy.current(tx), rng or random.Random())
    by_host: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for delivery_id, host, until in claimed:
        by_host[host].append((delivery_id, until))
    senders = asyncio.Semaphore(SENDERS)

    async def one(delivery_id: int, until: datetime) -> None:
        async with senders:
            outcomes[await _send(node, delivery_id, until, work)] += 1

    async def drain(rows: list[tuple[int, datetime]]) -> None:
        for start in range(0, len(rows), HOST_CONCURRENCY):
            if start and host_interval:
                await asyncio.sleep(host_interval)
            await asyncio.gather(*(one(*row) for row in rows[start : start + HOST_CONCURRENCY]))

    await asyncio.gather(*(drain(rows) for rows in by_host.values()))
    if work.results or work.answered:
        for taken_over in await _write_results(node, work):
            outcomes[taken_over.outcome] -= 1
            outcomes["lost"] += 1
    return +outcomes


async def queue_summary(tx: Tx) -> dict[str, int]:
    """How many deliveries are in each state (queued, delivered, failed, refused)."""
    rows = await tx.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    return {state: int(count) for state, count in rows}


async def queued_by_host(tx: Tx, limit: int = 50) -> list[tuple[str, int]]:
    """The hosts with the most queued deliveries, and how many each has."""
    rows = await tx.session.execute(
        select(Delivery.host, func.count())
        .where(Delivery.state == "queued")
        .group_by(Delivery.host)
        .order_by(func.count().desc(), Delivery.host)
        .limit(limit)
    )
    return [(host, int(count)) for host, count in rows]
