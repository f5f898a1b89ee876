"""Portfolio pages: a member's curated portfolio, its editor and the ZIP export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import awards, credentials, members, portfolios, posts
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


async def portfolio_page(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        member = await members.get(tx, request.path_params["name"])
        entries = await portfolios.entries(tx, member, viewer)
        return render(
            request,
            "portfolio.html",
            {
                "member": member,
                "entries": entries,
                "narratives": {e.id: portfolios.narrative_html(e) for e in entries},
                "summaries": {
                    e.id: credentials.summary_of(tx, e.award)
                    for e in entries
                    if e.award is not None
                },
                "own": viewer is not None and viewer.id == member.id,
            },
        )


async def editor_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        entries = await portfolios.entries(tx, viewer, viewer)
        held = await awards.awards_of(tx, viewer.actor)
        return render(
            request,
            "portfolio_edit.html",
            {
                "member": viewer,
                "entries": entries,
                "posts": await posts.by_author(tx, viewer.actor, viewer=viewer.actor),
                "awards": [(a, credentials.summary_of(tx, a)) for a in held],
            },
        )


async def add_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        kind = str(form.get("kind", ""))
        await portfolios.add(
            tx,
            viewer,
            kind,
            ref=str(form.get(f"ref_{kind}", "")),
            title=str(form.get("title", "")),
            narrative=str(form.get("narrative", "")),
            visibility=str(form.get("visibility", "public")),
            licence=None if form.get("licence", "default") == "default" else str(form["licence"]),
        )
    return redirect("/account/portfolio", "Added to your portfolio.", request)


async def entry_submit(request: Request) -> Response:
    form = await checked_form(request)
    action = str(form.get("action", "save"))
    key = request.path_params["key"]
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        if action in ("up", "down"):
            await portfolios.move(tx, viewer, key, -1 if action == "up" else 1)
            message = "Moved."
        else:
            entry = await portfolios.get(tx, viewer, key)
            if action == "remove":
                await portfolios.remove(tx, entry)
                message = "Removed from your portfolio."
            else:
                await portfolios.update(
                    tx,
                    entry,
                    title=str(form.get("title", "")),
                    narrative=str(form.get("narrative", "")),
                    visibility=str(form.get("visibility", "public")),
                )
                message = "Saved."
    return redirect(f"/account/portfolio#entry-{key}", message, request)


async def export_download(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        data = await portfolios.export_zip(tx, viewer)
        name = viewer.actor.name
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="portfolio-{name}.zip"'},
    )


routes = [
    Route("/members/{name}/portfolio", portfolio_page, methods=["GET"]),
    Route("/account/portfolio", editor_page, methods=["GET"]),
    Route("/account/portfolio", add_submit, methods=["POST"]),
    Route("/account/portfolio/export.zip", export_download, methods=["GET"]),
    Route("/account/portfolio/{key}", entry_submit, methods=["POST"]),
]
