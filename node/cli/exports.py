"""Exports from a shell: `export member` writes a member's works as a ZIP."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from node import export, members
from node.cli.context import with_node
from node.runtime import Tx


async def cmd_export_member(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.name)
        output = Path(args.output or export.file_name(member, tx.now()))
        partial = output.with_name(output.name + ".partial")
        with partial.open("wb") as target:
            artifacts = await export.write_archive(tx, member, target)
        os.replace(partial, output)  # never leave a half-written archive under the real name
        print(f"Wrote {output}: {len(artifacts)} works with their licences (LICENSES.md).")

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export` and what it exports to the command line."""
    archive = commands.add_parser("export", help="export data").add_subparsers(
        dest="export_command", required=True, metavar="WHAT"
    )
    archive_member = archive.add_parser(
        "member", help="a member's works as a ZIP: signed AS2 JSON, files and LICENSES.md"
    )
    archive_member.add_argument("name")
    archive_member.add_argument("--output", metavar="FILE", help="default: NAME-HOST-DATE.zip")
    archive_member.set_defaults(run=cmd_export_member)
