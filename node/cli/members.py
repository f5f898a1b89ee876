"""Members from a shell: `member add`, `list`, `role` and `link`."""

from __future__ import annotations

import argparse
import sys

from node import auth, members
from node.cli.context import with_node
from node.runtime import Tx


async def cmd_member_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def work(tx: Tx) -> None:
        member = await members.add(
            tx, args.name, display_name=args.display_name or "", role=args.role, password=password
        )
        print(f"Added {member.actor.handle} ({member.role}): {member.actor.uri}")
        if password is None:
            print(f"One-time sign-in link: {await auth.issue_sign_in_link(tx, member)}")

    return await with_node(args, work)


async def cmd_member_list(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        for member in await members.listing(tx):
            print(f"{member.actor.name:30} {member.role:10} {member.actor.display_name}")

    return await with_node(args, work)


async def cmd_member_role(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.set_role(tx, None, args.name, args.role)
        print(f"{member.actor.name} is now {args.role}.")

    return await with_node(args, work)


async def cmd_member_link(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.name)
        print(await auth.issue_sign_in_link(tx, member))

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `member` and its actions to the command line."""
    member = commands.add_parser("member", help="manage members").add_subparsers(
        dest="member_command", required=True, metavar="ACTION"
    )
    add = member.add_parser("add", help="create a member")
    add.add_argument("name")
    add.add_argument("--display-name")
    add.add_argument("--role", default="member", choices=members.ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read a password from stdin")
    add.set_defaults(run=cmd_member_add)
    member.add_parser("list", help="list members").set_defaults(run=cmd_member_list)
    role = member.add_parser("role", help="set a member's node role")
    role.add_argument("name")
    role.add_argument("role", choices=members.ROLES)
    role.set_defaults(run=cmd_member_role)
    link = member.add_parser("link", help="print a one-time sign-in link (password reset)")
    link.add_argument("name")
    link.set_defaults(run=cmd_member_link)
