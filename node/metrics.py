"""Prometheus metrics read from the database, so every web process reports the whole node.

Workers and web processes may be separate (`guildhall worker --scale`), so counting in one
process would show only its share. The queues are the truth: each scrape reads them once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from node.runtime import Tx
from storage.models import Delivery, HostState, InboxActivity

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Snapshot:
    """The figures of one scrape."""

    deliveries: dict[str, int] = field(default_factory=dict)  # by state
    inbox: dict[str, int] = field(default_factory=dict)  # by state
    host_failures: dict[str, int] = field(default_factory=dict)
    unavailable_hosts: int = 0


async def read(tx: Tx) -> Snapshot:
    """Read the queue and host figures from the database."""
    deliveries = await tx.session.execute(
        select(Delivery.state, func.count()).group_by(Delivery.state)
    )
    inbox = await tx.session.execute(
        select(InboxActivity.state, func.count()).group_by(InboxActivity.state)
    )
    troubled = await tx.session.execute(
        select(HostState.host, HostState.consecutive_failures, HostState.unavailable).where(
            (HostState.consecutive_failures > 0) | HostState.unavailable
        )
    )
    snapshot = Snapshot(
        deliveries={state: int(n) for state, n in deliveries},
        inbox={state: int(n) for state, n in inbox},
    )
    for host, failures, unavailable in troubled:
        snapshot.host_failures[host] = int(failures)
        snapshot.unavailable_hosts += int(bool(unavailable))
    return snapshot


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        depth = GaugeMetricFamily(
            "guildhall_queue_depth", "Items waiting in a durable queue.", labels=["queue"]
        )
        depth.add_metric(["outbound"], s.deliveries.get("queued", 0))
        depth.add_metric(["inbound"], s.inbox.get("queued", 0))
        yield depth
        outcomes = CounterMetricFamily(
            "guildhall_deliveries",
            "Deliveries finished, by outcome (delivered, failed, refused).",
            labels=["outcome"],
        )
        for state, count in sorted(s.deliveries.items()):
            if state != "queued":
                outcomes.add_metric([state], count)
        yield outcomes
        received = CounterMetricFamily(
            "guildhall_inbox_activities", "Activities accepted at our inboxes (rate() of it)."
        )
        received.add_metric([], sum(s.inbox.values()))
        yield received
        failures = GaugeMetricFamily(
            "guildhall_host_consecutive_failures",
            "Consecutive failed deliveries per remote host (hosts with failures only).",
            labels=["host"],
        )
        for host, count in sorted(s.host_failures.items()):
            failures.add_metric([host], count)
        yield failures
        yield GaugeMetricFamily(
            "guildhall_unavailable_hosts",
            "Hosts marked unavailable after failing on 7 distinct days.",
            value=s.unavailable_hosts,
        )


class Metrics:
    """A registry of the node's metrics, owned by the application (never the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._collector = _SnapshotCollector()
        self.registry.register(self._collector)

    async def render(self, tx: Tx) -> bytes:
        """The Prometheus text exposition of fresh figures."""
        self._collector.snapshot = await read(tx)
        return generate_latest(self.registry)
