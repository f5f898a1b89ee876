"""Badges and portfolios: achievements, awards (signed credentials), requests, portfolio entries."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.actors import Actor, Community, Member
from storage.base import Base
from storage.content import Attachment, Post


class Achievement(Base):
    """A badge class a community awards: what it recognises, its criteria and image."""

    __tablename__ = "achievements"
    __table_args__ = (UniqueConstraint("community_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # the {id} in /achievements/{id}
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    criteria_md: Mapped[str] = mapped_column(Text, default="")
    image_path: Mapped[str | None] = mapped_column(String(512))  # under media/, like uploads
    image_media_type: Mapped[str | None] = mapped_column(String(127))
    image_license: Mapped[str | None] = mapped_column(String(64))  # SPDX id; None = not stated
    image_author: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    alignment: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    achievement_type: Mapped[str] = mapped_column(String(64), default="Badge")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    community: Mapped[Community] = relationship(lazy="selectin")
    created_by: Mapped[Actor | None] = relationship(lazy="selectin")


class BadgeStatusList(Base):
    """A community's signed Bitstring Status List credential, re-signed on every revocation."""

    __tablename__ = "badge_status_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), unique=True
    )
    credential: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class Award(Base):
    """A badge given to someone: the signed credential, its status bit and its award note.

    Local awards were issued by a community here; received ones arrived in an award note from
    another server and were verified before being stored.
    """

    __tablename__ = "awards"
    __table_args__ = (
        UniqueConstraint("community_id", "status_index"),
        Index("ix_awards_recipient_created", "recipient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # /awards/{id}, /credentials/{id}
    local: Mapped[bool] = mapped_column(default=True)
    note_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    credential_uri: Mapped[str] = mapped_column(String(2048), unique=True)
    achievement_id: Mapped[int | None] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE")
    )
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    issuer_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    evidence_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    credential: Mapped[dict[str, Any]] = mapped_column(JSON)  # signed OpenBadgeCredential
    status_index: Mapped[int | None]
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime]

    achievement: Mapped[Achievement | None] = relationship(lazy="selectin")
    community: Mapped[Community | None] = relationship(lazy="selectin")
    issuer: Mapped[Actor] = relationship(foreign_keys=[issuer_id], lazy="selectin")
    recipient: Mapped[Actor] = relationship(foreign_keys=[recipient_id], lazy="selectin")
    awarded_by: Mapped[Actor | None] = relationship(foreign_keys=[awarded_by_id], lazy="selectin")


class BadgeRequest(Base):
    """A member asking for a badge with evidence; a mentor approves or declines it."""

    __tablename__ = "badge_requests"
    __table_args__ = (Index("ix_badge_requests_achievement_state", "achievement_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    evidence_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|declined
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    achievement: Mapped[Achievement] = relationship(lazy="selectin")
    member: Mapped[Member] = relationship(lazy="selectin")


class PortfolioEntry(Base):
    """One item a member shows in their portfolio, in the order and with the words they chose."""

    __tablename__ = "portfolio_entries"
    __table_args__ = (Index("ix_portfolio_entries_member_position", "member_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # post | file | reflection | badge
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE")
    )
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    narrative: Mapped[str] = mapped_column(Text, default="")  # Markdown
    license: Mapped[str | None] = mapped_column(String(64))  # a reflection's own licence
    position: Mapped[int] = mapped_column(default=0)
    visibility: Mapped[str] = mapped_column(String(16), default="public")  # public | members
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    member: Mapped[Member] = relationship(lazy="selectin")
    post: Mapped[Post | None] = relationship(lazy="selectin")
    attachment: Mapped[Attachment | None] = relationship(lazy="selectin")
    award: Mapped[Award | None] = relationship(lazy="selectin")
