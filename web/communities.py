"""Community pages: the commons, joining and leaving, approving members, roles and settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import communities, follows, members, reactions
from node.errors import Forbidden
from web.activitypub import local_actor_json, wants_json
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


async def commons_page(request: Request) -> Response:
    if wants_json(request):
        return await local_actor_json(request, request.path_params["name"])
    async with unit(request) as (tx, viewer):
        community = await communities.get(tx, request.path_params["name"])
        commons = await communities.commons(tx, community, viewer.actor if viewer else None)
        mine = await communities.membership(tx, community, viewer.actor) if viewer else None
        follow = await follows.find(tx, viewer.actor, community.actor) if viewer else None
        steward = await communities.can_steward(tx, community, viewer) if viewer else False
        may_post = await communities.may_post(tx, community, viewer) if viewer else False
        return render(
            request,
            "community.html",
            {
                "commons": commons,
                "community": community,
                "mine": mine,
                "is_steward": steward,
                "follow": follow,
                "may_post": may_post,
                "reaction_summaries": await reactions.summaries(tx, commons.threads, viewer),
                "openness": communities.OPENNESS,
            },
        )


async def join_submit(request: Request) -> Response:
    await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        record = await communities.join(tx, community, viewer)
        message = (
            "Your request to join has been sent to the stewards."
            if record.state == "pending"
            else f"Welcome to {community.title}!"
        )
    return redirect(f"/communities/{community.actor.name}", message, request)


async def leave_submit(request: Request) -> Response:
    await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        await communities.leave(tx, community, viewer)
    return redirect(f"/communities/{community.actor.name}", "You left the community.", request)


async def settings_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        if not await communities.can_steward(tx, community, viewer):
            raise Forbidden("only the community's stewards and administrators may change this")
        return render(
            request,
            "community_settings.html",
            {
                "community": community,
                "current": communities.settings_of(community),
                "openness": communities.OPENNESS,
            },
        )


async def settings_submit(request: Request) -> Response:
    form = await checked_form(request)
    level = str(form.get("minimum_openness", ""))
    wanted = communities.CommunitySettings(
        title=str(form.get("title", "")),
        description=str(form.get("description", "")),
        default_license=str(form.get("default_licence", "")) or None,
        minimum_openness=level if level and level != "any" else None,
        closed=form.get("joining") == "closed",
    )
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        await communities.update(tx, viewer, community, wanted)
        name = community.actor.name
    return redirect(f"/communities/{name}", "The community's settings are saved.", request)


async def member_role_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        member = await members.get(tx, request.path_params["member"])
        if form.get("action") == "approve":
            await communities.approve(tx, viewer, community, member)
            message = f"{member.actor.label} is now a member."
        else:
            role = str(form.get("role", ""))
            await communities.set_member_role(tx, viewer, community, member, role)
            message = f"{member.actor.label} is now {role}."
    return redirect(f"/communities/{community.actor.name}#members", message, request)


routes = [
    Route("/communities/{name}", commons_page, methods=["GET"]),
    Route("/communities/{name}/join", join_submit, methods=["POST"]),
    Route("/communities/{name}/leave", leave_submit, methods=["POST"]),
    Route("/communities/{name}/members/{member}", member_role_submit, methods=["POST"]),
    Route("/communities/{name}/settings", settings_page, methods=["GET"]),
    Route("/communities/{name}/settings", settings_submit, methods=["POST"]),
]
