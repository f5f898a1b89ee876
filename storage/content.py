"""Posts (threads, replies) and the files attached to them."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.actors import Actor, Community
from storage.base import Base

if TYPE_CHECKING:
    from storage.federation import Mention


class Post(Base):
    """A post or reply, authored here or fetched from another server."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_community_published", "community_id", "published_at"),
        Index("ix_posts_author_published", "author_id", "published_at"),
        Index("ix_posts_thread_published", "thread_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # the {id} in /posts/{id}
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    local: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="SET NULL")
    )
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    in_reply_to_uri: Mapped[str | None] = mapped_column(String(2048))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(Text, default="")  # Markdown as the author wrote it
    content_html: Mapped[str] = mapped_column(Text)  # sanitised
    license: Mapped[str | None] = mapped_column(String(64))  # SPDX id; None = not stated
    based_on: Mapped[list[str] | None] = mapped_column(JSON)  # ids of the works adapted
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    author: Mapped[Actor] = relationship(lazy="selectin")
    community: Mapped[Community | None] = relationship(lazy="selectin")
    attachments: Mapped[list["Attachment"]] = relationship(
        lazy="selectin", order_by="Attachment.id", back_populates="post"
    )
    mentions: Mapped[list["Mention"]] = relationship(lazy="selectin")


class Attachment(Base):
    """A file or image attached to a post, with its own alt text, author and licence."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str | None] = mapped_column(String(512))  # local file under media/
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    alt_text: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    created_at: Mapped[datetime]

    post: Mapped[Post | None] = relationship(back_populates="attachments")
    author: Mapped[Actor] = relationship(lazy="selectin")

    @property
    def is_image(self) -> bool:
        """Whether browsers can show this file inline."""
        return self.media_type.startswith("image/")
