"""Posts across two real Guildhall nodes: a community's post, a reply from afar, edit and delete."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from node.runtime import open_node
from storage.models import Post
from tests.interop.conftest import Nodes, cli, eventually, get_json
from tests.servers import RunningNode

pytestmark = pytest.mark.federation
PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def post_on(node: RunningNode, uri: str) -> dict[str, Any] | None:
    """What a node has stored for a post id, read from its database beside the running server."""

    async def read() -> dict[str, Any] | None:
        running = await open_node(node.settings)
        try:
            async with running.transaction() as tx:
                post = await tx.session.scalar(select(Post).where(Post.uri == uri))
                if post is None:
                    return None
                return {
                    "key": post.key,
                    "author": post.author.uri,
                    "content": post.content_html,
                    "licence": post.license,
                    "community": post.community.actor.name if post.community else None,
                    "audience": (post.raw or {}).get("audience"),
                    "thread_id": post.thread_id,
                    "deleted": post.deleted_at is not None,
                    "edited": post.updated_at is not None,
                }
        finally:
            await running.close()

    return asyncio.run(read())


def test_a_community_thread_spans_two_nodes(
    nodes: Nodes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    school, ngo = nodes.start("school"), nodes.start("ngo")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli(school, "member", "add", "ana", "--display-name", "Ana", "--password-stdin") == 0
    assert cli(ngo, "member", "add", "bob", "--display-name", "Bob") == 0
    assert (
        cli(ngo, "community", "add", "robotics", "--title", "Robotics", "--license", "CC-BY-SA-4.0")
        == 0
    )
    robotics = ngo.url + "/communities/robotics"
    assert cli(school, "follow", "--as", "ana", f"@robotics@{ngo.settings.domain}") == 0
    eventually(lambda: get_json(robotics + "/followers")["totalItems"] == 1)
    eventually(lambda: get_json(school.url + "/members/ana/following")["totalItems"] == 1)
    capsys.readouterr()

    # Bob posts in the community; it re-shares the post to the school, where Ana follows it.
    assert (
        cli(
            ngo,
            "post",
            "--as",
            "bob",
            "--community",
            "robotics",
            "--title",
            "Gear ratios",
            "Two gears mesh.",
        )
        == 0
    )
    post_url = capsys.readouterr().out.strip().splitlines()[-1]
    copy = eventually(lambda: post_on(school, post_url))
    assert copy["author"] == ngo.url + "/members/bob"
    assert "Two gears mesh." in copy["content"] and copy["licence"] == "CC-BY-SA-4.0"
    assert copy["audience"] == robotics

    # Our Note, as the school fetched it, is what Mastodon reads.
    note = get_json(post_url)
    assert note["type"] == "Note" and note["attributedTo"] == ngo.url + "/members/bob"
    assert note["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert robotics in note["cc"] and note["audience"] == robotics
    assert "CC BY-SA 4.0" in note["content"]

    # Ana answers from the school; the reply joins the thread on the NGO, with author and licence.
    assert (
        cli(
            school,
            "post",
            "--as",
            "ana",
            "--reply-to",
            post_url,
            "--license",
            "CC-BY-4.0",
            "Mine mesh too, @bob@" + ngo.settings.domain,
        )
        == 0
    )
    reply_url = capsys.readouterr().out.strip().splitlines()[-1]
    reply = get_json(reply_url)
    assert reply["inReplyTo"] == post_url and reply["audience"] == robotics
    assert {
        "type": "Mention",
        "href": ngo.url + "/members/bob",
        "name": f"@bob@{ngo.settings.domain}",
    } in reply["tag"]
    there = eventually(lambda: post_on(ngo, reply_url))
    assert there["community"] == "robotics" and there["licence"] == "CC-BY-4.0"
    assert there["author"] == school.url + "/members/ana"
    thread = httpx.get(post_url).text
    assert "Mine mesh too" in thread and f"ana@{school.settings.domain}" in thread
    assert "CC BY 4.0" in thread

    # On the school, Bob's post shows his handle and the community it came through; Ana edits
    # her reply with the form under it, and the NGO's copy follows.
    with httpx.Client(base_url=school.url, timeout=20) as browser:
        token = CSRF.search(browser.get("/sign-in").text)
        assert token
        signed_in = browser.post(
            "/sign-in",
            data={"csrf_token": token[1], "name": "ana", "password": PASSWORD, "next": "/"},
        )
        assert signed_in.status_code == 303
        page = browser.get(f"/posts/{copy['key']}").text
        assert f"@bob@{ngo.settings.domain}" in page and "via community" in page
        assert "Mine mesh too" in page
        mine = browser.get(reply_url).text
        assert f'action="/posts/{reply_url.rsplit("/", 1)[1]}/edit"' in mine
        token = CSRF.search(mine)
        assert token
        edited = browser.post(
            reply_url + "/edit", data={"csrf_token": token[1], "text": "Mine mesh too, mostly."}
        )
        assert edited.status_code == 303
    eventually(lambda: "mostly" in (post_on(ngo, reply_url) or {}).get("content", ""))

    # Bob edits his post: the school's copy follows. Ana deletes her reply: the NGO's goes.
    assert (
        cli(ngo, "post", "--as", "bob", "--edit", post_url, "Two gears mesh; ratios multiply.") == 0
    )
    eventually(lambda: "ratios multiply" in (post_on(school, post_url) or {}).get("content", ""))
    assert cli(school, "post", "--as", "ana", "--delete", reply_url) == 0
    eventually(lambda: (post_on(ngo, reply_url) or {}).get("deleted"))
    assert "Mine mesh too" not in httpx.get(post_url).text
