"""A node's configuration: `guildhall.toml`, overridden by `GUILDHALL_*` environment variables."""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from federation.domains import DomainError, authority_of
from node.errors import ConfigurationError
from storage.database import DatabaseUrlError, check_url

DEFAULT_CONFIG = Path("guildhall.toml")


@dataclass(frozen=True)
class Limits:
    """Bounds on what members and remote servers may send."""

    max_upload_bytes: int = 10 * 1024 * 1024
    max_post_chars: int = 20_000
    max_inbox_bytes: int = 1024 * 1024
    sign_in_attempts: int = 5  # failures per account or address ...
    sign_in_window_seconds: int = 15 * 60  # ... within this window
    # How long the deliveries a worker claimed are its alone: also the longest a crashed worker
    # delays them. See docs/scaling.md.
    delivery_lease_seconds: int = 60


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to start; built once and passed explicitly."""

    base_url: str
    database_url: str
    secret: str
    dev: bool = False
    media_dir: Path = Path("var/media")
    name: str = "Guildhall"
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        try:
            check_url(self.database_url)
        except DatabaseUrlError as exc:
            raise ConfigurationError(exc.reason) from exc
        if len(self.secret) < 32:
            raise ConfigurationError("the node secret must be at least 32 characters")
        check_base_url(self.base_url, dev=self.dev)
        check_lease(self.limits.delivery_lease_seconds, dev=self.dev)

    @property
    def domain(self) -> str:
        """This node's domain as the fediverse counts it (host, plus a non-default port)."""
        return authority_of(self.base_url)

    def url(self, path: str) -> str:
        """An absolute URL on this node."""
        return self.base_url + path


def check_base_url(url: str, *, dev: bool) -> None:
    """Refuse a public URL that other servers could not use, unless in development mode."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base URL must be an http(s) URL with a host, not {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigurationError("base URL must not have a path, query or fragment")
    try:
        authority_of(url)
    except DomainError as exc:
        raise ConfigurationError(exc.reason) from exc
    if dev:
        return
    if parts.scheme != "https":
        raise ConfigurationError("base URL must use https (plain http needs --dev)")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname == "localhost" or parts.hostname.endswith(".localhost"):
            raise ConfigurationError("a localhost base URL needs --dev") from None
        return
    if not address.is_global:
        raise ConfigurationError("a private or loopback base URL needs --dev")


# A send starts only while half the lease is left (node.delivery), and may take the HTTP client's
# 10 s per phase (connect, write, read): that half must outlast it, or a second worker could take
# over a row the first is still sending.
MIN_PRODUCTION_LEASE = 30


def check_lease(seconds: int, *, dev: bool) -> None:
    """Refuse a delivery lease too short for a send, unless in development mode (tests)."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
        raise ConfigurationError("[limits] delivery_lease_seconds must be a whole number >= 1")
    if not dev and seconds < MIN_PRODUCTION_LEASE:
        raise ConfigurationError(
            f"[limits] delivery_lease_seconds must be at least {MIN_PRODUCTION_LEASE} "
            "(a send may take 10 s per phase); shorter leases need --dev"
        )


ENVIRONMENT = {
    "GUILDHALL_BASE_URL": "base_url",
    "GUILDHALL_DATABASE_URL": "database_url",
    "GUILDHALL_SECRET": "secret",
    "GUILDHALL_DEV": "dev",
    "GUILDHALL_MEDIA_DIR": "media_dir",
    "GUILDHALL_NAME": "name",
}


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Settings from the config file (if any) with environment variables on top."""
    environ = dict(os.environ) if environ is None else environ
    path = path or Path(environ.get("GUILDHALL_CONFIG", DEFAULT_CONFIG))
    values: dict[str, Any] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    for variable, key in ENVIRONMENT.items():
        if variable in environ:
            values[key] = environ[variable]
    missing = [key for key in ("base_url", "database_url", "secret") if not values.get(key)]
    if missing:
        raise ConfigurationError(
            f"no {', '.join(missing)} configured: run 'guildhall init' or set "
            + ", ".join(f"GUILDHALL_{key.upper()}" for key in missing)
        )
    try:
        limits = Limits(**values.pop("limits", {}))
    except TypeError as exc:
        raise ConfigurationError(f"unknown or malformed [limits] in {path}: {exc}") from exc
    known = {"base_url", "database_url", "secret", "dev", "media_dir", "name"}
    unknown = set(values) - known
    if unknown:
        raise ConfigurationError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
    dev = values.get("dev", False)
    if isinstance(dev, str):
        dev = dev.strip().lower() in ("1", "true", "yes", "on")
    return Settings(
        base_url=str(values["base_url"]).rstrip("/"),
        database_url=str(values["database_url"]),
        secret=str(values["secret"]),
        dev=bool(dev),
        media_dir=Path(values.get("media_dir", "var/media")),
        name=str(values.get("name", "Guildhall")),
        limits=limits,
    )


def new_settings(base_url: str, database_url: str, *, dev: bool) -> Settings:
    """Fresh settings with a newly generated secret."""
    return Settings(
        base_url=base_url.rstrip("/"),
        database_url=database_url,
        secret=secrets.token_urlsafe(48),
        dev=dev,
    )


def write(settings: Settings, path: Path) -> None:
    """Save settings as TOML, readable only by the owner (it holds the secret)."""
    document = asdict(replace(settings))
    document["media_dir"] = str(settings.media_dir)
    document.pop("limits")
    # Created owner-only from the start, so the secret is never readable by others.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomli_w.dumps(document))
    path.chmod(0o600)
