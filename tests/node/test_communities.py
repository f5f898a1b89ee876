"""Communities: Group actors, who belongs and who decides, and the commons that shows activity."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from node import communities, members, posts
from node.errors import Conflict, Forbidden, InvalidInput, NotFound
from node.runtime import Node, open_node
from node.settings import Settings
from storage.models import Community, Member

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


async def test_a_community_is_a_group_actor(timed: Node) -> None:
    async with timed.transaction() as tx:
        community = await communities.add(
            tx,
            "Maths",
            title="  Maths teachers ",
            description="We share **worksheets**.<script>x()</script>",
            kind="teacher",
            default_license="cc-by-sa-4.0",
        )
    actor = community.actor
    assert actor.name == "maths"
    assert actor.kind == "group"
    assert actor.uri == "https://school.example/communities/maths"
    assert actor.inbox_uri == actor.uri + "/inbox"
    assert actor.display_name == "Maths teachers"
    assert actor.public_key_pem and actor.ed25519_public_multibase
    assert not actor.manually_approves_followers
    assert "<strong>worksheets</strong>" in actor.summary_html
    assert "<script" not in actor.summary_html
    assert community.title == "Maths teachers"
    assert community.default_license == "CC-BY-SA-4.0"
    assert community.kind == "teacher"
    assert not community.closed
    assert community.created_at == T0


async def test_a_closed_community_approves_its_followers(timed: Node) -> None:
    async with timed.transaction() as tx:
        community = await communities.add(
            tx, "youth-club", title="Youth club", kind="youth", closed=True
        )
    assert community.closed
    assert community.actor.manually_approves_followers
    assert community.default_license is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": "school"}, "teacher or youth"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"default_license": "CC-BY-4"}, "CC-BY-4"),
        ({"name": "-maths"}, "not a valid name"),
        ({"name": "inbox"}, "reserved"),
    ],
)
async def test_bad_communities_are_refused(
    timed: Node, fields: dict[str, str], reason: str
) -> None:
    arguments = {"name": "maths", "title": "Maths"} | fields
    name = arguments.pop("name")
    async with timed.transaction() as tx:
        with pytest.raises(InvalidInput) as raised:
            await communities.add(tx, name, **arguments)  # type: ignore[arg-type]
        assert reason in raised.value.reason
        assert await communities.listing(tx) == []


async def test_community_names_are_unique(timed: Node) -> None:
    async with timed.transaction() as tx:
        await communities.add(tx, "maths", title="Maths")
    async with timed.transaction() as tx:
        with pytest.raises(Conflict):
            await communities.add(tx, "MATHS", title="More maths")


async def test_communities_are_found_by_name_and_listed_by_title(timed: Node) -> None:
    async with timed.transaction() as tx:
        await communities.add(tx, "zoo", title="Animal studies")
        await communities.add(tx, "art", title="Visual arts")
        await members.add(tx, "alice")
    async with timed.transaction() as tx:
        assert (await communities.get(tx, " ZOO ")).title == "Animal studies"
        with pytest.raises(NotFound):
            await communities.get(tx, "alice")  # a member, not a community
        with pytest.raises(NotFound):
            await communities.get(tx, "nothing")
        assert [c.actor.name for c in await communities.listing(tx)] == ["zoo", "art"]


async def _setup(node: Node, *, closed: bool) -> tuple[Community, Member, Member]:
    async with node.transaction() as tx:
        community = await communities.add(tx, "maths", title="Maths", closed=closed)
        alice = await members.add(tx, "alice")
        bob = await members.add(tx, "bob")
    return community, alice, bob


async def test_joining_an_open_community(timed: Node) -> None:
    community, alice, _ = await _setup(timed, closed=False)
    async with timed.transaction() as tx:
        record = await communities.join(tx, community, alice)
        assert record.state == "approved"
        assert record.role == "member"
        assert record.joined_at == T0
        assert await communities.may_post(tx, community, alice)
    async with timed.transaction() as tx:
        with pytest.raises(Conflict):
            await communities.join(tx, community, alice)


async def test_anyone_may_post_in_an_open_community(timed: Node) -> None:
    community, _, bob = await _setup(timed, closed=False)
    async with timed.transaction() as tx:
        assert await communities.may_post(tx, community, bob)


async def test_a_closed_community_holds_requests_until_a_steward_approves(timed: Node) -> None:
    community, alice, bob = await _setup(timed, closed=True)
    async with timed.transaction() as tx:
        await communities.join(tx, community, alice, approved=True)
        await communities.set_member_role(
            tx, await members.add(tx, "admin1", role="admin"), community, alice, "steward"
        )
        request = await communities.join(tx, community, bob)
        assert request.state == "pending"
        assert not await communities.may_post(tx, community, bob)
        with pytest.raises(Forbidden):
            await communities.approve(tx, bob, community, bob)  # not oneself
        approved = await communities.approve(tx, alice, community, bob)
        assert approved.state == "approved"
        assert await communities.may_post(tx, community, bob)


async def test_strangers_may_not_post_in_a_closed_community(timed: Node) -> None:
    community, alice, _ = await _setup(timed, closed=True)
    async with timed.transaction() as tx:
        assert not await communities.may_post(tx, community, alice)


async def test_who_may_steward(timed: Node) -> None:
    community, alice, bob = await _setup(timed, closed=True)
    async with timed.transaction() as tx:
        admin = await members.add(tx, "admin1", role="admin")
        moderator = await members.add(tx, "mod", role="moderator")
        assert await communities.can_steward(tx, community, admin)  # not even a member
        assert not await communities.can_steward(tx, community, moderator)
        assert not await communities.can_steward(tx, community, alice)
        await communities.join(tx, community, alice)  # pending
        await communities.set_member_role(tx, admin, community, alice, "steward")
        # A steward whose own membership is still pending has no say yet.
        assert not await communities.can_steward(tx, community, alice)
        await communities.approve(tx, admin, community, alice)
        assert await communities.can_steward(tx, community, alice)
        await communities.join(tx, community, bob)
        with pytest.raises(Forbidden):
            await communities.set_member_role(tx, bob, community, bob, "steward")


async def test_member_roles_in_a_community(timed: Node) -> None:
    community, alice, bob = await _setup(timed, closed=False)
    async with timed.transaction() as tx:
        admin = await members.add(tx, "admin1", role="admin")
        await communities.join(tx, community, alice)
        record = await communities.set_member_role(tx, admin, community, alice, "mentor")
        assert record.role == "mentor"
        with pytest.raises(InvalidInput) as raised:
            await communities.set_member_role(tx, admin, community, alice, "owner")
        assert "steward" in raised.value.reason
        with pytest.raises(NotFound):
            await communities.set_member_role(tx, admin, community, bob, "mentor")
        with pytest.raises(NotFound):
            await communities.approve(tx, admin, community, bob)


async def test_leaving(timed: Node) -> None:
    community, alice, _ = await _setup(timed, closed=False)
    async with timed.transaction() as tx:
        await communities.join(tx, community, alice)
    async with timed.transaction() as tx:
        await communities.leave(tx, community, alice)
    async with timed.transaction() as tx:
        assert await communities.membership(tx, community, alice.actor) is None
        with pytest.raises(NotFound):
            await communities.leave(tx, community, alice)
        await communities.join(tx, community, alice)  # and may come back


async def test_the_commons(timed: Node, clock: Clock) -> None:
    community, alice, bob = await _setup(timed, closed=True)
    async with timed.transaction() as tx:
        carol = await members.add(tx, "carol")
        dave = await members.add(tx, "dave")
        other = await communities.add(tx, "art", title="Art")
        await communities.join(tx, community, alice, approved=True)
        await communities.join(tx, community, bob, approved=True)
        await communities.join(tx, community, carol, approved=True)
        old = await posts.create(tx, alice, posts.Draft("Old thread", community=community))
        await posts.create(tx, dave, posts.Draft("Elsewhere", community=other))
    clock.now += timedelta(days=20)
    async with timed.transaction() as tx:
        gone = await posts.create(tx, bob, posts.Draft("Deleted", community=community))
        gone.deleted_at = clock.now
        recent = await posts.create(tx, bob, posts.Draft("Recent thread", community=community))
    clock.now += timedelta(days=15)  # alice and bob joined 35 days ago; alice wrote 35 days ago
    async with timed.transaction() as tx:
        await communities.join(tx, community, dave)  # pending
        await posts.create(tx, carol, posts.Draft("Reply", reply_to=recent.uri))
        await posts.create(tx, carol, posts.Draft("Reply 2", reply_to=recent.uri))
        await posts.create(tx, bob, posts.Draft("Late reply", reply_to=old.uri))
        newest = await posts.create(tx, carol, posts.Draft("Newest", community=community))
        await communities.join(tx, other, alice)  # another community's member
    clock.now += timedelta(days=1)
    async with timed.transaction() as tx:
        commons = await communities.commons(tx, community)
        assert commons.community.id == community.id
        assert {m.actor.name for m in commons.members} == {"alice", "bob", "carol"}
        assert [m.actor.name for m in commons.pending] == ["dave"]
        assert [t.id for t in commons.threads] == [newest.id, recent.id, old.id]
        assert commons.reply_counts == {recent.id: 2, old.id: 1}
        # Active this week: whoever posted or replied here in the last 7 days, by name.
        assert [a.name for a in commons.active_this_week] == ["bob", "carol"]
        # Newcomers joined in the last 30 days and were approved.
        assert [m.actor.name for m in commons.newcomers] == []
        limited = await communities.commons(tx, community, thread_limit=1)
        assert [t.id for t in limited.threads] == [newest.id]
        assert limited.reply_counts == {}


async def test_newcomers_are_recent_approved_members(timed: Node, clock: Clock) -> None:
    community, alice, bob = await _setup(timed, closed=True)
    async with timed.transaction() as tx:
        await communities.join(tx, community, alice, approved=True)
    clock.now += communities.NEWCOMER_PERIOD - timedelta(days=1)
    async with timed.transaction() as tx:
        await communities.join(tx, community, bob, approved=True)
        commons = await communities.commons(tx, community)
        assert [m.actor.name for m in commons.newcomers] == ["bob", "alice"]
        assert commons.threads == [] and commons.reply_counts == {}
        assert commons.active_this_week == []
    clock.now += timedelta(days=2)
    async with timed.transaction() as tx:
        commons = await communities.commons(tx, community)
        assert [m.actor.name for m in commons.newcomers] == ["bob"]
        assert [m.actor.name for m in commons.members] == ["bob", "alice"]
