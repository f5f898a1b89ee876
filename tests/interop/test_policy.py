"""Federation policy across real nodes: the inbox, our fetches, and authorized fetch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from node.runtime import open_node
from node.settings import Settings
from storage.models import Actor, Delivery, Follow, InboxActivity
from tests.interop.conftest import Nodes, cli, eventually
from tests.servers import free_port

pytestmark = pytest.mark.federation
AS2 = {"Accept": "application/activity+json"}


def query(settings: Settings, statement: Any) -> Any:
    """One scalar from a running node's database."""

    async def read() -> Any:
        node = await open_node(settings)
        try:
            async with node.transaction() as tx:
                return await tx.session.scalar(statement)
        finally:
            await node.close()

    return asyncio.run(read())


@contextmanager
def recording_server(redirect_to: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """A loopback server that records every request (and redirects GETs when asked)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(self.path)
            if redirect_to:
                self.send_response(302)
                self.send_header("Location", redirect_to)
            else:
                self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_blocked_server_is_refused_at_the_inbox_and_nothing_is_stored(
    nodes: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    school = nodes.start("school")
    ngo = nodes.start("ngo")
    assert cli(school, "member", "add", "ana") == 0
    assert cli(ngo, "community", "add", "robotics", "--title", "Robotics") == 0
    assert cli(ngo, "federation", "block", school.settings.domain) == 0
    assert cli(school, "follow", "--as", "ana", f"@robotics@{ngo.settings.domain}") == 0

    def refused() -> bool:
        status = query(school.settings, select(Delivery.last_status))
        return bool(status == 403)

    eventually(refused)
    assert query(school.settings, select(Delivery.state)) == "failed"  # a 403 is final
    # The ngo stored nothing and did not even fetch the school's key.
    assert query(ngo.settings, select(func.count()).select_from(InboxActivity)) == 0
    assert (
        query(ngo.settings, select(func.count()).where(Actor.domain == school.settings.domain)) == 0
    )
    assert query(ngo.settings, select(func.count()).select_from(Follow)) == 0


def test_the_node_never_fetches_from_a_blocked_domain_even_through_a_redirect(
    nodes: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    school = nodes.start("school")
    assert cli(school, "member", "add", "ana") == 0
    with recording_server() as (blocked, blocked_seen):
        with recording_server(redirect_to=f"http://{blocked}/users/x") as (hop, hop_seen):
            assert cli(school, "federation", "block", blocked) == 0
            capsys.readouterr()
            assert cli(school, "follow", "--as", "ana", f"@x@{blocked}") == 2
            assert cli(school, "follow", "--as", "ana", f"http://{blocked}/users/x") == 2
            assert "blocked" in capsys.readouterr().err
            assert cli(school, "follow", "--as", "ana", f"http://{hop}/users/y") == 2
            assert hop_seen and set(hop_seen) == {"/users/y"}  # the permitted hop was asked
    assert blocked_seen == []  # ... and the blocked server never was


def test_two_allowlist_nodes_handshake_and_everyone_else_is_refused(
    nodes: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    school = nodes.start("school")
    ngo = nodes.start("ngo")
    stranger = nodes.start("stranger")
    for node in (school, ngo, stranger):
        # `guildhall init` creates the instance actor; these test nodes skipped init.
        assert httpx.get(node.url + "/actor", headers=AS2).status_code == 200
    for node, friend in ((school, ngo), (ngo, school)):
        assert cli(node, "federation", "mode", "allowlist") == 0
        assert cli(node, "federation", "allow", friend.settings.domain) == 0
    assert cli(school, "member", "add", "ana") == 0
    assert cli(stranger, "member", "add", "eve") == 0
    assert cli(ngo, "community", "add", "robotics", "--title", "Robotics") == 0

    # Authorized fetch: AS2 content needs a signature, discovery and the instance actor do not.
    robotics = ngo.url + "/communities/robotics"
    assert httpx.get(robotics, headers=AS2).status_code == 401
    assert httpx.get(robotics + "/outbox", headers=AS2).status_code == 401
    assert httpx.get(ngo.url + "/actor", headers=AS2).json()["type"] == "Application"
    webfinger = httpx.get(
        ngo.url + "/.well-known/webfinger",
        params={"resource": f"acct:robotics@{ngo.settings.domain}"},
    )
    assert webfinger.status_code == 200
    assert httpx.get(ngo.url + "/.well-known/nodeinfo").status_code == 200

    # The two nodes fetch each other's instance actors unsigned, then everything else signed.
    assert cli(school, "follow", "--as", "ana", f"@robotics@{ngo.settings.domain}") == 0

    def accepted() -> bool:
        return bool(query(school.settings, select(Follow.state)) == "accepted")

    eventually(accepted)
    assert query(ngo.settings, select(Follow.state)) == "accepted"

    capsys.readouterr()
    assert cli(stranger, "follow", "--as", "eve", f"@robotics@{ngo.settings.domain}") == 2
    assert "403" in capsys.readouterr().err
    assert query(ngo.settings, select(func.count()).select_from(Follow)) == 1
