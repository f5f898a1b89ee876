"""Inbox benchmark: signed Create{Note} deliveries to /inbox of a running node; prints figures.

    .venv/bin/python benchmarks/inbox.py --activities 2000 --clients 16
    .venv/bin/python benchmarks/inbox.py --database postgresql+asyncpg://postgres@127.0.0.1/bench

Starts `guildhall serve` (uvicorn on loopback, with its in-process worker) on a fresh database
with one member and S remote senders whose actors and keys are already cached, as after their
first delivery. Every activity is signed beforehand (draft-cavage rsa-sha256, as Mastodon signs),
so the clients spend no time signing. C concurrent clients then POST them to the shared inbox.
Prints deliveries accepted per second at the edge (the 202s), the p50/p95 latency of a 202, and
activities processed per second by the worker (until the last one is stored as a post).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from federation.signatures import sign_request  # noqa: E402
from federation.vocabulary import PUBLIC  # noqa: E402
from node import members  # noqa: E402
from node import settings as node_settings  # noqa: E402
from node.runtime import open_node  # noqa: E402
from node.settings import Settings  # noqa: E402
from storage.database import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Actor, InboxActivity  # noqa: E402

AS = "https://www.w3.org/ns/activitystreams"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def prepare(
    settings: Settings, senders: int
) -> tuple[str, list[tuple[str, rsa.RSAPrivateKey]]]:
    """A migrated database with member `ana` and cached remote senders; their ids and keys."""
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    node = await open_node(settings)
    found: list[tuple[str, rsa.RSAPrivateKey]] = []
    try:
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana")
            for n in range(senders):
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                host = f"sender{n}.example"
                uri = f"https://{host}/users/s{n}"
                pem = key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                tx.session.add(
                    Actor(
                        uri=uri,
                        kind="person",
                        local=False,
                        name=f"s{n}",
                        domain=host,
                        inbox_uri=uri + "/inbox",
                        shared_inbox_uri=f"https://{host}/inbox",
                        key_id=uri + "#main-key",
                        public_key_pem=pem.decode(),
                        fetched_at=tx.now(),
                        created_at=tx.now(),
                        updated_at=tx.now(),
                    )
                )
                found.append((uri, key))
            return ana.actor.uri, found
    finally:
        await node.close()


def signed_deliveries(
    settings: Settings, ana: str, senders: list[tuple[str, rsa.RSAPrivateKey]], count: int
) -> list[tuple[dict[str, str], bytes]]:
    """`count` Create{Note} activities mentioning ana, each signed by its sender."""
    inbox = settings.url("/inbox")
    now = datetime.now(UTC)
    found = []
    for n in range(count):
        actor, key = senders[n % len(senders)]
        note = {
            "id": f"{actor}/statuses/{n}",
            "type": "Note",
            "attributedTo": actor,
            "content": f"<p>Note {n} for @ana: how do you teach fractions?</p>",
            "published": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "to": [PUBLIC],
            "cc": [ana],
            "tag": [{"type": "Mention", "href": ana, "name": "@ana"}],
        }
        document = {
            "@context": AS,
            "id": f"{actor}/statuses/{n}/activity",
            "type": "Create",
            "actor": actor,
            "to": [PUBLIC],
            "cc": [ana],
            "object": note,
        }
        body = json.dumps(document).encode()
        headers = sign_request(
            "POST",
            inbox,
            {"Content-Type": "application/activity+json"},
            body,
            actor + "#main-key",
            key,
            now,
        )
        found.append((headers, body))
    return found


async def post_all(
    url: str, deliveries: list[tuple[dict[str, str], bytes]], clients: int
) -> tuple[float, list[float], dict[str, int]]:
    """POST every delivery with `clients` concurrent clients; elapsed, latencies, statuses."""
    queue: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()
    for item in deliveries:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def client() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            while not queue.empty():
                headers, body = queue.get_nowait()
                start = time.perf_counter()
                try:
                    answer = await http.post(url, headers=headers, content=body)
                except httpx.TransportError as exc:  # counted, so a refusing server shows
                    outcome = type(exc).__name__
                else:
                    latencies.append(time.perf_counter() - start)
                    outcome = str(answer.status_code)
                statuses[outcome] = statuses.get(outcome, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start, latencies, statuses


async def states(settings: Settings) -> dict[str, int]:
    """How many received activities are in each state."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(InboxActivity.state, func.count()).group_by(InboxActivity.state)
            )
            return {state: int(count) for state, count in rows}
    finally:
        await engine.dispose()


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--senders", type=int, default=50, help="remote actors signing")
    parser.add_argument("--database", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        port = free_port()
        settings = Settings(
            base_url=f"http://127.0.0.1:{port}",
            database_url=args.database or f"sqlite+aiosqlite:///{folder}/bench.db",
            secret="bench-" + "x" * 40,
            dev=True,
            media_dir=folder / "media",
        )
        start = time.perf_counter()
        ana, senders = asyncio.run(prepare(settings, args.senders))
        deliveries = signed_deliveries(settings, ana, senders, args.activities)
        print(
            f"setup ({args.senders} senders, {args.activities} signed activities): "
            f"{time.perf_counter() - start:.1f} s"
        )
        config = folder / "guildhall.toml"
        node_settings.write(settings, config)
        log = (folder / "server.log").open("wb")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node.cli",
                "--config",
                str(config),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(settings.url("/health"), timeout=1)
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit((folder / "server.log").read_text()) from None
                    time.sleep(0.2)
            start = time.perf_counter()
            elapsed, latencies, statuses = asyncio.run(
                post_all(settings.url("/inbox"), deliveries, args.clients)
            )
            print(f"answers: {statuses}")
            print(
                f"accepted at the edge: {statuses.get('202', 0) / elapsed:.0f}/s "
                f"({args.clients} clients, {elapsed:.1f} s)"
            )
            print(
                f"latency of a 202: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
                f"mean {statistics.mean(latencies) * 1000:.0f} ms"
            )
            while True:
                found = asyncio.run(states(settings))
                waiting = found.get("queued", 0)
                if not waiting or time.perf_counter() - start > 1800:
                    break
                time.sleep(0.5)
            processed = time.perf_counter() - start
            print(f"worker: {found} after {processed:.1f} s from the first POST")
            handled = found.get("done", 0)
            print(
                f"processed by the worker: {handled / processed:.0f}/s stored as posts "
                "(one in-process worker, alongside the web process)"
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


if __name__ == "__main__":
    main()
