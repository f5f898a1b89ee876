"""Posts: author, licence and community on every post, replies in their thread, reading back."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from node import communities, media, members, posts
from node.errors import Forbidden, InvalidInput, NotFound
from node.runtime import Node, open_node
from node.settings import Limits, Settings
from storage.models import Community, Member

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)  # every post gets its own moment
        return self.now


@pytest.fixture
async def timed(settings: Settings) -> AsyncIterator[Node]:
    """A node on the test's database, on a clock that ticks a second each time it is read."""
    running = await open_node(settings, clock=Clock())
    yield running
    await running.close()


@pytest.fixture
async def alice(timed: Node) -> Member:
    async with timed.transaction() as tx:
        return await members.add(tx, "alice", display_name="Alice")


@pytest.fixture
async def maths(timed: Node) -> Community:
    async with timed.transaction() as tx:
        return await communities.add(tx, "maths", title="Maths", default_license="CC-BY-SA-4.0")


async def test_a_post_has_an_author_a_licence_and_an_address(
    timed: Node, alice: Member, maths: Community
) -> None:
    async with timed.transaction() as tx:
        post = await posts.create(
            tx,
            alice,
            posts.Draft("Try **this** worksheet.", title="  Fractions\n  week ", community=maths),
        )
    assert post.local
    assert post.uri == f"https://school.example/posts/{post.key}"
    assert post.url == post.uri
    assert post.author.name == "alice"
    assert post.community is not None and post.community.id == maths.id
    assert post.title == "Fractions week"
    assert post.source == "Try **this** worksheet."
    assert post.content_html == "<p>Try <strong>this</strong> worksheet.</p>\n"
    assert post.license == "CC-BY-SA-4.0"
    assert post.visibility == "public"
    assert post.in_reply_to_id is None and post.thread_id is None
    assert post.published_at > T0
    assert post.attachments == []
    async with timed.transaction() as tx:
        assert (await posts.get(tx, post.key)).id == post.id


async def test_keys_are_unguessable_and_distinct(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        keys = {(await posts.create(tx, alice, posts.Draft(f"post {i}"))).key for i in range(5)}
    assert len(keys) == 5
    assert all(len(key) == 16 for key in keys)


async def test_scripts_in_posts_do_not_survive(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        post = await posts.create(
            tx, alice, posts.Draft("<script>alert(1)</script> [x](javascript:alert(1))")
        )
    assert "<script" not in post.content_html
    assert 'href="javascript' not in post.content_html


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (posts.Draft(""), "needs some text"),
        (posts.Draft("  \n\t "), "needs some text"),
        (posts.Draft("x", title="t" * 201), "titles"),
        (posts.Draft("x", licence="CC-BY-99"), "CC-BY-99"),
        (posts.Draft("x", licence="MIT OR Apache-2.0"), "single licence"),
    ],
)
async def test_bad_drafts_are_refused(
    timed: Node, alice: Member, draft: posts.Draft, reason: str
) -> None:
    async with timed.transaction() as tx:
        with pytest.raises(InvalidInput) as raised:
            await posts.create(tx, alice, draft)
        assert reason in raised.value.reason
        assert await posts.by_author(tx, alice.actor) == []


async def test_the_length_limit_comes_from_the_settings(settings: Settings) -> None:
    short = await open_node(replace(settings, limits=Limits(max_post_chars=10)))
    try:
        async with short.transaction() as tx:
            alice = await members.add(tx, "alice")
            await posts.create(tx, alice, posts.Draft("x" * 10))
            with pytest.raises(InvalidInput) as raised:
                await posts.create(tx, alice, posts.Draft("x" * 11))
            assert "10 characters" in raised.value.reason
    finally:
        await short.close()


