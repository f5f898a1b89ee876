"""Exit 0 when a PostgreSQL server answers at the URL given as the only argument."""

import asyncio
import sys

import asyncpg


async def _ping(url: str) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    await conn.close()


if __name__ == "__main__":
    try:
        asyncio.run(_ping(sys.argv[1]))
    except Exception as exc:  # any failure means "not available" here
        print(f"PostgreSQL check failed: {exc}", file=sys.stderr)
        sys.exit(1)
