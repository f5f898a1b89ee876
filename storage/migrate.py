"""Alembic migrations run programmatically over an async engine; no alembic.ini needed."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the schema to `revision` (every branch head by default: features add their own)."""

    def run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def pending_revisions(engine: AsyncEngine) -> list[str]:
    """Revisions not yet applied: empty when the schema is current."""

    def read(connection: Connection) -> list[str]:
        current = set(MigrationContext.configure(connection).get_current_heads())
        script = ScriptDirectory.from_config(_config())
        applied: set[str] = set()
        for head in current:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
        return [rev.revision for rev in script.walk_revisions() if rev.revision not in applied]

    async with engine.connect() as connection:
        return await connection.run_sync(read)