async def test_licence_defaults_from_community_then_member_then_none(
    timed: Node, alice: Member, maths: Community
) -> None:
    async with timed.transaction() as tx:
        plain = await communities.add(tx, "plain", title="No default licence")
        member = await members.get(tx, "alice")
        assert (await posts.create(tx, member, posts.Draft("a"))).license is None
        assert (await posts.create(tx, member, posts.Draft("b", community=plain))).license is None
        await members.update_profile(
            tx, member, display_name="", bio="", default_license="CC-BY-4.0", links=[]
        )
        assert posts.default_licence(None, member) is not None
        assert (await posts.create(tx, member, posts.Draft("c"))).license == "CC-BY-4.0"
        in_plain = await posts.create(tx, member, posts.Draft("d", community=plain))
        assert in_plain.license == "CC-BY-4.0"  # the community has none: the member's applies
        in_maths = await posts.create(tx, member, posts.Draft("e", community=maths))
        assert in_maths.license == "CC-BY-SA-4.0"  # the community's wins over the member's


async def test_an_explicit_licence_wins_and_none_means_all_rights_reserved(
    timed: Node, alice: Member, maths: Community
) -> None:
    async with timed.transaction() as tx:
        chosen = await posts.create(tx, alice, posts.Draft("a", community=maths, licence="cc0-1.0"))
        assert chosen.license == "CC0-1.0"
        for spelling in ("none", "None", ""):
            reserved = await posts.create(
                tx, alice, posts.Draft("b", community=maths, licence=spelling)
            )
            assert reserved.license is None


async def test_replies_inherit_community_and_thread(
    timed: Node, alice: Member, maths: Community
) -> None:
    async with timed.transaction() as tx:
        bob = await members.add(tx, "bob")
        root = await posts.create(tx, alice, posts.Draft("Question", community=maths))
        reply = await posts.create(tx, bob, posts.Draft("Answer", reply_to=root.uri))
        nested = await posts.create(tx, alice, posts.Draft("Thanks", reply_to=reply.url or ""))
        same = await posts.create(tx, bob, posts.Draft("More", reply_to=root.uri, community=maths))
    assert reply.community_id == maths.id
    assert reply.in_reply_to_id == root.id
    assert reply.in_reply_to_uri == root.uri
    assert reply.thread_id == root.id
    assert reply.license == "CC-BY-SA-4.0"  # the inherited community's default
    assert nested.in_reply_to_id == reply.id
    assert nested.thread_id == root.id
    assert nested.community_id == maths.id
    assert same.community_id == maths.id
    async with timed.transaction() as tx:
        thread = await posts.thread(tx, nested)
        assert thread.root.id == root.id
        assert [p.id for p in thread.replies] == [reply.id, nested.id, same.id]
        assert (await posts.thread(tx, root)).root.id == root.id


async def test_a_reply_stays_in_its_posts_community(
    timed: Node, alice: Member, maths: Community
) -> None:
    async with timed.transaction() as tx:
        art = await communities.add(tx, "art", title="Art")
        root = await posts.create(tx, alice, posts.Draft("Question", community=maths))
        with pytest.raises(InvalidInput) as raised:
            await posts.create(tx, alice, posts.Draft("Answer", reply_to=root.uri, community=art))
        assert "community" in raised.value.reason


