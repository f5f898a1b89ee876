"""Reporting a post or account, and the moderation page where moderators deal with reports."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import reports
from node.errors import GuildhallError, InvalidInput, NotSignedIn
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


async def report_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        await require_member(request, tx)
        return render(
            request,
            "report.html",
            {"values": {"uri": request.query_params.get("uri", ""), "comment": ""}},
        )


async def report_submit(request: Request) -> Response:
    form = await checked_form(request)
    values = {name: str(form.get(name, "")) for name in ("uri", "comment")}
    try:
        async with unit(request) as (tx, _viewer):
            viewer = await require_member(request, tx)
            report = await reports.file(tx, viewer, values["uri"], values["comment"])
            elsewhere = report.target.domain if report.outgoing and report.target else None
    except NotSignedIn:
        raise
    except GuildhallError as exc:
        async with unit(request) as (tx, _viewer):
            return render(
                request,
                "report.html",
                {"values": values, "error": exc.reason},
                status_code=400,
            )
    message = "Thank you: the moderators of this node will look at your report."
    if elsewhere:
        message += f" It was also sent, without your name, to the moderators of {elsewhere}."
    return redirect("/", message, request)


async def moderation_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        reports.require_moderator(viewer)
        open_reports = await reports.listing(tx, "open")
        resolved = await reports.listing(tx, "resolved", limit=20)
        return render(
            request,
            "moderation.html",
            {
                "open_reports": open_reports,
                "resolved": resolved,
                "reported_posts": await reports.reported_posts(tx, open_reports + resolved),
            },
        )


async def resolve_submit(request: Request) -> Response:
    await checked_form(request)
    raw_id = request.path_params["id"]
    if not raw_id.isdigit():
        raise InvalidInput("no such report")
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        await reports.resolve(tx, viewer, int(raw_id))
    return redirect("/moderation", "The report is resolved.", request)


routes = [
    Route("/report", report_page, methods=["GET"]),
    Route("/report", report_submit, methods=["POST"]),
    Route("/moderation", moderation_page, methods=["GET"]),
    Route("/moderation/reports/{id}/resolve", resolve_submit, methods=["POST"]),
]
