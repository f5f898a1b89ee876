"""Fixtures shared by the whole suite: a migrated database per test and a node on it.

Databases come from a template migrated once per run: a copied SQLite file by default, or
`CREATE DATABASE ... TEMPLATE` on the PostgreSQL server named by GUILDHALL_TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from node.runtime import Node, open_node
from node.settings import Settings
from storage.database import create_engine
from storage.migrate import upgrade

POSTGRES_URL = os.environ.get("GUILDHALL_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-" + "x" * 40


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"database_url", "make_database"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


def _dsn(url: str, database: str | None = None) -> str:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    if database is None:
        return dsn
    return dsn.rsplit("/", 1)[0] + "/" + database


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _pg(sql: str) -> None:
    assert POSTGRES_URL is not None
    conn = await asyncpg.connect(_dsn(POSTGRES_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to the newest schema, copied for each test."""
    if POSTGRES_URL:
        name = f"guildhall_template_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        asyncio.run(_migrate(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name))
        yield name
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
        yield str(path)


@pytest.fixture
def make_database(template_database: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of fresh, migrated databases (one per node), dropped after the test."""
    created: list[str] = []

    def make() -> str:
        suffix = uuid.uuid4().hex[:12]
        if POSTGRES_URL:
            name = f"guildhall_test_{suffix}"
            asyncio.run(_pg(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
            created.append(name)
            return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        path = tmp_path / f"guildhall-{suffix}.db"
        shutil.copyfile(template_database, path)
        return f"sqlite+aiosqlite:///{path}"

    yield make
    for name in created:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(make_database: Callable[[], str]) -> str:
    """A fresh, migrated database of its own for one test."""
    return make_database()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of a node at https://school.example with its own database and media folder."""
    return Settings(
        base_url="https://school.example",
        database_url=database_url,
        secret=TEST_SECRET,
        media_dir=tmp_path / "media",
    )


@pytest.fixture
async def node(settings: Settings) -> AsyncIterator[Node]:
    """A running node (no HTTP server) on the test's database."""
    running = await open_node(settings)
    yield running
    await running.close()
