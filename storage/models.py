"""Every table, importable from one place (Alembic and the application both read this)."""

from storage.accounts import LoginAttempt, SignInToken
from storage.actors import Actor, Community, Member, Membership
from storage.base import Base
from storage.content import Attachment, Post
from storage.federation import (
    Delivery,
    Follow,
    InboxActivity,
    Mention,
    Notification,
    OutboxActivity,
    Reaction,
    Report,
)

__all__ = [
    "Delivery",
    "Follow",
    "InboxActivity",
    "Mention",
    "Notification",
    "OutboxActivity",
    "Reaction",
    "Report",
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
