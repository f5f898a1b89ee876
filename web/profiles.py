"""Member profiles: bio, links, default licence and their posts; editing one's own profile."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import follows, identity, members, posts, reactions
from node.members import MAX_PROFILE_LINKS
from web.activitypub import local_actor_json, wants_json
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


async def profile_page(request: Request) -> Response:
    if wants_json(request):
        return await local_actor_json(request, request.path_params["name"])
    async with unit(request) as (tx, viewer):
        member = await members.get(tx, request.path_params["name"])
        authored = await posts.by_author(tx, member.actor, viewer=viewer.actor if viewer else None)
        follow = await follows.find(tx, viewer.actor, member.actor) if viewer else None
        return render(
            request,
            "profile.html",
            {
                "member": member,
                "posts": authored,
                "reaction_summaries": await reactions.summaries(tx, authored, viewer),
                "follow": follow,
                # DESIGN.md §5: verified rel="me" links and key fingerprints on every profile.
                "verified": await identity.verified_links(tx, member),
                "fingerprints": identity.fingerprints(member.actor),
            },
        )


async def edit_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        return render(
            request, "profile_edit.html", {"member": viewer, "link_slots": MAX_PROFILE_LINKS}
        )


async def edit_submit(request: Request) -> Response:
    form = await checked_form(request)
    labels, urls = form.getlist("link_label"), form.getlist("link_url")
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        await members.update_profile(
            tx,
            viewer,
            display_name=str(form.get("display_name", "")),
            bio=str(form.get("bio", "")),
            default_license=str(form.get("default_licence", "")) or None,
            links=[(str(label), str(url)) for label, url in zip(labels, urls, strict=False)],
        )
        name = viewer.actor.name
    return redirect(f"/members/{name}", "Your profile is saved.", request)


routes = [
    Route("/members/{name}", profile_page, methods=["GET"]),
    Route("/account/profile", edit_page, methods=["GET"]),
    Route("/account/profile", edit_submit, methods=["POST"]),
]
