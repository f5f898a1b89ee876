"""Federation in a real browser: two real nodes, a member follows, reads and likes across them."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.interop.conftest import Nodes, cli
from tests.servers import RunningNode
from tests.web.browser import browser, off_loop, reload_until, signed_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.federation]
PASSWORD = "a long enough password"


@pytest.fixture
def school_and_ngo(
    make_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningNode, RunningNode]]:
    """Two nodes: ana is a member of the school; the NGO runs the robotics community."""
    running = Nodes(partial(off_loop, make_database), tmp_path)
    with running.stack:
        # Started side by side: each `guildhall serve` spends seconds importing and starting.
        with ThreadPoolExecutor(max_workers=2) as starting:
            school, ngo = starting.map(running.start, ("school", "ngo"))
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert off_loop(cli, school, "member", "add", "ana", "--display-name", "Ana",
                        "--password-stdin") == 0  # fmt: skip
        assert off_loop(cli, ngo, "community", "add", "robotics", "--title", "Robotics") == 0
        assert off_loop(cli, ngo, "member", "add", "bo", "--display-name", "Bo") == 0
        yield school, ngo


def test_a_member_follows_a_remote_community_reads_its_posts_and_likes_one(
    school_and_ngo: tuple[RunningNode, RunningNode],
    browser: Browser,  # noqa: F811
) -> None:
    school, ngo = school_and_ngo
    page = signed_in(browser, school.url, "ana", PASSWORD)

    page.get_by_role("link", name="Search").click()
    page.get_by_label("Address").fill(f"@robotics@{ngo.settings.domain}")
    page.get_by_role("button", name="Search").click()
    result = page.get_by_role("region", name="Result")
    expect(result.get_by_role("heading", name="Robotics")).to_be_visible()
    expect(result).to_contain_text(f"@robotics@{ngo.settings.domain} · Community on")
    result.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("status")).to_contain_text("Robotics")
    # The community accepts on its own, through the NGO's worker: Requested becomes Following.
    reload_until(page, result.get_by_role("button", name="Unfollow"))
    expect(result).to_contain_text("Following")

    text = "Servo calibration tips for the line follower"
    assert off_loop(cli, ngo, "post", "--as", "bo", "--community", "robotics",
                    "--license", "CC-BY-SA-4.0", text) == 0  # fmt: skip

    page.get_by_role("link", name="Home timeline").click()
    post = page.locator("article.post", has_text=text)
    reload_until(page, post)
    expect(post.locator("a[rel=author]")).to_have_text("Bo")
    expect(post.locator("a[rel=author]")).to_have_attribute("href", ngo.url + "/members/bo")
    licence = post.locator("a[rel=license]")
    expect(licence).to_have_text("CC BY-SA 4.0")
    expect(licence).to_have_attribute("href", "https://creativecommons.org/licenses/by-sa/4.0/")

    post.get_by_role("button", name="Like", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("You like this post.")
    expect(post.get_by_role("link", name=re.compile(r"^1 like · "))).to_be_visible()
    expect(post.get_by_role("button", name="Unlike")).to_be_visible()

    # The Like travels to the NGO, whose community page counts it too.
    there = browser.new_context().new_page()
    there.goto(ngo.url + "/communities/robotics")
    reload_until(there, there.locator("article.post", has_text=text).get_by_text("1 like"))
