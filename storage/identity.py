"""Identity checks: the state of each profile link verified by a `rel="me"` back-link."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class LinkCheck(Base):
    """One profile link of a member: whether the linked page links back, and when to look again."""

    __tablename__ = "link_checks"
    __table_args__ = (
        UniqueConstraint("member_id", "url"),
        Index("ix_link_checks_next_check_at", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(500))
    verified_at: Mapped[datetime | None]  # last time the back-link was found; None = unverified
    checked_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
