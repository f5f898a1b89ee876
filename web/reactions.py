"""Liking and boosting posts from the web UI, who reacted to a post, and opening a pasted URL."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import posts, reactions
from node.errors import GuildhallError, NotFound, NotSignedIn
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit

# Form action -> (reaction kind, take it back?, what the member is told).
ACTIONS = {
    "like": ("like", False, "You like this post."),
    "unlike": ("like", True, "You no longer like this post."),
    "boost": ("announce", False, "You boosted this post to your followers."),
    "unboost": ("announce", True, "Your boost is withdrawn."),
}


def local_path(value: object, fallback: str) -> str:
    """A redirect target from a form, kept on this site (no `//host` or scheme tricks)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return fallback


async def react(request: Request) -> Response:
    kind, undo, done = ACTIONS[request.url.path.rsplit("/", 1)[1]]
    form = await checked_form(request)
    key = request.path_params["key"]
    back = local_path(form.get("next"), f"/posts/{key}")
    try:
        async with unit(request) as (tx, _viewer):
            viewer = await require_member(request, tx)
            post = await posts.get_visible(tx, key, viewer.actor)
            if undo:
                await reactions.withdraw(tx, viewer, kind, post)
            else:
                await reactions.react(tx, viewer, kind, post)
    except NotSignedIn:
        raise
    except GuildhallError as exc:
        return redirect(back, exc.reason, request)
    return redirect(back, done, request)


async def reactions_page(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        post = await posts.get_visible(
            tx, request.path_params["key"], viewer.actor if viewer else None
        )
        return render(
            request,
            "reactions.html",
            {
                "post": post,
                "reaction_summaries": await reactions.summaries(tx, [post], viewer),
                "people": await reactions.of_post(tx, post),
            },
        )


async def open_post(request: Request) -> Response:
    # A member pastes the address of a post elsewhere, to like, boost, reply to or report it.
    url = request.query_params.get("url", "")
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        post = await reactions.resolve_post(tx, url)
        if not await posts.visible_to(tx, post, viewer.actor):
            raise NotFound(posts.HIDDEN)  # a known private post is not even confirmed
        key = post.key
    return redirect(f"/posts/{key}")


routes = [
    Route("/posts/{key}/reactions", reactions_page, methods=["GET"]),
    *(Route(f"/posts/{{key}}/{action}", react, methods=["POST"]) for action in ACTIONS),
    Route("/open-post", open_post, methods=["GET"]),
]
