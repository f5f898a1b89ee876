"""The node a command works on: its configuration file, and one transaction against it."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from node import settings
from node.runtime import Tx, open_node


def config_path(args: argparse.Namespace) -> Path:
    """The configuration file named by --config, $GUILDHALL_CONFIG or the default."""
    return Path(args.config or os.environ.get("GUILDHALL_CONFIG", settings.DEFAULT_CONFIG))


async def with_node(args: argparse.Namespace, work: Callable[[Tx], Awaitable[None]]) -> int:
    """Open the configured node, run `work` in one transaction, close the node; exit status 0."""
    node = await open_node(settings.load(config_path(args)))
    try:
        async with node.transaction() as tx:
            await work(tx)
    finally:
        await node.close()
    return 0
