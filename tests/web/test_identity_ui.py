"""Pages for identity and licences: verified links, fingerprints, adapt/remix and the archive."""

from __future__ import annotations

import io
import zipfile

import httpx
from sqlalchemy import select

from node import identity, members, posts
from node.runtime import Node
from storage.models import LinkCheck
from tests.web.conftest import csrf_of, sign_in

PASSWORD = "correct horse battery staple"


async def _setup(node: Node) -> dict[str, str]:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana", display_name="Ana Díaz", password=PASSWORD)
        ben = await members.add(tx, "ben", display_name="Ben", password=PASSWORD)
        await members.update_profile(
            tx,
            ana,
            display_name="Ana Díaz",
            bio="",
            default_license="CC-BY-4.0",
            links=[("Blog", "https://blog.example/"), ("Shop", "https://shop.example/")],
        )
        # Saving the profile queued both links; the blog's check has found its back-link.
        blog = await tx.session.scalar(
            select(LinkCheck).where(LinkCheck.url == "https://blog.example/")
        )
        assert blog is not None
        blog.verified_at = blog.checked_at = tx.now()
        blog.next_check_at = tx.now() + identity.RECHECK_VERIFIED
        nd = await posts.create(tx, ana, posts.Draft(text="Do not change", licence="CC-BY-ND-4.0"))
        sa = await posts.create(
            tx, ana, posts.Draft(text="Change freely", title="Fractions", licence="CC-BY-SA-4.0")
        )
        await posts.create(tx, ben, posts.Draft(text="Ben writes", licence="CC0-1.0"))
        return {
            "nd": nd.uri,
            "sa": sa.uri,
            "sa_key": sa.key,
            "rsa": str(identity.fingerprints(ana.actor).rsa_sha256),
            "ed": str(ana.actor.ed25519_public_multibase),
        }


async def test_a_profile_shows_verified_links_fingerprints_and_member_since(
    node: Node, client: httpx.AsyncClient
) -> None:
    known = await _setup(node)
    page = (await client.get("/members/ana")).text
    assert (
        'href="https://blog.example/" rel="me nofollow noopener">https://blog.example/</a> '
        '<span class="verified"' in page
    )
    assert page.count("✓ verified") == 1  # the shop does not link back
    assert known["rsa"] in page and known["ed"] in page
    assert "Member since" in page


async def test_adapting_an_nd_work_is_refused_with_the_reason(
    node: Node, client: httpx.AsyncClient
) -> None:
    known = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    thread = (await client.get(f"/posts/{known['sa_key']}")).text
    assert "/adapt?source=" in thread and "Adapt / remix" in thread
    refused = await client.get("/adapt", params={"source": known["nd"]})
    assert refused.status_code == 403
    assert "is under CC BY-ND 4.0, which allows no adaptations" in refused.text


async def test_a_share_alike_adaptation_keeps_the_licence(
    node: Node, client: httpx.AsyncClient
) -> None:
    known = await _setup(node)
    await sign_in(client, "ben", PASSWORD)
    form = await client.get("/adapt", params={"source": known["sa"]})
    assert form.status_code == 200
    assert "(required by the works you adapt)" in form.text
    assert "is share-alike: your adaptation must use CC BY-SA 4.0." in form.text
    token = await csrf_of(client, f"/adapt?source={known['sa']}")
    wrong = await client.post(
        "/adapt",
        data={"csrf_token": token, "source": known["sa"], "text": "Mine", "licence": "CC0-1.0"},
    )
    assert wrong.status_code == 400
    assert "cannot use CC0 1.0: choose CC BY-SA 4.0" in wrong.text
    done = await client.post(
        "/adapt",
        data={
            "csrf_token": token,
            "source": known["sa"],
            "text": "Mine",
            "licence": "CC-BY-SA-4.0",
        },
    )
    assert done.status_code == 303
    page = (await client.get(done.headers["location"])).text
    assert "CC BY-SA 4.0" in page and f'Adapted from <a href="{known["sa"]}"' in page
    assert "Fractions" in page and "Ana Díaz" in page  # the credit block


async def test_the_archive_downloads_for_its_member_only(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _setup(node)
    anonymous = await client.get("/account/export")
    assert anonymous.status_code == 303
    await sign_in(client, "ana", PASSWORD)
    archive = await client.get("/account/export")
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"].startswith('attachment; filename="ana-')
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        names = opened.namelist()
        licences = opened.read("LICENSES.md").decode()
    assert len([n for n in names if n.startswith("posts/")]) == 2
    assert "Ben writes" not in licences and "CC BY-ND 4.0" in licences
    identity_page = await client.get("/account/identity")
    assert "https://shop.example/" in identity_page.text and "not checked yet" in identity_page.text
