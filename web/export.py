"""The download of a member's own archive: their works, signed, with files and LICENSES.md."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from node import export
from web.security import require_member
from web.units import unit

SPOOL_BYTES = 8 * 1024 * 1024  # archives bigger than this are spooled to a temporary file
CHUNK = 64 * 1024


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


async def download(request: Request) -> Response:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _chunks
    try:
        async with unit(request) as (tx, _viewer):
            member = await require_member(request, tx)
            await export.write_archive(tx, member, spool)
            name = export.file_name(member, tx.now())
    except BaseException:
        spool.close()
        raise
    return StreamingResponse(
        _chunks(spool),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


routes = [Route("/account/export", download, methods=["GET"])]
