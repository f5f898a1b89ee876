"""Who may see a post: node.posts.visible_to, threads, authors' lists and the home timeline."""

from __future__ import annotations

from dataclasses import dataclass

from node import communities, members, posts, timeline
from node.runtime import Node, Tx
from storage.models import Actor, Follow, Member, Mention, Post


@dataclass
class People:
    ana: Member  # the author
    ben: Member  # follows Ana (accepted)
    cy: Member  # asked to follow Ana, still pending
    dee: Member  # mentioned in Ana's posts
    eve: Member  # a stranger


async def _follow(tx: Tx, follower: Member, followed: Member, state: str) -> None:
    tx.session.add(
        Follow(
            uri=f"https://school.example/follows/{follower.id}-{followed.id}",
            follower_id=follower.actor_id,
            followed_id=followed.actor_id,
            state=state,
            created_at=tx.now(),
        )
    )
    await tx.session.flush()


async def _people(tx: Tx) -> People:
    people = People(*[await members.add(tx, name) for name in ("ana", "ben", "cy", "dee", "eve")])
    await _follow(tx, people.ben, people.ana, "accepted")
    await _follow(tx, people.cy, people.ana, "pending")
    return people


async def _post(
    tx: Tx, author: Member, visibility: str, mentioned: Member | None = None, **draft: str
) -> Post:
    post = await posts.create(tx, author, posts.Draft(text=draft.pop("text", "x"), **draft))
    post.visibility = visibility
    if mentioned is not None:
        tx.session.add(Mention(post_id=post.id, actor_id=mentioned.actor_id))
    await tx.session.flush()
    return post


async def _who_sees(tx: Tx, post: Post, people: People) -> set[str]:
    readers: list[Actor | None] = [
        None,
        *(m.actor for m in (people.ana, people.ben, people.cy, people.dee, people.eve)),
    ]
    return {
        reader.name if reader else "anyone"
        for reader in readers
        if await posts.visible_to(tx, post, reader)
    }


async def test_each_visibility_reaches_exactly_its_audience(node: Node) -> None:
    async with node.transaction() as tx:
        people = await _people(tx)
        everyone = {"anyone", "ana", "ben", "cy", "dee", "eve"}
        for visibility in ("public", "unlisted"):
            assert await _who_sees(tx, await _post(tx, people.ana, visibility), people) == everyone
        followers = await _post(tx, people.ana, "followers", mentioned=people.dee)
        # A pending follower is not a follower yet; a mention lets Dee in.
        assert await _who_sees(tx, followers, people) == {"ana", "ben", "dee"}
        direct = await _post(tx, people.ana, "direct", mentioned=people.dee)
        assert await _who_sees(tx, direct, people) == {"ana", "dee"}
        unaddressed = await _post(tx, people.ana, "direct")
        assert await _who_sees(tx, unaddressed, people) == {"ana"}


async def test_a_thread_omits_the_replies_a_reader_may_not_see(node: Node) -> None:
    async with node.transaction() as tx:
        people = await _people(tx)
        root = await _post(tx, people.cy, "public", title="Levers")
        public = await _post(tx, people.eve, "public", reply_to=root.uri)
        private = await _post(tx, people.ana, "followers", reply_to=root.uri)
        whisper = await _post(tx, people.ana, "direct", mentioned=people.dee, reply_to=root.uri)
        for reader, expected in (
            (None, [public]),
            (people.eve.actor, [public]),
            (people.ben.actor, [public, private]),
            (people.dee.actor, [public, whisper]),
            # A reply mentions the author it answers (node.notes.record_mentions), as Mastodon's.
            (people.cy.actor, [public, private, whisper]),
            (people.ana.actor, [public, private, whisper]),
        ):
            shown = await posts.thread(tx, root, reader)
            assert shown.root.id == root.id
            assert [p.id for p in shown.replies] == [p.id for p in expected], reader


async def test_a_reply_to_a_hidden_post_starts_its_own_thread(node: Node) -> None:
    async with node.transaction() as tx:
        people = await _people(tx)
        root = await _post(tx, people.ana, "followers", text="Only for followers")
        reply = await _post(tx, people.ben, "public", reply_to=root.uri)
        later = await _post(tx, people.eve, "public", reply_to=reply.uri)
        seen_by_eve = await posts.thread(tx, reply, people.eve.actor)
        assert (seen_by_eve.root.id, [p.id for p in seen_by_eve.replies]) == (reply.id, [later.id])
        seen_by_ben = await posts.thread(tx, reply, people.ben.actor)
        assert seen_by_ben.root.id == root.id
        assert [p.id for p in seen_by_ben.replies] == [reply.id, later.id]


async def test_get_visible_hides_what_the_reader_may_not_see_as_not_found(node: Node) -> None:
    async with node.transaction() as tx:
        people = await _people(tx)
        post = await _post(tx, people.ana, "followers")
        assert (await posts.get_visible(tx, post.key, people.ben.actor)).id == post.id
        for reader in (None, people.eve.actor):
            try:
                await posts.get_visible(tx, post.key, reader)
            except posts.NotFound as exc:
                assert exc.reason == posts.HIDDEN  # the same answer as a post that never was
            else:
                raise AssertionError("a followers-only post was shown to a stranger")


async def test_an_authors_list_and_the_home_timeline_use_the_same_rule(node: Node) -> None:
    async with node.transaction() as tx:
        people = await _people(tx)
        public = await _post(tx, people.ana, "public")
        private = await _post(tx, people.ana, "followers")
        direct = await _post(tx, people.ana, "direct", mentioned=people.dee)

        async def listed(reader: Member | None) -> set[int]:
            found = await posts.by_author(tx, people.ana.actor, viewer=reader and reader.actor)
            return {p.id for p in found}

        assert await listed(None) == {public.id}
        assert await listed(people.eve) == {public.id}
        assert await listed(people.ben) == {public.id, private.id}
        assert await listed(people.dee) == {public.id, direct.id}
        assert await listed(people.ana) == {public.id, private.id, direct.id}
        home = await timeline.home(tx, people.ben)
        assert {p.id for p in home.posts} == {public.id, private.id}
        await _follow(tx, people.eve, people.ana, "accepted")
        home = await timeline.home(tx, people.eve)
        assert {p.id for p in home.posts} == {public.id, private.id}  # now a follower


async def test_a_community_commons_lists_only_what_anyone_may_read(node: Node) -> None:
    async with node.transaction() as tx:
        people = await _people(tx)
        maths = await communities.add(tx, "maths", title="Maths")
        public = await posts.create(tx, people.ana, posts.Draft("Open", community=maths))
        hidden = await posts.create(tx, people.ana, posts.Draft("Followers", community=maths))
        hidden.visibility = "followers"
        whisper = await posts.create(tx, people.eve, posts.Draft("Psst", reply_to=public.uri))
        whisper.visibility = "direct"
        await tx.session.flush()
        commons = await communities.commons(tx, maths)
        assert [thread.id for thread in commons.threads] == [public.id]
        assert commons.reply_counts == {}  # the direct reply is not even counted
        assert [actor.name for actor in commons.active_this_week] == ["ana"]
