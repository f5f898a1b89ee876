"""Following outward through the real web forms, across two real Guildhall nodes over HTTP."""

from __future__ import annotations

import io
import re
from contextlib import closing

import httpx
import pytest

from tests.interop.conftest import Nodes, cli, eventually, get_json
from tests.servers import RunningNode

pytestmark = pytest.mark.federation

PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)


def _add_member(node: RunningNode, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli(node, "member", "add", name, "--password-stdin") == 0


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


def test_a_member_searches_follows_and_unfollows_a_remote_community(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    school, ngo = nodes.start("school"), nodes.start("ngo")
    _add_member(school, "ana", monkeypatch)
    assert cli(ngo, "community", "add", "robotics", "--title", "Robotics") == 0
    robotics = ngo.url + "/communities/robotics"

    with closing(_signed_in(school, "ana")) as ana:
        found = ana.get("/search", params={"q": f"@robotics@{ngo.settings.domain}"})
        assert found.status_code == 200, found.text
        assert "Robotics" in found.text and f"@robotics@{ngo.settings.domain}" in found.text
        follow = _form(found, "/follow")
        assert follow["uri"] == robotics
        assert ana.post("/follow", data=follow).status_code == 303

        # The community accepts on its own; both sides then agree on the follow.
        followers = robotics + "/followers"
        eventually(lambda: get_json(followers)["totalItems"] == 1)
        assert get_json(followers, page=1)["orderedItems"] == [school.url + "/members/ana"]
        eventually(lambda: "Following" in ana.get("/following").text)
        following = get_json(school.url + "/members/ana/following", page=1)
        assert following["orderedItems"] == [robotics]
        profile = ana.get("/@robotics@" + ngo.settings.domain)
        assert profile.status_code == 200 and "Unfollow" in profile.text

        # A member of the other node posts in the community, which re-shares it to followers.
        assert cli(ngo, "member", "add", "bo", "--display-name", "Bo") == 0
        text = "Servo calibration tips for the line follower"
        assert cli(ngo, "post", "--as", "bo", "--community", "robotics", "--license",
                   "CC-BY-SA-4.0", text) == 0  # fmt: skip
        home = eventually(lambda: (page := ana.get("/home")) and text in page.text and page)
        assert "Bo" in home.text and "CC BY-SA 4.0" in home.text
        thread = re.search(r'<a href="(/posts/[0-9a-f]+)[^"]*">Open', home.text)
        assert thread and text in ana.get(thread.group(1)).text

        assert ana.post("/unfollow", data=_form(ana.get("/following"), "/unfollow")).is_redirect
        eventually(lambda: get_json(followers)["totalItems"] == 0)
        assert "You do not follow anyone yet" in ana.get("/following").text


def test_a_closed_community_approves_a_remote_follower_from_the_cli(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    school, ngo = nodes.start("school"), nodes.start("ngo")
    _add_member(school, "ana", monkeypatch)
    assert cli(ngo, "community", "add", "staff", "--title", "Staff", "--closed") == 0
    staff = f"@staff@{ngo.settings.domain}"
    with closing(_signed_in(school, "ana")) as ana:
        found = ana.get("/search", params={"q": staff})
        assert "approves followers by hand" in found.text
        assert ana.post("/follow", data=_form(found, "/follow")).status_code == 303
        assert "Requested" in ana.get("/following").text

        capsys.readouterr()
        ana_handle = f"ana@{school.settings.domain}"
        eventually(lambda: cli(ngo, "followers", "pending", "staff") == 0
                   and ana_handle in capsys.readouterr().out)  # fmt: skip
        assert cli(ngo, "followers", "approve", "staff", ana_handle) == 0
        assert f"{ana_handle} now follows staff" in capsys.readouterr().out
        eventually(lambda: "Following" in ana.get("/following").text)
        assert get_json(ngo.url + "/communities/staff/followers")["totalItems"] == 1

        assert cli(ngo, "followers", "approve", "staff", ana_handle) == 2  # nothing pending now
        assert cli(school, "unfollow", "--as", "ana", staff) == 0
        eventually(lambda: get_json(ngo.url + "/communities/staff/followers")["totalItems"] == 0)
        assert "You do not follow anyone yet" in ana.get("/following").text
