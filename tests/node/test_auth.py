"""Signing in: passwords, throttling per name and per address, one-time links, new passwords."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import select

from node import auth, members, passwords
from node.errors import InvalidInput, TooManyAttempts
from node.passwords import password_matches
from node.runtime import Node, open_node
from node.settings import Limits, Settings
from storage.models import Member, SignInToken

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough password"
ADDRESS = "203.0.113.7"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2's cheapest profile: these tests are about sign-in rules, not hashing cost."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(settings: Settings, clock: Clock) -> AsyncIterator[Node]:
    """A node on the test's database and on a clock the test controls."""
    running = await open_node(settings, clock=clock)
    yield running
    await running.close()


@pytest.fixture
async def alice(timed: Node) -> Member:
    async with timed.transaction() as tx:
        return await members.add(tx, "alice", password=PASSWORD)


async def _fail(node: Node, name: str, address: str, times: int) -> None:
    async with node.transaction() as tx:
        for _ in range(times):
            await auth.record_failure(tx, name, address)


async def _sign_in(node: Node, name: str, password: str, address: str = ADDRESS) -> Member | None:
    async with node.transaction() as tx:
        return await auth.authenticate(tx, name, password, address)


async def test_the_right_password_signs_in(timed: Node, alice: Member) -> None:
    for name in ("alice", "Alice", " @alice "):
        signed_in = await _sign_in(timed, name, PASSWORD)
        assert signed_in is not None and signed_in.id == alice.id


async def test_wrong_passwords_and_unknown_names_do_not(timed: Node, alice: Member) -> None:
    assert await _sign_in(timed, "alice", "not the password") is None
    assert await _sign_in(timed, "bob", PASSWORD) is None


async def test_a_member_without_a_password_cannot_use_one(timed: Node) -> None:
    async with timed.transaction() as tx:
        await members.add(tx, "bob")
    assert await _sign_in(timed, "bob", "") is None
    assert await _sign_in(timed, "bob", PASSWORD) is None


async def test_failures_on_one_name_throttle_it_from_any_address(
    timed: Node, alice: Member
) -> None:
    attempts = timed.settings.limits.sign_in_attempts
    for i in range(attempts):
        await _fail(timed, "alice", f"198.51.100.{i}", 1)
    with pytest.raises(TooManyAttempts) as raised:
        await _sign_in(timed, "alice", PASSWORD, "192.0.2.99")  # even the right password
    assert "sign-in link" in raised.value.reason
    # Other accounts are not affected.
    async with timed.transaction() as tx:
        await members.add(tx, "bob")
    assert await _sign_in(timed, "bob", "wrong password", "192.0.2.99") is None


async def test_one_fewer_failure_is_not_throttled(timed: Node, alice: Member) -> None:
    await _fail(timed, "alice", "198.51.100.1", timed.settings.limits.sign_in_attempts - 1)
    assert await _sign_in(timed, "alice", PASSWORD) is not None


async def test_failures_from_one_address_throttle_it_for_every_name(
    timed: Node, alice: Member
) -> None:
    for i in range(timed.settings.limits.sign_in_attempts):
        await _fail(timed, f"guess{i}", ADDRESS, 1)
    with pytest.raises(TooManyAttempts):
        await _sign_in(timed, "alice", PASSWORD, ADDRESS)
    assert await _sign_in(timed, "alice", PASSWORD, "192.0.2.1") is not None


async def test_a_name_is_counted_however_it_is_spelled(timed: Node, alice: Member) -> None:
    spellings = ["alice", "ALICE", "@alice", " alice", "Alice "]
    for i, spelling in enumerate(spellings[: timed.settings.limits.sign_in_attempts]):
        await _fail(timed, spelling, f"198.51.100.{i}", 1)
    with pytest.raises(TooManyAttempts):
        await _sign_in(timed, "alice", PASSWORD, "192.0.2.1")


async def test_throttling_ends_with_the_window(timed: Node, clock: Clock, alice: Member) -> None:
    await _fail(timed, "alice", ADDRESS, timed.settings.limits.sign_in_attempts)
    clock.now += timedelta(seconds=timed.settings.limits.sign_in_window_seconds - 1)
    with pytest.raises(TooManyAttempts):
        await _sign_in(timed, "alice", PASSWORD)
    clock.now += timedelta(seconds=2)
    assert await _sign_in(timed, "alice", PASSWORD) is not None


