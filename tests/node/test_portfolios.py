"""Portfolios: curating entries, order and visibility, the featured collection, the ZIP export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image

from federation import baking
from node import achievements, awards, collections, communities, media, members, portfolios, posts
from node.errors import Forbidden, InvalidInput
from node.runtime import Node, Tx
from storage.models import Member


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 40)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


async def people(tx: Tx) -> tuple[Member, Member]:
    ana = await members.add(tx, "ana", display_name="Ana")
    ana.default_license = "CC-BY-4.0"
    bea = await members.add(tx, "bea")
    return ana, bea


async def test_entries_are_the_owners_own_in_the_order_they_choose(node: Node) -> None:
    async with node.transaction() as tx:
        ana, bea = await people(tx)
        mine = await posts.create(tx, ana, posts.Draft("My lesson plan", title="Plan"))
        theirs = await posts.create(tx, bea, posts.Draft("Bea's"))
        first = await portfolios.add(
            tx, ana, "post", ref=mine.url or "", narrative="Why it *worked*"
        )
        with pytest.raises(Forbidden):
            await portfolios.add(tx, ana, "post", ref=theirs.key)
        with pytest.raises(InvalidInput, match="unknown portfolio entry kind"):
            await portfolios.add(tx, ana, "video", ref=mine.key)
        with pytest.raises(InvalidInput, match="needs some text"):
            await portfolios.add(tx, ana, "reflection")
        second = await portfolios.add(tx, ana, "reflection", title="Week 1", narrative="I learnt.")
        third = await portfolios.add(
            tx, ana, "reflection", narrative="Private thoughts", visibility="members"
        )
        assert [e.key for e in await portfolios.entries(tx, ana, ana)] == [
            first.key,
            second.key,
            third.key,
        ]
        await portfolios.move(tx, ana, third.key, -5)
        assert [e.key for e in await portfolios.entries(tx, ana, ana)][0] == third.key
        await portfolios.reorder(tx, ana, [second.key, first.key, third.key])
        with pytest.raises(InvalidInput, match="every entry"):
            await portfolios.reorder(tx, ana, [second.key])
        assert [e.key for e in await portfolios.entries(tx, ana, None)] == [second.key, first.key]
        assert [e.key for e in await portfolios.entries(tx, ana, bea)] == [
            second.key,
            first.key,
            third.key,
        ]
        # A public reflection is published as a post with the member's default licence.
        assert second.post is not None and second.post.license == "CC-BY-4.0"
        assert third.post is None and third.license == "CC-BY-4.0"
        assert portfolios.narrative_html(first) == "<p>Why it <em>worked</em></p>\n"
        await portfolios.update(
            tx, first, title="Plan", narrative="Better words", visibility="members"
        )
        assert [e.key for e in await portfolios.entries(tx, ana, None)] == [second.key]
        await portfolios.remove(tx, second)
        assert [e.key for e in await portfolios.entries(tx, ana, ana)] == [first.key, third.key]


async def test_the_featured_collection_lists_public_posts_as_notes(node: Node) -> None:
    async with node.transaction() as tx:
        ana, _bea = await people(tx)
        post = await posts.create(tx, ana, posts.Draft("Shown", title="Shown"))
        hidden = await posts.create(tx, ana, posts.Draft("Hidden"))
        await portfolios.add(tx, ana, "post", ref=post.key)
        await portfolios.add(tx, ana, "post", ref=hidden.key, visibility="members")
        await portfolios.add(tx, ana, "reflection", narrative="Kept inside", visibility="members")
        featured = await collections.collection(tx, ana.actor, "featured", None)
    assert featured["id"] == "https://school.example/members/ana/featured"
    assert featured["type"] == "OrderedCollection"
    assert featured["totalItems"] == 1
    (note,) = featured["orderedItems"]
    assert note["id"] == post.uri and note["type"] == "Note"
    assert note["attributedTo"] == ana.actor.uri
    assert note["license"] == "https://creativecommons.org/licenses/by/4.0/"


async def test_badges_in_a_portfolio_and_the_zip_export(node: Node) -> None:
    async with node.transaction() as tx:
        ana, bea = await people(tx)
        maths = await communities.add(tx, "maths", title="Maths")
        badge = await achievements.define(
            tx, None, maths, "proofs", name="Proof Writer", criteria="c", image=("b.png", PNG)
        )
        award = await awards.award(tx, None, badge, ana.actor)
        other = await awards.award(tx, None, badge, bea.actor)
        with pytest.raises(Forbidden):
            await portfolios.add(tx, ana, "badge", ref=other.key)
        upload = await media.store(
            tx, ana.actor, "diagram.png", PNG, alt_text="A diagram", licence="CC-BY-SA-4.0"
        )
        await portfolios.add(tx, ana, "file", ref=upload.key, narrative="My diagram")
        post = await posts.create(tx, ana, posts.Draft("Worksheet text", title="Worksheet"))
        await portfolios.add(tx, ana, "post", ref=post.key)
        await portfolios.add(tx, ana, "badge", ref=award.key, narrative="Earned in May")
        await portfolios.add(tx, ana, "reflection", narrative="Quiet", visibility="members")
        data = await portfolios.export_zip(tx, ana)
        credential = award.credential
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    assert {
        "portfolio.json",
        "README.txt",
        f"credentials/{award.key}.json",
        f"badges/{award.key}.png",
        f"artifacts/{upload.key}-diagram.png",
        f"posts/{post.key}.md",
    } <= names
    assert json.loads(archive.read(f"credentials/{award.key}.json")) == credential
    baked = archive.read(f"badges/{award.key}.png")
    assert json.loads(baking.extract_png(baked)) == credential
    assert archive.read(f"artifacts/{upload.key}-diagram.png") == PNG
    manifest = json.loads(archive.read("portfolio.json"))
    kinds = [entry["kind"] for entry in manifest["entries"]]
    assert kinds == ["file", "post", "badge", "reflection"]
    diagram = manifest["entries"][0]
    assert diagram["licence"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert diagram["narrative"] == "My diagram"
    assert manifest["entries"][2]["badge"] == "Proof Writer"
    assert "Worksheet by Ana, CC BY 4.0" in archive.read(f"posts/{post.key}.md").decode()
    reflection = [n for n in names if n.startswith("reflections/")]
    assert reflection and "CC BY 4.0" in archive.read(reflection[0]).decode()


async def test_a_revoked_badge_leaves_the_public_portfolio(node: Node) -> None:
    async with node.transaction() as tx:
        ana, _bea = await people(tx)
        maths = await communities.add(tx, "maths", title="Maths")
        badge = await achievements.define(tx, None, maths, "p", name="P", criteria="c")
        award = await awards.award(tx, None, badge, ana.actor)
        entry = await portfolios.add(tx, ana, "badge", ref=award.key)
        await awards.revoke(tx, None, award, "mistake")
        assert await portfolios.entries(tx, ana, None) == []
        assert [e.key for e in await portfolios.entries(tx, ana, ana)] == [entry.key]
        with pytest.raises(InvalidInput, match="revoked"):
            await portfolios.add(tx, ana, "badge", ref=award.key)
