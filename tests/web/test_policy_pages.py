"""Limit and reject-media rules on pages: listings, home timelines, notifications, attachments."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from federation.vocabulary import PUBLIC
from node import communities, members, notifications, policy, posts
from node.runtime import Node, Tx
from storage.models import Actor, Attachment, Follow, Member, Notification, Post
from tests.node.test_reactions import Remote, deliver, remote_person
from tests.web.conftest import sign_in

PASSWORD = "a long enough password"
AS = "https://www.w3.org/ns/activitystreams"


async def _follow(tx: Tx, follower: Member, followed: Actor) -> None:
    tx.session.add(
        Follow(
            uri=f"{follower.actor.uri}#follows/{followed.id}",
            follower_id=follower.actor_id,
            followed_id=followed.id,
            state="accepted",
            created_at=tx.now(),
        )
    )
    await tx.session.flush()


async def _remote_post(tx: Tx, author: Remote, text: str, community_id: int | None) -> Post:
    number = await tx.session.scalar(select(func.count()).select_from(Post))
    post = Post(
        key=f"remote{number}",
        uri=f"{author.uri}/statuses/{number}",
        url=f"{author.uri}/statuses/{number}",
        local=False,
        author_id=author.actor.id,
        community_id=community_id,
        content_html=f"<p>{text}</p>",
        visibility="public",
        published_at=tx.now(),
    )
    tx.session.add(post)
    await tx.session.flush()
    return post


async def _limited_node(node: Node) -> None:
    """A community with posts from a limited domain, a calm one, and a local member; Ben
    follows the limited author, Cai only joined the community."""
    async with node.transaction() as tx:
        club = await communities.add(tx, "club", title="Maths club", kind="teacher")
        ana = await members.add(tx, "ana", password=PASSWORD)
        ben = await members.add(tx, "ben", password=PASSWORD)
        cai = await members.add(tx, "cai", password=PASSWORD)
        for member in (ben, cai):
            await communities.join(tx, club, member)
        loud = await remote_person(tx, "loud", host="loud.example")
        calm = await remote_person(tx, "calm", host="calm.example")
        await _follow(tx, ben, loud.actor)
        await _remote_post(tx, loud, "Shouted into the club", club.id)
        await _remote_post(tx, calm, "Said calmly in the club", club.id)
        await posts.create(tx, ana, posts.Draft(text="Written here", title="Local", community=club))
        await policy.set_rule(tx, "admin", "loud.example", "limit")


async def test_a_limited_domain_is_kept_off_public_listings_but_reaches_its_followers(
    node: Node, client: httpx.AsyncClient
) -> None:
    await _limited_node(node)
    commons = (await client.get("/communities/club")).text
    assert "Said calmly in the club" in commons and "Written here" in commons
    assert "Shouted into the club" not in commons  # visitors: a public listing
    front = (await client.get("/")).text
    assert "Written here" in front and "Shouted into the club" not in front
    expected = {"ben": True, "cai": False, "ana": False}  # only the follower sees it
    for name, shown in expected.items():
        client.cookies.clear()
        await sign_in(client, name, PASSWORD)
        commons = (await client.get("/communities/club")).text
        assert ("Shouted into the club" in commons) is shown, name
        assert "Said calmly in the club" in commons, name
        if name != "ana":  # Ana did not join: her home timeline has no club posts at all
            home = (await client.get("/home")).text
            assert ("Shouted into the club" in home) is shown, name
            assert "Said calmly in the club" in home, name
    async with node.transaction() as tx:
        # The rule only hides: removing it brings the posts back everywhere.
        await policy.remove_rule(tx, "admin", "loud.example")
    client.cookies.clear()
    assert "Shouted into the club" in (await client.get("/communities/club")).text


async def test_a_more_specific_rule_lifts_a_limit_on_a_subdomain(node: Node) -> None:
    async with node.transaction() as tx:
        await remote_person(tx, "a", host="loud.example")
        await remote_person(tx, "b", host="fine.loud.example")
        await remote_person(tx, "c", host="other.loud.example")
        assert await policy.limited_domains(tx) == frozenset()
        await policy.set_rule(tx, "admin", "loud.example", "limit")
        await policy.set_rule(tx, "admin", "fine.loud.example", "allow")
        assert await policy.limited_domains(tx) == {"loud.example", "other.loud.example"}
        assert await policy.silenced_authors(tx, None) is not None


async def test_limited_accounts_the_member_does_not_follow_do_not_notify(node: Node) -> None:
    async with node.transaction() as tx:
        ana = await members.add(tx, "ana")
        ben = await members.add(tx, "ben")
        loud = await remote_person(tx, "loud", host="loud.example")
        await _follow(tx, ben, loud.actor)
        await policy.set_rule(tx, "admin", "loud.example", "limit")
    mention = {
        "@context": AS,
        "id": f"{loud.uri}/statuses/9/activity",
        "type": "Create",
        "actor": loud.uri,
        "to": [PUBLIC],
        "cc": [ana.actor.uri, ben.actor.uri],
        "object": {
            "id": f"{loud.uri}/statuses/9",
            "type": "Note",
            "attributedTo": loud.uri,
            "content": "<p>@ana @ben look at this</p>",
            "published": "2026-03-02T09:00:00Z",
            "to": [PUBLIC],
            "cc": [ana.actor.uri, ben.actor.uri],
            "tag": [
                {"type": "Mention", "href": ana.actor.uri, "name": "@ana@school.example"},
                {"type": "Mention", "href": ben.actor.uri, "name": "@ben@school.example"},
            ],
        },
    }
    assert await deliver(node, loud, mention) == "done"
    async with node.transaction() as tx:
        told = await tx.session.execute(select(Notification.member_id, Notification.kind))
        assert sorted(told.all()) == [(ben.id, "mention")]  # the post itself is kept
        assert await tx.session.scalar(select(Post.id).where(Post.uri == f"{loud.uri}/statuses/9"))
        ana_actor = await tx.session.get(Actor, ana.actor_id)
        assert ana_actor is not None
        liked = await notifications.add(tx, ana_actor, "like", actor=loud.actor)
        assert liked is None
        # Moderators still hear of reports: `reject reports` is the rule that refuses those.
        assert await notifications.add(tx, ana_actor, "report", actor=loud.actor) is not None


async def test_media_from_a_domain_that_rejects_media_is_replaced_by_a_note(
    node: Node, client: httpx.AsyncClient
) -> None:
    async with node.transaction() as tx:
        club = await communities.add(tx, "club", title="Maths club", kind="teacher")
        loud = await remote_person(tx, "loud", host="loud.example")
        post = await _remote_post(tx, loud, "A picture for you", club.id)
        loud.actor.icon_url = "https://loud.example/avatars/loud.png"
        tx.session.add(
            Attachment(
                key="loudpicture",
                post_id=post.id,
                author_id=loud.actor.id,
                file_name="diagram.png",
                media_type="image/png",
                size_bytes=0,
                sha256="",
                remote_url="https://media.loud.example/diagram.png",
                alt_text="A diagram",
                created_at=tx.now(),
            )
        )
    page = (await client.get("/communities/club")).text
    assert 'src="https://media.loud.example/diagram.png"' in page
    profile = (await client.get("/actors", params={"uri": loud.uri})).text
    assert 'src="https://loud.example/avatars/loud.png"' in profile
    async with node.transaction() as tx:
        await policy.set_rule(tx, "admin", "loud.example", "allow", reject_media=True)
    page = (await client.get("/communities/club")).text
    assert "A picture for you" in page  # the post stays; its media does not
    assert "https://media.loud.example/diagram.png" not in page
    assert "media hidden by this server's policy" in page
    async with node.transaction() as tx:
        assert await tx.session.scalar(select(func.count()).select_from(Attachment)) == 1
    profile = (await client.get("/actors", params={"uri": loud.uri})).text
    assert "A picture for you" in profile and "media hidden by this server's policy" in profile
    assert "https://loud.example/avatars/loud.png" not in profile
