"""Federation policy state: domain rules, the node's federation mode, the audit log and hosts."""

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class DomainRule(Base):
    """An administrator's rule for a domain (`example.org`, `*.example.org` or `host:port`)."""

    __tablename__ = "domain_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    severity: Mapped[str] = mapped_column(String(16))  # allow | block | limit
    reject_media: Mapped[bool] = mapped_column(default=False)
    reject_reports: Mapped[bool] = mapped_column(default=False)
    public_comment: Mapped[str] = mapped_column(Text, default="")
    private_comment: Mapped[str] = mapped_column(Text, default="")
    obfuscate: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FederationSetting(Base):
    """The node-wide federation settings, one row; absent means every default."""

    __tablename__ = "federation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    mode: Mapped[str | None] = mapped_column(String(16))  # open | allowlist; None = computed
    cache_remote_media: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """One change to the federation policy: who did what, and when."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    who: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(index=True)


class HostState(Base):
    """What delivery has learnt about one remote host: failures, circuit breaker, availability."""

    __tablename__ = "host_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    failure_days: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates, distinct
    circuit_open_until: Mapped[datetime | None] = mapped_column(index=True)
    unavailable: Mapped[bool] = mapped_column(default=False)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
