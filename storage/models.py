"""Every table, importable from one place (Alembic and the application both read this)."""

from storage.accounts import LoginAttempt, SignInToken
from storage.actors import Actor, Community, Member, Membership
from storage.badges import Achievement, Award, BadgeRequest, BadgeStatusList, PortfolioEntry
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
from storage.identity import LinkCheck
from storage.policy import AuditEntry, DomainRule, FederationSetting, HostState
from storage.remote_media import MediaFetch

__all__ = [
    "Achievement",
    "Award",
    "BadgeRequest",
    "BadgeStatusList",
    "PortfolioEntry",
    "AuditEntry",
    "DomainRule",
    "FederationSetting",
    "HostState",
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
    "LinkCheck",
    "LoginAttempt",
    "MediaFetch",
    "Member",
    "Membership",
    "Post",
    "SignInToken",
]
