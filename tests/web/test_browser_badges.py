"""Badges in a real browser: a steward defines, awards and revokes; anyone can verify."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from node import communities, members
from node.runtime import open_node
from node.settings import Settings
from tests.servers import RunningNode, free_port, loopback_settings, serve
from tests.web.browser import browser, off_loop, signed_in  # noqa: F401

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password"


async def _seed(settings: Settings) -> None:
    node = await open_node(settings)
    try:
        async with node.transaction() as tx:
            maths = await communities.add(tx, "maths", title="Maths Circle")
            mira = await members.add(tx, "mira", display_name="Mira", password=PASSWORD)
            ana = await members.add(tx, "ana", display_name="Ana", password=PASSWORD)
            (await communities.join(tx, maths, mira)).role = "steward"
            await communities.join(tx, maths, ana)
    finally:
        await node.close()


@pytest.fixture
def school(make_database: Callable[[], str], tmp_path: Path) -> Iterator[RunningNode]:
    """A node whose Maths Circle has Mira as a steward and Ana as a member."""
    settings = loopback_settings(off_loop(make_database), tmp_path, free_port())
    off_loop(asyncio.run, _seed(settings))
    with serve(settings, tmp_path / "node") as node:
        yield node


def test_a_steward_awards_a_badge_anyone_verifies_it_and_revoking_shows(
    school: RunningNode,
    browser: Browser,  # noqa: F811
) -> None:
    mira = signed_in(browser, school.url, "mira", PASSWORD)
    mira.goto(school.url + "/communities/maths")
    mira.get_by_role("link", name="Badges of this community").click()
    define = mira.get_by_role("region", name="Define a badge")
    define.get_by_label("Name", exact=True).fill("Proof Writer")
    define.get_by_label("Short name").fill("proofs")
    define.get_by_label("Description").fill("Writes proofs others can check.")
    define.get_by_label("Criteria").fill("Three **checked** proofs.")
    define.get_by_role("button", name="Define the badge").click()
    expect(mira.get_by_role("status")).to_have_text("The badge is defined.")
    expect(mira.get_by_role("heading", level=1)).to_have_text("Proof Writer")
    expect(mira.locator(".content strong")).to_have_text("checked")

    award = mira.get_by_role("region", name="Award this badge")
    award.get_by_label(re.compile(r"^To\b")).fill("ana")
    award.get_by_role("button", name="Award and sign").click()
    expect(mira.get_by_role("status").first).to_have_text("The badge is awarded to Ana.")
    verification_url = mira.url
    assert re.fullmatch(re.escape(school.url) + r"/awards/[0-9a-f]+", verification_url)

    # The verification page is public: a visitor reads, in plain words, who gave what to whom.
    visitor = browser.new_context().new_page()
    visitor.goto(verification_url)
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Proof Writer")
    handle = f"@ana@{school.settings.domain}"
    expect(visitor.locator("p.statement")).to_have_text(
        re.compile(
            rf"Maths Circle\s+awarded the badge “Proof Writer”\s+to Ana \({handle}\)\s+"
            r"on \d+ \w+ \d{4}\."
        )
    )
    verdict = visitor.locator("p.verified")
    expect(verdict).to_contain_text("The signature checks out")
    expect(verdict).to_contain_text("signed by Maths Circle")
    expect(verdict).to_contain_text("The issuer's status list says it is not revoked.")
    expect(visitor.get_by_role("button", name="Revoke")).to_have_count(0)  # stewards only

    # Ana shows the badge in her portfolio.
    ana = signed_in(browser, school.url, "ana", PASSWORD)
    ana.goto(school.url + "/account/portfolio")
    ana.get_by_label("A badge I received").check()
    ana.get_by_label("Badge", exact=True).select_option(label="Proof Writer (Maths Circle)")
    ana.get_by_role("button", name="Add", exact=True).click()
    expect(ana.get_by_role("status")).to_have_text("Added to your portfolio.")
    entry = visitor.locator("section.portfolio-entry")
    visitor.goto(school.url + "/members/ana/portfolio")
    expect(entry).to_contain_text("Badge “Proof Writer” from Maths Circle")
    expect(entry.get_by_role("link", name="“Proof Writer”")).to_have_attribute(
        "href", verification_url.removeprefix(school.url)
    )

    mira.get_by_role("region", name="Revoke this badge").get_by_label("Why").fill("copied proof")
    mira.get_by_role("button", name="Revoke").click()
    expect(mira.get_by_role("status")).to_have_text("The badge is revoked.")
    visitor.goto(verification_url)
    expect(visitor.get_by_role("alert")).to_contain_text("This credential does not verify: revoked")
    expect(visitor.locator("p.verified")).to_have_count(0)
    expect(
        visitor.get_by_text(re.compile(r"^Revoked on \d+ \w+ \d{4}: copied proof$"))
    ).to_be_visible()
    visitor.goto(school.url + "/members/ana/portfolio")
    expect(entry).to_have_count(0)
