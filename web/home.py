"""The front page and the directory of communities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import communities, posts, reactions
from web.templating import render
from web.units import unit


async def home(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        latest = await posts.latest(tx)
        return render(
            request,
            "home.html",
            {
                "communities": await communities.listing(tx),
                "latest": latest,
                "reaction_summaries": await reactions.summaries(tx, latest, viewer),
            },
        )


routes = [Route("/", home, methods=["GET"])]
