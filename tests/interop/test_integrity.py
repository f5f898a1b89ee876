"""A post's licence and author reach a second node through a community, unchanged and signed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from federation import integrity
from federation.multikey import decode_public_key
from node.runtime import open_node
from storage.models import InboxActivity, Post
from tests.interop.conftest import Nodes, cli, eventually, get_json
from tests.servers import RunningNode

pytestmark = pytest.mark.federation
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"


def stored(node: RunningNode, uri: str) -> dict[str, Any] | None:
    """The post a node holds for an id, and the relayed activities that brought it."""

    async def read() -> dict[str, Any] | None:
        running = await open_node(node.settings)
        try:
            async with running.transaction() as tx:
                post = await tx.session.scalar(select(Post).where(Post.uri == uri))
                if post is None:
                    return None
                rows = list(await tx.session.scalars(select(InboxActivity)))
                return {
                    "author": post.author.uri,
                    "licence": post.license,
                    "content": post.content_html,
                    "announces": [(r.state, r.raw) for r in rows if r.type == "Announce"],
                }
        finally:
            await running.close()

    return asyncio.run(read())


def test_licence_and_author_survive_a_community_announce_signed(
    nodes: Nodes, capsys: pytest.CaptureFixture[str]
) -> None:
    school, ngo = nodes.start("school"), nodes.start("ngo")
    assert cli(school, "member", "add", "ana", "--display-name", "Ana Díaz") == 0
    assert cli(school, "community", "add", "maths", "--title", "Maths teachers") == 0
    assert cli(ngo, "member", "add", "bob") == 0
    assert cli(ngo, "follow", "--as", "bob", f"@maths@{school.settings.domain}") == 0
    maths = school.url + "/communities/maths"
    eventually(lambda: get_json(maths + "/followers")["totalItems"] == 1)
    capsys.readouterr()
    assert (
        cli(
            school,
            "post",
            "--as",
            "ana",
            "--community",
            "maths",
            "--title",
            "Fractions",
            "--license",
            "CC-BY-SA-4.0",
            "Paper strips make fractions visible.",
        )
        == 0
    )
    uri = capsys.readouterr().out.strip()
    ana = get_json(school.url + "/members/ana")
    key = decode_public_key(ana["assertionMethod"][0]["publicKeyMultibase"])
    method = ana["id"] + "#ed25519-key"

    # The author's node serves the note signed by Ana's key, licence included.
    note = get_json(uri)
    assert note["license"] == BY_SA and note["attributedTo"] == ana["id"]
    assert integrity.verify(note, key).verification_method == method

    # The NGO node got it only through the community's re-share, and kept author and licence.
    copy = eventually(lambda: stored(ngo, uri))
    assert copy["author"] == ana["id"]
    assert copy["licence"] == "CC-BY-SA-4.0"
    assert "Fractions by Ana Díaz" in copy["content"]
    relayed = [raw for state, raw in copy["announces"] if isinstance(raw.get("object"), dict)]
    assert relayed, copy["announces"]
    assert all(state == "done" for state, _ in copy["announces"])
    announce = relayed[0]
    assert announce["actor"] == maths
    assert announce["proof"]["verificationMethod"] == maths + "#ed25519-key"
    create = announce["object"]
    inner = create["object"]
    # The community's Announce wraps Ana's own proofs, which still verify with Ana's key.
    assert integrity.verify(create, key).verification_method == method
    assert integrity.verify(inner, key).verification_method == method
    assert inner["license"] == BY_SA and inner["attributedTo"] == ana["id"]
