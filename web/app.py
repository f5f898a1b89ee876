"""The Starlette application: routes, sessions, static files and errors mapped to 4xx pages."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node import settings as node_settings
from node import worker
from node.errors import (
    Conflict,
    Forbidden,
    GuildhallError,
    InvalidInput,
    NotFound,
    NotSignedIn,
    TooManyAttempts,
)
from node.metrics import Metrics
from node.runtime import Node, open_node
from node.settings import Settings
from web import (
    accounts,
    activitypub,
    admin,
    badges,
    communities,
    derivatives,
    export,
    federation_admin,
    files,
    follows,
    health,
    home,
    identity,
    moderation,
    notifications,
    portfolios,
    posts,
    profiles,
    reactions,
    search,
    timeline,
)
from web.templating import Pages, render
from web.units import redirect, unit

STATIC = Path(__file__).resolve().parent / "static"
STATUS = {
    InvalidInput: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyAttempts: 429,
}
log = logging.getLogger("guildhall.web")


class SecurityHeaders:
    """Headers every response carries: no framing, no sniffing, a strict content policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (
                        b"content-security-policy",
                        b"default-src 'self'; img-src 'self' https: data:; "
                        b"style-src 'self'; form-action 'self'; frame-ancestors 'none'",
                    ),
                ):
                    if name not in present:
                        headers.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def guildhall_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GuildhallError)
    if isinstance(exc, NotSignedIn):
        return redirect("/sign-in?next=" + quote(request.url.path))
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    return await _error_page(request, exc.reason, status)


async def _error_page(request: Request, reason: str, status: int) -> Response:
    # A fresh unit of work: the failed request's transaction was rolled back with its objects.
    async with unit(request):
        return render(
            request, "error.html", {"reason": reason, "status": status}, status_code=status
        )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = {404: "There is no page at this address.", 405: "This action is not allowed here."}
    return await _error_page(request, reason.get(exc.status_code, exc.detail), exc.status_code)


def create_app(
    settings: Settings | None = None, node: Node | None = None, run_worker: bool | None = None
) -> Starlette:
    """The web application; it opens (and later closes) its own node unless given a running one.

    With `run_worker` (default: the GUILDHALL_WORKER variable `guildhall serve` sets) the
    background worker runs in the same process.
    """
    config = node.settings if node is not None else (settings or node_settings.load())
    if run_worker is None:
        run_worker = os.environ.get("GUILDHALL_WORKER", "0") == "1"

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if node is not None:
            yield
            return
        running = await open_node(config)
        app.state.node = running
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_until_stopped(running, stop)) if run_worker else None
        log.info("Guildhall serving %s (worker: %s)", config.base_url, bool(run_worker))
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await running.close()

    session_key = hashlib.sha256(b"guildhall session\0" + config.secret.encode()).hexdigest()
    app = Starlette(
        routes=[
            *home.routes,
            *accounts.routes,
            *communities.routes,
            *posts.routes,
            *profiles.routes,
            *admin.routes,
            *federation_admin.routes,
            *health.routes,
            *files.routes,
            *timeline.routes,
            *search.routes,
            *follows.routes,  # before activitypub's /communities/{name}/{collection}
            *reactions.routes,
            *moderation.routes,
            *notifications.routes,
            *derivatives.routes,
            *export.routes,
            *identity.routes,
            *badges.routes,  # before activitypub's /members/{name}/{collection}
            *portfolios.routes,
            *activitypub.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=session_key,
                session_cookie="guildhall_session",
                same_site="lax",
                https_only=config.base_url.startswith("https://"),
                max_age=14 * 24 * 3600,
            ),
        ],
        exception_handlers={GuildhallError: guildhall_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.pages = Pages()
    app.state.metrics = Metrics()  # the app's own registry, never prometheus' global one
    if node is not None:
        app.state.node = node
    return app
