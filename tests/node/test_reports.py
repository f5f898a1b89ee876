"""node.reports: Flags received from other servers, reports filed by members, moderation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from node import members, notifications, reports, settings
from node.cli import main
from node.errors import Forbidden, InvalidInput
from node.runtime import Node
from storage.models import Delivery, Notification, OutboxActivity, Report
from tests.node.test_reactions import FIXTURES, deliver, local_post, remote_person, remote_post


async def _moderated_node(node: Node) -> None:
    async with node.transaction() as tx:
        await members.add(tx, "mo", role="moderator")
        await members.add(tx, "ada", role="admin")
        await members.add(tx, "pat")  # a plain member is not told about reports


async def _report_notices(node: Node) -> list[tuple[str, str]]:
    async with node.transaction() as tx:
        rows = await tx.session.scalars(
            select(Notification).where(Notification.kind == "report").order_by(Notification.id)
        )
        return [
            (
                (await members.by_id(tx, row.member_id)).actor.name,  # type: ignore[union-attr]
                row.actor.uri if row.actor else "",
            )
            for row in rows
        ]


async def test_a_mastodon_flag_reaches_every_moderator(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx, "ana", "something rude")
        instance = await remote_person(tx, "actor", "mastodon.example", "/")
        instance.actor.kind = "application"
    # Mastodon's ActivityPub::FlagSerializer (spec/lib/activitypub/activity/flag_spec.rb shape):
    # sent by the instance actor, object = [account, statuses], the comment as content.
    flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://mastodon.example/0b0e4a8c-7c0f-4a55-9d1f-1d2b1a1c9e11",
        "type": "Flag",
        "actor": instance.uri,
        "content": "Boo!!",
        "object": [post.author.uri, post.uri],
    }
    assert await deliver(node, instance, flag) == "done"
    async with node.transaction() as tx:
        report = await tx.session.scalar(select(Report))
        assert report is not None
        assert report.uri == flag["id"]
        assert (report.reporter_id, report.target.uri) == (instance.actor.id, post.author.uri)  # type: ignore[union-attr]
        assert (report.object_uris, report.comment) == ([post.uri], "Boo!!")
        assert (report.outgoing, report.state) == (False, "open")
        assert [r.id for r in await reports.listing(tx)] == [report.id]
    assert await _report_notices(node) == [("mo", instance.uri), ("ada", instance.uri)]


async def test_a_lemmy_flag_of_a_post_reports_its_author(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx)
        alpha = await remote_person(tx, "lemmy_alpha", "ds9.lemmy.ml", "/u/")
    # tests/fixtures/activitypub/lemmy_flag_report_page.json: one post as object, the reason
    # in `summary`; re-aimed at our post.
    flag = json.loads((FIXTURES / "lemmy_flag_report_page.json").read_text())
    flag = json.loads(json.dumps(flag).replace("http://ds9.lemmy.ml", "https://ds9.lemmy.ml"))
    flag["object"] = post.uri
    assert await deliver(node, alpha, flag) == "done"
    async with node.transaction() as tx:
        report = await tx.session.scalar(select(Report))
        assert report is not None
        assert (report.target_id, report.comment) == (post.author_id, "report this post")


async def test_a_flag_in_any_order_targets_the_account_and_html_comments_are_flattened(
    node: Node,
) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx)
        other = await members.add(tx, "other")
        sender = await remote_person(tx, "actor", "gts.example", "/")
    flag = {
        "id": "https://gts.example/reports/1",
        "type": "Flag",
        "actor": sender.uri,
        "content": "<p>spam <script>x()</script>here</p>",
        "object": [post.uri, other.actor.uri],
    }
    assert await deliver(node, sender, flag) == "done"
    async with node.transaction() as tx:
        report = await tx.session.scalar(select(Report))
        assert report is not None
        assert report.target_id == other.actor_id  # the account named wins over the post's author
        assert report.comment == "spam here"


async def test_a_flag_about_nothing_here_is_ignored(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        sender = await remote_person(tx, "actor", "mastodon.example", "/")
        bob = await remote_person(tx, "bob")
    flag = {
        "id": "https://mastodon.example/flags/1",
        "type": "Flag",
        "actor": sender.uri,
        "object": [bob.uri, "https://school.example/members/nobody"],
    }
    assert await deliver(node, sender, flag) == "ignored"
    async with node.transaction() as tx:
        assert await tx.session.scalar(select(Report)) is None
    assert await _report_notices(node) == []


async def test_a_report_about_a_local_post_stays_here(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx)
        pat = await members.get(tx, "pat")
        report = await reports.file(tx, pat, post.url or post.uri, "  off topic  ")
        assert (report.target_id, report.object_uris) == (post.author_id, [post.uri])
        assert (report.comment, report.outgoing) == ("off topic", False)
        flags = await tx.session.scalars(
            select(OutboxActivity).where(OutboxActivity.type == "Flag")
        )
        assert list(flags) == []
    assert await _report_notices(node) == [
        ("mo", "https://school.example/members/pat"),
        ("ada", "https://school.example/members/pat"),
    ]


async def test_a_report_about_a_remote_post_is_flagged_by_the_instance_actor(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        bob = await remote_person(tx, "bob")
        post = await remote_post(tx, bob)
        pat = await members.get(tx, "pat")
        report = await reports.file(tx, pat, post.url or "", "harassment")
    async with node.transaction() as tx:
        sent = await tx.session.scalar(select(OutboxActivity).where(OutboxActivity.type == "Flag"))
        assert sent is not None and not sent.public
        flag = sent.raw
        assert (
            flag["actor"] == "https://school.example/actor"
        )  # not the member: they stay anonymous
        assert flag["id"] == report.uri and flag["id"].startswith("https://school.example/actor/")
        assert flag["object"] == [bob.uri, post.uri]
        assert flag["content"] == "harassment"
        delivery = await tx.session.scalar(select(Delivery).where(Delivery.activity_id == sent.id))
        assert delivery is not None and delivery.inbox_uri == "https://social.example/inbox"
        stored = await tx.session.get(Report, report.id)
        assert stored is not None and stored.outgoing and stored.target_id == bob.actor.id


async def test_reports_that_cannot_be_filed(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx)
        ana = await members.get(tx, "ana")
        pat = await members.get(tx, "pat")
        with pytest.raises(InvalidInput, match="yourself"):
            await reports.file(tx, ana, post.uri, "")
        with pytest.raises(InvalidInput, match="at most"):
            await reports.file(tx, pat, post.uri, "x" * 5001)
        with pytest.raises(InvalidInput):
            await reports.file(tx, pat, "   ", "")


async def test_only_moderators_resolve_reports_and_resolving_reads_the_notices(node: Node) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx)
        pat = await members.get(tx, "pat")
        report = await reports.file(tx, pat, post.uri, "please look")
        with pytest.raises(Forbidden):
            await reports.resolve(tx, pat, report.id)
        mo = await members.get(tx, "mo")
        assert await notifications.unread_count(tx, mo) == 1
        await reports.resolve(tx, mo, report.id)
    async with node.transaction() as tx:
        assert await reports.listing(tx) == []
        assert [r.comment for r in await reports.listing(tx, "resolved")] == ["please look"]
        assert await notifications.unread_count(tx, await members.get(tx, "ada")) == 0


async def test_the_report_command_files_a_report(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _moderated_node(node)
    async with node.transaction() as tx:
        post = await local_post(tx)
    config = tmp_path / "guildhall.toml"
    settings.write(node.settings, config)
    # main() runs its own event loop: run it in a thread beside the test's.
    args = ["--config", str(config), "report", "--as", "pat", post.uri, "--comment", "spam"]
    assert await asyncio.to_thread(main, args) == 0
    assert "Reported ana@school.example to the moderators." in capsys.readouterr().out
    assert await asyncio.to_thread(main, [*args[:4], "ana", post.uri]) == 2
    assert "yourself" in capsys.readouterr().err
    async with node.transaction() as tx:
        assert [r.comment for r in await reports.listing(tx)] == ["spam"]