async def test_limits_come_from_the_settings(settings: Settings) -> None:
    strict = await open_node(replace(settings, limits=Limits(sign_in_attempts=1)))
    try:
        async with strict.transaction() as tx:
            await members.add(tx, "bob")
        await _fail(strict, "bob", ADDRESS, 1)
        with pytest.raises(TooManyAttempts):
            await _sign_in(strict, "bob", "whatever password")
    finally:
        await strict.close()


async def test_signing_in_clears_the_names_failures(timed: Node, alice: Member) -> None:
    attempts = timed.settings.limits.sign_in_attempts
    await _fail(timed, "alice", "198.51.100.1", attempts - 1)
    assert await _sign_in(timed, "alice", PASSWORD, "192.0.2.1") is not None
    await _fail(timed, "alice", "198.51.100.2", attempts - 1)
    assert await _sign_in(timed, "alice", PASSWORD, "192.0.2.2") is not None


async def test_a_sign_in_link_works_once(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        link = await auth.issue_sign_in_link(tx, alice)
    prefix = "https://school.example" + auth.SIGN_IN_LINK_PATH
    assert link.startswith(prefix)
    token = link[len(prefix) :]
    assert len(token) >= 40
    async with timed.transaction() as tx:
        # Only a digest is stored: a database leak does not leak working links.
        stored = list(await tx.session.scalars(select(SignInToken.token_hash)))
        assert stored and token not in stored
        assert (await auth.redeem_sign_in_link(tx, token)).id == alice.id
    async with timed.transaction() as tx:
        with pytest.raises(InvalidInput) as raised:
            await auth.redeem_sign_in_link(tx, token)
        assert "used" in raised.value.reason


async def test_sign_in_links_expire_after_a_day(timed: Node, clock: Clock, alice: Member) -> None:
    async with timed.transaction() as tx:
        early = (await auth.issue_sign_in_link(tx, alice)).rsplit("/", 1)[1]
        late = (await auth.issue_sign_in_link(tx, alice)).rsplit("/", 1)[1]
    assert early != late
    clock.now += auth.SIGN_IN_LINK_LIFETIME - timedelta(seconds=1)
    async with timed.transaction() as tx:
        await auth.redeem_sign_in_link(tx, early)
    clock.now += timedelta(seconds=1)
    async with timed.transaction() as tx:
        with pytest.raises(InvalidInput):
            await auth.redeem_sign_in_link(tx, late)


@pytest.mark.parametrize("token", ["", "made-up-token", "x" * 43])
async def test_unknown_sign_in_links_are_refused(timed: Node, alice: Member, token: str) -> None:
    async with timed.transaction() as tx:
        with pytest.raises(InvalidInput):
            await auth.redeem_sign_in_link(tx, token)


async def test_changing_a_password_needs_the_current_one(timed: Node, alice: Member) -> None:
    new = "another long password"
    async with timed.transaction() as tx:
        member = await members.get(tx, "alice")
        with pytest.raises(InvalidInput) as raised:
            await auth.change_password(tx, member, "not the password", new)
        assert "current password" in raised.value.reason
        assert password_matches(member.password_hash, PASSWORD)
        with pytest.raises(InvalidInput):
            await auth.change_password(tx, member, PASSWORD, "short")
        await auth.change_password(tx, member, PASSWORD, new)
    assert await _sign_in(timed, "alice", PASSWORD) is None
    assert await _sign_in(timed, "alice", new) is not None


async def test_a_first_password_needs_no_current_one(timed: Node) -> None:
    async with timed.transaction() as tx:
        bob = await members.add(tx, "bob")
        await auth.change_password(tx, bob, "", "bob's first password")
    assert await _sign_in(timed, "bob", "bob's first password") is not None


async def test_an_administrator_or_a_link_sets_a_password_directly(
    timed: Node, alice: Member
) -> None:
    async with timed.transaction() as tx:
        member = await members.get(tx, "alice")
        with pytest.raises(InvalidInput):
            await auth.set_password(tx, member, "short")
        await auth.set_password(tx, member, "a reset password!")
    assert await _sign_in(timed, "alice", "a reset password!") is not None


async def test_an_absurdly_long_name_is_still_counted(timed: Node) -> None:
    name = "x" * 5000  # from a sign-in form: no such member can exist
    await _fail(timed, name, ADDRESS, timed.settings.limits.sign_in_attempts)
    with pytest.raises(TooManyAttempts):
        await _sign_in(timed, name, PASSWORD, "192.0.2.1")
