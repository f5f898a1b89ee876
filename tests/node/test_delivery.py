"""node.delivery: policy at fan-out and at send time, retries, host pacing, breaker, ordering."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import event, func, select

from federation.domains import authority_of
from node import delivery, hosts, members, policy
from node.runtime import Node, Tx, open_node
from node.settings import Settings
from storage.models import Actor, Delivery, DomainRule, FederationSetting, HostState

AS = "https://www.w3.org/ns/activitystreams"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Peers:
    """Fake remote inboxes: every POST is recorded, answered by `answer` (202 by default)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, object]]] = []
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda _r: httpx.Response(202)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append((request.url.host, json.loads(request.content)))
        return self.answer(request)

    def types(self) -> list[str]:
        return [str(document["type"]) for _, document in self.received]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def peers() -> Peers:
    return Peers()


@pytest.fixture
async def sender(settings: Settings, clock: Clock, peers: Peers) -> AsyncIterator[Node]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(peers))
    # Development mode skips DNS for the made-up hosts; MockTransport answers for them.
    running = await open_node(replace(settings, dev=True), clock=clock, http=http)
    async with running.transaction() as tx:
        await members.add(tx, "ana")
    yield running
    await running.close()


async def remote(tx: Tx, url: str) -> Actor:
    actor = Actor(
        uri=url,
        kind="person",
        local=False,
        name=url.rsplit("/", 1)[1],
        domain=authority_of(url),
        inbox_uri=url + "/inbox",
        created_at=tx.now(),
        updated_at=tx.now(),
    )
    tx.session.add(actor)
    await tx.session.flush()
    return actor


async def send(node: Node, kind: str, obj: str, *urls: str) -> None:
    async with node.transaction() as tx:
        ana = (await members.get(tx, "ana")).actor
        targets = []
        for url in urls:
            found = await tx.session.scalar(select(Actor).where(Actor.uri == url))
            targets.append(found or await remote(tx, url))
        document = {
            "@context": AS,
            "id": delivery.new_activity_uri(tx, ana),
            "type": kind,
            "actor": ana.uri,
            "object": {"id": obj, "type": "Note", "attributedTo": ana.uri, "content": "hi"},
        }
        await delivery.publish(tx, ana, document, recipients=targets)


async def run(node: Node) -> int:
    return await delivery.deliver_due(node, rng=random.Random(4), host_interval=0)


async def rows(node: Node) -> dict[str, tuple[str, int]]:
    async with node.transaction() as tx:
        found = await tx.session.scalars(select(Delivery).order_by(Delivery.id))
        return {row.inbox_uri: (row.state, row.attempts) for row in found}


async def test_nothing_is_queued_or_sent_to_a_blocked_domain(sender: Node, peers: Peers) -> None:
    async with sender.transaction() as tx:
        tx.session.add(
            DomainRule(
                domain="bad.example", severity="block", created_at=tx.now(), updated_at=tx.now()
            )
        )
    await send(
        sender,
        "Create",
        "https://school.example/posts/1",
        "https://bad.example/users/x",
        "https://sub.bad.example/users/y",
        "https://ok.example/users/z",
    )
    assert await run(sender) == 1
    assert peers.received and {host for host, _ in peers.received} == {"ok.example"}
    assert list(await rows(sender)) == ["https://ok.example/users/z/inbox"]


async def test_a_rule_made_after_fan_out_stops_rows_already_queued(
    sender: Node, peers: Peers
) -> None:
    await send(
        sender,
        "Create",
        "https://school.example/posts/1",
        "https://later.example/users/x",
        "https://partner.example/users/y",
    )
    async with sender.transaction() as tx:
        # Written behind the policy module's back: the send-time check alone must catch it.
        tx.session.add(FederationSetting(id=1, mode="allowlist", updated_at=tx.now()))
        tx.session.add(
            DomainRule(
                domain="partner.example", severity="allow", created_at=tx.now(), updated_at=tx.now()
            )
        )
    await run(sender)
    assert [host for host, _ in peers.received] == ["partner.example"]
    assert await rows(sender) == {
        "https://later.example/users/x/inbox": ("refused", 0),
        "https://partner.example/users/y/inbox": ("delivered", 1),
    }


