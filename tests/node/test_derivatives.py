"""Adapting and remixing: ND and unlicensed works refused, SA kept, NC propagated, credit given."""

from __future__ import annotations

import pytest

from node import communities, derivatives, documents, members, posts
from node.derivatives import NotAdaptable
from node.errors import Forbidden
from node.runtime import Node, Tx
from storage.models import Member, Post


async def _work(tx: Tx, author: Member, licence: str, title: str = "Fractions") -> Post:
    return await posts.create(
        tx, author, posts.Draft(text="A lesson", title=title, licence=licence)
    )


async def _people(tx: Tx) -> tuple[Member, Member]:
    ana = await members.add(tx, "ana", display_name="Ana Díaz")
    ben = await members.add(tx, "ben", display_name="Ben")
    return ana, ben


async def test_an_nd_work_cannot_be_adapted_and_the_refusal_says_why(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        work = await _work(tx, ana, "CC-BY-ND-4.0")
        with pytest.raises(NotAdaptable) as refused:
            await derivatives.plan(tx, ben, [work.uri])
    assert "“Fractions” by Ana Díaz is under CC BY-ND 4.0" in refused.value.reason
    assert "allows no adaptations" in refused.value.reason
    assert "share it or quote it" in refused.value.reason
    assert isinstance(refused.value, Forbidden)


async def test_an_unlicensed_work_cannot_be_adapted(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        work = await _work(tx, ana, "none")
        with pytest.raises(NotAdaptable) as refused:
            await derivatives.plan(tx, ben, [work.uri])
    assert "has no licence, so all rights are reserved" in refused.value.reason


async def test_a_share_alike_adaptation_cannot_pick_another_licence(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        ben.default_license = "CC-BY-4.0"
        work = await _work(tx, ana, "CC-BY-SA-4.0")
        plan = await derivatives.plan(tx, ben, [work.uri])
        assert plan.forced is not None and plan.forced.spdx_id == "CC-BY-SA-4.0"
        assert plan.suggested.spdx_id == "CC-BY-SA-4.0"
        assert plan.rules == (
            "“Fractions” by Ana Díaz is share-alike: your adaptation must use CC BY-SA 4.0.",
        )
        with pytest.raises(NotAdaptable) as refused:
            await derivatives.publish(tx, ben, [work.uri], text="My version", licence="CC-BY-4.0")
        assert "cannot use CC BY 4.0: choose CC BY-SA 4.0" in refused.value.reason
        adapted = await derivatives.publish(tx, ben, [work.uri], text="My version")
    assert adapted.license == "CC-BY-SA-4.0"


async def test_non_commercial_propagates_and_by_leaves_the_choice_open(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        nc = await _work(tx, ana, "CC-BY-NC-4.0")
        by = await _work(tx, ana, "CC-BY-4.0", title="Decimals")
        nc_plan = await derivatives.plan(tx, ben, [nc.uri])
        by_plan = await derivatives.plan(tx, ben, [by.uri])
        with pytest.raises(NotAdaptable):
            await derivatives.publish(tx, ben, [nc.uri], text="x", licence="CC-BY-SA-4.0")
    assert {c.spdx_id for c in nc_plan.allowed} == {
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-NC-ND-4.0",
    }
    assert "non-commercial" in nc_plan.rules[0]
    assert by_plan.forced is None and by_plan.rules == ()
    assert {"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "MIT"} <= {c.spdx_id for c in by_plan.allowed}


async def test_several_sources_are_intersected(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        nc = await _work(tx, ana, "CC-BY-NC-4.0")
        sa = await _work(tx, ana, "CC-BY-SA-4.0", title="Decimals")
        nc_sa = await _work(tx, ana, "CC-BY-NC-SA-4.0", title="Ratios")
        both = await derivatives.plan(tx, ben, [nc.uri, nc_sa.uri])
        with pytest.raises(NotAdaptable) as refused:
            await derivatives.plan(tx, ben, [nc.uri, sa.uri])
    assert [c.spdx_id for c in both.allowed] == ["CC-BY-NC-SA-4.0"]
    assert refused.value.reason.startswith("These works cannot be combined")
    assert "share-alike" in refused.value.reason and "non-commercial" in refused.value.reason


async def test_software_licences_follow_their_kind(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        gpl = await _work(tx, ana, "GPL-3.0-or-later")
        mit = await _work(tx, ana, "MIT", title="Script")
        gpl_plan = await derivatives.plan(tx, ben, [gpl.uri])
        mit_plan = await derivatives.plan(tx, ben, [mit.uri])
    assert [c.spdx_id for c in gpl_plan.allowed] == ["GPL-3.0-or-later"]
    assert "copyleft" in gpl_plan.rules[0]
    assert mit_plan.forced is None


async def test_the_adaptation_credits_its_sources_on_the_wire_and_in_the_text(node: Node) -> None:
    async with node.transaction() as tx:
        ana, ben = await _people(tx)
        first = await _work(tx, ana, "CC-BY-4.0")
        second = await _work(tx, ana, "CC0-1.0", title="Decimals")
        plan = await derivatives.plan(tx, ben, [first.uri, second.uri])
        assert plan.credits.splitlines()[1:] == [
            "---",
            "Based on:",
            f"- [Fractions]({first.uri}) by Ana Díaz, "
            "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/)",
            f"- [Decimals]({second.uri}) by Ana Díaz, "
            "[CC0 1.0](https://creativecommons.org/publicdomain/zero/1.0/)",
        ]
        # The author deleted the credit block: it comes back, because BY requires it.
        adapted = await derivatives.publish(
            tx, ben, [first.uri, second.uri], text="Both, merged", licence="CC-BY-SA-4.0"
        )
        note = documents.note_document(tx, adapted)
    assert adapted.based_on == [first.uri, second.uri]
    assert note["isBasedOn"] == [first.uri, second.uri]
    assert f'href="{first.uri}"' in note["content"] and "Ana Díaz" in note["content"]
    assert note["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"


async def test_a_community_refuses_posts_below_its_minimum_openness(node: Node) -> None:
    async with node.transaction() as tx:
        ana, _ = await _people(tx)
        oer = await communities.add(tx, "oer", title="Open lessons", minimum_openness="free")
        for spdx in ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0"):
            await posts.create(tx, ana, posts.Draft(text="ok", community=oer, licence=spdx))
        for spdx in ("CC-BY-NC-4.0", "CC-BY-ND-4.0", "none", "MIT"):
            with pytest.raises(Forbidden) as refused:
                await posts.create(tx, ana, posts.Draft(text="no", community=oer, licence=spdx))
            assert refused.value.reason.startswith("Open lessons accepts only CC0")
        shared = await communities.add(tx, "share", title="Sharing", minimum_openness="shared")
        await posts.create(
            tx, ana, posts.Draft(text="ok", community=shared, licence="CC-BY-ND-4.0")
        )
        with pytest.raises(Forbidden) as refused:
            await posts.create(tx, ana, posts.Draft(text="no", community=shared, licence="none"))
    assert "this work has no licence (all rights reserved)" in refused.value.reason