async def test_replies_to_unknown_or_deleted_posts_are_refused(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        root = await posts.create(tx, alice, posts.Draft("Question"))
        for url in ("https://school.example/posts/0000", "https://elsewhere.example/posts/1"):
            with pytest.raises(NotFound):
                await posts.create(tx, alice, posts.Draft("Answer", reply_to=url))
        root.deleted_at = T0 + timedelta(days=1)
        with pytest.raises(NotFound):
            await posts.create(tx, alice, posts.Draft("Answer", reply_to=root.uri))
        with pytest.raises(NotFound):
            await posts.get(tx, root.key)


async def test_closed_communities_take_posts_from_approved_members_only(timed: Node) -> None:
    async with timed.transaction() as tx:
        club = await communities.add(tx, "club", title="Club", closed=True)
        insider = await members.add(tx, "insider")
        applicant = await members.add(tx, "applicant")
        stranger = await members.add(tx, "stranger")
        await communities.join(tx, club, insider, approved=True)
        await communities.join(tx, club, applicant)
        root = await posts.create(tx, insider, posts.Draft("Hello club", community=club))
        for outsider in (applicant, stranger):
            with pytest.raises(Forbidden) as raised:
                await posts.create(tx, outsider, posts.Draft("Let me in", community=club))
            assert "closed" in raised.value.reason
            with pytest.raises(Forbidden):  # replying is posting too
                await posts.create(tx, outsider, posts.Draft("Me too", reply_to=root.uri))
        assert [p.id for p in await posts.latest(tx)] == [root.id]


async def test_posts_are_found_by_their_urls(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        post = await posts.create(tx, alice, posts.Draft("Findable"))
    async with timed.transaction() as tx:
        for url in (post.uri, f" {post.uri} ", post.uri + "/"):
            assert (await posts.find_by_url(tx, url)).id == post.id
        for url in (
            f"https://elsewhere.example/posts/{post.key}",
            f"http://school.example/posts/{post.key}",
            "https://school.example/posts/",
            "not a url",
        ):
            with pytest.raises(NotFound):
                await posts.find_by_url(tx, url)


async def test_author_pages_and_the_front_page(
    timed: Node, alice: Member, maths: Community
) -> None:
    async with timed.transaction() as tx:
        bob = await members.add(tx, "bob")
        first = await posts.create(tx, alice, posts.Draft("First", community=maths))
        second = await posts.create(tx, bob, posts.Draft("Second"))
        reply = await posts.create(tx, alice, posts.Draft("Reply", reply_to=second.uri))
        deleted = await posts.create(tx, alice, posts.Draft("Deleted"))
        deleted.deleted_at = T0 + timedelta(days=1)
    async with timed.transaction() as tx:
        assert [p.id for p in await posts.by_author(tx, alice.actor)] == [reply.id, first.id]
        assert [p.id for p in await posts.by_author(tx, alice.actor, limit=1)] == [reply.id]
        assert [p.id for p in await posts.latest(tx)] == [second.id, first.id]
        assert [p.id for p in await posts.latest(tx, limit=1)] == [second.id]


async def test_posts_carry_their_authors_uploads(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        uploads = [await media.store(tx, alice.actor, f"n{i}.txt", b"notes") for i in range(2)]
        post = await posts.create(tx, alice, posts.Draft("See files", attachments=tuple(uploads)))
        assert [a.id for a in post.attachments] == [u.id for u in uploads]
        assert all(a.post_id == post.id for a in uploads)
        with pytest.raises(Forbidden):  # an upload belongs to one post only
            await posts.create(tx, alice, posts.Draft("Again", attachments=(uploads[0],)))


async def test_a_post_cannot_take_someone_elses_upload(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        bob = await members.add(tx, "bob")
        upload = await media.store(tx, alice.actor, "notes.txt", b"alice's notes")
        with pytest.raises(Forbidden):
            await posts.create(tx, bob, posts.Draft("Mine now", attachments=(upload,)))
        # The refused post left nothing behind in the transaction.
        assert await posts.by_author(tx, bob.actor) == []
        assert upload.post_id is None


async def test_at_most_four_attachments(timed: Node, alice: Member) -> None:
    async with timed.transaction() as tx:
        uploads = tuple(
            [await media.store(tx, alice.actor, f"n{i}.txt", b"notes") for i in range(5)]
        )
        with pytest.raises(InvalidInput) as raised:
            await posts.create(tx, alice, posts.Draft("Too many", attachments=uploads))
        assert "at most 4" in raised.value.reason
        post = await posts.create(tx, alice, posts.Draft("Four", attachments=uploads[:4]))
        assert len(post.attachments) == 4
