"""Reports from a shell: `report` files one with the moderators."""

from __future__ import annotations

import argparse

from node import members, reports
from node.cli.context import with_node
from node.runtime import Tx


async def cmd_report(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.as_member)
        report = await reports.file(tx, member, args.target, args.comment)
        target = report.target.handle if report.target else args.target
        sent = f"; a Flag goes to {target.split('@')[-1]}" if report.outgoing else ""
        print(f"Reported {target} to the moderators{sent}.")

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` to the command line."""
    report = commands.add_parser("report", help="report a post or account to the moderators")
    report.add_argument("--as", dest="as_member", required=True, metavar="MEMBER")
    report.add_argument("--comment", default="", help="what is wrong (up to 5000 characters)")
    report.add_argument("target", metavar="URL_OR_HANDLE")
    report.set_defaults(run=cmd_report)
