"""A web client on the ASGI app of a test node, plus signing in through the real form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from node.runtime import Node
from web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def client(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the node's web app in-process."""
    transport = httpx.ASGITransport(app=create_app(node=node))
    async with httpx.AsyncClient(transport=transport, base_url=node.settings.base_url) as http:
        yield http


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    """The CSRF token from a page's form."""
    page = await client.get(path)
    match = CSRF.search(page.text)
    assert match, f"no form on {path}: {page.status_code}"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    """Sign in through the form, as a browser would."""
    token = await csrf_of(client, "/sign-in")
    return await client.post(
        "/sign-in", data={"csrf_token": token, "name": name, "password": password, "next": "/"}
    )
