"""Profile changes travel: a community's new title and lock reach a following node as Update."""

from __future__ import annotations

import io
import re

import httpx
import pytest

from tests.interop.conftest import Nodes, cli, eventually, get_json

pytestmark = pytest.mark.federation
PASSWORD = "a long enough password"


def test_a_community_update_refreshes_the_copy_on_a_following_node(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    school, ngo = nodes.start("school"), nodes.start("ngo")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli(school, "member", "add", "ana", "--password-stdin") == 0
    assert cli(ngo, "community", "add", "robotics", "--title", "Robotics") == 0
    assert cli(school, "follow", "--as", "ana", f"@robotics@{ngo.settings.domain}") == 0
    eventually(lambda: get_json(ngo.url + "/communities/robotics/followers")["totalItems"] == 1)

    assert (
        cli(ngo, "community", "set", "robotics", "--title", "Robotics and Making", "--closed") == 0
    )

    with httpx.Client(base_url=school.url, timeout=20) as browser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/sign-in").text)
        assert token
        browser.post(
            "/sign-in",
            data={"csrf_token": token.group(1), "name": "ana", "password": PASSWORD, "next": "/"},
        )
        profile = ngo.url + "/communities/robotics"

        def refreshed() -> bool:
            page = browser.get("/actors", params={"uri": profile})
            return page.status_code == 200 and "Robotics and Making" in page.text

        eventually(refreshed)
