"""Badges and portfolios in the browser: defining, awarding, the verification page, downloads."""

from __future__ import annotations

import io
import json
import re
import zipfile

import httpx
from PIL import Image

from federation import baking
from node import communities, members, posts
from node.runtime import Node
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "a long enough password"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


async def _setup(node: Node) -> None:
    async with node.transaction() as tx:
        maths = await communities.add(tx, "maths", title="Maths Circle")
        mira = await members.add(tx, "mira", display_name="Mira", password=PASSWORD)
        ana = await members.add(tx, "ana", display_name="Ana", password=PASSWORD)
        (await communities.join(tx, maths, mira)).role = "mentor"
        await communities.join(tx, maths, ana)
        await posts.create(tx, ana, posts.Draft("My proof of Pythagoras", title="Pythagoras"))


async def _define(client: httpx.AsyncClient) -> str:
    token = await csrf_of(client, "/communities/maths/badges")
    defined = await client.post(
        "/communities/maths/badges",
        data={
            "csrf_token": token,
            "name": "Proof Writer",
            "slug": "proofs",
            "description": "Writes proofs others can check.",
            "criteria": "Three **checked** proofs.",
            "achievement_type": "Badge",
            "tags": "proof, geometry",
            "image_author": "Mira",
            "image_licence": "CC-BY-4.0",
        },
        files={"image": ("badge.png", png(), "image/png")},
    )
    assert defined.status_code == 303, defined.text
    return str(defined.headers["location"])


async def test_a_mentor_defines_awards_and_anyone_can_verify(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "mira", PASSWORD)
    achievement = await _define(client)
    page = await client.get(achievement)
    assert "Proof Writer" in page.text and "<strong>checked</strong>" in page.text
    assert "Image by Mira" in page.text and "CC BY 4.0" in page.text
    as_json = await client.get(achievement, headers={"Accept": "application/ld+json"})
    assert as_json.headers["content-type"].startswith("application/ld+json")
    document = as_json.json()
    assert document["type"] == ["Achievement"] and document["id"] == node.settings.url(achievement)
    image = await client.get(document["image"]["id"])
    assert image.status_code == 200 and image.content == png()

    token = await csrf_of(client, achievement)
    awarded = await client.post(
        achievement + "/award",
        data={
            "csrf_token": token,
            "recipient": "ana",
            "evidence": "https://school.example/posts/1\n",
        },
    )
    assert awarded.status_code == 303
    award = awarded.headers["location"]
    key = award.rsplit("/", 1)[1]

    client.cookies.clear()  # the verification page is public
    verification = await client.get(award)
    text = re.sub(r"\s+", " ", verification.text)
    assert "Maths Circle</a> awarded the badge" in text
    assert "“Proof Writer”" in text and ">Ana</a> (@ana@school.example)" in text
    assert "The signature checks out" in text and "<strong>not revoked</strong>" in text

    credential = await client.get(f"/credentials/{key}")
    assert credential.headers["content-type"].startswith("application/vc+ld+json")
    assert credential.json()["credentialSubject"]["id"] == "https://school.example/members/ana"
    note = await client.get(award, headers={"Accept": "application/activity+json"})
    assert note.json()["type"] == "Note"
    assert note.json()["verifiableCredential"] == credential.json()
    assert note.json()["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    baked = await client.get(f"/awards/{key}/badge.png")
    assert baked.headers["content-type"] == "image/png"
    assert json.loads(baking.extract_png(baked.content)) == credential.json()
    assert (await client.get(f"/awards/{key}/badge.svg")).status_code == 404
    status = await client.get("/communities/maths/badges/status")
    assert status.json()["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    badges_page = await client.get("/members/ana/badges")
    assert "Proof Writer" in badges_page.text

    await sign_in(client, "mira", PASSWORD)
    token = await csrf_of(client, award)
    revoked = await client.post(
        award + "/revoke", data={"csrf_token": token, "reason": "copied proof"}
    )
    assert revoked.status_code == 303
    after = await client.get(award)
    assert "does not verify: revoked" in after.text
    assert "copied proof" in after.text


async def test_members_ask_for_badges_and_cannot_define_them(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "mira", PASSWORD)
    achievement = await _define(client)
    client.cookies.clear()
    await sign_in(client, "ana", PASSWORD)
    badges_page = await client.get("/communities/maths/badges")
    assert "Define a badge" not in badges_page.text
    token = await csrf_of(client, achievement)
    refused = await client.post(
        "/communities/maths/badges",
        data={"csrf_token": token, "name": "Mine", "slug": "mine", "criteria": "c"},
    )
    assert refused.status_code == 403
    asked = await client.post(
        achievement + "/request",
        data={"csrf_token": token, "evidence": "https://school.example/posts/9", "message": "hi"},
    )
    assert asked.status_code == 303
    client.cookies.clear()
    await sign_in(client, "mira", PASSWORD)
    pending = await client.get("/communities/maths/badges")
    assert "Ana</strong> asks for" in pending.text
    request_id = re.search(r'action="/badge-requests/(\d+)"', pending.text)
    assert request_id
    token = await csrf_of(client, "/communities/maths/badges")
    approved = await client.post(
        f"/badge-requests/{request_id.group(1)}",
        data={"csrf_token": token, "action": "approve"},
    )
    assert approved.status_code == 303
    assert "Ana has the badge." in (await client.get("/communities/maths/badges")).text
    holders = await client.get(achievement)
    assert "/awards/" in holders.text and ">Ana</a>" in holders.text


async def test_a_member_curates_and_exports_a_portfolio(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    await sign_in(client, "ana", PASSWORD)
    editor = await client.get("/account/portfolio")
    post_key = re.search(r'<option value="([0-9a-f]{16})">Pythagoras', editor.text)
    assert post_key
    token = await csrf_of(client, "/account/portfolio")
    for data in (
        {"kind": "post", "ref_post": post_key.group(1), "narrative": "My first *real* proof"},
        {"kind": "reflection", "title": "Looking back", "narrative": "I learnt to be precise."},
        {"kind": "reflection", "narrative": "Only for members", "visibility": "members"},
    ):
        added = await client.post("/account/portfolio", data={"csrf_token": token, **data})
        assert added.status_code == 303, added.text
    mine = await client.get("/members/ana/portfolio")
    assert "My first <em>real</em> proof" in mine.text and "Only for members" in mine.text
    entries = re.findall(
        r'id="entry-([0-9a-f]{16})"', (await client.get("/account/portfolio")).text
    )
    assert len(entries) == 3
    moved = await client.post(
        f"/account/portfolio/{entries[2]}", data={"csrf_token": token, "action": "up"}
    )
    assert moved.status_code == 303
    export = await client.get("/account/portfolio/export.zip")
    assert export.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert "portfolio.json" in names and any(n.startswith("posts/") for n in names)

    client.cookies.clear()
    public = await client.get("/members/ana/portfolio")
    assert "Looking back" in public.text and "Only for members" not in public.text
    featured = await client.get(
        "/members/ana/featured", headers={"Accept": "application/activity+json"}
    )
    titles = [item.get("name") for item in featured.json()["orderedItems"]]
    assert titles == ["Pythagoras", "Looking back"]
    profile = await client.get("/members/ana")
    assert 'href="/members/ana/portfolio"' in profile.text
