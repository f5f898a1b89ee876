"""Members: accounts with an actor and keys, one name space with communities, roles, profiles."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from node import communities, members
from node.errors import Conflict, Forbidden, InvalidInput, NotFound
from node.keys import Sealer, ed25519_private_key, rsa_private_key
from node.passwords import password_matches
from node.runtime import Node, open_node
from node.settings import Settings

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(settings: Settings, clock: Clock) -> AsyncIterator[Node]:
    """A node on the test's database and on a clock the test controls."""
    running = await open_node(settings, clock=clock)
    yield running
    await running.close()


async def test_a_member_has_a_local_person_actor_with_keys(node: Node) -> None:
    async with node.transaction() as tx:
        member = await members.add(tx, "Alice", display_name=" Alice Liddell ")
    actor = member.actor
    assert actor.name == "alice"
    assert actor.kind == "person"
    assert actor.local
    assert actor.domain == "school.example"
    assert actor.handle == "alice@school.example"
    assert actor.display_name == "Alice Liddell"
    assert actor.uri == "https://school.example/members/alice"
    assert actor.inbox_uri == actor.uri + "/inbox"
    assert actor.outbox_uri == actor.uri + "/outbox"
    assert actor.followers_uri == actor.uri + "/followers"
    assert actor.shared_inbox_uri == "https://school.example/inbox"
    assert actor.key_id == actor.uri + "#main-key"
    sealer = Sealer(node.settings.secret)
    assert actor.private_key_sealed and actor.ed25519_private_sealed
    rsa_private_key(sealer, actor.private_key_sealed)
    ed25519_private_key(sealer, actor.ed25519_private_sealed)
    assert member.role == "member"
    assert member.password_hash is None
    assert member.profile_links == []


async def test_members_are_found_again_by_any_spelling_of_their_name(node: Node) -> None:
    async with node.transaction() as tx:
        added = await members.add(tx, "alice")
    async with node.transaction() as tx:
        for spelling in ("alice", "ALICE", "@alice", " alice "):
            assert (await members.get(tx, spelling)).id == added.id
        assert (await members.by_id(tx, added.id)) is not None
        assert await members.by_id(tx, added.id + 1000) is None
        with pytest.raises(NotFound):
            await members.get(tx, "bob")


async def test_a_password_is_optional_and_hashed(node: Node) -> None:
    async with node.transaction() as tx:
        member = await members.add(tx, "alice", password="a long enough password")
    assert member.password_hash is not None
    assert "a long enough password" not in member.password_hash
    assert password_matches(member.password_hash, "a long enough password")


@pytest.mark.parametrize("name", ["", "-alice", "al ice", "x" * 31, "root", "Inbox", "actor"])
async def test_invalid_and_reserved_names_are_refused(node: Node, name: str) -> None:
    async with node.transaction() as tx:
        with pytest.raises(InvalidInput):
            await members.add(tx, name)
        assert await members.count(tx) == 0


async def test_a_name_is_taken_once_across_members_and_communities(node: Node) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "alice")
        await communities.add(tx, "maths", title="Maths teachers")
    async with node.transaction() as tx:
        with pytest.raises(Conflict) as raised:
            await members.add(tx, "ALICE")
        assert "alice" in raised.value.reason
    async with node.transaction() as tx:
        with pytest.raises(Conflict):
            await members.add(tx, "maths")
    async with node.transaction() as tx:
        with pytest.raises(Conflict):
            await communities.add(tx, "Alice", title="Alice's corner")
    async with node.transaction() as tx:
        with pytest.raises(NotFound):
            await members.get(tx, "maths")  # a community is not a member
        assert await members.count(tx) == 1


async def test_bad_roles_display_names_and_passwords_are_refused(node: Node) -> None:
    async with node.transaction() as tx:
        with pytest.raises(InvalidInput) as raised:
            await members.add(tx, "alice", role="owner")
        assert "admin" in raised.value.reason  # lists the roles that exist
        with pytest.raises(InvalidInput):
            await members.add(tx, "alice", display_name="x" * 101)
        with pytest.raises(InvalidInput):
            await members.add(tx, "alice", password="short")
        # Each refusal left nothing behind, so the name is still free in this transaction.
        await members.add(tx, "alice")
        assert await members.count(tx) == 1


async def test_listing_is_newest_first(timed: Node, clock: Clock) -> None:
    for name in ("first", "second", "third"):
        async with timed.transaction() as tx:
            member = await members.add(tx, name)
        assert member.created_at == clock.now
        clock.now += timedelta(minutes=1)
    async with timed.transaction() as tx:
        assert [m.actor.name for m in await members.listing(tx)] == ["third", "second", "first"]
        assert await members.count(tx) == 3


