"""The `guildhall` command: set up, run and administer a node from a shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from node.cli import (
    badges,
    communities,
    exports,
    federation,
    follows,
    members,
    posts,
    reports,
    setup,
)
from node.errors import ConfigurationError, GuildhallError


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    root = argparse.ArgumentParser(prog="guildhall", description=__doc__)
    root.add_argument("--config", help="configuration file (default: ./guildhall.toml)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for noun in (
        setup,
        follows,
        members,
        communities,
        posts,
        reports,
        federation,
        badges,
        exports,
    ):
        noun.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become a message on stderr and a non-zero exit, not a traceback."""
    args = parser().parse_args(argv)
    try:
        result = args.run(args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else int(result)
    except GuildhallError as exc:
        print(f"guildhall: error: {exc.reason}", file=sys.stderr)
        return 2 if not isinstance(exc, ConfigurationError) else 3
    except KeyboardInterrupt:
        return 130
