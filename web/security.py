"""Who is signed in, and the CSRF token every form carries (kept in the signed session cookie)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from node import members
from node.errors import Forbidden, NotSignedIn
from node.runtime import Tx

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def checked_form(request: Request, **limits: Any) -> FormData:
    """The submitted form, after checking its CSRF token against the session's."""
    form = await request.form(**limits)
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("this form has expired or did not come from this site; reload and retry")
    return form


def sign_in(request: Request, member_id: int) -> None:
    """Start a fresh session for a member (a new CSRF token too, against session fixation)."""
    request.session.clear()
    request.session["member_id"] = member_id
    csrf_token(request)


def sign_out(request: Request) -> None:
    """Forget the session."""
    request.session.clear()


async def current_member(request: Request, tx: Tx) -> Any:
    """The signed-in member, or None."""
    member_id = request.session.get("member_id")
    if not isinstance(member_id, int):
        return None
    member = await members.by_id(tx, member_id)
    if member is None:
        request.session.clear()
    return member


async def require_member(request: Request, tx: Tx) -> Any:
    """The signed-in member, or NotSignedIn (which the app turns into a redirect to sign in)."""
    member = await current_member(request, tx)
    if member is None:
        raise NotSignedIn("please sign in first")
    return member
