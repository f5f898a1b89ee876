"""Remote follow: the WebFinger subscribe template's /authorize_interaction, over ASGI."""

from __future__ import annotations

from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from node import discovery, members
from node.runtime import Node
from tests.node.test_notes import ALICE, fediverse, node
from tests.web.conftest import sign_in

__all__ = ["fediverse", "node"]  # a node whose client reaches a fake mastodon.example
PASSWORD = "a long enough password"


async def test_the_subscribe_template_names_a_route_that_exists(
    node: Node, client: httpx.AsyncClient
) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "ana", password=PASSWORD)
        jrd = await discovery.webfinger(tx, "acct:ana@school.example")
    [template] = [link["template"] for link in jrd["links"] if "template" in link]
    assert template == "https://school.example/authorize_interaction?uri={uri}"
    answer = await client.get(template.replace("{uri}", quote(ALICE, safe="")))
    assert answer.status_code == 303  # to sign in first: not a 404


async def test_a_visitor_signs_in_first_and_comes_back_to_the_interaction(
    node: Node, client: httpx.AsyncClient
) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "ana", password=PASSWORD)
    answer = await client.get("/authorize_interaction", params={"uri": ALICE})
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/sign-in"
    back = parse_qs(location.query)["next"][0]
    assert back == "/authorize_interaction?uri=" + quote(ALICE, safe="")
    page = await client.get(answer.headers["location"])
    assert f'name="next" value="{back}"' in unescape(page.text)

    # Signing in through the form with that `next` lands on the interaction again.
    signed = await sign_in_to(client, back)
    assert signed.headers["location"] == back
    interaction = await client.get(back)
    assert interaction.headers["location"] == "/search?q=" + quote(ALICE, safe="")
    found = await client.get(interaction.headers["location"])
    assert found.status_code == 200
    assert "@alice@mastodon.example" in found.text
    assert 'action="/follow"' in found.text and f'value="{ALICE}"' in found.text


async def sign_in_to(client: httpx.AsyncClient, next_path: str) -> httpx.Response:
    """Sign in through the form, with the page to return to."""
    page = await client.get("/sign-in", params={"next": next_path})
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return await client.post(
        "/sign-in",
        data={"csrf_token": token, "name": "ana", "password": PASSWORD, "next": next_path},
    )


async def test_handles_with_acct_and_the_older_acct_parameter_are_searched(
    node: Node, client: httpx.AsyncClient
) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "ana", password=PASSWORD)
    await sign_in(client, "ana", PASSWORD)
    for params in (
        {"uri": "acct:alice@mastodon.example"},
        {"acct": "acct:alice@mastodon.example"},
        {"uri": "alice@mastodon.example"},
    ):
        answer = await client.get("/authorize_interaction", params=params)
        assert answer.headers["location"] == "/search?q=alice%40mastodon.example"
    found = await client.get("/search", params={"q": "alice@mastodon.example"})
    assert found.status_code == 200 and f'value="{ALICE}"' in found.text
    empty = await client.get("/authorize_interaction")
    assert (empty.status_code, empty.headers["location"]) == (303, "/search")
