"""The `guildhall` command: set up, run and administer a node from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from federation.client import SafeClient
from node import (
    actors,
    auth,
    badges,
    communities,
    delivery,
    export,
    follows,
    hosts,
    members,
    policy,
    posts,
    remote_actors,
    reports,
    settings,
    timeline,
    worker,
)
from node.errors import ConfigurationError, GuildhallError, InvalidInput
from node.runtime import Tx, open_node
from storage.database import create_engine
from storage.migrate import upgrade
from storage.models import Member

Command = Callable[[argparse.Namespace], Awaitable[int]]


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("GUILDHALL_CONFIG", settings.DEFAULT_CONFIG))


async def _with_node(args: argparse.Namespace, work: Callable[[Tx], Awaitable[None]]) -> int:
    node = await open_node(settings.load(_config_path(args)))
    try:
        async with node.transaction() as tx:
            await work(tx)
    finally:
        await node.close()
    return 0


async def cmd_init(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if path.exists():
        raise ConfigurationError(f"{path} already exists: this node is initialised")
    config = settings.new_settings(args.base_url, args.database, dev=args.dev)
    if config.database_url.startswith("sqlite"):
        database_file = config.database_url.split("///", 1)[-1]
        if database_file and database_file != ":memory:":
            Path(database_file).parent.mkdir(parents=True, exist_ok=True)
    node = await open_node(config, migrate=True)
    try:
        async with node.transaction() as tx:
            await actors.instance_actor(tx)
            link = admin_name = None
            if args.first_admin:
                admin = await members.add(tx, args.first_admin, role="admin")
                admin_name = admin.actor.name
                link = await auth.issue_sign_in_link(tx, admin)
    finally:
        await node.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    settings.write(config, path)
    database = make_url(config.database_url).render_as_string(hide_password=True)
    print(f"Initialised {config.base_url} in {path} (database {database}).")
    if link:
        print(f"Sign in as the administrator '{admin_name}' with this one-time link")
        print(f"(valid for 24 hours; choose a password afterwards):\n\n    {link}\n")
    return 0


async def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = settings.load(_config_path(args))
    engine = create_engine(config.database_url)
    try:
        await upgrade(engine)
    except (DBAPIError, OSError) as exc:
        raise ConfigurationError(f"cannot upgrade the database: {exc}") from exc
    finally:
        await engine.dispose()
    print("The database schema is up to date.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # the server is only needed by this command

    settings.load(_config_path(args))  # fail early, with a message, on a bad configuration
    os.environ["GUILDHALL_CONFIG"] = str(_config_path(args).resolve())
    os.environ["GUILDHALL_WORKER"] = "0" if args.no_worker else "1"
    # By import string: node/ must not import web/ (web -> node is the only direction).
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        log_level=args.log_level,
    )
    return 0


async def cmd_worker(args: argparse.Namespace) -> int:
    node = await open_node(settings.load(_config_path(args)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"Worker running for {node.settings.base_url}; stop with Ctrl-C.")
    try:
        await worker.run_until_stopped(node, stop)
    finally:
        await node.close()
    return 0


async def cmd_follow(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.as_member)
        target = await remote_actors.lookup(tx, args.target)
        record = await follows.follow(tx, member.actor, target)
        state = "following" if record.state == "accepted" else "asked to follow"
        print(f"{member.actor.name} {state} {target.handle} ({target.uri})")

    return await _with_node(args, work)


async def cmd_unfollow(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.as_member)
        target = await remote_actors.lookup(tx, args.target)
        await follows.unfollow(tx, member.actor, target)
        print(f"{member.actor.name} no longer follows {target.handle}")

    return await _with_node(args, work)


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

    return await _with_node(args, work)


async def cmd_member_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def work(tx: Tx) -> None:
        member = await members.add(
            tx, args.name, display_name=args.display_name or "", role=args.role, password=password
        )
        print(f"Added {member.actor.handle} ({member.role}): {member.actor.uri}")
        if password is None:
            print(f"One-time sign-in link: {await auth.issue_sign_in_link(tx, member)}")

    return await _with_node(args, work)


async def cmd_member_list(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        for member in await members.listing(tx):
            print(f"{member.actor.name:30} {member.role:10} {member.actor.display_name}")

    return await _with_node(args, work)


async def cmd_member_role(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.set_role(tx, None, args.name, args.role)
        print(f"{member.actor.name} is now {args.role}.")

    return await _with_node(args, work)


async def cmd_member_link(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.name)
        print(await auth.issue_sign_in_link(tx, member))

    return await _with_node(args, work)


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

    return await _with_node(args, work)


async def cmd_community_join(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        member = await members.get(tx, args.member)
        record = await communities.join(tx, community, member, approved=True)
        record.role = args.role
        print(f"{member.actor.name} joined {community.actor.name} as {record.role}.")

    return await _with_node(args, work)


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

    return await _with_node(args, work)


async def cmd_community_list(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        for community in await communities.listing(tx):
            flags = "closed" if community.closed else "open"
            print(f"{community.actor.name:30} {community.kind:8} {flags:6} {community.title}")

    return await _with_node(args, work)


async def cmd_report(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.as_member)
        report = await reports.file(tx, member, args.target, args.comment)
        target = report.target.handle if report.target else args.target
        sent = f"; a Flag goes to {target.split('@')[-1]}" if report.outgoing else ""
        print(f"Reported {target} to the moderators{sent}.")

    return await _with_node(args, work)


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

    return await _with_node(args, work)


def _who() -> str:
    # The audit log names the shell user behind a CLI change (sudo keeps the real one).
    return "cli:" + (os.environ.get("SUDO_USER") or os.environ.get("USER") or "unknown")


async def cmd_federation_mode(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        await policy.set_mode(tx, _who(), args.mode)
        print(f"Federation mode: {args.mode}.")

    return await _with_node(args, work)


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

    return await _with_node(args, work)


async def cmd_federation_list(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        current = await policy.current(tx)
        chosen = "" if current.explicit else " (default: no mode chosen yet)"
        print(f"Federation mode: {current.mode}{chosen}")
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

    return await _with_node(args, work)


def cmd_federation_import(args: argparse.Namespace) -> Awaitable[int]:
    # The file is read before the event loop starts (no blocking reads inside it).
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {args.file}: {exc}") from exc

    async def work(tx: Tx) -> None:
        print(f"Imported {await policy.import_csv(tx, _who(), text)} rules.")

    return _with_node(args, work)


async def cmd_federation_export(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        sys.stdout.write(await policy.export_csv(tx))

    return await _with_node(args, work)


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

    return await _with_node(args, work)


async def _acting(tx: Tx, name: str | None) -> Member | None:
    # Without --as the operator's shell acts, as for `community join`.
    return await members.get(tx, name) if name else None


async def cmd_badge_define(args: argparse.Namespace) -> int:
    image = (args.image.name, args.image.read_bytes()) if args.image else None

    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        achievement = await badges.define(
            tx,
            await _acting(tx, args.as_member),
            community,
            args.slug,
            name=args.name,
            criteria=args.criteria,
            description=args.description or "",
            image=image,
            image_license=args.image_license,
            image_author=args.image_author or "",
            tags=args.tag or [],
            achievement_type=args.type,
        )
        print(f"Defined {achievement.name}: {badges.achievement_url(tx, achievement)}")

    return await _with_node(args, work)


async def cmd_badge_award(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        achievement = await badges.find_achievement(tx, community, args.slug)
        recipient = await badges.recipient_by_handle(tx, args.handle)
        until = tx.now() + timedelta(days=args.valid_days) if args.valid_days else None
        award = await badges.award(
            tx,
            await _acting(tx, args.as_member),
            achievement,
            recipient,
            evidence=args.evidence or [],
            valid_until=until,
        )
        print(award.credential_uri)

    return await _with_node(args, work)


async def cmd_badge_revoke(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        key = args.award.rstrip("/").rsplit("/", 1)[-1]
        award = await badges.get_award(tx, key)
        await badges.revoke(tx, await _acting(tx, args.as_member), award, args.reason)
        print(f"Revoked {award.credential_uri}: {args.reason}")

    return await _with_node(args, work)


def _json_file(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise badges.CredentialInvalid(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise badges.CredentialInvalid(f"{path} is not a JSON object")
    return document


async def cmd_badge_verify(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise badges.CredentialInvalid(f"cannot read {args.file}: {exc.strerror}") from exc
    credential = badges.unbake(args.file.name, data)
    issuer = _json_file(args.issuer_document) if args.issuer_document else None
    statuses = None
    if args.status_document:
        statuses = {}
        for path in args.status_document:
            document = _json_file(path)
            statuses[str(document.get("id"))] = document
    now = datetime.now(UTC)
    if args.offline:
        if issuer is None:
            raise badges.CredentialInvalid("--offline needs --issuer-document")
        result = badges.verify_document(credential, issuer, statuses, now, allow_http=args.dev)
    else:
        async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as http:
            result = await badges.verify_with_client(
                SafeClient(http, allow_private=args.dev),
                credential,
                now,
                allow_http=args.dev,
                issuer_document=issuer,
                status_documents=statuses,
            )
    summary = result.summary
    print(
        f"Valid: {summary.issuer_name or summary.issuer_id} ({summary.issuer_id}) awarded "
        f"{summary.achievement_name!r} to {summary.subject_id} on {summary.valid_from:%Y-%m-%d}"
        + (f", valid until {summary.valid_until:%Y-%m-%d}" if summary.valid_until else "")
        + "."
    )
    print(f"Signature: eddsa-rdfc-2022 by {result.verification_method}, checks out.")
    print(
        "Status: not revoked."
        if result.status_checked
        else "Status: not checked (no status list given)."
    )
    return 0


async def cmd_export_member(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        member = await members.get(tx, args.name)
        output = Path(args.output or export.file_name(member, tx.now()))
        partial = output.with_name(output.name + ".partial")
        with partial.open("wb") as target:
            artifacts = await export.write_archive(tx, member, target)
        os.replace(partial, output)  # never leave a half-written archive under the real name
        print(f"Wrote {output}: {len(artifacts)} works with their licences (LICENSES.md).")

    return await _with_node(args, work)


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    root = argparse.ArgumentParser(prog="guildhall", description=__doc__)
    root.add_argument("--config", help="configuration file (default: ./guildhall.toml)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write guildhall.toml and create the database")
    init.add_argument("--base-url", default="http://127.0.0.1:8000", help="public URL of the node")
    init.add_argument("--database", default="sqlite+aiosqlite:///var/guildhall.db")
    init.add_argument("--dev", action="store_true", help="allow plain http and loopback addresses")
    init.add_argument("--first-admin", metavar="NAME", help="create this administrator")
    init.set_defaults(run=cmd_init)

    serve = commands.add_parser("serve", help="run the web app and the background worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="run web requests only")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("worker", help="run only the background worker").set_defaults(
        run=cmd_worker
    )
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

    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply schema migrations").set_defaults(run=cmd_db_upgrade)

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

    report = commands.add_parser("report", help="report a post or account to the moderators")
    report.add_argument("--as", dest="as_member", required=True, metavar="MEMBER")
    report.add_argument("--comment", default="", help="what is wrong (up to 5000 characters)")
    report.add_argument("target", metavar="URL_OR_HANDLE")
    report.set_defaults(run=cmd_report)

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

    badge = commands.add_parser(
        "badge", help="Open Badges: define, award, revoke, verify"
    ).add_subparsers(dest="badge_command", required=True, metavar="ACTION")
    define = badge.add_parser("define", help="define a community's badge (an achievement)")
    define.add_argument("community")
    define.add_argument("slug", help="short name: a-z, 0-9 and '-'")
    define.add_argument("--name", required=True)
    define.add_argument("--criteria", required=True, help="what earns it (Markdown)")
    define.add_argument("--description")
    define.add_argument("--image", type=Path, metavar="FILE", help="PNG or SVG badge image")
    define.add_argument("--image-license", metavar="SPDX", help="the image's licence")
    define.add_argument("--image-author", help="who made the image")
    define.add_argument("--tag", action="append", help="a keyword (repeatable)")
    define.add_argument("--type", default="Badge", help="OB 3.0 achievementType")
    define.add_argument("--as", dest="as_member", metavar="MEMBER", help="a mentor or steward")
    define.set_defaults(run=cmd_badge_define)
    give = badge.add_parser("award", help="award a badge and print the credential URL")
    give.add_argument("community")
    give.add_argument("slug")
    give.add_argument("handle", metavar="HANDLE", help="a member here, or @name@server.example")
    give.add_argument("--evidence", action="append", metavar="URL", help="repeatable")
    give.add_argument("--valid-days", type=int, metavar="N", help="expires after N days")
    give.add_argument("--as", dest="as_member", metavar="MEMBER", help="a mentor or steward")
    give.set_defaults(run=cmd_badge_award)
    revoke = badge.add_parser("revoke", help="revoke an award (its status list bit is set)")
    revoke.add_argument("award", metavar="AWARD", help="the credential or award URL, or its key")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--as", dest="as_member", metavar="MEMBER", help="a mentor or steward")
    revoke.set_defaults(run=cmd_badge_revoke)
    check = badge.add_parser(
        "verify", help="verify a credential (JSON, or a baked PNG or SVG) and say why it fails"
    )
    check.add_argument("file", type=Path, metavar="FILE")
    check.add_argument(
        "--issuer-document", type=Path, metavar="FILE", help="the issuer's actor JSON"
    )
    check.add_argument(
        "--status-document",
        type=Path,
        action="append",
        metavar="FILE",
        help="a status list credential JSON (repeatable)",
    )
    check.add_argument("--offline", action="store_true", help="fetch nothing")
    check.add_argument("--dev", action="store_true", help="allow http and loopback issuers")
    check.set_defaults(run=cmd_badge_verify)
    archive = commands.add_parser("export", help="export data").add_subparsers(
        dest="export_command", required=True, metavar="WHAT"
    )
    archive_member = archive.add_parser(
        "member", help="a member's works as a ZIP: signed AS2 JSON, files and LICENSES.md"
    )
    archive_member.add_argument("name")
    archive_member.add_argument("--output", metavar="FILE", help="default: NAME-HOST-DATE.zip")
    archive_member.set_defaults(run=cmd_export_member)
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


if __name__ == "__main__":
    sys.exit(main())
