"""The running node: settings, database engine, HTTP client and clock, owned in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from federation.client import SafeClient
from node.errors import ConfigurationError
from node.settings import Settings
from storage.database import create_engine, session_factory
from storage.migrate import pending_revisions, upgrade


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass
class Tx:
    """One unit of work: a database session plus the node it belongs to."""

    node: Node
    session: AsyncSession

    @property
    def settings(self) -> Settings:
        return self.node.settings

    def now(self) -> datetime:
        return self.node.clock()


class Node:
    """Everything a running node owns; created by `open_node` and passed explicitly."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        clock: Callable[[], datetime] = utcnow,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # One client per running node; redirects are followed by SafeClient, hop by hop.
        self.http = http or httpx.AsyncClient(follow_redirects=False, timeout=10.0)
        self.client = SafeClient(self.http, allow_private=settings.dev)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A unit of work committed on success and rolled back on any error."""
        async with self._sessions() as session, session.begin():
            yield Tx(self, session)

    async def close(self) -> None:
        """Release database connections and the HTTP client."""
        await self.http.aclose()
        await self.engine.dispose()


async def open_node(
    settings: Settings,
    *,
    migrate: bool = False,
    clock: Callable[[], datetime] = utcnow,
    http: httpx.AsyncClient | None = None,
) -> Node:
    """Connect to the database (migrating it when asked) and return the running node."""
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(engine)
        elif await pending_revisions(engine):
            raise ConfigurationError(
                "the database schema is out of date: run 'guildhall db upgrade'"
            )
    except (DBAPIError, OSError) as exc:
        await engine.dispose()
        raise ConfigurationError(f"cannot use the database: {_first_line(exc)}") from exc
    except BaseException:
        await engine.dispose()
        raise
    return Node(settings, engine, clock, http)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
