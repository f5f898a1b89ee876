"""A request's unit of work: one transaction, and the member who is signed in (if any)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse

from node import notifications
from node import policy as federation_policy
from node.runtime import Tx
from web.security import current_member


@asynccontextmanager
async def unit(request: Request) -> AsyncIterator[tuple[Tx, Any]]:
    """A transaction plus the signed-in member, also left on request.state for templates."""
    async with request.app.state.node.transaction() as tx:
        viewer = await current_member(request, tx)
        request.state.viewer = viewer
        if viewer is not None:
            # The header's unread count, in this transaction rather than a round-trip of its own.
            request.state.unread_notifications = await notifications.unread_count(tx, viewer)
        # Attachments and avatars from domains whose rule rejects media are shown as a note
        # (one small query when no rule does).
        request.state.media_policy = await federation_policy.media_policy(tx)
        yield tx, viewer


def redirect(
    url: str, flash: str | None = None, request: Request | None = None
) -> RedirectResponse:
    """A 303 redirect after a form, with an optional one-time message for the next page."""
    if flash and request is not None:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)
