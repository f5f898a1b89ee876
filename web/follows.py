"""Following from the web: follow and unfollow buttons, whom a member follows, the follow
requests a closed community's stewards approve or reject, and remote follow (subscribe) links."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import communities, follows, remote_actors, timeline
from node.errors import Forbidden, InvalidInput
from web.search import MAX_QUERY
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


def _back(value: object, default: str) -> str:
    # Only paths on this site: an open redirect would let a forged form bounce people away.
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


async def follow_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        # Fetched again when stale, so the Follow goes to the actor's current inbox and key.
        target = await remote_actors.fetch(tx, str(form.get("uri", "")).strip())
        record = await follows.follow(tx, viewer.actor, target)
        message = (
            f"You follow {target.label}."
            if record.state == "accepted"
            else f"Follow request sent to {target.label}: it shows as Requested until accepted."
        )
    return redirect(_back(form.get("next"), "/following"), message, request)


async def unfollow_submit(request: Request) -> Response:
    form = await checked_form(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        target = await timeline.known_actor(tx, uri=str(form.get("uri", "")))
        await follows.unfollow(tx, viewer.actor, target)
    return redirect(
        _back(form.get("next"), "/following"), f"You no longer follow {target.label}.", request
    )


async def following_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        return render(
            request, "following.html", {"follows": await follows.outgoing(tx, viewer.actor)}
        )


async def requests_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        if not await communities.can_steward(tx, community, viewer):
            raise Forbidden("only the community's stewards and administrators see follow requests")
        return render(
            request,
            "follow_requests.html",
            {"community": community, "requests": await follows.requests(tx, community.actor)},
        )


async def request_submit(request: Request) -> Response:
    form = await checked_form(request)
    action = form.get("action")
    if action not in ("approve", "reject"):
        raise InvalidInput("choose approve or reject")
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        community = await communities.get(tx, request.path_params["name"])
        if not await communities.can_steward(tx, community, viewer):
            raise Forbidden("only the community's stewards and administrators answer requests")
        record = await follows.request(tx, community.actor, request.path_params["id"])
        who = record.follower.label
        await follows.decide(tx, record, action == "approve")
        name = community.actor.name
    message = f"{who} now follows the community." if action == "approve" else f"{who} was refused."
    return redirect(f"/communities/{name}/requests", message, request)


async def authorize_interaction(request: Request) -> Response:
    """Where the WebFinger subscribe template (node.discovery) sends people from elsewhere."""
    # Mastodon's AuthorizeInteractionsController: `uri` (or the older `acct`), a profile or post
    # URL or a handle with an optional `acct:` prefix, shown to the signed-in member to follow.
    params = request.query_params
    wanted = (params.get("uri") or params.get("acct") or "").strip()[:MAX_QUERY]
    wanted = wanted.removeprefix("acct:")
    async with unit(request) as (_tx, viewer):
        if viewer is None:
            here = "/authorize_interaction?uri=" + quote(wanted, safe="")
            return redirect("/sign-in?next=" + quote(here, safe=""))
    # The search page looks the address up (WebFinger or a fetch) and offers Follow.
    return redirect("/search?q=" + quote(wanted, safe="") if wanted else "/search")


routes = [
    Route("/authorize_interaction", authorize_interaction, methods=["GET"]),
    Route("/follow", follow_submit, methods=["POST"]),
    Route("/unfollow", unfollow_submit, methods=["POST"]),
    Route("/following", following_page, methods=["GET"]),
    Route("/communities/{name}/requests", requests_page, methods=["GET"]),
    Route("/communities/{name}/requests/{id:int}", request_submit, methods=["POST"]),
]
