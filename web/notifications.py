"""The notifications page; the unread count in every page's header comes from web.units."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import notifications
from web.security import require_member
from web.templating import render
from web.units import unit


async def notifications_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        shown = await notifications.listing(tx, viewer)
        unread_ids = {item.id for item in shown if item.read_at is None}
        await notifications.mark_read(tx, viewer)
        request.state.unread_notifications = 0
        return render(
            request, "notifications.html", {"notifications": shown, "unread_ids": unread_ids}
        )


routes = [Route("/notifications", notifications_page, methods=["GET"])]
