"""Reports: members complaining about a post or an account, and `Flag`s from other servers.

A report about someone here goes to this node's moderators. A report about someone elsewhere
is also sent to their server as a `Flag` from the instance actor, as Mastodon forwards reports,
so that the reporting member is not named to the other server.
"""

from __future__ import annotations

from sqlalchemy import select

from federation.sanitize import SanitizeError, plain_text
from federation.vocabulary import ids_of
from node import actors, delivery, documents, notifications, reactions, remote_actors
from node.errors import Forbidden, InvalidInput, NotFound
from node.incoming import Ignored, Incoming
from node.runtime import Tx
from storage.models import Actor, Member, Post, Report

MAX_COMMENT = 5000  # Mastodon's ActivityPub::Activity::Flag::COMMENT_SIZE_LIMIT
MAX_OBJECTS = 50  # ids read from one inbound Flag


def require_moderator(member: Member) -> None:
    """Forbidden unless the member moderates the node."""
    if member.role not in notifications.MODERATING_ROLES:
        raise Forbidden("only moderators and administrators may see reports")


async def _target(tx: Tx, query: str) -> tuple[Actor, list[Post]]:
    # What a member pasted: a post (known or fetched), an account URL or an @name@host handle.
    query = query.strip()
    if not query:
        raise InvalidInput("say which post or account you are reporting")
    if query.startswith(("https://", "http://")):
        known_actor = await tx.session.scalar(
            select(Actor).where((Actor.uri == query) | (Actor.url == query))
        )
        if known_actor is not None:
            return known_actor, []
        try:
            post = await reactions.resolve_post(tx, query)
        except InvalidInput:
            return await remote_actors.lookup(tx, query), []
        return post.author, [post]
    return await remote_actors.lookup(tx, query), []


async def _notify_moderators(tx: Tx, report: Report, reporter: Actor | None) -> None:
    for moderator in await notifications.moderators(tx):
        await notifications.add(tx, moderator.actor, "report", actor=reporter, report=report)


async def file(tx: Tx, reporter: Member, query: str, comment: str) -> Report:
    """Report a post or account (by URL or handle) to our moderators, and to its own server."""
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"a report's comment is at most {MAX_COMMENT} characters")
    target, reported = await _target(tx, query)
    if target.id == reporter.actor_id:
        raise InvalidInput("you cannot report yourself")
    if target.kind == "application":
        raise InvalidInput("a server's own actor cannot be reported; report a post or account")
    object_uris = [post.uri for post in reported]
    outgoing = not target.local
    if outgoing:
        instance = await actors.instance_actor(tx)
        uri = delivery.new_activity_uri(tx, instance)
        # Mastodon's ActivityPub::FlagSerializer: the instance actor flags [account, statuses]
        # with the comment as content; Mastodon addresses it to nobody and delivers it to the
        # reported account's inbox.
        flag = documents.activity(
            instance, "Flag", [target.uri, *object_uris], uri, to=[target.uri]
        )
        flag["content"] = comment
        await delivery.publish(tx, instance, flag, recipients=[target], public=False)
    else:
        uri = delivery.new_activity_uri(tx, reporter.actor)
    report = Report(
        uri=uri,
        reporter_id=reporter.actor_id,
        target_id=target.id,
        object_uris=object_uris,
        comment=comment,
        outgoing=outgoing,
        state="open",
        created_at=tx.now(),
    )
    tx.session.add(report)
    await tx.session.flush()
    await tx.session.refresh(report, ["reporter", "target"])
    await _notify_moderators(tx, report, reporter.actor)
    return report


async def on_flag(tx: Tx, incoming: Incoming) -> None:
    """Another server reports one of our accounts or posts to our moderators."""
    # Mastodon sends Flag from its instance actor with `object` = [account, status...] and the
    # comment as `content` (ActivityPub::FlagSerializer); Lemmy flags one post by its author.
    if await tx.session.scalar(select(Report.id).where(Report.uri == incoming.uri)):
        raise Ignored("this report is already here")
    named = ids_of(incoming.object)[:MAX_OBJECTS]
    local_actors = {
        actor.uri: actor
        for actor in await tx.session.scalars(
            select(Actor).where(Actor.uri.in_(named), Actor.local.is_(True))
        )
    }
    local_posts = {
        post.uri: post
        for post in await tx.session.scalars(
            select(Post).where(Post.uri.in_(named), Post.local.is_(True))
        )
    }
    target = next((local_actors[uri] for uri in named if uri in local_actors), None)
    if target is None:
        target = next((local_posts[uri].author for uri in named if uri in local_posts), None)
    if target is None or target.kind == "application":
        raise Ignored("the Flag names nothing on this node")
    # Lemmy puts the reason in `summary` (crates/apub/src/protocol/activities/community/report.rs).
    content = incoming.document.get("content") or incoming.document.get("summary")
    try:
        comment = plain_text(content)[:MAX_COMMENT] if isinstance(content, str) else ""
    except SanitizeError:
        comment = content[:MAX_COMMENT] if isinstance(content, str) else ""
    report = Report(
        uri=incoming.uri,
        reporter_id=incoming.actor.id,
        target_id=target.id,
        object_uris=[uri for uri in named if uri in local_posts],
        comment=comment,
        outgoing=False,
        state="open",
        created_at=tx.now(),
    )
    tx.session.add(report)
    await tx.session.flush()
    await _notify_moderators(tx, report, incoming.actor)


async def listing(tx: Tx, state: str = "open", limit: int = 100) -> list[Report]:
    """Reports in a state (open or resolved), newest first."""
    return list(
        await tx.session.scalars(
            select(Report)
            .where(Report.state == state)
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(limit)
        )
    )


async def reported_posts(tx: Tx, shown: list[Report]) -> dict[str, Post]:
    """The posts known here that the given reports name, by id."""
    uris = {uri for report in shown for uri in report.object_uris}
    if not uris:
        return {}
    return {
        post.uri: post for post in await tx.session.scalars(select(Post).where(Post.uri.in_(uris)))
    }


async def resolve(tx: Tx, moderator: Member, report_id: int) -> Report:
    """Close a report once a moderator has dealt with it."""
    require_moderator(moderator)
    report = await tx.session.get(Report, report_id)
    if report is None:
        raise NotFound("no such report")
    report.state = "resolved"
    await notifications.mark_report_read(tx, report)
    return report
