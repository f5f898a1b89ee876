"""Following across two real Guildhall nodes: handles, Follow/Accept, Undo."""

from __future__ import annotations

import pytest

from tests.interop.conftest import Nodes, cli, eventually, get_json

pytestmark = pytest.mark.federation


def test_member_follows_a_community_on_another_node(nodes: Nodes, capsys) -> None:  # type: ignore[no-untyped-def]
    school = nodes.start("school")
    ngo = nodes.start("ngo")
    assert cli(school, "member", "add", "ana", "--display-name", "Ana") == 0
    assert cli(ngo, "community", "add", "robotics", "--title", "Robotics") == 0
    capsys.readouterr()

    robotics = f"@robotics@{ngo.settings.domain}"
    assert cli(school, "follow", "--as", "ana", robotics) == 0
    assert "asked to follow robotics@" in capsys.readouterr().out

    followers = ngo.url + "/communities/robotics/followers"
    eventually(lambda: get_json(followers)["totalItems"] == 1)
    page = get_json(followers, page=1)
    assert page["orderedItems"] == [school.url + "/members/ana"]
    following = school.url + "/members/ana/following"
    eventually(lambda: get_json(following)["totalItems"] == 1)
    assert get_json(following, page=1)["orderedItems"] == [ngo.url + "/communities/robotics"]
