"""Follow-ups across modules: profile links queued for checking, withdrawn badges, community rules.

Each test goes through the public entry point a real change takes (members.update_profile, the
inbox handlers, communities.update) and asserts what another part of the node then sees.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from node import identity, members
from node.runtime import Node
from storage.models import LinkCheck
from tests.node.test_identity import Clock, Web, world

__all__ = ["world"]  # fixtures shared with other test modules
PROFILE = "https://school.example/members/ana"
BACK_LINK = f'<html><head><link rel="me" href="{PROFILE}"></head></html>'


# --- profile links: saved links are queued for their rel="me" check -------------------------


async def links_of(node: Node) -> dict[str, LinkCheck]:
    async with node.transaction() as tx:
        return {check.url: check for check in await tx.session.scalars(select(LinkCheck))}


async def save_links(node: Node, *links: tuple[str, str]) -> None:
    async with node.transaction() as tx:
        ana = await members.get(tx, "ana")
        await members.update_profile(
            tx, ana, display_name="Ana", bio="", default_license=None, links=list(links)
        )


async def test_saving_a_profile_queues_new_and_changed_links_for_verification(
    world: tuple[Node, Web, Clock],
) -> None:
    node, web, clock = world
    for url in ("https://blog.example/", "https://code.example/ana", "https://code.example/a"):
        web.pages[url] = httpx.Response(200, html=BACK_LINK)
    async with node.transaction() as tx:
        await members.add(tx, "ana")
    await save_links(node, ("Blog", "https://blog.example/"))
    # Nobody has viewed the profile: the save alone makes the worker check the new link.
    assert await identity.check_due(node) == 1
    assert (await links_of(node))["https://blog.example/"].verified_at == clock.now

    clock.now += timedelta(hours=1)
    await save_links(node, ("Blog", "https://blog.example/"), ("Code", "https://code.example/ana"))
    checks = await links_of(node)
    assert checks["https://code.example/ana"].next_check_at == clock.now  # new: due now
    assert checks["https://blog.example/"].verified_at is not None  # unchanged: keeps its mark
    assert await identity.check_due(node) == 1

    clock.now += timedelta(hours=1)
    await save_links(node, ("Blog", "https://blog.example/"), ("Code", "https://code.example/a"))
    checks = await links_of(node)
    assert set(checks) == {"https://blog.example/", "https://code.example/a"}
    assert checks["https://code.example/a"].verified_at is None
    assert checks["https://code.example/a"].next_check_at == clock.now
    assert await identity.check_due(node) == 1
    async with node.transaction() as tx:
        verified = await identity.verified_links(tx, await members.get(tx, "ana"))
    assert set(verified) == {"https://blog.example/", "https://code.example/a"}
