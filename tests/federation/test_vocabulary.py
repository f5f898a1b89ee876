"""AS2 readers on hostile input, and Mastodon's visibility rules in both directions."""

import json
from pathlib import Path
from typing import Any

import pytest

from federation.vocabulary import (
    ACTIVITY_TYPES,
    ACTOR_TYPES,
    PUBLIC,
    VISIBILITIES,
    VocabularyError,
    addressing_for,
    as_list,
    first_of,
    id_of,
    ids_of,
    is_public,
    recipients_of,
    required_id,
    types_of,
    visibility_of,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "activitypub"
FOLLOWERS = "https://school.example/members/ada/followers"
BOB = "https://mastodon.example/users/bob"
CAROL = "https://other.example/u/carol"


def lemmy(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"lemmy_{name}.json").read_text())
    return data


HOSTILE = [None, 0, 1.5, True, "", "   ", [], {}, {"id": 3}, {"id": None}, [[["x"]]], object()]


@pytest.mark.parametrize("value", HOSTILE)
def test_readers_never_crash_on_wrong_types(value: object) -> None:
    assert id_of(value) is None or isinstance(id_of(value), str)
    assert all(isinstance(ident, str) for ident in ids_of(value))
    assert isinstance(types_of(value), frozenset)
    assert recipients_of(value) == []
    assert is_public(value) is False
    with pytest.raises(VocabularyError) as caught:
        required_id(value, "object")
    assert "object" in caught.value.reason


def test_as_list_and_first_of() -> None:
    assert as_list(None) == []
    assert as_list("a") == ["a"]
    assert as_list({"id": "a"}) == [{"id": "a"}]
    source = ["a", "b"]
    copy = as_list(source)
    copy.append("c")
    assert source == ["a", "b"]  # the caller's document is never mutated through the result
    assert first_of(["a", "b"]) == "a"
    assert first_of("a") == "a"
    assert first_of([]) is None
    assert first_of(None) is None


def test_id_of_links_and_embedded_objects() -> None:
    assert id_of(BOB) == BOB
    assert id_of({"type": "Person", "id": BOB}) == BOB
    assert id_of({"type": "Link", "href": BOB}) is None
    assert ids_of([BOB, {"id": CAROL}, 7, {"name": "x"}, None]) == [BOB, CAROL]


def test_types_of_accepts_a_string_or_an_array() -> None:
    assert types_of({"type": "Note"}) == {"Note"}
    assert types_of({"type": ["Note", "schema:Thing", 5]}) == {"Note", "schema:Thing"}
    assert types_of({"type": {"nested": "Note"}}) == frozenset()
    assert {"Person", "Group", "Application"} <= ACTOR_TYPES
    assert {"Create", "Announce", "Follow", "Undo", "Flag"} <= ACTIVITY_TYPES


@pytest.mark.parametrize("form", [PUBLIC, "as:Public", "Public", {"id": PUBLIC}])
def test_public_has_aliases(form: object) -> None:
    assert is_public(form)


def test_public_lookalikes_are_not_public() -> None:
    lookalikes = [
        "https://www.w3.org/ns/activitystreams#public",
        "http://www.w3.org/ns/activitystreams#Public",
        "public",
    ]
    assert not any(is_public(uri) for uri in lookalikes)


