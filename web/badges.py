"""Badge pages: a community's badges, defining and awarding them, requests, verification pages."""

from __future__ import annotations

from datetime import timedelta

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from node import (
    achievements,
    awards,
    badge_requests,
    communities,
    credentials,
    members,
    verification,
)
from node.errors import GuildhallError, InvalidInput, NotFound
from web.activitypub import achievement_json, award_json, wants_json
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit

IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


def _lines(value: object) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _wants_document(request: Request) -> bool:
    """AS2 or plain JSON(-LD) rather than a page: OB 3.0 verifiers ask for ld+json or json."""
    accept = request.headers.get("accept", "")
    return wants_json(request) or ("json" in accept and "text/html" not in accept)


async def community_badges(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        community = await communities.get(tx, request.path_params["name"])
        may_award = await achievements.may_award(tx, community, viewer) if viewer else False
        return render(
            request,
            "badges.html",
            {
                "community": community,
                "achievements": await achievements.achievements_of(tx, community),
                "may_award": may_award,
                "requests": (
                    await badge_requests.pending_requests(tx, community) if may_award else []
                ),
                "types": achievements.ACHIEVEMENT_TYPES,
            },
        )


async def define_submit(request: Request) -> Response:
    form = await checked_form(request, max_files=1, max_fields=30)
    upload = form.get("image")
    image = None
    if isinstance(upload, UploadFile) and upload.filename:
        image = (upload.filename, await upload.read(achievements.MAX_IMAGE_BYTES + 1))
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        alignment = []
        if str(form.get("align_name", "")).strip() or str(form.get("align_url", "")).strip():
            alignment.append(
                {
                    "target_name": str(form.get("align_name", "")),
                    "target_url": str(form.get("align_url", "")),
                    "target_framework": str(form.get("align_framework", "")),
                }
            )
        achievement = await achievements.define(
            tx,
            viewer,
            community,
            str(form.get("slug", "")),
            name=str(form.get("name", "")),
            criteria=str(form.get("criteria", "")),
            description=str(form.get("description", "")),
            image=image,
            image_license=str(form.get("image_licence", "")) or None,
            image_author=str(form.get("image_author", "")),
            tags=str(form.get("tags", "")).split(","),
            alignment=alignment,
            achievement_type=str(form.get("achievement_type", "Badge")),
        )
        key = achievement.key
    return redirect(f"/achievements/{key}", "The badge is defined.", request)


async def achievement_page(request: Request) -> Response:
    key = request.path_params["key"]
    if _wants_document(request):
        return await achievement_json(request, key)
    async with unit(request) as (tx, viewer):
        achievement = await achievements.get_achievement(tx, key)
        community = achievement.community
        may_award = await achievements.may_award(tx, community, viewer) if viewer else False
        return render(
            request,
            "achievement.html",
            {
                "achievement": achievement,
                "community": community,
                "image_url": achievements.image_url(tx, achievement),
                "criteria_html": achievements.criteria_html(achievement),
                "holders": await awards.awards_of_achievement(tx, achievement),
                "may_award": may_award,
            },
        )


async def achievement_image(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        achievement = await achievements.get_achievement(tx, request.path_params["key"])
        path = (
            tx.settings.media_dir / achievement.image_path if achievement.image_path else None
        )
    suffix = "." + request.path_params["ext"]
    if path is None or path.suffix != suffix or not path.exists():
        raise NotFound("this badge has no such image")
    return FileResponse(
        path,
        media_type=IMAGE_TYPES[suffix],
        headers={
            # SVG can carry script: never let a browser run it as a page.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            "Cache-Control": "public, max-age=86400",
            "Access-Control-Allow-Origin": "*",
        },
    )


async def award_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        achievement = await achievements.get_achievement(tx, request.path_params["key"])
        recipient = await awards.recipient_by_handle(tx, str(form.get("recipient", "")))
        days = str(form.get("valid_days", "")).strip()
        if days and not days.isdigit():
            raise InvalidInput("the number of days must be a whole number")
        record = await awards.award(
            tx,
            viewer,
            achievement,
            recipient,
            evidence=_lines(form.get("evidence")),
            valid_until=tx.now() + timedelta(days=int(days)) if days else None,
        )
        key = record.key
    return redirect(f"/awards/{key}", f"The badge is awarded to {recipient.label}.", request)


async def request_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        achievement = await achievements.get_achievement(tx, request.path_params["key"])
        await badge_requests.request_badge(
            tx, viewer, achievement, _lines(form.get("evidence")), str(form.get("message", ""))
        )
    return redirect(
        f"/achievements/{achievement.key}", "Your request is with the mentors.", request
    )


async def decide_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        record = await badge_requests.get_request(tx, int(request.path_params["id"]))
        approve = form.get("action") == "approve"
        await badge_requests.decide(tx, viewer, record, approve)
        name = record.achievement.community.actor.name
        who = record.member.actor.label
    message = f"{who} has the badge." if approve else f"{who}'s request is declined."
    return redirect(f"/communities/{name}/badges", message, request)


async def award_page(request: Request) -> Response:
    key = request.path_params["key"]
    if wants_json(request):
        return await award_json(request, key)
    async with unit(request) as (tx, viewer):
        record = await awards.get_award(tx, key)
        summary = credentials.summary_of(tx, record)
        try:
            verified = await verification.verify_award(tx, record)
            failure = None
        except GuildhallError as exc:
            verified, failure = None, exc.reason
        may_revoke = (
            record.local
            and record.community is not None
            and record.revoked_at is None
            and viewer is not None
            and await achievements.may_award(tx, record.community, viewer)
        )
        return render(
            request,
            "award.html",
            {
                "award": record,
                "summary": summary,
                "verification": verified,
                "failure": failure,
                "checked_at": tx.now(),
                "credential_url": record.credential_uri,
                "formats": credentials.baked_formats(record),
                "may_revoke": may_revoke,
                "achievement_url": (
                    achievements.achievement_url(tx, record.achievement)
                    if record.achievement
                    else summary.achievement_id
                ),
            },
        )


async def baked_download(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in ("png", "svg"):
        raise NotFound("badges download as PNG or SVG")
    async with unit(request) as (tx, _viewer):
        record = await awards.get_award(tx, request.path_params["key"])
        data = credentials.baked(tx, record, fmt)
    return Response(
        data,
        media_type=IMAGE_TYPES["." + fmt],
        headers={
            "Content-Disposition": f'attachment; filename="badge-{record.key}.{fmt}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


async def revoke_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        record = await awards.get_award(tx, request.path_params["key"])
        await awards.revoke(tx, viewer, record, str(form.get("reason", "")))
    return redirect(f"/awards/{record.key}", "The badge is revoked.", request)


async def member_badges(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        member = await members.get(tx, request.path_params["name"])
        return render(
            request,
            "member_badges.html",
            {
                "member": member,
                "awards": [
                    (record, credentials.summary_of(tx, record))
                    for record in await awards.awards_of(tx, member.actor)
                ],
            },
        )


routes = [
    Route("/communities/{name}/badges", community_badges, methods=["GET"]),
    Route("/communities/{name}/badges", define_submit, methods=["POST"]),
    Route("/achievements/{key}", achievement_page, methods=["GET"]),
    Route("/achievements/{key}/image.{ext}", achievement_image, methods=["GET"]),
    Route("/achievements/{key}/award", award_submit, methods=["POST"]),
    Route("/achievements/{key}/request", request_submit, methods=["POST"]),
    Route("/badge-requests/{id:int}", decide_submit, methods=["POST"]),
    Route("/awards/{key}", award_page, methods=["GET"]),
    Route("/awards/{key}/badge.{fmt}", baked_download, methods=["GET"]),
    Route("/awards/{key}/revoke", revoke_submit, methods=["POST"]),
    Route("/members/{name}/badges", member_badges, methods=["GET"]),
]
