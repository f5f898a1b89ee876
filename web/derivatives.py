"""Adapt / remix: a draft that credits its sources, with only the licences they allow."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import communities, derivatives
from node.derivatives import NotAdaptable
from node.errors import GuildhallError, NotSignedIn
from web.security import checked_form, require_member
from web.templating import render
from web.units import redirect, unit


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    return render(request, "adapt.html", context, status_code=status_code)


async def adapt_page(request: Request) -> Response:
    sources = request.query_params.getlist("source")
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        try:
            plan = await derivatives.plan(tx, viewer, sources)
        except NotAdaptable as exc:
            # A refusal is an answer, not an error page: it says why and what is still allowed.
            return _page(request, {"refusal": exc.reason, "sources": sources}, 403)
        community = next((p.community for p in plan.sources if p.community), None)
        return _page(
            request,
            {
                "plan": plan,
                "credits": derivatives.credit_lines(plan),
                "sources": [p.uri for p in plan.sources],
                "community": community,
                "values": {"text": plan.credits.lstrip(), "licence": plan.suggested.spdx_id},
            },
        )


async def adapt_submit(request: Request) -> Response:
    form = await checked_form(request)
    sources = [str(value) for value in form.getlist("source")]
    values = {key: str(form.get(key, "")) for key in ("title", "text", "licence", "community")}
    try:
        async with unit(request) as (tx, _viewer):
            viewer = await require_member(request, tx)
            community = (
                await communities.get(tx, values["community"]) if values["community"] else None
            )
            post = await derivatives.publish(
                tx,
                viewer,
                sources,
                text=values["text"],
                title=values["title"],
                licence=values["licence"] or None,
                community=community,
            )
            key = post.key
    except NotSignedIn:
        raise
    except GuildhallError as exc:
        async with unit(request) as (tx, viewer):
            try:
                plan = await derivatives.plan(tx, viewer, sources)
            except NotAdaptable as refused:
                return _page(request, {"refusal": refused.reason, "sources": sources}, 403)
            community = next((p.community for p in plan.sources if p.community), None)
            return _page(
                request,
                {
                    "plan": plan,
                    "credits": derivatives.credit_lines(plan),
                    "sources": sources,
                    "community": community,
                    "values": values,
                    "error": exc.reason,
                },
                400,
            )
    return redirect(f"/posts/{key}", "Your adaptation is published with its credits.", request)


routes = [
    Route("/adapt", adapt_page, methods=["GET"]),
    Route("/adapt", adapt_submit, methods=["POST"]),
]
