"""Open Badges from a shell: `badge define`, `award`, `revoke` and `verify`."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from federation.client import SafeClient
from node import achievements, awards, communities, credentials, members, verification
from node.cli.context import with_node
from node.runtime import Tx
from storage.models import Member


async def _acting(tx: Tx, name: str | None) -> Member | None:
    # Without --as the operator's shell acts, as for `community join`.
    return await members.get(tx, name) if name else None


async def cmd_badge_define(args: argparse.Namespace) -> int:
    image = (args.image.name, args.image.read_bytes()) if args.image else None

    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        achievement = await achievements.define(
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
        print(f"Defined {achievement.name}: {achievements.achievement_url(tx, achievement)}")

    return await with_node(args, work)


async def cmd_badge_award(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        community = await communities.get(tx, args.community)
        achievement = await achievements.find_achievement(tx, community, args.slug)
        recipient = await awards.recipient_by_handle(tx, args.handle)
        until = tx.now() + timedelta(days=args.valid_days) if args.valid_days else None
        award = await awards.award(
            tx,
            await _acting(tx, args.as_member),
            achievement,
            recipient,
            evidence=args.evidence or [],
            valid_until=until,
        )
        print(award.credential_uri)

    return await with_node(args, work)


async def cmd_badge_revoke(args: argparse.Namespace) -> int:
    async def work(tx: Tx) -> None:
        key = args.award.rstrip("/").rsplit("/", 1)[-1]
        award = await awards.get_award(tx, key)
        await awards.revoke(tx, await _acting(tx, args.as_member), award, args.reason)
        print(f"Revoked {award.credential_uri}: {args.reason}")

    return await with_node(args, work)


def _json_file(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise credentials.CredentialInvalid(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise credentials.CredentialInvalid(f"{path} is not a JSON object")
    return document


async def cmd_badge_verify(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise credentials.CredentialInvalid(f"cannot read {args.file}: {exc.strerror}") from exc
    credential = credentials.unbake(args.file.name, data)
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
            raise credentials.CredentialInvalid("--offline needs --issuer-document")
        result = verification.verify_document(
            credential, issuer, statuses, now, allow_http=args.dev
        )
    else:
        async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as http:
            result = await verification.verify_with_client(
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



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `badge` and its actions to the command line."""
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
