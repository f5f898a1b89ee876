"""A direct message from another server on the web: its recipient reads it, nobody else finds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from node import communities, members
from node.runtime import Node, open_node
from node.settings import Settings
from storage.models import Post
from tests.node.test_notes import ALICE, Fediverse, deliver
from tests.node.test_notes_visibility import ANA, NOTE, ROBOTICS, private_note
from tests.web.conftest import sign_in

PASSWORD = "a long enough password"
SECRET = "The answers to Friday's quiz"


@pytest.fixture
async def node(settings: Settings) -> AsyncIterator[Node]:
    """A node whose HTTP client reaches a fake Mastodon where Alice lives."""
    fediverse = Fediverse()
    fediverse.actor(ALICE)
    http = httpx.AsyncClient(transport=httpx.MockTransport(fediverse.handle))
    running = await open_node(replace(settings, dev=True), http=http)
    yield running
    await running.close()


async def test_only_the_mentioned_member_reads_a_direct_message(
    node: Node, client: httpx.AsyncClient
) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "ana", display_name="Ana", password=PASSWORD)
        await members.add(tx, "ben", display_name="Ben", password=PASSWORD)
        await communities.add(tx, "robotics", title="Robotics")
    # Alice writes to Ana and, in the same message, to the community Ana runs.
    message = private_note(
        [ANA, ROBOTICS], mentions=(ANA, ROBOTICS), content=f"<p>{SECRET}</p>"
    )
    record = await deliver(node, message)
    assert record.state == "done", record.last_error
    async with node.transaction() as tx:
        key = (await tx.session.scalar(select(Post.key).where(Post.uri == NOTE))) or ""
    page = f"/posts/{key}"

    # Anyone: not found, and on no public page.
    assert (await client.get(page)).status_code == 404
    for public in ("/", "/communities/robotics", "/@alice@mastodon.example"):
        listing = await client.get(public)
        assert listing.status_code == 200, public
        assert SECRET not in listing.text, public

    # Another member: not found either, and not in their timeline.
    await sign_in(client, "ben", PASSWORD)
    assert (await client.get(page)).status_code == 404
    assert SECRET not in (await client.get("/home")).text
    assert SECRET not in (await client.get("/communities/robotics")).text

    # Ana, whom it mentions: the page, her notification and her home timeline.
    client.cookies.clear()
    await sign_in(client, "ana", PASSWORD)
    shown = await client.get(page)
    assert shown.status_code == 200 and SECRET in shown.text
    assert "direct message" in shown.text  # the byline says who it is for
    assert "Adapt / remix" not in shown.text  # a private work is not offered for adaptation
    assert "replies from here are" in shown.text  # her answer would be public: she is told
    assert page in (await client.get("/notifications")).text
    assert SECRET in (await client.get("/home")).text
    assert SECRET not in (await client.get("/communities/robotics")).text
    adapt = await client.get("/adapt", params={"source": NOTE})
    assert adapt.status_code == 403 and SECRET not in adapt.text
