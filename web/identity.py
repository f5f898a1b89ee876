"""A member's identity page: verified links, key fingerprints, aliases, moving, the archive."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import identity
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


async def identity_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        checks = await identity.schedule_links(tx, viewer)
        return render(
            request,
            "identity.html",
            {
                "member": viewer,
                "checks": checks,
                "fingerprints": identity.fingerprints(viewer.actor),
                "aliases": identity.aliases_of(viewer.actor),
            },
        )


async def check_links(request: Request) -> Response:
    await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        results = [
            await identity.verify_link(tx, viewer, check)
            for check in await identity.schedule_links(tx, viewer)
        ]
    flash = f"{sum(results)} of {len(results)} links verified."
    return redirect("/account/identity", flash, request)


async def save_aliases(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        await identity.set_aliases(tx, viewer, str(form.get("aliases", "")).split())
    return redirect("/account/identity", "Your other accounts are saved.", request)


async def move_account(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        target = await identity.move(tx, viewer, str(form.get("target", "")))
    flash = f"Your followers are being moved to {target.handle}."
    return redirect("/account/identity", flash, request)


routes = [
    Route("/account/identity", identity_page, methods=["GET"]),
    Route("/account/identity/links", check_links, methods=["POST"]),
    Route("/account/identity/aliases", save_aliases, methods=["POST"]),
    Route("/account/identity/move", move_account, methods=["POST"]),
]