def test_reading_lemmy_payloads() -> None:
    create = lemmy("create_note")
    assert required_id(create["actor"], "actor") == "http://ds9.lemmy.ml/u/lemmy_alpha"
    assert types_of(create) == {"Create"}
    note = create["object"]
    assert id_of(note) == "http://ds9.lemmy.ml/comment/1"
    assert id_of(note["inReplyTo"]) == "http://ds9.lemmy.ml/post/1"
    assert visibility_of(note, "http://ds9.lemmy.ml/u/lemmy_alpha/followers") == "public"

    announce = lemmy("announce_create_page")
    inner = announce["object"]
    assert types_of(inner) == {"Create"}
    assert id_of(inner["object"]) == "http://enterprise.lemmy.ml/post/7"
    assert recipients_of(announce) == [PUBLIC, "http://enterprise.lemmy.ml/c/main/followers"]

    update = lemmy("update_page")
    # Lemmy names the community in `audience` (FEP-1b12) as well as in to/cc.
    assert recipients_of(update) == [
        PUBLIC,
        "http://enterprise.lemmy.ml/c/main",
        "https://enterprise.lemmy.ml/c/main",
    ]
    assert first_of(update["object"]["attachment"]) == {
        "type": "Link",
        "href": "https://lemmy.ml/pictrs/image/xl8W7FZfk9.jpg",
    }

    follow = lemmy("follow")
    # A Follow addressed only to the community is, in Mastodon's terms, direct.
    assert visibility_of(follow, "http://ds9.lemmy.ml/u/lemmy_alpha/followers") == "direct"
    assert id_of(lemmy("undo_follow")["object"]) == (
        "http://ds9.lemmy.ml/activities/follow/dc2f1bc5-f3a0-4daa-a46b-428cbfbd023c"
    )


@pytest.mark.parametrize(
    ("to", "cc", "expected"),
    [
        ([PUBLIC], [FOLLOWERS], "public"),
        (["as:Public"], [], "public"),
        ("Public", None, "public"),
        ([FOLLOWERS], [PUBLIC, BOB], "unlisted"),
        ([FOLLOWERS], [BOB], "followers"),
        (FOLLOWERS, None, "followers"),
        ([{"id": FOLLOWERS}], [], "followers"),
        ([BOB], [], "direct"),
        ([], [], "direct"),
        (None, None, "direct"),
        # Mastodon reads the followers collection in `to` only.
        ([BOB], [FOLLOWERS], "direct"),
        # Garbage entries are ignored rather than fatal.
        ([5, None, {"id": PUBLIC}], [], "public"),
    ],
)
def test_visibility_follows_mastodon(to: object, cc: object, expected: str) -> None:
    assert visibility_of({"type": "Note", "to": to, "cc": cc}, FOLLOWERS) == expected


def test_visibility_falls_back_to_the_enclosing_activity() -> None:
    activity = {"type": "Create", "to": [PUBLIC], "cc": [FOLLOWERS]}
    assert visibility_of({"type": "Note"}, FOLLOWERS, fallback=activity) == "public"
    # The object's own addressing wins, even when it is narrower.
    assert visibility_of({"to": [BOB]}, FOLLOWERS, fallback=activity) == "direct"
    # Without a followers collection nothing can be followers-only.
    assert visibility_of({"to": [FOLLOWERS]}, None) == "direct"


@pytest.mark.parametrize("value", [None, "https://x.example/note", ["to"], 3])
def test_visibility_refuses_non_objects(value: object) -> None:
    with pytest.raises(VocabularyError):
        visibility_of(value, FOLLOWERS)


def test_addressing_matches_mastodon() -> None:
    assert addressing_for("public", FOLLOWERS, [BOB]) == ([PUBLIC], [FOLLOWERS, BOB])
    assert addressing_for("unlisted", FOLLOWERS, [BOB]) == ([FOLLOWERS], [PUBLIC, BOB])
    assert addressing_for("followers", FOLLOWERS, [BOB]) == ([FOLLOWERS], [BOB])
    assert addressing_for("direct", FOLLOWERS, [BOB, CAROL]) == ([BOB, CAROL], [])


def test_addressing_deduplicates_mentions() -> None:
    to, cc = addressing_for("public", FOLLOWERS, [BOB, BOB, PUBLIC, FOLLOWERS, CAROL])
    assert (to, cc) == ([PUBLIC], [FOLLOWERS, BOB, CAROL])


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("mentions", [[], [BOB], [BOB, CAROL]])
def test_addressing_round_trips_through_visibility(visibility: str, mentions: list[str]) -> None:
    to, cc = addressing_for(visibility, FOLLOWERS, mentions)
    assert visibility_of({"to": to, "cc": cc}, FOLLOWERS) == visibility
    assert set(mentions) <= set(to) | set(cc)


def test_addressing_refuses_unknown_visibility() -> None:
    with pytest.raises(VocabularyError) as caught:
        addressing_for("private", FOLLOWERS, [])
    assert "private" in caught.value.reason
