"""Adapt / remix in a real browser: the licence a derivative may carry, its credit, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from node import communities, members, posts
from node.runtime import open_node
from node.settings import Settings
from tests.interop.conftest import get_json
from tests.servers import RunningNode, free_port, loopback_settings, serve
from tests.web.browser import browser, off_loop, signed_in  # noqa: F401

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password"


async def _seed(settings: Settings) -> None:
    node = await open_node(settings)
    try:
        async with node.transaction() as tx:
            robotics = await communities.add(tx, "robotics", title="Robotics teachers")
            ana = await members.add(tx, "ana", display_name="Ana Díaz", password=PASSWORD)
            await members.add(tx, "bo", display_name="Bo", password=PASSWORD)
            await communities.join(tx, robotics, ana)
            for title, licence in (
                ("Line follower in one lesson", "CC-BY-SA-4.0"),
                ("Gear ratios worksheet", "CC-BY-ND-4.0"),
            ):
                draft = posts.Draft(
                    "Two light sensors.", title=title, community=robotics, licence=licence
                )
                await posts.create(tx, ana, draft)
    finally:
        await node.close()


@pytest.fixture
def school(make_database: Callable[[], str], tmp_path: Path) -> Iterator[RunningNode]:
    """A node where Ana posted a share-alike lesson and a no-derivatives worksheet."""
    settings = loopback_settings(off_loop(make_database), tmp_path, free_port())
    off_loop(asyncio.run, _seed(settings))
    with serve(settings, tmp_path / "node") as node:
        yield node


def test_a_member_adapts_a_share_alike_post_and_is_told_why_a_no_derivatives_one_is_refused(
    school: RunningNode,
    browser: Browser,  # noqa: F811
) -> None:
    bo = signed_in(browser, school.url, "bo", PASSWORD)
    bo.goto(school.url + "/communities/robotics")
    source = bo.locator("article.post", has_text="Line follower in one lesson")
    path = source.get_by_role("link", name="Line follower in one lesson").get_attribute("href")
    assert path is not None and path.startswith("/posts/")
    source_url = school.url + path
    source.get_by_role("link", name="Adapt / remix").click()

    expect(bo.get_by_role("heading", level=1)).to_have_text("Adapt or remix")
    expect(bo.locator("ul.credits")).to_have_text(
        "“Line follower in one lesson” by Ana Díaz, CC BY-SA 4.0"
    )
    expect(bo.get_by_text("is share-alike: your adaptation must use CC BY-SA 4.0.")).to_be_visible()
    # Share-alike leaves one licence: it is stated, not offered in a picker.
    expect(bo.get_by_label("Licence", exact=True)).to_have_count(0)
    expect(bo.get_by_role("combobox")).to_have_count(0)
    expect(bo.locator("main a[rel=license]")).to_have_text("CC BY-SA 4.0")
    bo.get_by_label("Title").fill("Line follower with three sensors")
    draft = bo.get_by_label("Your adaptation")
    expect(draft).to_have_value(
        "---\nBased on:\n"
        f"- [Line follower in one lesson]({source_url}) by Ana Díaz, "
        "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/)\n"
    )
    draft.fill("A third sensor handles sharp curves.\n\n" + draft.input_value())
    bo.get_by_role("button", name="Publish adaptation").click()

    expect(bo.get_by_role("status")).to_have_text("Your adaptation is published with its credits.")
    adaptation = bo.locator("article.post", has_text="Line follower with three sensors")
    expect(adaptation.locator("a[rel=author]")).to_have_text("Bo")
    expect(adaptation.locator("a[rel=license]")).to_have_text("CC BY-SA 4.0")
    credit = adaptation.locator(".content li")
    expect(credit).to_have_text("Line follower in one lesson by Ana Díaz, CC BY-SA 4.0")
    expect(credit.get_by_role("link", name="Line follower in one lesson")).to_have_attribute(
        "href", source_url
    )
    expect(adaptation.locator(".based-on a")).to_have_attribute("href", source_url)
    document = get_json(bo.url.split("#")[0])
    assert document["isBasedOn"] == [source_url]
    assert document["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"

    bo.goto(school.url + "/communities/robotics")
    worksheet = bo.locator("article.post", has_text="Gear ratios worksheet")
    worksheet.get_by_role("link", name="Adapt / remix").click()
    expect(bo.get_by_role("alert")).to_have_text(
        "“Gear ratios worksheet” by Ana Díaz is under CC BY-ND 4.0, which allows no adaptations "
        "(ND, no derivatives). You can still share it or quote it with its credit."
    )
    expect(bo.get_by_role("button", name="Publish adaptation")).to_have_count(0)
