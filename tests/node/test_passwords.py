"""Passwords: Argon2id hashes, length rules, and no match for accounts without a password."""

import pytest

from node.errors import InvalidInput
from node.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    check_password_rules,
    hash_password,
    password_matches,
)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def hashed() -> str:
    return hash_password(PASSWORD)


def test_hashes_are_argon2id_and_salted(hashed: str) -> None:
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert hash_password(PASSWORD) != hashed


def test_the_right_password_matches(hashed: str) -> None:
    assert password_matches(hashed, PASSWORD)


@pytest.mark.parametrize("attempt", ["correct horse battery ", "Correct horse battery", ""])
def test_other_passwords_do_not_match(hashed: str, attempt: str) -> None:
    assert not password_matches(hashed, attempt)


def test_accounts_without_a_password_never_match() -> None:
    assert not password_matches(None, PASSWORD)
    assert not password_matches("", PASSWORD)


def test_a_corrupt_hash_does_not_match() -> None:
    assert not password_matches("not-a-hash", PASSWORD)


def test_overlong_attempts_are_not_hashed(hashed: str) -> None:
    assert not password_matches(hashed, "x" * (MAX_LENGTH + 1))


@pytest.mark.parametrize("password", ["", "x" * (MIN_LENGTH - 1), "x" * (MAX_LENGTH + 1)])
def test_rules_refuse_short_and_absurd_passwords(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_password_rules(password)
    with pytest.raises(InvalidInput):
        hash_password(password)


def test_rules_accept_the_bounds() -> None:
    check_password_rules("x" * MIN_LENGTH)
    check_password_rules("x" * MAX_LENGTH)
