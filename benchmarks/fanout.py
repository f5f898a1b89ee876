"""Fan-out benchmark: one post delivered to N followers on H loopback hosts; prints figures.

    .venv/bin/python benchmarks/fanout.py --followers 10000 --hosts 1000
    .venv/bin/python benchmarks/fanout.py --database postgresql+asyncpg://postgres@127.0.0.1/bench

Each host is a tiny sink server (its own port, so its own domain) in a child process answering
202. Followers have personal inboxes (no shared inbox), so N followers make N deliveries. Prints
deliveries per second, time to the last delivery, peak RSS, and the RSA-2048 signatures per second
this machine makes, since every delivery is one signature.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from node import delivery, members  # noqa: E402
from node.runtime import open_node  # noqa: E402
from node.settings import Settings  # noqa: E402
from storage.database import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Actor, Delivery  # noqa: E402


async def sink(hosts: int) -> None:
    """Serve `hosts` inbox sinks on free ports; print their ports as one JSON line."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    servers = [await asyncio.start_server(answer, "127.0.0.1", 0) for _ in range(hosts)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.Event().wait()


def signatures_per_second(seconds: float = 2.0) -> float:
    """RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on this machine."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message, count, start = (
        b"(request-target): post /inbox\nhost: x\ndate: y",
        0,
        time.perf_counter(),
    )
    while time.perf_counter() - start < seconds:
        key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        count += 1
    return count / (time.perf_counter() - start)


async def run(args: argparse.Namespace, ports: list[int], directory: Path) -> None:
    url = args.database or f"sqlite+aiosqlite:///{directory}/bench.db"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    settings = Settings(
        base_url="http://127.0.0.1:9",
        database_url=url,
        secret="bench-" + "x" * 40,
        dev=True,
        media_dir=directory / "media",
    )
    node = await open_node(settings)
    try:
        start = time.perf_counter()
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana")
            followers = []
            for n in range(args.followers):
                port = ports[n % len(ports)]
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
                "object": {"id": settings.url("/posts/1"), "type": "Note", "content": "hello"},
            }
            fan_out_start = time.perf_counter()
            await delivery.publish(tx, ana.actor, document, recipients=followers)
            fan_out = time.perf_counter() - fan_out_start
        print(f"setup ({args.followers} followers): {time.perf_counter() - start:.1f} s")
        print(f"fan-out (queue {args.followers} rows): {fan_out:.2f} s")
        start = time.perf_counter()
        while True:
            passes = [delivery.deliver_due(node) for _ in range(args.workers)]
            if not sum(await asyncio.gather(*passes)):
                break
        elapsed = time.perf_counter() - start
        async with node.transaction() as tx:
            states = dict(
                (
                    await tx.session.execute(
                        select(Delivery.state, func.count()).group_by(Delivery.state)
                    )
                ).all()
            )
    finally:
        await node.close()
    delivered = states.get("delivered", 0)
    rate = delivered / elapsed if elapsed else 0.0
    print(f"deliveries: {states}")
    print(f"time to last delivery: {elapsed:.1f} s")
    print(f"deliveries per second: {rate:.0f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    signing = signatures_per_second()
    print(f"RSA-2048 signatures per second (one core): {signing:.0f}")
    print(f"deliveries/s as a share of the signing limit: {rate / signing:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=1_000)
    parser.add_argument("--database", help="default: a fresh SQLite file")
    parser.add_argument("--workers", type=int, default=1, help="concurrent passes in-process")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        asyncio.run(sink(args.sink))
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(args.hosts)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        ports = json.loads(child.stdout.readline())
        with tempfile.TemporaryDirectory() as directory:
            asyncio.run(run(args, ports, Path(directory)))
    finally:
        child.terminate()
        child.wait()


if __name__ == "__main__":
    main()
