"""The home timeline page: what a signed-in member follows, newest first, page by page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import reactions, timeline
from node.errors import InvalidInput
from web.security import require_member
from web.templating import render
from web.units import unit


def cursor(request: Request) -> int | None:
    """The `?before=` cursor of a paged list: the id of the last post already shown."""
    value = request.query_params.get("before")
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput("'before' must be the number of a post")
    return int(value)


async def home_timeline(request: Request) -> Response:
    before = cursor(request)
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        page = await timeline.home(tx, viewer, before=before)
        return render(
            request,
            "timeline.html",
            {
                "page": page,
                "before": before,
                "reaction_summaries": await reactions.summaries(tx, page.posts, viewer),
            },
        )


routes = [Route("/home", home_timeline, methods=["GET"])]
