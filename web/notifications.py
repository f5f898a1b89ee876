"""The notifications page, and the unread count every page shows in its header."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from node import members, notifications
from web.security import require_member
from web.units import unit

SKIPPED_PREFIXES = ("/static/", "/media/", "/inbox", "/.well-known/")


class UnreadNotifications:
    """Counts the signed-in member's unread notifications for the page header (`request.state`).

    It runs inside the session middleware, so it can read who is signed in, and only for GET
    requests, which are the ones that render a header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            member_id = scope.get("session", {}).get("member_id")
            if isinstance(member_id, int) and not scope["path"].startswith(SKIPPED_PREFIXES):
                async with scope["app"].state.node.transaction() as tx:
                    member = await members.by_id(tx, member_id)
                    count = await notifications.unread_count(tx, member) if member else 0
                # Starlette's Request.state is a view of scope["state"].
                scope.setdefault("state", {})["unread_notifications"] = count
        await self.app(scope, receive, send)


async def notifications_page(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        viewer = await require_member(request, tx)
        shown = await notifications.listing(tx, viewer)
        unread_ids = {item.id for item in shown if item.read_at is None}
        await notifications.mark_read(tx, viewer)
        request.state.unread_notifications = 0
        return request.app.state.pages.render(
            request, "notifications.html", {"notifications": shown, "unread_ids": unread_ids}
        )


routes = [Route("/notifications", notifications_page, methods=["GET"])]
