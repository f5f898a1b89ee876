"""Independent implementations the interop tests run: Node.js scripts in this folder, via npm."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.jsonld import BUNDLED_CONTEXTS, CONTEXTS_DIR
from tests.servers import free_port

PEERS = Path(__file__).resolve().parent
INSTALL_HINT = "run `make peers` (npm ci in tests/peers; needs `apt-get install nodejs npm`)"


def node_binary() -> str:
    """The `node` executable with the peers' npm packages installed, or fail the test saying why."""
    # `make test` installs these, so their absence is a broken set-up, never a reason to skip.
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js is not installed: {INSTALL_HINT}")
    if not (PEERS / "node_modules" / ".package-lock.json").is_file():
        pytest.fail(f"the independent implementations are not installed: {INSTALL_HINT}")
    return node


def bundled_contexts() -> dict[str, str]:
    """Guildhall's bundled JSON-LD contexts, context URL -> file, for the peers' offline loaders."""
    return {url: str(CONTEXTS_DIR / name) for url, name in BUNDLED_CONTEXTS.items()}


def run_script(script: str, request: dict[str, Any]) -> Any:
    """Run a peer script with a JSON request on stdin and return the JSON it prints."""
    done = subprocess.run(
        [node_binary(), str(PEERS / script)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PEERS,
    )
    if done.returncode != 0:
        raise AssertionError(f"{script} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


@dataclass
class Peer:
    """The Fedify peer (ap-peer.mjs) serving on loopback, driven through its control endpoints."""

    url: str
    log: Path

    @property
    def actor(self) -> str:
        return self.url + "/users/peer"

    def control(self, action: str, **body: Any) -> Any:
        """Tell the peer to do something (`follow`, `reply`); its answer as JSON."""
        response = httpx.post(f"{self.url}/control/{action}", json=body, timeout=30)
        if response.status_code != 200:
            raise AssertionError(f"peer {action}: {response.text}\n{self.log.read_text()}")
        return response.json()

    def received(self) -> dict[str, list[dict[str, Any]]]:
        """Every inbox request the peer got and every activity its inbox listeners accepted."""
        return dict(httpx.get(f"{self.url}/control/received", timeout=10).json())


@contextmanager
def ap_peer(directory: Path) -> Iterator[Peer]:
    """Run the Fedify peer on a free loopback port until the block ends."""
    node = node_binary()
    directory.mkdir(parents=True, exist_ok=True)
    contexts = directory / "contexts.json"
    contexts.write_text(json.dumps(bundled_contexts()))
    port = free_port()
    log_path = directory / "peer.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [node, str(PEERS / "ap-peer.mjs"), str(port), str(contexts)],
        cwd=PEERS, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    peer = Peer(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the Fedify peer exited:\n{log_path.read_text()}")
            try:
                httpx.get(peer.url + "/control/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("the Fedify peer did not start within 20 s") from None
                time.sleep(0.1)
        yield peer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
