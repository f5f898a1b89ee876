"""Finding people and communities anywhere: the search page and the pages of remote actors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import actors, follows, posts, reactions, remote_actors, timeline
from node.errors import GuildhallError, InvalidInput, NotFound, NotSignedIn
from node.runtime import Tx
from web.templating import render
from web.timeline import cursor
from web.units import redirect, unit

MAX_QUERY = 2048


def _is_url(query: str) -> bool:
    return query.startswith(("https://", "http://"))


def local_path(actor: Any) -> str:
    """Where a local actor's page is: `/members/{name}` or `/communities/{name}`."""
    return f"/{'members' if actor.kind == 'person' else 'communities'}/{actor.name}"


def _collection_size(value: object) -> int | None:
    # Mastodon links its collections by id; a few servers embed them with `totalItems`.
    if isinstance(value, dict) and isinstance(value.get("totalItems"), int):
        return max(0, int(value["totalItems"]))
    return None


async def counts(tx: Tx, actor: Any) -> tuple[int | None, int | None]:
    """Follower and following counts: ours exactly, a remote actor's when its document says."""
    if actor.local:
        return (
            await follows.count(tx, actor, followers=True),
            await follows.count(tx, actor, followers=False),
        )
    raw = actor.raw or {}
    return _collection_size(raw.get("followers")), _collection_size(raw.get("following"))


async def _find(tx: Tx, query: str) -> dict[str, Any]:
    if _is_url(query):
        try:
            return {"post": await posts.find_by_url(tx, query)}
        except NotFound:
            pass  # not a post we know: perhaps a profile, else a post to fetch
        try:
            return {"actor": await remote_actors.lookup(tx, query)}
        except remote_actors.RemoteError:
            try:
                return {"post": await reactions.resolve_post(tx, query)}
            except GuildhallError as exc:
                raise InvalidInput(
                    f"{query} is neither a profile nor a post this node can read: {exc.reason}"
                ) from exc
    if "@" not in query.lstrip("@"):
        actor = await actors.find_local(tx, query.lstrip("@"))
        if actor is None or actor.kind == "application":
            raise NotFound(
                f"no one called {query.lstrip('@')!r} on this node; add @server for elsewhere"
            )
        return {"actor": actor}
    return {"actor": await remote_actors.lookup(tx, query)}


async def search_page(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()[:MAX_QUERY]
    try:
        async with unit(request) as (tx, viewer):
            if viewer is None:
                raise NotSignedIn("sign in to search")
            found = await _find(tx, query) if query else {}
            if "actor" in found:
                found["follow"] = await follows.find(tx, viewer.actor, found["actor"])
                found["counts"] = await counts(tx, found["actor"])
            elif "post" in found:
                if not await posts.visible_to(tx, found["post"], viewer.actor):
                    raise NotFound(posts.HIDDEN)  # as its page would: never confirmed (node.posts)
                found["follow"] = await follows.find(tx, viewer.actor, found["post"].author)
            return render(request, "search.html", {"query": query, **found})
    except NotSignedIn:
        raise
    except GuildhallError as exc:
        # A failed lookup is the searcher's answer, not a server fault: say why, with a 4xx.
        reason = exc.reason
        status = 404 if isinstance(exc, NotFound) else 400
    async with unit(request):
        return render(request, "search.html", {"query": query, "error": reason}, status_code=status)


async def _actor_page(request: Request, tx: Tx, viewer: Any, actor: Any) -> Response:
    if actor.local:
        return redirect(local_path(actor))
    stale = actor.fetched_at is None or actor.fetched_at < tx.now() - remote_actors.STALE_AFTER
    if viewer is not None and stale:
        # Refreshed for signed-in members only, so anonymous visitors cannot make us fetch.
        try:
            actor = await remote_actors.fetch(tx, actor.uri)
        except remote_actors.RemoteError:
            pass  # the cached profile stays: better than none while its server is away
    page = await timeline.of_actor(tx, actor, before=cursor(request))
    follow = await follows.find(tx, viewer.actor, actor) if viewer is not None else None
    return render(
        request,
        "remote_actor.html",
        {
            "actor": actor,
            "page": page,
            "follow": follow,
            "counts": await counts(tx, actor),
            "reaction_summaries": await reactions.summaries(tx, page.posts, viewer),
        },
    )


async def actor_by_uri(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        actor = await timeline.known_actor(tx, uri=request.query_params.get("uri", ""))
        return await _actor_page(request, tx, viewer, actor)


async def actor_by_handle(request: Request) -> Response:
    handle = request.path_params["handle"]
    async with unit(request) as (tx, viewer):
        try:
            actor = await timeline.known_actor(tx, handle=handle)
        except NotFound:
            if viewer is None or "@" not in handle:
                raise
            return redirect("/search?q=" + quote("@" + handle))
        return await _actor_page(request, tx, viewer, actor)


routes = [
    Route("/search", search_page, methods=["GET"]),
    Route("/actors", actor_by_uri, methods=["GET"]),
    Route("/@{handle}", actor_by_handle, methods=["GET"]),
]
