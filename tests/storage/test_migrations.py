"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from sqlalchemy import inspect

from storage.database import create_engine
from storage.migrate import pending_revisions
from storage.models import Base


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await pending_revisions(engine) == []
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = await connection.run_sync(
                lambda c: {t: {col["name"] for col in inspect(c).get_columns(t)} for t in tables}
            )
    finally:
        await engine.dispose()
    for table in Base.metadata.sorted_tables:
        assert table.name in tables
        assert columns[table.name] == {column.name for column in table.columns}
