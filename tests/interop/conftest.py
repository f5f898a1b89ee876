"""Several real nodes on loopback ports, each with its own database, talking real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.cli import main
from tests.servers import RunningNode, free_port, loopback_settings, serve

pytestmark = pytest.mark.federation


class Nodes:
    """Starts nodes on demand and stops them all at the end of the test."""

    def __init__(self, make_database: Callable[[], str], directory: Path) -> None:
        self.make_database = make_database
        self.directory = directory
        self.stack = ExitStack()

    def start(self, label: str) -> RunningNode:
        settings = loopback_settings(self.make_database(), self.directory / label, free_port())
        return self.stack.enter_context(serve(settings, self.directory / label))


@pytest.fixture
def nodes(make_database: Callable[[], str], tmp_path: Path) -> Iterator[Nodes]:
    running = Nodes(make_database, tmp_path)
    with running.stack:
        yield running


def cli(node: RunningNode, *args: str) -> int:
    """Run a `guildhall` command against a running node's configuration."""
    return main(["--config", str(node.config), *args])


def get_json(url: str, **params: Any) -> dict[str, Any]:
    """An unsigned AS2 GET, as a curious client (or Mastodon without authorized fetch) does."""
    response = httpx.get(url, params=params, headers={"Accept": "application/activity+json"})
    response.raise_for_status()
    return dict(response.json())


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll a condition across real servers until it holds (their workers run on their own)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, httpx.HTTPError):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition did not hold in time")
        time.sleep(0.2)
