"""Names: Mastodon-compatible, lower-case, and never mistaken for the node itself."""

import pytest

from node.errors import InvalidInput
from node.names import MAX_NAME_LENGTH, RESERVED, check_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("alice", "alice"),
        ("Alice", "alice"),
        ("@alice", "alice"),
        ("  bob  ", "bob"),
        ("a", "a"),
        ("_", "_"),
        ("maths_teachers", "maths_teachers"),
        ("year-7.science", "year-7.science"),
        ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
    ],
)
def test_valid_names_are_lower_cased(given: str, expected: str) -> None:
    assert check_name(given) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "@",
        "x" * (MAX_NAME_LENGTH + 1),
        "-alice",
        "alice-",
        ".alice",
        "alice.",
        "al ice",
        "alice@school.example",
        "ålice",
        "alice/../admin",
        "ali\nce",
        "<b>",
    ],
)
def test_invalid_names_are_refused_with_a_reason(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_name(name)
    assert raised.value.reason


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_reserved_names_are_refused_in_any_case(name: str) -> None:
    for spelling in (name, name.upper(), "@" + name):
        with pytest.raises(InvalidInput) as raised:
            check_name(spelling)
        assert "reserved" in raised.value.reason
