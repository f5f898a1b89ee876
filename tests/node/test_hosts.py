"""node.hosts: failure days, unavailability after 7 distinct days, the breaker, resets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from node import hosts
from node.runtime import Node, open_node
from node.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(settings: Settings, clock: Clock) -> AsyncIterator[Node]:
    running = await open_node(settings, clock=clock)
    yield running
    await running.close()


async def fail(node: Node, host: str = "flaky.example") -> None:
    async with node.transaction() as tx:
        await hosts.record_failure(tx, host, "HTTP 502")


async def state(node: Node, host: str = "flaky.example"):  # type: ignore[no-untyped-def]
    async with node.transaction() as tx:
        return await hosts.get(tx, host)


async def test_failures_on_one_day_count_once_and_seven_days_make_a_host_unavailable(
    timed: Node, clock: Clock
) -> None:
    for _ in range(30):
        await fail(timed)
    found = await state(timed)
    assert found.failure_days == ["2026-03-02"] and not found.unavailable
    for _day in range(1, 6):
        clock.now += timedelta(days=1)
        await fail(timed)
    assert len((await state(timed)).failure_days) == 6
    assert not (await state(timed)).unavailable
    clock.now += timedelta(days=1)
    await fail(timed)
    assert (await state(timed)).unavailable
    async with timed.transaction() as tx:
        assert await hosts.unavailable(tx) == {"flaky.example"}


async def test_a_success_or_a_signed_request_clears_everything(timed: Node, clock: Clock) -> None:
    for _day in range(7):
        clock.now += timedelta(days=1)
        await fail(timed, "a.example")
        await fail(timed, "b.example")
    assert (await state(timed, "a.example")).unavailable
    async with timed.transaction() as tx:
        await hosts.record_success(tx, "a.example")
        await hosts.record_signed_request(tx, "b.example")
    for host in ("a.example", "b.example"):
        found = await state(timed, host)
        assert (found.unavailable, found.failure_days, found.consecutive_failures) == (
            False,
            [],
            0,
        )
        assert found.circuit_open_until is None
    assert (await state(timed, "a.example")).last_success_at == clock.now


async def test_the_breaker_opens_after_repeated_failures_and_backs_off(
    timed: Node, clock: Clock
) -> None:
    for _ in range(hosts.BREAKER_THRESHOLD - 1):
        await fail(timed)
    assert not hosts.is_open(await state(timed), clock.now)
    await fail(timed)
    first = await state(timed)
    assert first.circuit_open_until == clock.now + hosts.BREAKER_BASE
    assert hosts.is_open(first, clock.now)
    assert not hosts.is_open(first, clock.now + hosts.BREAKER_BASE)
    for _ in range(20):
        await fail(timed)
    assert (await state(timed)).circuit_open_until == clock.now + hosts.BREAKER_MAX


async def test_a_retry_after_pause_is_kept_even_below_the_breaker_threshold(
    timed: Node, clock: Clock
) -> None:
    async with timed.transaction() as tx:
        await hosts.record_failure(tx, "busy.example", "HTTP 429", clock.now + timedelta(hours=2))
    found = await state(timed, "busy.example")
    assert found.circuit_open_until == clock.now + timedelta(hours=2)


async def test_a_success_on_a_healthy_host_only_notes_the_time(timed: Node, clock: Clock) -> None:
    async with timed.transaction() as tx:
        await hosts.record_success(tx, "fine.example")
        await hosts.record_signed_request(tx, "unknown.example")  # nothing known: nothing stored
    assert (await state(timed, "fine.example")).last_success_at == clock.now
    assert await state(timed, "unknown.example") is None
