"""Following from a shell: `follow`, `unfollow` and answering `followers` requests."""

from __future__ import annotations

import argparse

from node import communities, follows, members, remote_actors, timeline
from node.cli.context import with_node
from node.runtime import Tx


async def cmd_follow(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.as_member)
        target = await remote_actors.lookup(tx, args.target)
        record = await follows.follow(tx, member.actor, target)
        state = "following" if record.state == "accepted" else "asked to follow"
        print(f"{member.actor.name} {state} {target.handle} ({target.uri})")

    return await with_node(args, work)


async def cmd_unfollow(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.as_member)
        target = await remote_actors.lookup(tx, args.target)
        await follows.unfollow(tx, member.actor, target)
        print(f"{member.actor.name} no longer follows {target.handle}")

    return await with_node(args, work)


async def cmd_followers(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        if args.followers_command == "pending":
            for record in await follows.requests(tx, community.actor):
                print(f"{record.follower.handle:40} {record.follower.uri}")
            return
        # The follower sent us a Follow, so it is known here: no lookup on the network.
        who = args.follower
        follower = await (
            timeline.known_actor(tx, uri=who)
            if who.startswith(("https://", "http://"))
            else timeline.known_actor(tx, handle=who)
        )
        record = await follows.request_from(tx, community.actor, follower)
        approve = args.followers_command == "approve"
        await follows.decide(tx, record, approve)
        verdict = "now follows" if approve else "was refused by"
        print(f"{follower.handle} {verdict} {community.actor.name}")

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `follow`, `unfollow` and `followers` to the command line."""
    follow = commands.add_parser("follow", help="follow a person or community anywhere")
    follow.add_argument("--as", dest="as_member", required=True, metavar="MEMBER")
    follow.add_argument("target", metavar="HANDLE_OR_URL", help="@name@server.example or a URL")
    follow.set_defaults(run=cmd_follow)
    unfollow = commands.add_parser("unfollow", help="stop following, or withdraw a request")
    unfollow.add_argument("--as", dest="as_member", required=True, metavar="MEMBER")
    unfollow.add_argument("target", metavar="HANDLE_OR_URL", help="@name@server.example or a URL")
    unfollow.set_defaults(run=cmd_unfollow)
    followers = commands.add_parser(
        "followers", help="follow requests waiting for a closed community"
    ).add_subparsers(dest="followers_command", required=True, metavar="ACTION")
    waiting = followers.add_parser("pending", help="list requests waiting for a steward")
    waiting.add_argument("community")
    waiting.set_defaults(run=cmd_followers)
    for action in ("approve", "reject"):
        answer = followers.add_parser(action, help=f"{action} a follow request")
        answer.add_argument("community")
        answer.add_argument("follower", metavar="HANDLE_OR_URL", help="name@server or actor URL")
        answer.set_defaults(run=cmd_followers)
