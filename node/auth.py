"""Signing in: passwords with throttling, one-time sign-in links, changing a password."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select

from node import members
from node.errors import InvalidInput, NotFound, TooManyAttempts
from node.passwords import hash_password, password_matches
from node.runtime import Tx
from storage.models import LoginAttempt, Member, SignInToken

SIGN_IN_LINK_LIFETIME = timedelta(hours=24)
SIGN_IN_LINK_PATH = "/sign-in/link/"


def _name_subject(name: str) -> str:
    # Normalised as authenticate() does, or "@Alice" and " alice" would each get fresh attempts;
    # cut to fit the column (real names are far shorter) so a pasted essay is counted, not a 500.
    return "name:" + name.strip().lstrip("@").lower()[:200]


async def _check_throttle(tx: Tx, subjects: list[str]) -> None:
    limits = tx.settings.limits
    since = tx.now() - timedelta(seconds=limits.sign_in_window_seconds)
    for subject in subjects:
        failures = await tx.session.scalar(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.subject == subject, LoginAttempt.attempted_at >= since
            )
        )
        if (failures or 0) >= limits.sign_in_attempts:
            minutes = limits.sign_in_window_seconds // 60
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {minutes} minutes or use a sign-in link"
            )


async def record_failure(tx: Tx, name: str, address: str) -> None:
    """Count a failed sign-in against the account name and the client address."""
    for subject in (_name_subject(name), f"addr:{address}"):
        tx.session.add(LoginAttempt(subject=subject, attempted_at=tx.now()))


async def authenticate(tx: Tx, name: str, password: str, address: str) -> Member | None:
    """The member when name and password match, None when not; TooManyAttempts when throttled.

    The caller records a failure in its own transaction so that it survives this one's outcome.
    """
    name = name.strip().lstrip("@").lower()
    await _check_throttle(tx, [_name_subject(name), f"addr:{address}"])
    try:
        member = await members.get(tx, name)
    except NotFound:
        password_matches(None, password)
        return None
    if not password_matches(member.password_hash, password):
        return None
    await tx.session.execute(
        delete(LoginAttempt).where(LoginAttempt.subject == _name_subject(name))
    )
    return member


async def change_password(tx: Tx, member: Member, current: str, new: str) -> None:
    """Set a new password; the current one is required when the member has one."""
    if member.password_hash and not password_matches(member.password_hash, current):
        raise InvalidInput("the current password is not correct")
    member.password_hash = hash_password(new)


async def set_password(tx: Tx, member: Member, new: str) -> None:
    """Set a password without the old one (administrator or a fresh sign-in link)."""
    member.password_hash = hash_password(new)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_sign_in_link(tx: Tx, member: Member) -> str:
    """A one-time sign-in URL for the member, valid for a day."""
    token = secrets.token_urlsafe(32)
    tx.session.add(
        SignInToken(
            token_hash=_digest(token),
            member_id=member.id,
            expires_at=tx.now() + SIGN_IN_LINK_LIFETIME,
        )
    )
    await tx.session.flush()
    return tx.settings.url(SIGN_IN_LINK_PATH + token)


async def redeem_sign_in_link(tx: Tx, token: str) -> Member:
    """The member a sign-in link belongs to; the link cannot be used again."""
    record = await tx.session.scalar(
        select(SignInToken).where(SignInToken.token_hash == _digest(token))
    )
    if record is None or record.used_at is not None or record.expires_at <= tx.now():
        raise InvalidInput("this sign-in link is invalid, used or expired; ask an administrator")
    member = await members.by_id(tx, record.member_id)
    if member is None:
        raise InvalidInput("this sign-in link belongs to an account that no longer exists")
    record.used_at = tx.now()
    return member
