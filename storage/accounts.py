"""Sign-in support: one-time sign-in links and the record of attempts used for throttling."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class SignInToken(Base):
    """A one-time sign-in link (the first administrator's, or a password reset)."""

    __tablename__ = "sign_in_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex of the token
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One failed password sign-in, counted per account name and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_subject_at", "subject", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))  # "name:alice" or "addr:127.0.0.1"
    attempted_at: Mapped[datetime]
