"""Independent implementations the interop tests run: Node.js scripts in this folder, via npm."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from federation.jsonld import BUNDLED_CONTEXTS, CONTEXTS_DIR

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
