"""A real browser (Debian's chromium via Playwright) against a real `guildhall serve`."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from node import communities, members
from node.runtime import open_node
from tests.servers import RunningNode, free_port, loopback_settings, serve

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"


async def _seed(settings_: object) -> None:
    node = await open_node(settings_)  # type: ignore[arg-type]
    try:
        async with node.transaction() as tx:
            ana = await members.add(tx, "ana", display_name="Ana Díaz", password=PASSWORD)
            robotics = await communities.add(
                tx, "robotics", title="Robotics teachers", default_license="CC-BY-SA-4.0"
            )
            await communities.join(tx, robotics, ana)
    finally:
        await node.close()


@pytest.fixture
def running(database_url: str, tmp_path: Path) -> Iterator[RunningNode]:
    settings = loopback_settings(database_url, tmp_path, free_port())
    asyncio.run(_seed(settings))
    with serve(settings, tmp_path / "node") as node:
        yield node


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: 'make test' installs it with apt-get")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
            ],
        )
        yield launched
        launched.close()


def test_member_signs_in_posts_with_a_licence_and_sees_it_credited(
    running: RunningNode, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(running.url + "/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(running.url + "/communities/robotics")
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Title").fill("Line follower in one lesson")
    page.get_by_label("Your post").fill("Use **two** light sensors.")
    expect(page.get_by_label("Licence", exact=True)).to_have_value("default")
    page.get_by_label("Licence", exact=True).select_option("CC-BY-4.0")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text("Your post is published.")

    page.goto(running.url + "/communities/robotics")
    thread = page.locator("article.post", has_text="Line follower in one lesson")
    expect(thread).to_be_visible()
    expect(thread.locator("a[rel=author]")).to_have_text("Ana Díaz")
    licence = thread.locator("a[rel=license]")
    expect(licence).to_have_text("CC BY 4.0")
    expect(licence).to_have_attribute("href", "https://creativecommons.org/licenses/by/4.0/")
    expect(thread.locator("strong")).to_have_text("two")
