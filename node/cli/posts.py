"""Posts from a shell: `post` publishes, edits or deletes one."""

from __future__ import annotations

import argparse

from node import communities, members, posts
from node.cli.context import with_node
from node.runtime import Tx


async def cmd_post(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        author = await members.get(tx, args.as_member)
        if args.delete:
            await posts.delete(tx, author, await posts.find_by_url(tx, args.delete))
            print(f"Deleted {args.delete}")
            return
        if args.edit:
            edited = await posts.find_by_url(tx, args.edit)
            print((await posts.edit(tx, author, edited, args.text or "", args.title)).url)
            return
        community = await communities.get(tx, args.community) if args.community else None
        post = await posts.create(
            tx,
            author,
            posts.Draft(
                text=args.text or "",
                title=args.title or "",
                community=community,
                reply_to=args.reply_to,
                licence=args.license,
            ),
        )
        print(post.url)

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `post` to the command line."""
    post = commands.add_parser("post", help="publish a post (Markdown) and print its URL")
    post.add_argument("--as", dest="as_member", required=True, metavar="MEMBER")
    post.add_argument("--community")
    post.add_argument("--reply-to", metavar="URL")
    post.add_argument(
        "--license", metavar="SPDX", help="SPDX id, or 'none' for all rights reserved"
    )
    post.add_argument("--title")
    post.add_argument("--edit", metavar="URL", help="replace the text of your post at URL")
    post.add_argument("--delete", metavar="URL", help="delete your post at URL (no text)")
    post.add_argument("text", nargs="?")
    post.set_defaults(run=cmd_post)
