"""Standalone `guildhall worker` processes: no delivery twice, none lost, none lost to SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from node import delivery, members
from node import settings as node_settings
from node.runtime import open_node
from node.settings import Settings
from storage.models import Actor, Delivery
from tests.conftest import POSTGRES_URL
from tests.interop.conftest import eventually
from tests.servers import free_port, loopback_settings

pytestmark = pytest.mark.federation


class Receipts:
    """Every POST the sink servers answered: (port, path, activity id)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.seen: list[tuple[int, str, str]] = []

    def count(self) -> int:
        with self.lock:
            return len(self.seen)


@contextmanager
def sinks(count: int, receipts: Receipts) -> Iterator[list[int]]:
    """`count` tiny inbox servers on loopback ports (distinct domains), answering 202."""

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(receipts.delay)
            with receipts.lock:
                port = self.server.server_address[1]
                receipts.seen.append((port, self.path, json.loads(body)["id"]))
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", free_port()), Inbox) for _ in range(count)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield [s.server_address[1] for s in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


async def _fan_out(settings: Settings, ports: list[int], per_port: int) -> int:
    """One activity to per_port followers on each sink; returns how many rows were queued."""
    node = await open_node(settings)
    try:
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana")
            followers = []
            for port in ports:
                for n in range(per_port):
                    uri = f"http://127.0.0.1:{port}/users/u{n}"
                    actor = Actor(
                        uri=uri,
                        kind="person",
                        local=False,
                        name=f"u{n}",
                        domain=f"127.0.0.1:{port}",
                        inbox_uri=uri + "/inbox",
                        created_at=tx.now(),
                        updated_at=tx.now(),
                    )
                    tx.session.add(actor)
                    followers.append(actor)
            await tx.session.flush()
            document = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": delivery.new_activity_uri(tx, ana.actor),
                "type": "Create",
                "actor": ana.actor.uri,
                "object": {"id": settings.url("/posts/1"), "type": "Note", "content": "hi"},
            }
            await delivery.publish(tx, ana.actor, document, recipients=followers)
        async with node.transaction() as tx:
            return int(await tx.session.scalar(select(func.count()).select_from(Delivery)) or 0)
    finally:
        await node.close()


async def _states(settings: Settings) -> Counter[str]:
    node = await open_node(settings)
    try:
        async with node.transaction() as tx:
            rows = await tx.session.execute(
                select(Delivery.state, func.count()).group_by(Delivery.state)
            )
            return Counter({state: int(n) for state, n in rows})
    finally:
        await node.close()


def _node(
    make_database: Callable[[], str], tmp_path: Path, lease_seconds: int | None = None
) -> tuple[Settings, Path]:
    settings = loopback_settings(make_database(), tmp_path, free_port())
    config = tmp_path / "guildhall.toml"
    node_settings.write(settings, config)
    if lease_seconds is not None:
        with config.open("a", encoding="utf-8") as handle:
            handle.write(f"\n[limits]\ndelivery_lease_seconds = {lease_seconds}\n")
    return settings, config


def _worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "node.cli", "--config", str(config), "worker"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="two workers at once need PostgreSQL: rows are claimed with FOR UPDATE SKIP LOCKED, "
    "which SQLite does not have (set GUILDHALL_TEST_DATABASE_URL)",
)
def test_two_workers_send_every_delivery_exactly_once(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    settings, config = _node(make_database, tmp_path)
    receipts = Receipts(delay=0.01)
    with sinks(8, receipts) as ports:
        queued = asyncio.run(_fan_out(settings, ports, per_port=40))
        assert queued == 320
        workers = [_worker(config, tmp_path / f"worker{n}.log") for n in range(2)]
        try:
            eventually(lambda: receipts.count() >= queued, timeout=120)
            time.sleep(1)  # a duplicate, if any, would arrive now
        finally:
            for process in workers:
                _stop(process)
    per_inbox = Counter((port, path) for port, path, _ in receipts.seen)
    assert len(per_inbox) == queued  # none lost
    assert max(per_inbox.values()) == 1  # none twice
    assert asyncio.run(_states(settings)) == Counter({"delivered": queued})
    logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in range(2))
    assert "Traceback" not in logs


def test_a_worker_killed_mid_fan_out_loses_nothing(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    # A 3 s lease (development mode only): the dead worker's rows come back within seconds
    # instead of the production default's minute.
    settings, config = _node(make_database, tmp_path, lease_seconds=3)
    receipts = Receipts(delay=0.25)  # slow inboxes, so the kill lands mid fan-out
    with sinks(3, receipts) as ports:
        queued = asyncio.run(_fan_out(settings, ports, per_port=20))
        first = _worker(config, tmp_path / "worker.log")
        try:
            eventually(lambda: receipts.count() >= 6, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        states = asyncio.run(_states(settings))
        assert states["delivered"] < queued and states["queued"] > 0  # really mid fan-out
        second = _worker(config, tmp_path / "worker.log")
        try:
            # Rows the dead worker had claimed come back when its lease runs out.
            eventually(lambda: asyncio.run(_states(settings))["delivered"] == queued, timeout=120)
        finally:
            _stop(second)
    delivered = {(port, path) for port, path, _ in receipts.seen}
    assert len(delivered) == queued  # every inbox got the activity (a few perhaps twice)
