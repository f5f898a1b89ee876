"""Actors (local and remote), local members, communities and who belongs to which community."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base


class Actor(Base):
    """Anything with an ActivityPub identity: a person, a group or the instance application."""

    __tablename__ = "actors"
    __table_args__ = (UniqueConstraint("domain", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # person | group | application
    local: Mapped[bool] = mapped_column(default=False, index=True)
    name: Mapped[str] = mapped_column(String(255))  # preferredUsername
    domain: Mapped[str] = mapped_column(String(255))  # URL authority, as Mastodon counts domains
    display_name: Mapped[str] = mapped_column(String(255), default="")
    summary_html: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    icon_url: Mapped[str | None] = mapped_column(String(2048))
    inbox_uri: Mapped[str | None] = mapped_column(String(2048))
    shared_inbox_uri: Mapped[str | None] = mapped_column(String(2048))
    outbox_uri: Mapped[str | None] = mapped_column(String(2048))
    followers_uri: Mapped[str | None] = mapped_column(String(2048))
    following_uri: Mapped[str | None] = mapped_column(String(2048))
    featured_uri: Mapped[str | None] = mapped_column(String(2048))
    manually_approves_followers: Mapped[bool] = mapped_column(default=False)
    key_id: Mapped[str | None] = mapped_column(String(2048))
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    private_key_sealed: Mapped[str | None] = mapped_column(Text)  # encrypted with the node secret
    ed25519_public_multibase: Mapped[str | None] = mapped_column(String(128))
    ed25519_private_sealed: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the remote document as fetched
    also_known_as: Mapped[list[str] | None] = mapped_column(JSON)  # our members' aliases
    moved_to_uri: Mapped[str | None] = mapped_column(String(2048))  # set by a Move
    fetched_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    member: Mapped["Member | None"] = relationship(back_populates="actor", lazy="selectin")

    @property
    def handle(self) -> str:
        """The `name@domain` form people type into a search box."""
        return f"{self.name}@{self.domain}"

    @property
    def label(self) -> str:
        """The name to show a person: the display name, else the handle."""
        return self.display_name or self.name


class Member(Base):
    """A person with an account on this node."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    bio_source: Mapped[str] = mapped_column(Text, default="")
    default_license: Mapped[str | None] = mapped_column(String(64))
    profile_links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]

    actor: Mapped[Actor] = relationship(back_populates="member", lazy="selectin")


class Community(Base):
    """A community of practice hosted on this node; its public face is a Group actor."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description_source: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="teacher")  # teacher | youth
    default_license: Mapped[str | None] = mapped_column(String(64))
    closed: Mapped[bool] = mapped_column(default=False)
    minimum_openness: Mapped[str | None] = mapped_column(String(16))  # None | shared | free
    created_at: Mapped[datetime]

    actor: Mapped[Actor] = relationship(lazy="selectin")


class Membership(Base):
    """An actor's place in a community: role and whether it has been approved."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("community_id", "actor_id"),
        Index("ix_memberships_community_joined", "community_id", "joined_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member | mentor | steward
    state: Mapped[str] = mapped_column(String(16), default="approved")  # approved | pending
    joined_at: Mapped[datetime]

    actor: Mapped[Actor] = relationship(lazy="selectin")
    community: Mapped[Community] = relationship(lazy="selectin")
