"""Shared pieces of the browser tests: Debian's chromium under Playwright, signing in, waiting.

Playwright's sync API keeps its event loop marked as running on the main thread while the
browser is open, so `asyncio.run` (the CLI, seeding through `open_node`, the PostgreSQL set-up
of `make_database`) fails there: such calls go through `off_loop`. The `browser` fixture depends
on `make_database` so that it closes before the test's databases are dropped.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
P = ParamSpec("P")
T = TypeVar("T")


def off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a function that starts its own asyncio loop on a thread outside Playwright's loop."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(function, *args, **kwargs).result()


@pytest.fixture
def browser(make_database: Callable[[], str]) -> Iterator[Browser]:
    """Debian's chromium, headless, closed before the test's databases are dropped."""
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


def signed_in(browser: Browser, base_url: str, name: str, password: str) -> Page:
    """A page of a fresh browser context, signed in through the real form."""
    page = browser.new_context().new_page()
    page.goto(base_url + "/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def reload_until(page: Page, locator: Locator, timeout: float = 20.0) -> None:
    """Reload the page until the locator shows: another node's worker delivers on its own."""
    deadline = time.monotonic() + timeout
    while locator.count() == 0 or not locator.first.is_visible():
        if time.monotonic() > deadline:
            expect(locator.first).to_be_visible(timeout=1)  # fails with Playwright's message
        time.sleep(0.3)
        page.reload()
