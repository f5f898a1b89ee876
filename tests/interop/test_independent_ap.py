"""A real Guildhall node against an independent ActivityPub server: Fedify, on loopback.

tests/peers/ap-peer.mjs is a one-actor Fedify server; WebFinger, HTTP Signatures (both ways),
FEP-8b32 proofs, JSON-LD and delivery on its side are all Fedify's own code. Versions and
quirks are in docs/interop.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from node.runtime import open_node
from storage.models import InboxActivity, Post
from tests.interop.conftest import Nodes, cli, eventually, get_json
from tests.peers import Peer, ap_peer
from tests.servers import RunningNode

pytestmark = pytest.mark.federation


def read(node: RunningNode, uri: str, actor: str) -> dict[str, Any]:
    """A post a node keeps by id, and how its inbox fared with an actor's activities."""

    async def query() -> dict[str, Any]:
        running = await open_node(node.settings)
        try:
            async with running.transaction() as tx:
                post = await tx.session.scalar(select(Post).where(Post.uri == uri))
                rows = await tx.session.scalars(
                    select(InboxActivity).where(InboxActivity.actor_uri == actor)
                )
                inbox = {row.type: (row.state, row.last_error, "proof" in row.raw) for row in rows}
                if post is None:
                    return {"post": None, "inbox": inbox}
                return {
                    "inbox": inbox,
                    "post": {
                        "id": post.id,
                        "author": post.author.uri,
                        "content": post.content_html,
                        "community": post.community.actor.name if post.community else None,
                        "in_reply_to": post.in_reply_to_uri,
                        "thread_id": post.thread_id,
                    },
                }
        finally:
            await running.close()

    return asyncio.run(query())


def announces_of(peer: Peer, uri: str) -> list[dict[str, Any]]:
    """The Announces the peer accepted of a post, bare or inside a Create."""
    return [
        activity
        for activity in peer.received()["activities"]
        if activity["type"] == "Announce"
        and uri in (activity["objectId"], activity.get("innerObjectId"))
    ]


def test_a_fedify_server_follows_a_community_receives_its_posts_and_replies(
    nodes: Nodes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    school = nodes.start("school")
    assert cli(school, "member", "add", "bob", "--display-name", "Bob") == 0
    assert cli(school, "community", "add", "robotics", "--title", "Robotics") == 0
    robotics, bob = school.url + "/communities/robotics", school.url + "/members/bob"
    capsys.readouterr()

    with ap_peer(tmp_path / "peer") as peer:
        # Fedify looks the handle up by WebFinger and sends a Follow, signed by its own code.
        followed = peer.control("follow", handle=f"@robotics@{school.settings.domain}")
        assert followed["followed"] == robotics
        eventually(lambda: get_json(robotics + "/followers")["totalItems"] == 1)
        assert get_json(robotics + "/followers", page=1)["orderedItems"] == [peer.actor]
        [accepted] = eventually(
            lambda: [a for a in peer.received()["activities"] if a["type"] == "Accept"]
        )
        assert accepted["actor"] == robotics and accepted["objectId"] == followed["follow"]

        assert (
            cli(school, "post", "--as", "bob", "--community", "robotics", "--title", "Gears",
                "Two gears mesh.")
            == 0
        )  # fmt: skip
        post_url = capsys.readouterr().out.strip().splitlines()[-1]

        # The community re-shares it both ways (FEP-1b12); Fedify resolves both to Bob's note.
        shared = eventually(lambda: len(announces_of(peer, post_url)) == 2)
        shared = announces_of(peer, post_url)
        assert sorted(a["objectType"] for a in shared) == ["Create", "Note"]
        for announce in shared:
            assert announce["actor"] == robotics and announce["attributedTo"] == bob
            assert "Two gears mesh." in announce["content"]
        # Every delivery passed Fedify's HTTP signature check and its FEP-8b32 proof check; the
        # Create and Note inside the community's Announce carry Bob's own proofs.
        requests = {r["id"]: r for r in peer.received()["requests"]}
        for activity_id in [accepted["id"], *(a["id"] for a in shared)]:
            delivery = requests[activity_id]
            assert delivery["status"] == 202 and delivery["proofsVerified"] is True
            assert delivery["httpSignatureKey"] == robotics + "#main-key"
            assert delivery["httpSignatureOwner"] == robotics
        wrapped = requests[next(a["id"] for a in shared if a["objectType"] == "Create")]
        assert [(p["type"], p["verified"]) for p in wrapped["embeddedProofs"]] == [
            ("Create", True),
            ("Note", True),
        ]

        # The peer answers in the thread: Guildhall verifies Fedify's signature and proof, files
        # the reply under Bob's post in the community and re-shares it, Fedify's proof intact.
        reply = peer.control("reply", inReplyTo=post_url, content="<p>Ours mesh at 3:1.</p>")
        assert reply["to"] == robotics
        stored = eventually(lambda: read(school, reply["note"], peer.actor)["post"])
        parent = read(school, post_url, peer.actor)["post"]
        assert stored["author"] == peer.actor and stored["community"] == "robotics"
        assert stored["in_reply_to"] == post_url
        assert stored["thread_id"] == (parent["thread_id"] or parent["id"])
        assert "Ours mesh at 3:1." in stored["content"]
        assert "Ours mesh at 3:1." in httpx.get(post_url).text  # the thread's page shows it
        eventually(lambda: len(announces_of(peer, reply["note"])) == 2)
        relayed = next(
            r for r in peer.received()["requests"] if r["id"] == reply_announce(peer, reply)
        )
        assert relayed["status"] == 202 and relayed["proofsVerified"] is True
        assert [(p["type"], p["verified"]) for p in relayed["embeddedProofs"]] == [("Create", True)]

        # And the other way: a member finds the Fedify actor by handle and follows it.
        peer_handle = "@peer@" + peer.url.removeprefix("http://")
        assert cli(school, "follow", "--as", "bob", peer_handle) == 0
        following = bob + "/following"
        eventually(lambda: get_json(following)["totalItems"] == 1)
        assert get_json(following, page=1)["orderedItems"] == [peer.actor]

        # Guildhall accepted every activity Fedify sent: each carried a Fedify proof.
        inbox = read(school, reply["note"], peer.actor)["inbox"]
        assert inbox == {
            "Follow": ("done", None, True),
            "Create": ("done", None, True),
            "Accept": ("done", None, True),
        }
        assert all(r["status"] == 202 for r in peer.received()["requests"])


def reply_announce(peer: Peer, reply: dict[str, str]) -> str:
    """The id of the community's Announce{Create} of the peer's reply."""
    return str(
        next(a["id"] for a in announces_of(peer, reply["note"]) if a["objectType"] == "Create")
    )
