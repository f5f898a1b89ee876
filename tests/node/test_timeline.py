"""Timelines: who and what a member's home timeline shows, paging, visibility and query count;
plus the follow-request queries closed communities use."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from node import actors, communities, follows, members, posts, timeline
from node.errors import InvalidInput, NotFound
from node.incoming import Incoming
from node.runtime import Node, Tx, open_node
from node.settings import Settings
from storage.models import Actor, Delivery, Follow, Member, Mention, Post, Reaction

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that ticks a second each time it is read, so every post has its own moment."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
async def timed(settings: Settings) -> AsyncIterator[Node]:
    running = await open_node(settings, clock=Clock())
    yield running
    await running.close()


def _remote(tx: Tx, name: str, kind: str = "person", domain: str = "social.example") -> Actor:
    uri = f"https://{domain}/{'c' if kind == 'group' else 'users'}/{name}"
    actor = Actor(
        uri=uri,
        kind=kind,
        local=False,
        name=name,
        domain=domain,
        display_name=name.title(),
        inbox_uri=uri + "/inbox",
        shared_inbox_uri=f"https://{domain}/inbox",
        followers_uri=uri + "/followers",
        created_at=tx.now(),
        updated_at=tx.now(),
        fetched_at=tx.now(),
    )
    tx.session.add(actor)
    return actor


async def _remote_post(
    tx: Tx, author: Actor, text: str, *, visibility: str = "public", raw: Any = None
) -> Post:
    key = f"r{abs(hash((author.uri, text))) % 10**12}"
    post = Post(
        key=key,
        uri=f"{author.uri}/statuses/{key}",
        url=None,
        local=False,
        author_id=author.id,
        content_html=f"<p>{text}</p>",
        source=text,
        visibility=visibility,
        raw=raw,
        published_at=tx.now(),
    )
    tx.session.add(post)
    await tx.session.flush()
    return post


def _accepted(tx: Tx, follower: Actor, followed: Actor) -> None:
    tx.session.add(
        Follow(
            uri=f"{follower.uri}/follows/{followed.name}",
            follower_id=follower.id,
            followed_id=followed.id,
            state="accepted",
            created_at=tx.now(),
            accepted_at=tx.now(),
        )
    )


def _texts(page: timeline.Page) -> list[str]:
    return [post.source for post in page.posts]


@pytest.fixture
async def ana(timed: Node) -> Member:
    async with timed.transaction() as tx:
        return await members.add(tx, "ana", display_name="Ana")


async def test_home_shows_own_followed_and_community_posts_newest_first(
    timed: Node, ana: Member
) -> None:
    async with timed.transaction() as tx:
        bob = await members.add(tx, "bob")
        dan = await members.add(tx, "dan")
        robotics = await communities.add(tx, "robotics", title="Robotics")
        maths = await communities.add(tx, "maths", title="Maths")
        chess = await communities.add(tx, "chess", title="Chess")
        zoe, carl = _remote(tx, "zoe"), _remote(tx, "carl")
        await tx.session.flush()
        await communities.join(tx, robotics, ana)
        await follows.follow(tx, ana.actor, bob.actor)  # local and open: accepted at once
        await follows.follow(tx, ana.actor, maths.actor)
        _accepted(tx, ana.actor, zoe)
        tx.session.add(
            Follow(uri="https://school.example/f/carl", follower_id=ana.actor_id,
                   followed_id=carl.id, state="pending", created_at=tx.now())
        )  # fmt: skip
        await posts.create(tx, ana, posts.Draft("mine"))
        await posts.create(tx, bob, posts.Draft("from bob"))
        await posts.create(tx, dan, posts.Draft("dan, not followed"))
        await posts.create(tx, dan, posts.Draft("dan in robotics", community=robotics))
        await posts.create(tx, dan, posts.Draft("dan in maths", community=maths))
        await posts.create(tx, dan, posts.Draft("dan in chess", community=chess))
        await _remote_post(tx, zoe, "from zoe")
        gone = await _remote_post(tx, zoe, "zoe, deleted")
        gone.deleted_at = tx.now()
        await _remote_post(tx, carl, "carl, still pending")
    async with timed.transaction() as tx:
        page = await timeline.home(tx, await members.get(tx, "ana"))
    assert _texts(page) == [
        "from zoe",
        "dan in maths",
        "dan in robotics",
        "from bob",
        "mine",
    ]
    assert page.older is None
    assert all(post.author.name for post in page.posts)  # loaded with the page


async def test_followers_only_and_direct_posts_reach_only_their_audience(
    timed: Node, ana: Member
) -> None:
    async with timed.transaction() as tx:
        zoe, stranger = _remote(tx, "zoe"), _remote(tx, "stranger")
        robotics = await communities.add(tx, "robotics", title="Robotics")
        await tx.session.flush()
        await communities.join(tx, robotics, ana)
        _accepted(tx, ana.actor, zoe)
        await _remote_post(tx, zoe, "zoe to followers", visibility="followers")
        await _remote_post(tx, zoe, "zoe unlisted", visibility="unlisted")
        await _remote_post(tx, zoe, "zoe to someone else", visibility="direct")
        to_ana = await _remote_post(tx, zoe, "zoe to ana", visibility="direct")
        tx.session.add(Mention(post_id=to_ana.id, actor_id=ana.actor_id))
        hidden = await _remote_post(tx, stranger, "stranger to followers", visibility="followers")
        hidden.community_id = robotics.id  # in a community ana belongs to, yet not for her
    async with timed.transaction() as tx:
        page = await timeline.home(tx, await members.get(tx, "ana"))
    assert _texts(page) == ["zoe to ana", "zoe unlisted", "zoe to followers"]


async def test_posts_addressed_to_or_boosted_by_a_followed_remote_group(
    timed: Node, ana: Member
) -> None:
    async with timed.transaction() as tx:
        group = _remote(tx, "makers", kind="group", domain="lemmy.example")
        other = _remote(tx, "knitting", kind="group", domain="lemmy.example")
        poster = _remote(tx, "lee", domain="lemmy.example")
        await tx.session.flush()
        _accepted(tx, ana.actor, group)
        await _remote_post(tx, poster, "into makers", raw={"audience": group.uri})
        await _remote_post(tx, poster, "into knitting", raw={"audience": other.uri})
        boosted = await _remote_post(tx, poster, "boosted by makers")
        tx.session.add(
            Reaction(uri=group.uri + "/announce/1", kind="announce", actor_id=group.id,
                     post_id=boosted.id, created_at=tx.now())
        )  # fmt: skip
        liked = await _remote_post(tx, poster, "only liked by makers")
        tx.session.add(
            Reaction(uri=group.uri + "/like/1", kind="like", actor_id=group.id,
                     post_id=liked.id, created_at=tx.now())
        )  # fmt: skip
    async with timed.transaction() as tx:
        page = await timeline.home(tx, await members.get(tx, "ana"))
    assert _texts(page) == ["boosted by makers", "into makers"]


async def test_pages_are_stable_while_new_posts_arrive(timed: Node, ana: Member) -> None:
    async with timed.transaction() as tx:
        for n in range(1, 6):
            await posts.create(tx, ana, posts.Draft(f"post {n}"))
    async with timed.transaction() as tx:
        member = await members.get(tx, "ana")
        first = await timeline.home(tx, member, limit=2)
        await posts.create(tx, member, posts.Draft("post 6, arrived meanwhile"))
        second = await timeline.home(tx, member, before=first.older, limit=2)
        third = await timeline.home(tx, member, before=second.older, limit=2)
    assert _texts(first) == ["post 5", "post 4"]
    assert _texts(second) == ["post 3", "post 2"]
    assert _texts(third) == ["post 1"]
    assert third.older is None


async def test_a_page_costs_the_same_few_queries_however_long_it_is(
    timed: Node, ana: Member
) -> None:
    async with timed.transaction() as tx:
        robotics = await communities.add(tx, "robotics", title="Robotics")
        await communities.join(tx, robotics, ana)
        authors = [await members.add(tx, f"author{n}") for n in range(8)]
        for author in authors:
            await follows.follow(tx, ana.actor, author.actor)
            await posts.create(tx, author, posts.Draft("hello", community=robotics))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async def queries_for(limit: int) -> int:
        async with timed.transaction() as tx:
            member = await members.get(tx, "ana")
            statements.clear()
            event.listen(timed.engine.sync_engine, "before_cursor_execute", count)
            try:
                page = await timeline.home(tx, member, limit=limit)
                assert len(page.posts) == limit
                for post in page.posts:  # what the page template reads
                    _ = (post.author.label, post.community and post.community.actor.name)
                    _ = (post.attachments, post.mentions)
            finally:
                event.remove(timed.engine.sync_engine, "before_cursor_execute", count)
            return len(statements)

    short, long = await queries_for(1), await queries_for(8)
    assert short == long
    # Whether any limit rule exists (node.policy.limited_domains), the page itself, then one
    # selectin load per relationship (authors, their member rows, communities and their actors,
    # attachments, mentions): never one per post.
    assert long <= 9


async def test_an_actors_timeline_shows_only_listed_posts(timed: Node, ana: Member) -> None:
    async with timed.transaction() as tx:
        zoe = _remote(tx, "zoe")
        await tx.session.flush()
        await _remote_post(tx, zoe, "public")
        await _remote_post(tx, zoe, "unlisted", visibility="unlisted")
        await _remote_post(tx, zoe, "followers", visibility="followers")
        await _remote_post(tx, zoe, "direct", visibility="direct")
    async with timed.transaction() as tx:
        zoe = await timeline.known_actor(tx, handle="@zoe@social.example")
        assert _texts(await timeline.of_actor(tx, zoe)) == ["unlisted", "public"]
        assert (await timeline.known_actor(tx, uri=zoe.uri)).id == zoe.id
        assert (await timeline.known_actor(tx, handle="Ana")).id == ana.actor_id
        with pytest.raises(NotFound):
            await timeline.known_actor(tx, handle="zoe@elsewhere.example")
        with pytest.raises(NotFound):
            await timeline.known_actor(tx, uri="https://social.example/users/nobody")


async def test_closed_community_holds_follow_requests_until_decided(
    timed: Node, ana: Member
) -> None:
    async with timed.transaction() as tx:
        staff = await communities.add(tx, "staffroom", title="Staff room", closed=True)
        zoe = _remote(tx, "zoe")
        await tx.session.flush()
        follow_uri = "https://social.example/users/zoe#follows/1"
        document = {"id": follow_uri, "type": "Follow", "actor": zoe.uri, "object": staff.actor.uri}
        await follows.on_follow(tx, Incoming(follow_uri, "Follow", document, zoe))
        local = await follows.follow(tx, ana.actor, staff.actor)
        assert local.state == "pending"
    async with timed.transaction() as tx:
        staff = await communities.get(tx, "staffroom")
        waiting = await follows.requests(tx, staff.actor)
        assert [r.follower.name for r in waiting] == ["zoe", "ana"]
        assert [r.followed.name for r in await follows.outgoing(tx, ana.actor)] == ["staffroom"]
        remote_request = await follows.request(tx, staff.actor, waiting[0].id)
        await follows.decide(tx, remote_request, True)
        await follows.decide(tx, await follows.request(tx, staff.actor, waiting[1].id), False)
    async with timed.transaction() as tx:
        staff = await communities.get(tx, "staffroom")
        assert await follows.requests(tx, staff.actor) == []
        with pytest.raises(NotFound):
            await follows.request(tx, staff.actor, waiting[0].id)
        accepted = await tx.session.scalar(select(Follow).where(Follow.uri == follow_uri))
        assert accepted is not None and accepted.state == "accepted"
        deliveries = list(await tx.session.scalars(select(Delivery)))
        assert [(d.inbox_uri, d.activity.type) for d in deliveries] == [
            ("https://social.example/inbox", "Accept")
        ]
        assert deliveries[0].activity.raw["object"]["id"] == follow_uri


async def test_the_instance_actor_cannot_be_followed(timed: Node, ana: Member) -> None:
    async with timed.transaction() as tx:
        server = await actors.instance_actor(tx)
        with pytest.raises(InvalidInput):
            await follows.follow(tx, ana.actor, server)
