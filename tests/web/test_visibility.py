"""Who may see a post on the web: threads, signed AS2 fetches, search; and reaction counts."""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.media_types import ACTIVITY_JSON
from federation.signatures import sign_request
from node import members, posts, reactions
from node.runtime import Node, Tx
from storage.models import Follow, Member, Mention
from tests.node.test_reactions import Remote, remote_person
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "a long enough password"


async def _follow(tx: Tx, follower_id: int, followed: Member) -> None:
    tx.session.add(
        Follow(
            uri=f"https://elsewhere.example/follows/{follower_id}",
            follower_id=follower_id,
            followed_id=followed.actor_id,
            state="accepted",
            created_at=tx.now(),
        )
    )
    await tx.session.flush()


async def _setup(node: Node) -> dict[str, str]:
    """Ana writes a public thread with a followers-only and a direct reply; Ben follows her."""
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana", display_name="Ana", password=PASSWORD)
        ben = await members.add(tx, "ben", display_name="Ben", password=PASSWORD)
        dee = await members.add(tx, "dee", display_name="Dee", password=PASSWORD)
        await members.add(tx, "eve", display_name="Eve", password=PASSWORD)
        await _follow(tx, ben.actor_id, ana)
        root = await posts.create(tx, ana, posts.Draft(text="Open to all", title="Gears"))
        private = await posts.create(
            tx, ana, posts.Draft(text="Only my followers", reply_to=root.uri)
        )
        private.visibility = "followers"
        secret = await posts.create(tx, ana, posts.Draft(text="Just for Dee", reply_to=root.uri))
        secret.visibility = "direct"
        tx.session.add(Mention(post_id=secret.id, actor_id=dee.actor_id))
        return {"root": root.key, "private": private.key, "secret": secret.key}


async def test_hidden_posts_answer_404_and_hidden_replies_are_left_out(
    node: Node, client: httpx.AsyncClient
) -> None:
    keys = await _setup(node)
    # Signed out: the thread shows the public post only; the others do not exist.
    thread = await client.get(f"/posts/{keys['root']}")
    assert thread.status_code == 200
    assert "Open to all" in thread.text
    assert "Only my followers" not in thread.text and "Just for Dee" not in thread.text
    assert "0 replies" in thread.text
    for key in ("private", "secret"):
        hidden = await client.get(f"/posts/{keys[key]}")
        assert hidden.status_code == 404  # as a post that never was, not 403
        assert (await client.get(f"/posts/{keys[key]}/reactions")).status_code == 404
    assert (await client.get("/posts/0000000000000000")).status_code == 404

    expected = {
        "eve": (404, 404, []),
        "ben": (200, 404, ["Only my followers"]),
        "dee": (404, 200, ["Just for Dee"]),
        "ana": (200, 200, ["Only my followers", "Just for Dee"]),
    }
    for name, (private, secret, replies) in expected.items():
        client.cookies.clear()
        await sign_in(client, name, PASSWORD)
        assert (await client.get(f"/posts/{keys['private']}")).status_code == private, name
        assert (await client.get(f"/posts/{keys['secret']}")).status_code == secret, name
        page = (await client.get(f"/posts/{keys['root']}")).text
        shown = [text for text in ("Only my followers", "Just for Dee") if text in page]
        assert shown == replies, name


async def test_a_stranger_can_neither_reply_to_nor_like_a_hidden_post(
    node: Node, client: httpx.AsyncClient
) -> None:
    keys = await _setup(node)
    await sign_in(client, "eve", PASSWORD)
    token = await csrf_of(client, f"/posts/{keys['root']}")
    reply = await client.post(
        f"/posts/{keys['private']}/reply", data={"csrf_token": token, "text": "guess"}
    )
    assert reply.status_code == 404
    await client.post(f"/posts/{keys['private']}/like", data={"csrf_token": token})
    async with node.transaction() as tx:
        private = await posts.get(tx, keys["private"])
        ana = await members.get(tx, "ana")
        assert await posts.visible_to(tx, private, ana.actor)
        assert (await reactions.summaries(tx, [private], None))[private.id].likes == 0
    search = await client.get(
        "/search", params={"q": f"https://school.example/posts/{keys['private']}"}
    )
    assert search.status_code == 404 and "Only my followers" not in search.text


def _signed_get(
    node: Node, path: str, remote: Remote, key: rsa.RSAPrivateKey | None = None
) -> dict[str, str]:
    return sign_request(
        "GET",
        node.settings.url(path),
        {"Accept": ACTIVITY_JSON},
        None,
        remote.actor.key_id or "",
        key or remote.key,
        node.clock(),
    )


async def test_as2_fetches_of_posts_not_for_everyone_must_be_signed_by_a_reader(
    node: Node, client: httpx.AsyncClient
) -> None:
    keys = await _setup(node)
    async with node.transaction() as tx:
        follower = await remote_person(tx, "rita")
        stranger = await remote_person(tx, "sam")
        await _follow(tx, follower.actor.id, await members.get(tx, "ana"))
    public = await client.get(f"/posts/{keys['root']}", headers={"Accept": ACTIVITY_JSON})
    assert public.status_code == 200 and public.json()["content"].count("Open to all") == 1

    path = f"/posts/{keys['private']}"
    unsigned = await client.get(path, headers={"Accept": ACTIVITY_JSON})
    assert unsigned.status_code == 404 and "Only my followers" not in unsigned.text
    not_a_follower = await client.get(path, headers=_signed_get(node, path, stranger))
    assert not_a_follower.status_code == 404
    forged = _signed_get(node, path, follower, rsa.generate_private_key(65537, 2048))
    assert (await client.get(path, headers=forged)).status_code == 401
    allowed = await client.get(path, headers=_signed_get(node, path, follower))
    assert allowed.status_code == 200
    assert "Only my followers" in allowed.json()["content"]
    assert allowed.headers["cache-control"] == "private"
    # A direct post is for the people it mentions: a follower signing does not open it.
    secret = f"/posts/{keys['secret']}"
    assert (
        await client.get(secret, headers=_signed_get(node, secret, follower))
    ).status_code == 404


async def test_a_liked_post_shows_its_count_and_unlike_on_the_thread_and_home_timeline(
    node: Node, client: httpx.AsyncClient
) -> None:
    keys = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, f"/posts/{keys['root']}")
    liked = await client.post(f"/posts/{keys['root']}/like", data={"csrf_token": token})
    assert liked.status_code == 303
    for path in (f"/posts/{keys['root']}", "/home", "/", "/members/ana"):
        page = (await client.get(path)).text
        card = page.split(f'id="post-{keys["root"]}"', 1)[1].split("</article>", 1)[0]
        assert "1 like · 0 boosts" in card, path
        assert f'action="/posts/{keys["root"]}/unlike"' in card and ">Unlike<" in card, path
    client.cookies.clear()
    await sign_in(client, "eve", PASSWORD)
    card = (await client.get(f"/posts/{keys['root']}")).text.split(f'id="post-{keys["root"]}"')[1]
    assert "1 like · 0 boosts" in card and ">Like<" in card and ">Unlike<" not in card
