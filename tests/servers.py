"""Real nodes for tests: `guildhall serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from node import settings as node_settings
from node.settings import Settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_settings(database_url: str, directory: Path, port: int) -> Settings:
    """Development-mode settings for a node at http://127.0.0.1:PORT."""
    return Settings(
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        secret="loopback-test-secret-" + "y" * 32,
        dev=True,
        media_dir=directory / "media",
    )


@dataclass
class RunningNode:
    """A node serving HTTP in a subprocess."""

    settings: Settings
    config: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return self.settings.base_url


@contextmanager
def serve(settings: Settings, directory: Path) -> Iterator[RunningNode]:
    """Run `guildhall serve` for the settings until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "guildhall.toml"
    node_settings.write(settings, config)
    port = settings.base_url.rsplit(":", 1)[1]
    log = open(directory / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "--config", str(config), "serve",
         "--host", "127.0.0.1", "--port", port, "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"node exited: {(directory / 'server.log').read_text()}")
            try:
                httpx.get(settings.base_url + "/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("node did not start within 30 s") from None
                time.sleep(0.1)
        yield RunningNode(settings, config, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
