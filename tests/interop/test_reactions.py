"""Likes and reports across two real Guildhall nodes, through the web forms, over HTTP."""

from __future__ import annotations

import io
import re
from contextlib import closing

import httpx
import pytest

from tests.interop.conftest import Nodes, cli, eventually
from tests.servers import RunningNode

pytestmark = pytest.mark.federation

PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)


def _add_member(
    node: RunningNode, name: str, monkeypatch: pytest.MonkeyPatch, *options: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli(node, "member", "add", name, "--password-stdin", *options) == 0


def _signed_in(node: RunningNode, name: str) -> httpx.Client:
    browser = httpx.Client(base_url=node.url, timeout=20)
    match = CSRF.search(browser.get("/sign-in").text)
    assert match
    answer = browser.post(
        "/sign-in",
        data={"csrf_token": match.group(1), "name": name, "password": PASSWORD, "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return browser


def _form(page: httpx.Response, action: str) -> dict[str, str]:
    for target, body in FORM.findall(page.text):
        if target == action:
            return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', body))
    raise AssertionError(f"no form posting to {action}")


def test_a_like_and_a_report_cross_to_the_other_node(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    school, ngo = nodes.start("school"), nodes.start("ngo")
    _add_member(school, "ana", monkeypatch)
    _add_member(ngo, "bea", monkeypatch)
    _add_member(ngo, "mo", monkeypatch, "--role", "moderator")
    capsys.readouterr()
    assert cli(ngo, "post", "--as", "bea", "--title", "Gear ratios", "Two gears mesh.") == 0
    post_url = capsys.readouterr().out.strip().splitlines()[-1]
    ngo_key = post_url.rsplit("/", 1)[1]
    reactions_on_ngo = f"{ngo.url}/posts/{ngo_key}/reactions"

    with closing(_signed_in(school, "ana")) as ana:
        # Ana pastes the address of Bea's post: the school fetches it (signed) and keeps a copy.
        opened = ana.get("/open-post", params={"url": post_url})
        assert opened.status_code == 303, opened.text
        local = opened.headers["location"]
        assert "Two gears mesh." in ana.get(local).text
        key = local.rsplit("/", 1)[1]
        page = ana.get(f"/posts/{key}/reactions")
        assert ana.post(f"/posts/{key}/like", data=_form(page, f"/posts/{key}/like")).is_redirect
        eventually(lambda: "1 like · 0 boosts" in httpx.get(reactions_on_ngo).text)
        assert f"@ana@{school.settings.domain}" in httpx.get(reactions_on_ngo).text

        page = ana.get(f"/posts/{key}/reactions")
        unlike = _form(page, f"/posts/{key}/unlike")
        assert ana.post(f"/posts/{key}/unlike", data=unlike).is_redirect
        eventually(lambda: "0 likes · 0 boosts" in httpx.get(reactions_on_ngo).text)

        # Ana reports the post: a Flag from the school's instance actor reaches the NGO.
        report = _form(ana.get("/report", params={"uri": post_url}), "/report")
        report.update(uri=post_url, comment="copied without credit")
        sent = ana.post("/report", data=report)
        assert sent.status_code == 303, sent.text
        assert "without your name" in ana.get("/").text

    with closing(_signed_in(ngo, "mo")) as mo:
        moderation = eventually(
            lambda: (
                (page := mo.get("/moderation")).status_code == 200
                and "copied without credit" in page.text
                and page
            )
        )
        assert f"/posts/{ngo_key}" in moderation.text
        assert f"@{school.settings.domain}@{school.settings.domain}" in moderation.text  # reporter
        assert "@ana@" not in moderation.text  # the member who reported stays anonymous
        assert re.search(r'title="unread">1<', mo.get("/").text)
