"""Jinja2 templates and the filters pages use to show dates, licences and authors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from node.errors import InvalidInput
from node.licences import Licence, featured, licence
from web.security import csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"


def licence_of(spdx_id: str | None) -> Licence | None:
    """The licence behind a stored SPDX id (None for all rights reserved or an unknown id)."""
    if not spdx_id:
        return None
    try:
        return licence(spdx_id)
    except InvalidInput:
        return None


def when(value: datetime | None) -> str:
    """A timestamp people read: '3 hours ago', or a date when older than a week."""
    if value is None:
        return ""
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds < 7 * 86400:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return value.strftime("%-d %b %Y")


def iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def build_environment() -> Environment:
    """The template environment: autoescaped, with our filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["iso"] = iso
    env.globals["licence_of"] = licence_of
    env.globals["featured_licences"] = featured
    env.globals["safe_html"] = Markup  # only for HTML our sanitiser produced
    return env


class Pages:
    """Renders a template with what every page needs: the member, the CSRF token, the node."""

    def __init__(self) -> None:
        self.env = build_environment()

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        node = request.app.state.node
        values = {
            "request": request,
            "csrf_token": csrf_token(request),
            "site_name": node.settings.name,
            "domain": node.settings.domain,
            "viewer": getattr(request.state, "viewer", None),
            "media_policy": getattr(request.state, "media_policy", None),
            "flash": request.session.pop("flash", None),
        }
        values.update(context or {})
        html = self.env.get_template(name).render(values)
        return HTMLResponse(html, status_code=status_code)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page rendered by the application's `Pages` (typed: `request.app` is `Any` to mypy)."""
    pages: Pages = request.app.state.pages
    return pages.render(request, name, context, status_code)
