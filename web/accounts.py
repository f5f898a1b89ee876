"""Signing in and out, one-time sign-in links, and changing one's password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node import auth
from node.errors import InvalidInput
from web.security import checked_form, require_member, sign_in, sign_out
from web.templating import render
from web.units import redirect, unit


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(value: object) -> str:
    # Only same-site paths, so a crafted link cannot bounce a member to another site.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


async def sign_in_page(request: Request) -> Response:
    async with unit(request) as (_tx, viewer):
        if viewer is not None:
            return redirect("/")
        return render(
            request, "sign_in.html", {"next": _safe_next(request.query_params.get("next"))}
        )


async def sign_in_submit(request: Request) -> Response:
    form = await checked_form(request)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    address = _client_address(request)
    async with unit(request) as (tx, _viewer):
        member = await auth.authenticate(tx, name, password, address)
    if member is None:
        async with request.app.state.node.transaction() as tx:
            await auth.record_failure(tx, name, address)
        return render(
            request,
            "sign_in.html",
            {
                "error": "That name and password do not match.",
                "name": name,
                "next": _safe_next(form.get("next")),
            },
            status_code=401,
        )
    sign_in(request, member.id)
    return redirect(_safe_next(form.get("next")))


async def sign_out_submit(request: Request) -> Response:
    await checked_form(request)
    sign_out(request)
    return redirect("/")


async def sign_in_link(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        member = await auth.redeem_sign_in_link(tx, request.path_params["token"])
        member_id, has_password = member.id, member.password_hash is not None
    sign_in(request, member_id)
    # A sign-in link is also the password reset: the next password change needs no old password.
    request.session["password_reset"] = True
    if has_password:
        return redirect("/account/password", "You are signed in. Choose a new password.", request)
    return redirect("/account/password", "Welcome! Choose a password to finish.", request)


async def password_page(request: Request) -> Response:
    async with unit(request) as (tx, viewer):
        await require_member(request, tx)
        return render(
            request,
            "password.html",
            {
                "needs_current": viewer.password_hash is not None
                and not request.session.get("password_reset")
            },
        )


async def password_submit(request: Request) -> Response:
    form = await checked_form(request)
    new, repeat = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
    async with unit(request) as (tx, viewer):
        await require_member(request, tx)
        if new != repeat:
            raise InvalidInput("the two new passwords differ")
        if request.session.get("password_reset"):
            await auth.set_password(tx, viewer, new)
        else:
            await auth.change_password(tx, viewer, str(form.get("current_password", "")), new)
    request.session.pop("password_reset", None)
    return redirect("/", "Your password has been changed.", request)


routes = [
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in_submit, methods=["POST"]),
    Route("/sign-out", sign_out_submit, methods=["POST"]),
    Route("/sign-in/link/{token}", sign_in_link, methods=["GET"]),
    Route("/account/password", password_page, methods=["GET"]),
    Route("/account/password", password_submit, methods=["POST"]),
]
