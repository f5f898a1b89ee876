"""The web UI end to end over ASGI: sign-in, CSRF, composing with a licence, admin, errors."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from node import communities, members, posts
from node.runtime import Node
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "a long enough password"


async def _setup(node: Node) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "ana", display_name="Ana Díaz", role="admin", password=PASSWORD)
        await members.add(tx, "ben", password=PASSWORD)
        await communities.add(tx, "robotics", title="Robotics", default_license="CC-BY-SA-4.0")


async def test_sign_in_with_the_right_password_only(node: Node, client: httpx.AsyncClient) -> None:
    await _setup(node)
    wrong = await sign_in(client, "ana", "not the password")
    assert wrong.status_code == 401
    assert "do not match" in wrong.text
    right = await sign_in(client, "ana", PASSWORD)
    assert right.status_code == 303
    assert "Sign out" in (await client.get("/")).text


async def test_sign_in_is_throttled_after_repeated_failures(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    for _ in range(node.settings.limits.sign_in_attempts):
        assert (await sign_in(client, "ben", "wrong password")).status_code == 401
    throttled = await sign_in(client, "ben", PASSWORD)
    assert throttled.status_code == 429
    assert "too many failed sign-ins" in throttled.text


async def test_forms_without_the_session_csrf_token_are_refused(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ana", PASSWORD)
    forged = await client.post(
        "/communities/robotics/compose", data={"csrf_token": "forged", "text": "spam"}
    )
    assert forged.status_code == 403
    async with node.transaction() as tx:
        assert await posts.latest(tx) == []


async def test_compose_shows_author_and_chosen_licence(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ana", PASSWORD)
    token = await csrf_of(client, "/communities/robotics/compose")
    image = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(image, "PNG")
    created = await client.post(
        "/communities/robotics/compose",
        data={
            "csrf_token": token,
            "title": "Line follower lesson",
            "text": "Build a **line follower**.",
            "licence": "CC-BY-4.0",
            "file_alt": "A teal rectangle",
            "file_licence": "CC0-1.0",
        },
        files={"file": ("robot.png", image.getvalue(), "image/png")},
    )
    assert created.status_code == 303
    thread = await client.get(created.headers["location"])
    assert "Ana Díaz" in thread.text
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in thread.text
    assert "<strong>line follower</strong>" in thread.text
    assert 'alt="A teal rectangle"' in thread.text and "CC0 1.0" in thread.text
    image_url = re.search(r'src="(/media/[^"]+)"', thread.text)
    assert image_url
    served = await client.get(image_url.group(1))
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    commons = await client.get("/communities/robotics")
    assert "Line follower lesson" in commons.text and "CC BY 4.0" in commons.text
    assert "Ana Díaz" in commons.text  # active this week


async def test_compose_defaults_to_the_community_licence(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    page = await client.get("/communities/robotics/compose")
    assert "Default: CC BY-SA 4.0" in page.text
    token = await csrf_of(client, "/communities/robotics/compose")
    created = await client.post(
        "/communities/robotics/compose",
        data={"csrf_token": token, "text": "Hello", "licence": "default"},
    )
    thread = await client.get(created.headers["location"])
    assert "CC BY-SA 4.0" in thread.text


async def test_bad_input_is_explained_and_keeps_the_draft(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, "/communities/robotics/compose")
    refused = await client.post(
        "/communities/robotics/compose",
        data={"csrf_token": token, "text": "My draft", "licence": "NOT-A-LICENCE"},
    )
    assert refused.status_code == 400
    assert "is not an SPDX licence id" in refused.text
    assert "My draft" in refused.text
    fake = await client.post(
        "/communities/robotics/compose",
        data={"csrf_token": token, "text": "x"},
        files={"file": ("evil.png", b"<script>alert(1)</script>", "image/png")},
    )
    assert fake.status_code == 400 and "not a readable image" in fake.text


async def test_replies_appear_in_the_thread(node: Node, client: httpx.AsyncClient) -> None:
    await _setup(node)
    async with node.transaction() as tx:
        ana = await members.get(tx, "ana")
        robotics = await communities.get(tx, "robotics")
        root = await posts.create(tx, ana, posts.Draft(text="Question?", community=robotics))
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, f"/posts/{root.key}")
    reply = await client.post(
        f"/posts/{root.key}/reply",
        data={"csrf_token": token, "text": "An answer", "licence": "MIT"},
    )
    assert reply.status_code == 303
    thread = await client.get(f"/posts/{root.key}")
    assert "An answer" in thread.text and "1 reply" in thread.text
    assert "https://spdx.org/licenses/MIT.html" in thread.text


async def test_admin_creates_members_and_communities(node: Node, client: httpx.AsyncClient) -> None:
    await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    assert (await client.get("/admin")).status_code == 403
    await client.post("/sign-out", data={"csrf_token": await csrf_of(client, "/")})
    await sign_in(client, "ana", PASSWORD)
    token = await csrf_of(client, "/admin")
    added = await client.post(
        "/admin/members", data={"csrf_token": token, "name": "cleo", "role": "mentor"}
    )
    assert added.status_code == 303
    overview = await client.get("/admin")
    link = re.search(r"(https://school\.example/sign-in/link/[\w-]+)", overview.text)
    assert link, "the new member's one-time sign-in link is shown once"
    duplicate = await client.post("/admin/members", data={"csrf_token": token, "name": "cleo"})
    assert "already taken" in (await client.get(duplicate.headers["location"])).text
    community = await client.post(
        "/admin/communities",
        data={
            "csrf_token": token,
            "name": "makers",
            "title": "Makers",
            "kind": "youth",
            "licence": "CC-BY-4.0",
            "closed": "on",
        },
    )
    assert community.headers["location"] == "/communities/makers"
    page = await client.get("/communities/makers")
    assert "closed" in page.text and "CC BY 4.0" in page.text


async def test_sign_in_link_works_once_and_asks_for_a_password(
    node: Node, client: httpx.AsyncClient
) -> None:
    from node import auth

    async with node.transaction() as tx:
        member = await members.add(tx, "dora")
        link = await auth.issue_sign_in_link(tx, member)
    path = link.removeprefix(node.settings.base_url)
    first = await client.get(path)
    assert first.headers["location"] == "/account/password"
    token = await csrf_of(client, "/account/password")
    saved = await client.post(
        "/account/password",
        data={"csrf_token": token, "new_password": PASSWORD, "repeat_password": PASSWORD},
    )
    assert saved.status_code == 303
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as other:
        again = await other.get(path)
        assert again.status_code == 400 and "invalid, used or expired" in again.text
        assert (await sign_in(other, "dora", PASSWORD)).status_code == 303


async def test_unknown_pages_are_404_pages(node: Node, client: httpx.AsyncClient) -> None:
    for path in ("/communities/nowhere", "/members/nobody", "/posts/nothing", "/no/such/page"):
        response = await client.get(path)
        assert response.status_code == 404
        assert "<h1>Not found</h1>" in response.text


async def test_profile_shows_bio_links_and_posts(node: Node, client: httpx.AsyncClient) -> None:
    await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, "/account/profile")
    saved = await client.post(
        "/account/profile",
        data={
            "csrf_token": token,
            "display_name": "Ben B.",
            "bio": "I teach *physics*.",
            "default_licence": "CC-BY-4.0",
            "link_label": ["Blog", ""],
            "link_url": ["https://ben.example/", ""],
        },
    )
    assert saved.headers["location"] == "/members/ben"
    profile = await client.get("/members/ben")
    assert "<em>physics</em>" in profile.text and 'href="https://ben.example/"' in profile.text
    assert "Ben B." in profile.text and "CC BY 4.0" in profile.text
    bad = await client.post(
        "/account/profile",
        data={
            "csrf_token": token,
            "display_name": "x",
            "bio": "",
            "link_label": ["Evil"],
            "link_url": ["javascript:alert(1)"],
        },
    )
    assert bad.status_code == 400 and "not a web address" in bad.text


async def test_a_sign_in_link_resets_a_forgotten_password(
    node: Node, client: httpx.AsyncClient
) -> None:
    from node import auth

    await _setup(node)
    async with node.transaction() as tx:
        link = await auth.issue_sign_in_link(tx, await members.get(tx, "ben"))
    landed = await client.get(link.removeprefix(node.settings.base_url))
    assert landed.headers["location"] == "/account/password"
    page = await client.get("/account/password")
    assert "Current password" not in page.text
    token = await csrf_of(client, "/account/password")
    new = "a brand new password"
    saved = await client.post(
        "/account/password",
        data={"csrf_token": token, "new_password": new, "repeat_password": new},
    )
    assert saved.status_code == 303
    assert "Current password" in (await client.get("/account/password")).text
    async with node.transaction() as tx:
        assert await auth.authenticate(tx, "ben", new, "127.0.0.1") is not None


async def test_an_attached_file_takes_the_post_licence_unless_given_its_own(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    token = await csrf_of(client, "/communities/robotics/compose")
    created = await client.post(
        "/communities/robotics/compose",
        data={
            "csrf_token": token,
            "text": "Worksheet",
            "licence": "CC-BY-NC-4.0",
            "file_licence": "default",
        },
        files={"file": ("sheet.txt", b"Question 1", "text/plain")},
    )
    assert created.status_code == 303
    async with node.transaction() as tx:
        (post,) = await posts.latest(tx)
        assert post.license == "CC-BY-NC-4.0"
        assert [a.license for a in post.attachments] == ["CC-BY-NC-4.0"]