async def test_administrators_set_roles_but_the_last_one_stays(node: Node) -> None:
    async with node.transaction() as tx:
        admin = await members.add(tx, "admin1", role="admin")
        await members.add(tx, "bob")
    async with node.transaction() as tx:
        bob = await members.set_role(tx, admin, "bob", "moderator")
        assert bob.role == "moderator"
        with pytest.raises(InvalidInput) as raised:
            await members.set_role(tx, admin, "admin1", "member")
        assert "at least one administrator" in raised.value.reason
        with pytest.raises(InvalidInput):
            await members.set_role(tx, admin, "bob", "superuser")
    async with node.transaction() as tx:
        # Once there is a second administrator, the first may step down.
        await members.set_role(tx, None, "bob", "admin")
        demoted = await members.set_role(tx, None, "admin1", "member")
        assert demoted.role == "member"
        with pytest.raises(InvalidInput):
            await members.set_role(tx, None, "bob", "mentor")


async def test_only_administrators_set_roles(node: Node) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "admin1", role="admin")
        moderator = await members.add(tx, "mod", role="moderator")
        await members.add(tx, "bob")
    async with node.transaction() as tx:
        with pytest.raises(Forbidden):
            await members.set_role(tx, moderator, "bob", "admin")
        with pytest.raises(Forbidden):
            members.require_admin(moderator)
        with pytest.raises(NotFound):
            await members.set_role(tx, None, "nobody", "admin")
        assert (await members.get(tx, "bob")).role == "member"


async def test_profile_update(timed: Node, clock: Clock) -> None:
    async with timed.transaction() as tx:
        member = await members.add(tx, "alice")
    clock.now += timedelta(hours=1)
    async with timed.transaction() as tx:
        member = await members.get(tx, "alice")
        await members.update_profile(
            tx,
            member,
            display_name="  Alice L. ",
            bio="I teach **maths**. <script>alert(1)</script>",
            default_license="cc-by-sa-4.0",
            links=[
                ("Blog", "https://alice.example/blog"),
                ("", ""),  # an empty form row is skipped
                (" Slides ", " http://slides.example/ "),
            ],
        )
    async with timed.transaction() as tx:
        member = await members.get(tx, "alice")
        assert member.actor.display_name == "Alice L."
        assert member.bio_source.startswith("I teach **maths**.")
        assert "<strong>maths</strong>" in member.actor.summary_html
        assert "<script" not in member.actor.summary_html
        assert member.default_license == "CC-BY-SA-4.0"
        assert member.profile_links == [
            {"label": "Blog", "url": "https://alice.example/blog"},
            {"label": "Slides", "url": "http://slides.example/"},
        ]
        assert member.actor.updated_at == clock.now
        await members.update_profile(
            tx, member, display_name="", bio="", default_license="none", links=[]
        )
        assert member.default_license is None  # all rights reserved
        assert member.actor.summary_html == ""


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"display_name": "x" * 101}, "display names"),
        ({"bio": "x" * 2001}, "bio"),
        ({"default_license": "CC-BY-42"}, "CC-BY-42"),
        ({"links": [("Home", "javascript:alert(1)")]}, "javascript"),
        ({"links": [("Files", "ftp://files.example/")]}, "http"),
        ({"links": [("Home", "https://")]}, "http"),
        ({"links": [("Home", "alice.example")]}, "http"),
        ({"links": [("Home", "https://alice.example/" + "x" * 500)]}, "http"),
        ({"links": [("", "https://alice.example/")]}, "label"),
        ({"links": [("x" * 61, "https://alice.example/")]}, "label"),
        ({"links": [(f"Link {i}", f"https://alice.example/{i}") for i in range(5)]}, "at most 4"),
    ],
)
async def test_bad_profiles_are_refused_and_change_nothing(
    node: Node, changes: dict[str, object], reason: str
) -> None:
    async with node.transaction() as tx:
        member = await members.add(tx, "alice", display_name="Alice")
        fields: dict[str, object] = {
            "display_name": "Alice",
            "bio": "",
            "default_license": None,
            "links": [],
        }
        with pytest.raises(InvalidInput) as raised:
            await members.update_profile(tx, member, **(fields | changes))  # type: ignore[arg-type]
        assert reason in raised.value.reason
        assert member.actor.display_name == "Alice"
        assert member.profile_links == []


async def test_four_profile_links_are_allowed(node: Node) -> None:
    async with node.transaction() as tx:
        member = await members.add(tx, "alice")
        links = [(f"Link {i}", f"https://alice.example/{i}") for i in range(4)]
        await members.update_profile(
            tx, member, display_name="", bio="", default_license=None, links=links
        )
        assert len(member.profile_links) == 4
