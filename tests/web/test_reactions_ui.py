"""Likes, boosts, reports, moderation and notifications in the web UI, over ASGI."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from node import members, posts
from node.runtime import Node
from storage.models import Report
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "a long enough password"


async def _setup(node: Node) -> str:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana", display_name="Ana", password=PASSWORD)
        await members.add(tx, "ben", display_name="Ben", password=PASSWORD)
        await members.add(tx, "mo", display_name="Mo", role="moderator", password=PASSWORD)
        post = await posts.create(tx, ana, posts.Draft(text="Gear ratios", title="Gears"))
        return post.key


async def test_liking_and_unliking_a_post(node: Node, client: httpx.AsyncClient) -> None:
    key = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, f"/posts/{key}")
    liked = await client.post(
        f"/posts/{key}/like", data={"csrf_token": token, "next": f"/posts/{key}#post-{key}"}
    )
    assert liked.status_code == 303
    assert liked.headers["location"] == f"/posts/{key}#post-{key}"
    page = await client.get(f"/posts/{key}/reactions")
    assert "You like this post." in page.text
    assert "1 like · 0 boosts" in page.text
    assert f'action="/posts/{key}/unlike"' in page.text
    assert "Ben" in page.text.split("Liked by", 1)[1]
    again = await client.post(f"/posts/{key}/like", data={"csrf_token": token})
    assert again.status_code == 303
    assert "you already like this post" in (await client.get(f"/posts/{key}/reactions")).text
    unliked = await client.post(f"/posts/{key}/unlike", data={"csrf_token": token})
    assert unliked.headers["location"] == f"/posts/{key}"
    assert "0 likes · 0 boosts" in (await client.get(f"/posts/{key}/reactions")).text


async def test_reactions_need_the_csrf_token_and_stay_on_this_site(
    node: Node, client: httpx.AsyncClient
) -> None:
    key = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    forged = await client.post(f"/posts/{key}/boost", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    token = await csrf_of(client, f"/posts/{key}")
    boosted = await client.post(
        f"/posts/{key}/boost", data={"csrf_token": token, "next": "//evil.example/"}
    )
    assert boosted.headers["location"] == f"/posts/{key}"
    assert "0 likes · 1 boost" in (await client.get(f"/posts/{key}/reactions")).text


async def test_the_author_is_notified_and_the_nav_counts_unread(
    node: Node, client: httpx.AsyncClient
) -> None:
    key = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, f"/posts/{key}")
    await client.post(f"/posts/{key}/like", data={"csrf_token": token})
    await client.post(f"/posts/{key}/boost", data={"csrf_token": token})
    client.cookies.clear()
    await sign_in(client, "ana", PASSWORD)
    home = await client.get("/")
    assert re.search(r'Notifications <span class="role" title="unread">2</span>', home.text)
    page = await client.get("/notifications")
    assert page.status_code == 200
    items = re.findall(r'<li class="card unread" id="notification-\d+">(.*?)</li>', page.text, re.S)
    assert len(items) == 2
    assert "boosted" in items[0] and "liked" in items[1]  # newest first
    assert f'href="/posts/{key}"' in items[0]
    assert 'title="unread"' not in page.text  # seen now
    assert 'class="card unread"' not in (await client.get("/notifications")).text


async def test_reporting_a_post_reaches_the_moderation_page(
    node: Node, client: httpx.AsyncClient
) -> None:
    key = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    thread = await client.get(f"/posts/{key}")
    report_link = re.search(r'href="(/report\?uri=[^"]+)"', thread.text)
    assert report_link
    form = await client.get(report_link.group(1).replace("&amp;", "&"))
    assert f'value="https://school.example/posts/{key}"' in form.text
    token = await csrf_of(client, "/report")
    empty = await client.post("/report", data={"csrf_token": token, "uri": "", "comment": "x"})
    assert empty.status_code == 400
    sent = await client.post(
        "/report",
        data={
            "csrf_token": token,
            "uri": f"https://school.example/posts/{key}",
            "comment": "<b>rude</b>",
        },
    )
    assert sent.status_code == 303
    assert (await client.get("/moderation")).status_code == 403  # Ben is a plain member

    client.cookies.clear()
    await sign_in(client, "mo", PASSWORD)
    home = await client.get("/")
    assert 'href="/moderation"' in home.text
    page = await client.get("/moderation")
    assert page.status_code == 200
    assert "&lt;b&gt;rude&lt;/b&gt;" in page.text  # comments are shown as text
    assert "Reported by" in page.text and "Ben" in page.text
    assert f'href="/posts/{key}"' in page.text
    async with node.transaction() as tx:
        report = await tx.session.scalar(select(Report))
        assert report is not None
        report_id = report.id
    token = await csrf_of(client, "/moderation")
    resolved = await client.post(
        f"/moderation/reports/{report_id}/resolve", data={"csrf_token": token}
    )
    assert resolved.status_code == 303
    page = await client.get("/moderation")
    assert "No open reports." in page.text


async def test_signed_out_visitors_see_counts_but_no_buttons(
    node: Node, client: httpx.AsyncClient
) -> None:
    key = await _setup(node)
    page = await client.get(f"/posts/{key}/reactions")
    assert "0 likes · 0 boosts" in page.text
    assert f'action="/posts/{key}/like"' not in page.text
    assert (await client.get("/notifications")).status_code == 303
    assert (await client.get("/moderation")).status_code == 303
    assert (await client.get("/open-post?url=https://example.com/x")).status_code == 303
