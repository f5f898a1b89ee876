"""Community settings in the browser: who may change them, what the form saves, what others see."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from node import communities, members
from node.runtime import Node
from storage.models import OutboxActivity
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "a long enough password"


async def _setup(node: Node) -> None:
    async with node.transaction() as tx:
        maths = await communities.add(
            tx, "maths", title="Maths Circle", default_license="CC-BY-4.0"
        )
        ana = await members.add(tx, "ana", password=PASSWORD)
        bo = await members.add(tx, "bo", password=PASSWORD)
        (await communities.join(tx, maths, ana)).role = "steward"
        await communities.join(tx, maths, bo)


def form(token: str, **changes: str) -> dict[str, Any]:
    return {
        "csrf_token": token,
        "title": "Maths Circle",
        "description": "",
        "default_licence": "CC-BY-4.0",
        "minimum_openness": "any",
        "joining": "open",
        **changes,
    }


async def test_the_community_page_links_to_its_badges_and_stewards_to_settings(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    page = await client.get("/communities/maths")
    assert 'href="/communities/maths/badges"' in page.text
    assert "/communities/maths/settings" not in page.text
    assert (await client.get("/communities/maths/badges")).status_code == 200

    await sign_in(client, "bo", PASSWORD)
    assert "/communities/maths/settings" not in (await client.get("/communities/maths")).text
    await client.post("/sign-out", data={"csrf_token": await csrf_of(client, "/home")})
    await sign_in(client, "ana", PASSWORD)
    assert 'href="/communities/maths/settings"' in (await client.get("/communities/maths")).text


async def test_a_steward_changes_the_settings_and_the_group_is_updated(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ana", PASSWORD)
    page = await client.get("/communities/maths/settings")
    assert page.status_code == 200
    assert 'value="Maths Circle"' in page.text
    assert '<option value="CC-BY-4.0" selected>' in page.text
    assert '<option value="any" selected>' in page.text
    assert '<label for="minimum_openness">' in page.text and '<label for="joining">' in page.text

    token = await csrf_of(client, "/communities/maths/settings")
    saved = await client.post(
        "/communities/maths/settings",
        data=form(
            token,
            title="Maths Circle (OER)",
            description="Worksheets *anyone* may reuse",
            default_licence="CC-BY-SA-4.0",
            minimum_openness="free",
            joining="closed",
        ),
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/communities/maths"
    shown = await client.get("/communities/maths")
    assert "The community&#39;s settings are saved." in shown.text
    assert "<h1>Maths Circle (OER)</h1>" in shown.text
    assert "<em>anyone</em>" in shown.text
    assert "closed: new members need approval" in shown.text
    assert "accepts only CC0, the Public Domain Mark, CC BY or CC BY-SA" in shown.text

    async with node.transaction() as tx:
        maths = await communities.get(tx, "maths")
        assert communities.settings_of(maths) == communities.CommunitySettings(
            "Maths Circle (OER)", "Worksheets *anyone* may reuse", "CC-BY-SA-4.0", "free", True
        )
        assert maths.actor.manually_approves_followers is True
        update = await tx.session.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Update")
        )
        assert update is not None and update.object_uri == maths.actor.uri
        assert update.raw["object"]["manuallyApprovesFollowers"] is True
    served = await client.get("/communities/maths", headers={"Accept": "application/activity+json"})
    assert served.json()["manuallyApprovesFollowers"] is True
    assert served.json()["name"] == "Maths Circle (OER)"


async def test_refusals_are_explained_and_nothing_changes(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    assert (
        (await client.get("/communities/maths/settings")).headers["location"].startswith("/sign-in")
    )
    await sign_in(client, "bo", PASSWORD)
    assert (await client.get("/communities/maths/settings")).status_code == 403
    token = await csrf_of(client, "/account/profile")
    refused = await client.post("/communities/maths/settings", data=form(token, title="Bo's"))
    assert refused.status_code == 403 and "stewards and administrators" in refused.text

    await client.post("/sign-out", data={"csrf_token": token})
    await sign_in(client, "ana", PASSWORD)
    token = await csrf_of(client, "/communities/maths/settings")
    too_closed = form(token, default_licence="CC-BY-NC-4.0", minimum_openness="free")
    refused = await client.post("/communities/maths/settings", data=too_closed)
    assert refused.status_code == 400 and "must itself be open enough" in refused.text
    forged = await client.post("/communities/maths/settings", data=form("wrong", title="X"))
    assert forged.status_code == 403
    async with node.transaction() as tx:
        maths = await communities.get(tx, "maths")
        assert (maths.title, maths.minimum_openness, maths.default_license) == (
            "Maths Circle",
            None,
            "CC-BY-4.0",
        )
        assert await tx.session.scalar(select(OutboxActivity.id)) is None
