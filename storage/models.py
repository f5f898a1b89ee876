"""Every table, importable from one place (Alembic and the application both read this)."""

from storage.accounts import LoginAttempt, SignInToken
from storage.actors import Actor, Community, Member, Membership
from storage.base import Base
from storage.content import Attachment, Post

__all__ = [
    "Actor",
    "Attachment",
    "Base",
    "Community",
    "LoginAttempt",
    "Member",
    "Membership",
    "Post",
    "SignInToken",
]