async def test_server_errors_are_retried_with_backoff_and_client_errors_are_final(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    calls = {"flaky.example": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gone.example":
            return httpx.Response(410)
        calls["flaky.example"] += 1
        return httpx.Response(503 if calls["flaky.example"] == 1 else 202)

    peers.answer = answer
    await send(
        sender,
        "Create",
        "https://school.example/posts/1",
        "https://gone.example/users/x",
        "https://flaky.example/users/y",
    )
    await run(sender)
    assert await rows(sender) == {
        "https://gone.example/users/x/inbox": ("failed", 1),
        "https://flaky.example/users/y/inbox": ("queued", 1),
    }
    async with sender.transaction() as tx:
        retry = await tx.session.scalar(select(Delivery).where(Delivery.host == "flaky.example"))
        assert retry is not None and retry.last_status == 503
        assert timedelta(seconds=15) <= retry.next_attempt_at - clock.now < timedelta(minutes=1)
    assert await run(sender) == 0  # not due yet
    clock.advance(minutes=1)
    assert await run(sender) == 1
    assert (await rows(sender))["https://flaky.example/users/y/inbox"] == ("delivered", 2)


async def test_retry_after_pauses_the_whole_host(sender: Node, peers: Peers, clock: Clock) -> None:
    peers.answer = lambda _r: httpx.Response(429, headers={"Retry-After": "3600"})
    await send(sender, "Create", "https://school.example/posts/1", "https://busy.example/users/x")
    await run(sender)
    peers.answer = lambda _r: httpx.Response(202)
    await send(sender, "Create", "https://school.example/posts/2", "https://busy.example/users/y")
    clock.advance(minutes=30)
    assert await run(sender) == 0  # the new row waits too: the host asked for an hour
    clock.advance(minutes=31)
    assert await run(sender) == 2
    assert len(peers.received) == 3


async def test_the_circuit_breaker_opens_after_repeated_failures(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    peers.answer = lambda _r: httpx.Response(500)
    for n in range(hosts.BREAKER_THRESHOLD):
        await send(
            sender,
            "Create",
            f"https://school.example/posts/{n}",
            f"https://down.example/users/u{n}",
        )
    assert await run(sender) == hosts.BREAKER_THRESHOLD
    async with sender.transaction() as tx:
        state = await hosts.get(tx, "down.example")
        assert state is not None and hosts.is_open(state, clock.now)
    clock.advance(seconds=40)  # every row is due again (first backoff: 15-24 s) ...
    async with sender.transaction() as tx:
        due = await tx.session.scalar(select(func.max(Delivery.next_attempt_at)))
        assert due is not None and due <= clock.now
    # ... but the breaker holds them for a minute
    assert await run(sender) == 0
    peers.answer = lambda _r: httpx.Response(202)
    clock.advance(seconds=30)
    assert await run(sender) == hosts.BREAKER_THRESHOLD
    async with sender.transaction() as tx:
        state = await hosts.get(tx, "down.example")
        assert state is not None and state.consecutive_failures == 0
        assert state.last_success_at == clock.now


async def test_an_unavailable_host_is_skipped_at_fan_out_until_it_signs_a_request(
    sender: Node, peers: Peers
) -> None:
    async with sender.transaction() as tx:
        tx.session.add(
            HostState(
                host="dead.example", consecutive_failures=40, failure_days=[], unavailable=True
            )
        )
    await send(sender, "Create", "https://school.example/posts/1", "https://dead.example/users/x")
    assert await rows(sender) == {}
    async with sender.transaction() as tx:
        await hosts.record_signed_request(tx, "dead.example")
    await send(sender, "Create", "https://school.example/posts/2", "https://dead.example/users/x")
    assert await run(sender) == 1
    assert [host for host, _ in peers.received] == ["dead.example"]


async def test_delete_and_update_never_overtake_their_create_on_one_host(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    note = "https://school.example/posts/7"
    fail_creates = {"on": True}

    def answer(request: httpx.Request) -> httpx.Response:
        document = json.loads(request.content)
        first = document["type"] == "Create" and document["object"]["id"] == note
        return httpx.Response(503 if first and fail_creates["on"] else 202)

    peers.answer = answer
    await send(sender, "Create", note, "https://social.example/users/a")
    await send(sender, "Update", note, "https://social.example/users/a")
    await send(sender, "Delete", note, "https://social.example/users/a")
    # Another object to the same host is not held back by this one.
    await send(sender, "Create", "https://school.example/posts/8", "https://social.example/users/a")
    await run(sender)
    assert peers.types() == ["Create", "Create"]  # post 7 failed, post 8 went through
    clock.advance(hours=1)
    fail_creates["on"] = False
    await run(sender)  # the Create of post 7 now succeeds; its Update waited for it
    await run(sender)
    await run(sender)
    assert peers.types() == ["Create", "Create", "Create", "Update", "Delete"]
    assert [doc["object"]["id"] for _, doc in peers.received[2:]] == [note] * 3  # type: ignore[index]


async def test_a_row_whose_lease_was_taken_over_is_not_sent_twice(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    await send(sender, "Create", "https://school.example/posts/1", "https://social.example/users/a")
    claimed = await delivery._claim(sender, 10)  # a worker claims, then stalls past its lease
    clock.advance(seconds=delivery.lease(sender).total_seconds() + 1)
    assert await run(sender) == 1  # another worker takes the row over and sends it
    async with sender.transaction() as tx:
        rules = await policy.current(tx)
    ((row_id, _host, lease),) = claimed
    work = delivery._Pass(rules, random.Random())
    assert await delivery._send(sender, row_id, lease, work) == "lost"
    assert len(peers.received) == 1


async def test_one_activity_to_many_inboxes_on_one_host_goes_out_in_one_pass(
    sender: Node, peers: Peers
) -> None:
    inboxes = [f"https://social.example/users/u{n}" for n in range(delivery.HOST_BATCH)]
    await send(sender, "Create", "https://school.example/posts/1", *inboxes)
    assert await run(sender) == delivery.HOST_BATCH  # siblings do not wait for each other
    assert len(peers.received) == delivery.HOST_BATCH


async def test_a_pass_writes_the_queue_twice_whatever_its_size(sender: Node, peers: Peers) -> None:
    inboxes = [f"https://host{n}.example/users/u" for n in range(6)]
    await send(sender, "Create", "https://school.example/posts/1", *inboxes)
    writes: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
            writes.append(statement)

    event.listen(sender.engine.sync_engine, "before_cursor_execute", record)
    assert await run(sender) == 6
    # The claim, then one write for every result: no write per delivery (at fan-out the
    # commits, not the signatures, bounded deliveries per second).
    assert len(writes) == 2
    assert set((await rows(sender)).values()) == {("delivered", 1)}


async def test_a_send_late_in_a_slow_pass_renews_its_lease_first(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    await send(sender, "Create", "https://school.example/posts/1", "https://social.example/users/a")
    async with sender.transaction() as tx:
        rules = await policy.current(tx)
    work = delivery._Pass(rules, random.Random())
    ((row_id, _host, until),) = await delivery._claim(sender, 10)
    clock.advance(seconds=delivery.lease(sender).total_seconds() * 0.75)  # a quarter left
    assert await delivery._send(sender, row_id, until, work) == "delivered"
    async with sender.transaction() as tx:
        row = await tx.session.get(Delivery, row_id)
        assert row is not None and row.next_attempt_at == clock.now + delivery.lease(sender)


async def test_a_pass_that_dies_before_writing_its_results_loses_nothing(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    await send(sender, "Create", "https://school.example/posts/1", "https://social.example/users/a")
    async with sender.transaction() as tx:
        rules = await policy.current(tx)
    work = delivery._Pass(rules, random.Random())
    ((row_id, _host, lease),) = await delivery._claim(sender, 10)
    assert await delivery._send(sender, row_id, lease, work) == "delivered"
    # The worker dies here: the activity went out, but its result was never written.
    assert await rows(sender) == {"https://social.example/users/a/inbox": ("queued", 0)}
    assert await run(sender) == 0  # the send lease holds the row ...
    clock.advance(seconds=delivery.lease(sender).total_seconds() + 1)
    assert await run(sender) == 1  # ... then another pass sends it again, harmlessly
    assert await rows(sender) == {"https://social.example/users/a/inbox": ("delivered", 1)}
    assert len(peers.received) == 2
    assert peers.received[0][1]["id"] == peers.received[1][1]["id"]  # receivers dedupe by id


async def test_a_result_written_after_another_worker_took_the_row_over_is_lost(
    sender: Node, peers: Peers, clock: Clock
) -> None:
    peers.answer = lambda _r: httpx.Response(503)
    await send(sender, "Create", "https://school.example/posts/1", "https://social.example/users/a")
    async with sender.transaction() as tx:
        rules = await policy.current(tx)
    slow = delivery._Pass(rules, random.Random())
    ((row_id, _host, lease),) = await delivery._claim(sender, 10)
    assert await delivery._send(sender, row_id, lease, slow) == "retry"
    clock.advance(seconds=delivery.lease(sender).total_seconds() + 1)
    peers.answer = lambda _r: httpx.Response(202)
    assert await run(sender) == 1  # another worker delivers the row meanwhile
    # The slow pass's retry must not reopen a delivered row.
    assert [result.delivery_id for result in await delivery._write_results(sender, slow)] == [
        row_id
    ]
    assert await rows(sender) == {"https://social.example/users/a/inbox": ("delivered", 1)}
