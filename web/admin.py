"""Administration: members (create, roles, sign-in links) and communities."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import auth, communities, members
from node.errors import Forbidden, GuildhallError, NotSignedIn
from node.runtime import Tx
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


async def _admin(request: Request, tx: Tx) -> Any:
    viewer = await require_member(request, tx)
    members.require_admin(viewer)
    return viewer


async def overview(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        await _admin(request, tx)
        return render(
            request,
            "admin/overview.html",
            {
                "members": await members.listing(tx),
                "communities": await communities.listing(tx),
                "roles": members.ROLES,
                "kinds": communities.KINDS,
                "link": request.session.pop("issued_link", None),
            },
        )


async def add_member(request: Request) -> Response:
    form = await checked_form(request)
    try:
        async with unit(request) as (tx, _viewer):
            await _admin(request, tx)
            member = await members.add(
                tx,
                str(form.get("name", "")),
                display_name=str(form.get("display_name", "")),
                role=str(form.get("role", "member")),
            )
            link = await auth.issue_sign_in_link(tx, member)
    except (NotSignedIn, Forbidden):
        raise
    except GuildhallError as exc:
        return redirect("/admin", f"Could not add the member: {exc.reason}", request)
    request.session["issued_link"] = {"name": member.actor.name, "url": link}
    return redirect("/admin#members", f"Added {member.actor.name}.", request)


async def member_action(request: Request) -> Response:
    form = await checked_form(request)
    name = request.path_params["name"]
    async with unit(request) as (tx, _viewer):
        viewer = await _admin(request, tx)
        if form.get("action") == "link":
            member = await members.get(tx, name)
            link = await auth.issue_sign_in_link(tx, member)
            request.session["issued_link"] = {"name": member.actor.name, "url": link}
            message = f"New sign-in link for {member.actor.name}."
        else:
            role = str(form.get("role", ""))
            await members.set_role(tx, viewer, name, role)
            message = f"{name} is now {role}."
    return redirect("/admin#members", message, request)


async def add_community(request: Request) -> Response:
    form = await checked_form(request)
    try:
        async with unit(request) as (tx, _viewer):
            await _admin(request, tx)
            community = await communities.add(
                tx,
                str(form.get("name", "")),
                title=str(form.get("title", "")),
                description=str(form.get("description", "")),
                kind=str(form.get("kind", "teacher")),
                default_license=str(form.get("licence", "")) or None,
                closed=form.get("closed") == "on",
            )
    except (NotSignedIn, Forbidden):
        raise
    except GuildhallError as exc:
        return redirect("/admin#communities", f"Could not create it: {exc.reason}", request)
    return redirect(f"/communities/{community.actor.name}", "Community created.", request)


routes = [
    Route("/admin", overview, methods=["GET"]),
    Route("/admin/members", add_member, methods=["POST"]),
    Route("/admin/members/{name}", member_action, methods=["POST"]),
    Route("/admin/communities", add_community, methods=["POST"]),
]
