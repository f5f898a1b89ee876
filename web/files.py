"""Uploaded files, served with headers that stop browsers from running them as pages."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from node import media
from node.errors import NotFound
from web.units import unit


async def media_file(request: Request) -> Response:
    async with unit(request) as (tx, _viewer):
        attachment = await media.get(tx, request.path_params["key"])
        path = media.file_path(tx.settings.media_dir, attachment)
    if path is None or not path.exists():
        raise NotFound("this file is no longer stored here")
    disposition = "inline" if attachment.is_image else "attachment"
    return FileResponse(
        path,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.file_name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "public, max-age=31536000, immutable",
        },
    )


routes = [Route("/media/{key}/{filename}", media_file, methods=["GET"])]
