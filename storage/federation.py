"""Federation state: follows, the inbound and outbound activity queues, reactions, mentions,
notifications and reports."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.actors import Actor
from storage.base import Base
from storage.content import Post


class Follow(Base):
    """One actor following another; `state` walks pending -> accepted (or rejected)."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "followed_id"),
        Index("ix_follows_followed_state", "followed_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)  # the Follow activity's id
    follower_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    followed_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]

    follower: Mapped[Actor] = relationship(foreign_keys=[follower_id], lazy="selectin")
    followed: Mapped[Actor] = relationship(foreign_keys=[followed_id], lazy="selectin")


class InboxActivity(Base):
    """An activity received in an inbox, kept raw and processed by the worker exactly once."""

    __tablename__ = "inbox_activities"
    __table_args__ = (Index("ix_inbox_activities_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    actor_uri: Mapped[str] = mapped_column(String(2048))
    object_type: Mapped[str | None] = mapped_column(String(64))
    signer_key_id: Mapped[str | None] = mapped_column(String(2048))
    recipient_uri: Mapped[str | None] = mapped_column(String(2048))  # None: the shared inbox
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|done|ignored|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class OutboxActivity(Base):
    """An activity this node published; deliveries point at it so fan-out stores it once."""

    __tablename__ = "outbox_activities"
    __table_args__ = (Index("ix_outbox_activities_actor_created", "actor_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    object_uri: Mapped[str | None] = mapped_column(String(2048), index=True)
    public: Mapped[bool] = mapped_column(default=True)  # listed in the outbox collection
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    actor: Mapped[Actor] = relationship(lazy="selectin")


class Delivery(Base):
    """One activity to one inbox: the durable outbound queue."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("activity_id", "inbox_uri"),
        Index("ix_deliveries_state_next", "state", "next_attempt_at"),
        Index("ix_deliveries_host_state", "host", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("outbox_activities.id", ondelete="CASCADE"))
    inbox_uri: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|delivered|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    activity: Mapped[OutboxActivity] = relationship(lazy="selectin")


class Reaction(Base):
    """A like or a boost (Announce) of a post, by any actor."""

    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("kind", "actor_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # like | announce
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]

    actor: Mapped[Actor] = relationship(lazy="selectin")


class Mention(Base):
    """An actor mentioned in a post."""

    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("post_id", "actor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)

    actor: Mapped[Actor] = relationship(lazy="selectin")


class Notification(Base):
    """Something a local member should know about: a mention, reply, follow, like or report."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    actor: Mapped[Actor | None] = relationship(lazy="selectin")
    post: Mapped[Post | None] = relationship(lazy="selectin")


class Report(Base):
    """A `Flag`: a complaint about an actor or posts, received or sent."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    object_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    outgoing: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    created_at: Mapped[datetime]

    reporter: Mapped[Actor | None] = relationship(foreign_keys=[reporter_id], lazy="selectin")
    target: Mapped[Actor | None] = relationship(foreign_keys=[target_id], lazy="selectin")
