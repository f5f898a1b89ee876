"""Federation policy and delivery status from a shell: `federation mode`, rules, `status`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable
from pathlib import Path

from node import delivery, hosts, policy
from node.cli.context import with_node
from node.errors import InvalidInput
from node.runtime import Tx


def _who() -> str:
    # The audit log names the shell user behind a CLI change (sudo keeps the real one).
    return "cli:" + (os.environ.get("SUDO_USER") or os.environ.get("USER") or "unknown")


async def cmd_federation_mode(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        await policy.set_mode(tx, _who(), args.mode)
        print(f"Federation mode: {args.mode}.")

    return await with_node(args, work)


async def cmd_federation_rule(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        if args.severity == "remove":
            await policy.remove_rule(tx, _who(), args.domain)
            print(f"Removed the rule for {args.domain}.")
            return
        rule = await policy.set_rule(
            tx,
            _who(),
            args.domain,
            args.severity,
            reject_media=args.reject_media,
            reject_reports=args.reject_reports,
            public_comment=args.comment or "",
        )
        print(f"{rule.domain}: {rule.severity}.")

    return await with_node(args, work)


async def cmd_federation_media_cache(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        await policy.set_media_cache(tx, _who(), args.state == "on")
        print("Remote media: " + ("cached here." if args.state == "on" else "linked."))

    return await with_node(args, work)


async def cmd_federation_list(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        current = await policy.current(tx)
        chosen = "" if current.explicit else " (default: no mode chosen yet)"
        print(f"Federation mode: {current.mode}{chosen}")
        print("Remote media: " + ("cached" if current.cache_remote_media else "linked"))
        for rule in await policy.rules(tx):
            flags = [
                f
                for f, on in (
                    ("reject-media", rule.reject_media),
                    ("reject-reports", rule.reject_reports),
                )
                if on
            ]
            print(f"{rule.domain:40} {rule.severity:6} {' '.join(flags)}".rstrip())

    return await with_node(args, work)


def cmd_federation_import(args: argparse.Namespace) -> Awaitable[int]:
    # The file is read before the event loop starts (no blocking reads inside it).
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {args.file}: {exc}") from exc

    async def work(tx: Tx) -> None:
        print(f"Imported {await policy.import_csv(tx, _who(), text)} rules.")

    return with_node(args, work)


async def cmd_federation_export(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        sys.stdout.write(await policy.export_csv(tx))

    return await with_node(args, work)


async def cmd_federation_status(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        summary = await delivery.queue_summary(tx)
        print(
            "Deliveries: " + (", ".join(f"{n} {s}" for s, n in sorted(summary.items())) or "none")
        )
        for host, count in await delivery.queued_by_host(tx, limit=20):
            print(f"  queued for {host}: {count}")
        states = await hosts.listing(tx)
        print(f"Hosts with a delivery record: {len(states)}")
        for state in states:
            if state.unavailable:
                status = "unavailable"
            elif hosts.is_open(state, tx.now()):
                status = f"paused until {state.circuit_open_until:%Y-%m-%d %H:%M} UTC"
            else:
                status = "ok"
            print(
                f"  {state.host:40} {status:30} failures {state.consecutive_failures}"
                f" on {len(state.failure_days)} day(s)"
            )

    return await with_node(args, work)



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `federation` and its actions to the command line."""
    federation = commands.add_parser(
        "federation", help="federation policy (allow-list, block-list) and delivery status"
    ).add_subparsers(dest="federation_command", required=True, metavar="ACTION")
    mode = federation.add_parser("mode", help="open (all but blocked) or allowlist (only listed)")
    mode.add_argument("mode", choices=policy.MODES)
    mode.set_defaults(run=cmd_federation_mode)
    for severity, text in (
        ("allow", "allow a domain (needed in allowlist mode)"),
        ("block", "block (suspend) a domain: nothing in or out"),
        ("limit", "accept a domain but keep it off public timelines"),
        ("remove", "remove the rule for a domain"),
    ):
        rule = federation.add_parser(severity, help=text)
        rule.add_argument("domain", help="example.org, *.example.org or host:port")
        if severity != "remove":
            rule.add_argument("--reject-media", action="store_true")
            rule.add_argument("--reject-reports", action="store_true")
            rule.add_argument("--comment", help="public comment")
        rule.set_defaults(run=cmd_federation_rule, severity=severity)
    media_cache = federation.add_parser(
        "media-cache", help="copy remote posts' media here (on) or link it where it lives (off)"
    )
    media_cache.add_argument("state", choices=("on", "off"))
    media_cache.set_defaults(run=cmd_federation_media_cache)
    federation.add_parser("list", help="show the mode and every rule").set_defaults(
        run=cmd_federation_list
    )
    imports = federation.add_parser("import", help="add rules from a Mastodon domain-block CSV")
    imports.add_argument("file", metavar="FILE.csv")
    imports.set_defaults(run=cmd_federation_import)
    federation.add_parser(
        "export", help="print the rules as Mastodon domain-block CSV"
    ).set_defaults(run=cmd_federation_export)
    federation.add_parser("status", help="delivery queue and remote hosts").set_defaults(
        run=cmd_federation_status
    )
