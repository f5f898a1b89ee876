"""Communities from a shell: `community add`, `join`, `list` and `set`."""

from __future__ import annotations

import argparse

from node import communities, members
from node.cli.context import with_node
from node.runtime import Tx


async def cmd_community_add(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.add(
            tx,
            args.name,
            title=args.title,
            description=args.description or "",
            kind=args.kind,
            default_license=args.license,
            closed=args.closed,
        )
        print(f"Created {community.actor.handle}: {community.actor.uri}")

    return await with_node(args, work)


async def cmd_community_join(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        member = await members.get(tx, args.member)
        record = await communities.join(tx, community, member, approved=True)
        record.role = args.role
        print(f"{member.actor.name} joined {community.actor.name} as {record.role}.")

    return await with_node(args, work)


async def cmd_community_set(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.name)
        current = communities.settings_of(community)
        level = args.minimum_openness or current.minimum_openness
        wanted = communities.CommunitySettings(
            title=current.title if args.title is None else args.title,
            description=current.description if args.description is None else args.description,
            default_license=current.default_license if args.license is None else args.license,
            minimum_openness=None if level == "none" else level,
            closed=current.closed if args.closed is None else args.closed,
        )
        # The operator's shell acts, as for `community join`.
        community = await communities.update(tx, None, community, wanted)
        flags = "closed" if community.closed else "open"
        accepts = community.minimum_openness or "any licence"
        print(
            f"{community.actor.name}: {community.title} · {flags} · "
            f"licence {community.default_license or 'none'} · minimum openness {accepts}"
        )

    return await with_node(args, work)


async def cmd_community_list(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        for community in await communities.listing(tx):
            flags = "closed" if community.closed else "open"
            print(f"{community.actor.name:30} {community.kind:8} {flags:6} {community.title}")

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `community` and its actions to the command line."""
    community = commands.add_parser("community", help="manage communities").add_subparsers(
        dest="community_command", required=True, metavar="ACTION"
    )
    cadd = community.add_parser("add", help="create a community")
    cadd.add_argument("name")
    cadd.add_argument("--title", required=True)
    cadd.add_argument("--description")
    cadd.add_argument("--kind", default="teacher", choices=communities.KINDS)
    cadd.add_argument("--license", metavar="SPDX", help="default licence, e.g. CC-BY-SA-4.0")
    cadd.add_argument("--closed", action="store_true", help="members and posts need approval")
    cadd.set_defaults(run=cmd_community_add)
    join = community.add_parser("join", help="add a member to a community")
    join.add_argument("community")
    join.add_argument("member")
    join.add_argument("--role", default="member", choices=communities.COMMUNITY_ROLES)
    join.set_defaults(run=cmd_community_join)
    community.add_parser("list", help="list communities").set_defaults(run=cmd_community_list)
    cset = community.add_parser("set", help="change a community's settings")
    cset.add_argument("name")
    cset.add_argument("--title")
    cset.add_argument("--description")
    cset.add_argument("--license", metavar="SPDX", help="default licence, or none")
    cset.add_argument(
        "--minimum-openness", choices=[*communities.OPENNESS, "none"], help="licences accepted"
    )
    joining = cset.add_mutually_exclusive_group()
    joining.add_argument("--closed", dest="closed", action="store_true", default=None)
    joining.add_argument("--open", dest="closed", action="store_false", default=None)
    cset.set_defaults(run=cmd_community_set)
